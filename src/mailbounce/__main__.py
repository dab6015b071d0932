"""``python -m mailbounce``."""

from mailbounce.cli import main

main()

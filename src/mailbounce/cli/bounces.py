"""Commands of the bounces concern; registered on the app when imported."""

from mailbounce.cli.app import app

__all__ = ["app"]

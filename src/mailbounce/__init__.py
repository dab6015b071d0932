"""mailbounce: send email campaigns from CSV lists and understand why mail was rejected.

The library does everything the command line does; ``mailbounce.cli`` is a thin adapter.
"""

__version__ = "0.1.0"

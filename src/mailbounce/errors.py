"""Errors a user can meet, each with its documented exit code.

They are raised anywhere in the library and converted once, in ``mailbounce.cli.main``:
one line on stderr, the exit code, never a traceback for a user's mistake.
"""

from __future__ import annotations

# Exit codes documented in the README.
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_FINDINGS = 3
EXIT_LOCKED = 75


class MailbounceError(Exception):
    """Base of every error mailbounce reports to the user (exit 1: could not do the job)."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(MailbounceError):
    """The command line or its options are wrong (exit 2)."""

    exit_code = EXIT_USAGE


class ConfigError(MailbounceError):
    """A configuration file or setting is wrong; the message names the file and key."""


class InputError(MailbounceError):
    """A user's input file is wrong; the message names the file and, when known, the line."""

    def __init__(self, path: object, message: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line


class TemplateError(MailbounceError):
    """A message template is invalid or uses a variable the list does not provide."""


class SmtpSetupError(MailbounceError):
    """The SMTP relay cannot be used at all (connection, TLS or authentication failure)."""


class StoreError(MailbounceError):
    """The database cannot be opened or is from a newer mailbounce."""


class LockHeldError(MailbounceError):
    """Another mailbounce run holds the lock beside the database (exit 75, EX_TEMPFAIL)."""

    exit_code = EXIT_LOCKED


class NotFoundError(MailbounceError):
    """A named campaign, list, contact or reason does not exist."""


class ConsentRequiredError(MailbounceError):
    """Resubscribing someone who unsubscribed themselves needs their recorded consent."""

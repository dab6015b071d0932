"""Checks before sending: addresses, content, sender domain (issue 4)."""

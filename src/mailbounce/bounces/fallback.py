"""Last-resort text scan for bounces no detector knows."""

from __future__ import annotations

from mailbounce.bounces.base import Mail
from mailbounce.models import BounceFacts


class FallbackDetector:
    name = "fallback"

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        return None


DETECTOR = FallbackDetector()

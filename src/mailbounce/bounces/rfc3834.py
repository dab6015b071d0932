"""RFC 3834 automatic responses (vacation, out of office): ``kind: autoreply``."""

from __future__ import annotations

from mailbounce.bounces.base import Mail
from mailbounce.models import BounceFacts


class Rfc3834Detector:
    name = "rfc3834"

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        return None


DETECTOR = Rfc3834Detector()

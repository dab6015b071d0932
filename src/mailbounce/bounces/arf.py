"""RFC 5965 Abuse Reporting Format: feedback reports -> ``kind: complaint``."""

from __future__ import annotations

from mailbounce.bounces.base import Mail
from mailbounce.models import BounceFacts


class ArfDetector:
    name = "arf"

    def detect(self, mail: Mail) -> list[BounceFacts] | None:
        if mail.msg.get_content_type() != "multipart/report":
            return None
        if (mail.msg.get_param("report-type") or "") != "feedback-report":
            return None
        return None


DETECTOR = ArfDetector()

"""The explicit, ordered detector registry: a new format is one module and one line here.

Order (issue 3 shared picture): detectors that recognise their own layout by stable markers
first, then the generic RFC 3464 / ARF / RFC 3834 detectors, then the last-resort text scan.
"""

from __future__ import annotations

from mailbounce.bounces import (
    amazonses,
    amazonworkmail,
    arf,
    dragonfly,
    exim,
    fallback,
    gmail,
    googlegroups,
    googleworkspace,
    qmail,
    rfc3464,
    rfc3834,
    x2,
    x4,
    yahoo,
)
from mailbounce.bounces.base import Detector

DETECTORS: tuple[Detector, ...] = (
    # MTA- and provider-specific detectors (one line each, a-z).
    amazonworkmail.DETECTOR,  # before amazonses: WorkMail also mails from *.amazonses.com
    amazonses.DETECTOR,
    dragonfly.DETECTOR,
    exim.DETECTOR,
    gmail.DETECTOR,
    googlegroups.DETECTOR,
    googleworkspace.DETECTOR,
    qmail.DETECTOR,
    x2.DETECTOR,
    x4.DETECTOR,
    yahoo.DETECTOR,
    arf.DETECTOR,
    rfc3464.DETECTOR,
    rfc3834.DETECTOR,
    fallback.DETECTOR,
)

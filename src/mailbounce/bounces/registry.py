"""The explicit, ordered detector registry: a new format is one module and one line here.

Order (issue 3 shared picture): detectors that recognise their own layout by stable markers
first, then the generic RFC 3464 / ARF / RFC 3834 detectors, then the last-resort text scan.
"""

from __future__ import annotations

from mailbounce.bounces import (
    amazonses,
    amazonworkmail,
    apachejames,
    arf,
    biglobe,
    domino,
    dragonfly,
    exchange2003,
    exim,
    ezweb,
    fallback,
    gmail,
    googlegroups,
    googleworkspace,
    imailserver,
    kddi,
    mailfoundry,
    mailmarshal,
    mfilter,
    notes,
    qmail,
    rfc3464,
    rfc3834,
    sendmail,
    trendmicro,
    v5sendmail,
    verizon,
    x1,
    x2,
    x4,
    yahoo,
    zoho,
)
from mailbounce.bounces.base import Detector

DETECTORS: tuple[Detector, ...] = (
    # MTA- and provider-specific detectors (one line each, a-z).
    ezweb.DETECTOR,
    kddi.DETECTOR,
    mfilter.DETECTOR,
    biglobe.DETECTOR,
    apachejames.DETECTOR,
    mailmarshal.DETECTOR,
    mailfoundry.DETECTOR,
    imailserver.DETECTOR,
    domino.DETECTOR,
    exchange2003.DETECTOR,
    amazonworkmail.DETECTOR,  # before amazonses: WorkMail also mails from *.amazonses.com
    amazonses.DETECTOR,
    dragonfly.DETECTOR,
    exim.DETECTOR,
    gmail.DETECTOR,
    googlegroups.DETECTOR,
    googleworkspace.DETECTOR,
    notes.DETECTOR,
    qmail.DETECTOR,
    sendmail.DETECTOR,
    trendmicro.DETECTOR,
    v5sendmail.DETECTOR,
    verizon.DETECTOR,
    x1.DETECTOR,
    x2.DETECTOR,
    x4.DETECTOR,
    yahoo.DETECTOR,
    zoho.DETECTOR,
    arf.DETECTOR,
    rfc3464.DETECTOR,
    rfc3834.DETECTOR,
    fallback.DETECTOR,
)

"""Very long report fields are read in linear time (a refolding bug made 40 KB cost 7 s).

No timing is asserted: with the quadratic path this test would hit pytest's timeout.
"""

from __future__ import annotations

import pytest

from mailbounce.bounces import Verdict, analyse_message
from mailbounce.models import Reason


def _postfix_report(filler: str) -> bytes:
    return f"""From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
To: sender@example.net
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

This is the mail system at host mx.example.org.

<jean@example.fr>: host mx.example.fr said: 550 5.1.1 User unknown

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org
X-Postfix-Queue-ID: 1234
X-Long: {filler}

Final-Recipient: rfc822; jean@example.fr
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 User unknown {filler}

--B--
""".encode()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("size", [40_000, 400_000])
def test_long_report_fields(size: int) -> None:
    analysis = analyse_message(_postfix_report("x" * size))
    assert analysis.verdict is Verdict.BOUNCE
    [(facts, classification)] = analysis.results
    assert facts.recipient == "jean@example.fr"
    assert facts.status == "5.1.1"
    assert classification.reason is Reason.USERUNKNOWN

"""``parse-bounces --format jsonl`` writes each record as ``recording.record_json`` spells it:
the very text ``json.dumps(record.to_dict(), ensure_ascii=False)`` gives, whatever the values."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from mailbounce.models import BounceRecord, Kind, Party, Reason
from mailbounce.parsing import record_json

_text = st.text()  # any code point: non-ASCII, quotes, backslashes, controls, U+2028
_optional = st.none() | _text

_records = st.builds(
    BounceRecord,
    source=_text,
    message_id=_optional,
    recipient=_text,
    action=_optional,
    status=_optional,
    replycode=_optional,
    reason=st.sampled_from(Reason),
    kind=st.sampled_from(Kind),
    hardbounce=st.booleans(),
    party=st.sampled_from(Party),
    diagnostic=_text,
    remote_mta=_optional,
    reporting_mta=_optional,
    feedback_type=_optional,
    date=_optional,
    original_message_id=_optional,
    campaign=_optional,
    detector=_text,
)


@settings(deadline=None, max_examples=300)
@given(_records)
def test_record_json_is_what_json_dumps_writes(record: BounceRecord) -> None:
    assert record_json(record) == json.dumps(record.to_dict(), ensure_ascii=False, default=str)


def test_record_json_keeps_non_ascii_and_escapes_controls() -> None:
    record = BounceRecord(
        source="b.mbox#1",
        message_id=None,
        recipient="léa@exemple.fr",
        action="failed",
        status="5.2.2",
        replycode=None,
        reason=Reason.MAILBOXFULL,
        kind=Kind.TEMPORARY,
        hardbounce=False,
        party=Party.RECIPIENT,
        diagnostic='boîte pleine\t"€" \x01\u2028\\',
        remote_mta=None,
        reporting_mta=None,
        feedback_type=None,
        date=None,
        original_message_id=None,
        campaign="nov-2026",
        detector="rfc3464",
    )
    text = record_json(record)
    assert text == json.dumps(record.to_dict(), ensure_ascii=False)
    assert "boîte" in text and "\\t" in text and "\\u0001" in text
    assert json.loads(text) == record.to_dict()


def test_make_record_fills_each_field_by_name() -> None:
    """``make_record`` passes the record's fields by position: each lands in its own."""
    from mailbounce.bounces import Analysis, Verdict
    from mailbounce.models import BounceFacts, Classification
    from mailbounce.parsing import make_record

    facts = BounceFacts(
        recipient="r@x.example",
        action="failed",
        status="5.1.1",
        replycode="550",
        diagnostic="550 no such user",
        remote_mta="mx.x.example",
        reporting_mta="relay.example",
        feedback_type="abuse",
    )
    classification = Classification(Reason.USERUNKNOWN, Kind.PERMANENT, True, Party.RECIPIENT)
    analysis = Analysis(
        Verdict.BOUNCE, "postfix", "<b@relay>", "Fri, 20 Nov 2026", "<o@asso>", (), ()
    )
    record = make_record("m#1", analysis, facts, classification, "nov", "2026-11-20")
    assert record == BounceRecord(
        source="m#1",
        message_id="<b@relay>",
        recipient="r@x.example",
        action="failed",
        status="5.1.1",
        replycode="550",
        reason=Reason.USERUNKNOWN,
        kind=Kind.PERMANENT,
        hardbounce=True,
        party=Party.RECIPIENT,
        diagnostic="550 no such user",
        remote_mta="mx.x.example",
        reporting_mta="relay.example",
        feedback_type="abuse",
        date="2026-11-20",
        original_message_id="<o@asso>",
        campaign="nov",
        detector="postfix",
    )

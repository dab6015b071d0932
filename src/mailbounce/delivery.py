"""The send loop of a run: claim, compose, send, record, each transition committed.

One thread drives ``concurrency`` SMTP connections (``smtp_pipeline.Session``, each
reused across messages) and commits (``store.writer.Committer``, which runs each commit
at once, in this thread: its module docstring says why not in a thread of its own). The
loop: every idle connection takes its next claimed recipient (``Claims`` claims
``CLAIM_BATCH`` at a time), composes its message and writes its envelope; the loop waits
for replies; every transition the replies bring (a 354: ``in_flight``; a final reply or a
refusal: the outcome) waits in ``pending``; once enough connections wait for it
(``_batch_full``), all that is pending, of every connection, goes into ONE transaction
(``store.sending.record_steps``). Only once that transaction has committed does a
connection write the data of its ``in_flight`` message; its next message is composed just
before. With PIPELINING, the envelope of the connection's next recipient goes out in the
same write as that data (RFC 2920 §3.1), so its 354 comes right after the data's reply,
and the outcome of one message and the ``in_flight`` of the next are committed together.
An outcome never holds its connection back, and is committed at the latest with the next
recipient's ``in_flight``, before that recipient's data. No per-message commit; one
timestamp (seconds) per loop turn. When the recipients held run low (``CLAIM_AHEAD``), the
next ones are claimed between two commits, before any connection waits for them.

What a crash (SIGKILL) leaves, at each point (crash points in brackets, for the tests):

- a recipient claimed, its ``in_flight`` not committed (its envelope may be out, even
  with the previous message's data) [``after_claim``]: ``claimed``; the next run gives it
  back to ``pending`` and sends it (the server never had its data).
- ``in_flight`` committed, the data not written or being written [``after_in_flight``,
  ``after_data``]: ``in_flight``, which the next run turns into ``uncertain`` (maybe
  delivered; never resent unless ``--resend-uncertain``).
- the final reply read, the outcome not committed yet [``after_reply``]: ``in_flight`` →
  ``uncertain`` as above (the server's answer is lost with the process).
- the outcome committed [``after_commit``]: the outcome holds.

Whatever the point, the run's other connections are at one of these steps too: a killed
run leaves at most one ``in_flight`` (then ``uncertain``) recipient per connection, and
never one whose data was not preceded by its committed ``in_flight`` (no duplicate).

Ctrl-C (KeyboardInterrupt) is not a crash: nothing new goes out, the replies to the data
already written are awaited (``DRAIN_SECONDS`` at most) and committed, the recipients not
yet in flight go back to ``pending``.

``in_flight`` is committed after the recipient's own 354 and before its data: never
earlier (a crash before the data must not make an unsent message ``uncertain``), never
later (a crash after the data must not let it be sent twice).
"""

from __future__ import annotations

import time

from mailbounce.delivery_loop import Progress, SendLoop
from mailbounce.send_outcome import iso
from mailbounce.send_state import Claims, Slot
from mailbounce.smtp import SmtpClient
from mailbounce.smtp_pipeline import Phase, Session
from mailbounce.store import sending as deliveries

__all__ = ["DRAIN_SECONDS", "DeliveryRun", "Progress"]

_IDLE, _READY, _BODY = Phase.IDLE, Phase.READY, Phase.BODY

DRAIN_SECONDS = 10.0  # after Ctrl-C, how long replies to data already written are awaited


class DeliveryRun(SendLoop):
    """The send loop of one run (``delivery_loop.SendLoop``), its end, its Ctrl-C drain;
    see the module docstring."""

    def execute(self, bar: Progress, due: int) -> list[int]:
        """Run the loop; return the ids of the deliveries this run decided."""
        self._bar = bar
        claims = self._claims = Claims(self.campaign_id, iso(self.now()), due)
        count = min(self.campaign.concurrency, max(due, 1))
        slots = self._slots = [Slot(Session(SmtpClient(self.campaign.smtp))) for _ in range(count)]
        try:
            try:
                self._loop(claims, slots)
            except KeyboardInterrupt:
                self._drain(slots)
                raise
        finally:
            for slot in slots:
                if self._committing is not None and slot in self._committing.ready:
                    slot.session.abandon()  # its data must not go out unrecorded
                slot.session.close()
            self._committing = None
            self.writer.settle()
            claims.stop()
            # Every recipient still claimed goes back: those the connections held unsent,
            # those never handed out, and a claim committed as Ctrl-C struck (its rows not
            # held by ``claims`` yet). The run lock makes every claimed row this run's.
            deliveries.release_campaign_claims(self.writer.store, self.campaign_id)
        if self.errors:
            raise self.errors[0]
        return self.decided

    def _drain(self, slots: list[Slot]) -> None:
        """Ctrl-C: write nothing new, but wait (``DRAIN_SECONDS`` at most) for the replies
        to the data already written and commit them, so those recipients end ``sent`` (or
        what the server said) rather than ``uncertain``. A second Ctrl-C stops at once."""
        self._interrupted = True
        limit = time.monotonic() + DRAIN_SECONDS
        for slot in self._pending.ready:  # in_flight not committed: their data stays here
            slot.session.abandon()
        self._pending.ready = []
        clock = time.monotonic()
        for slot in slots:
            slot.finished = True
            if slot.flown and slot.session.phase is _READY:  # committed, as Ctrl-C struck
                for event in slot.session.send_body(clock):  # before its data was written
                    self._event(slot, event, self.now())
        while True:
            committing = self._committing.ready if self._committing is not None else []
            for slot in slots:  # envelopes and resets are dropped: nothing new goes out
                if slot.session.phase is _IDLE or slot in committing:
                    continue  # (the data of a committing in_flight goes out, as promised)
                if not self._awaits_outcome(slot):
                    slot.session.abandon()
            active = [s for s in slots if self._awaits_outcome(s)]
            if not active and self._committing is None and not self._pending:
                return
            if time.monotonic() >= limit:
                # The replies still awaited are given up (those recipients stay in flight:
                # uncertain next run); what was read, or is committing, is still recorded.
                if self._committing is None and not self._pending:
                    return
                active = []
            for slot in active:
                slot.session.deadline = min(slot.session.deadline, limit)
            now = self.now()
            if self._pending and not self.writer.busy:
                self._submit(now)
            self._wait(slots, active, now)

    @staticmethod
    def _awaits_outcome(slot: Slot) -> bool:
        return slot.flown and slot.session.phase is _BODY

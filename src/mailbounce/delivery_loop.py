"""The send loop's machinery (``delivery``): connections, replies, commits, in one thread.

``SendLoop`` drives a run's connections (``Slot``: each one ``smtp_pipeline.Session``) and
its commits (``store.writer.Committer``) turn by turn; ``delivery.DeliveryRun`` runs it
and adds what stops it (errors, Ctrl-C: the drain). What a crash or a Ctrl-C leaves at each
step, and why the steps are in this order, is in ``delivery``'s docstring.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from mailbounce import ctrl_c
from mailbounce.addresses import domain_of
from mailbounce.campaign import Campaign
from mailbounce.compose import MessageTemplate
from mailbounce.crash_points import crash_point
from mailbounce.delivery_compose import Composer
from mailbounce.errors import MailbounceError, SmtpSetupError
from mailbounce.ratelimit import DomainGate, RateLimiter
from mailbounce.send_outcome import backed_off, iso, outcome_of
from mailbounce.send_state import Batch, Claims, Slot
from mailbounce.smtp import SendResult
from mailbounce.smtp_envelope import Envelope
from mailbounce.smtp_pipeline import READY, VOID, Event, Phase
from mailbounce.store import Store
from mailbounce.store import sending as deliveries
from mailbounce.store.writer import Committer

# ``Phase.IDLE`` goes through ``EnumType.__getattr__`` (~1 µs on CPython 3.11): the loop
# looks at every connection's phase several times per turn.
_IDLE, _ENVELOPE, _READY, _BODY = Phase.IDLE, Phase.ENVELOPE, Phase.READY, Phase.BODY

DOMAIN_WAIT = 0.01  # seconds between looks at a per-domain connection limit that is full
BATCH_WAIT = 0.002  # seconds a transition may wait for others to share its commit


class Progress(Protocol):
    def advance(self, steps: int = 1) -> None: ...


class SendLoop:
    """The loop of one run (``DeliveryRun.execute`` runs it); see the module docstring."""

    def __init__(
        self,
        writer: Committer,
        campaign: Campaign,
        campaign_id: int,
        template: MessageTemplate,
        secret: bytes | None,
        *,
        now: Callable[[], datetime],
        log: Callable[[str], None] | None,
    ) -> None:
        self.writer = writer
        self.campaign = campaign
        self.campaign_id = campaign_id
        self.template = template
        self.secret = secret
        self.now = now
        self.log = log
        self.rate = RateLimiter(campaign.rate) if campaign.rate else None
        self.gate = DomainGate(dict(campaign.domains))
        self.decided: list[int] = []
        self.errors: list[BaseException] = []
        self._composer = Composer(campaign, campaign_id, template, secret)
        self._pending = Batch()  # waiting for the next commit
        self._committing: Batch | None = None  # committing (or committed, not acted on yet)
        self._bar: Progress | None = None
        self._claims = Claims(0, "", 0)
        self._slots: list[Slot] = []
        self._interrupted = False
        self._stamped: tuple[datetime | None, str] = (None, "")  # a turn's ``now``, stored form

    def _loop(self, claims: Claims, slots: list[Slot]) -> None:
        while True:
            now = self.now()
            for slot in slots:
                if slot.session.phase is _IDLE and not slot.finished:  # ``_start``'s own test
                    self._start(claims, slot, now)
            busy = [s for s in slots if s.delivery is not None or s.session.awaiting_reply]
            if not busy and all(s.finished for s in slots):
                self._sync()
                if not self._pending:
                    return
            if self._pending and self._batch_full(slots):
                self._submit(now)
            # After the steps' commit (their data is out): the recipients it took for the
            # following envelopes may have brought those held below ``CLAIM_AHEAD``.
            if (claim := claims.ahead()) is not None:
                self._committing = Batch(claim=True)
                self.writer.submit(claim)
                self._committed(now)
            self._wait(slots, busy, now)

    def _batch_full(self, slots: list[Slot]) -> bool:
        """Commit now, or let more transitions join (fewer, larger commits)?

        Now once at least as many connections wait for this commit as still wait for a
        reply (the others' replies would come after it anyway), or after ``BATCH_WAIT``.
        """
        coming = sum(1 for s in slots if s.session.phase in (_ENVELOPE, _BODY))
        if len(self._pending.ready) >= coming:
            return True
        return time.monotonic() - self._pending.since >= BATCH_WAIT

    def _store(self) -> Store:
        """The writer's connection, for the loop's own writes: once its job is done."""
        self._sync()
        return self.writer.store

    def _submit(self, now: datetime) -> None:
        """Commit the pending transitions, then act on the commit (``_committed``)."""
        batch, self._pending = self._pending, Batch()
        in_flight = [slot.in_flight for slot in batch.ready if slot.in_flight is not None]
        concluded = [item for item, _ in batch.concluded]
        if now is not self._stamped[0]:  # one ``now`` per loop turn: formatted once
            self._stamped = (now, iso(now))
        stamp = self._stamped[1]
        self._committing = batch
        self.writer.submit(
            lambda store: deliveries.record_steps(store, in_flight, concluded, now=stamp)
        )
        # The job ran inside ``submit``: acted on at once, not on a signal the next turn
        # selects (a pipe written and read per commit: two system calls and a turn).
        self._committed(now)

    def _sync(self) -> None:
        """Commit everything: wait for the commit in progress, act on it, and so on with
        what is pending (acting on a commit may conclude more: a connection lost)."""
        while self._committing is not None or self._pending:
            if self._committing is None:
                self._submit(self.now())
            else:  # (left by an error or a Ctrl-C inside ``_committed``)
                self._committed(self.now())

    def _committed(self, now: datetime) -> None:
        """The commit is done: the outcomes hold, the data may go out."""
        batch = self._committing
        assert batch is not None
        try:
            self.writer.collect()  # raises the transaction's error: execute() cleans up
        except KeyboardInterrupt:  # a second Ctrl-C inside the commit: rolled back
            self._committing = None
            for slot in batch.ready:  # their in_flight was not committed: no data
                slot.session.abandon()
            raise
        self._committing = None
        for slot in batch.ready:  # counted: their data goes out, even after a Ctrl-C (drain)
            slot.flown = True
        if batch.claim:
            self._claims.claimed()
        for item, reply in batch.concluded:
            crash_point("after_commit")
            self.decided.append(item.delivery.id)
            if self.log is not None and reply is not None:
                self.log(f"{item.delivery.address}: {item.outcome.state} {reply}".rstrip())
        if batch.concluded and self._bar is not None:
            self._bar.advance(len(batch.concluded))
        clock = time.monotonic()
        for slot in batch.ready:
            crash_point("after_in_flight")
            following = self._following(slot, now)
            for event in slot.session.send_body(clock, following):
                self._event(slot, event, now)

    def _start(self, claims: Claims, slot: Slot, now: datetime) -> None:
        """An idle connection takes its next recipient and writes its envelope."""
        if slot.session.phase is not _IDLE or slot.finished:
            return
        if self.errors and not slot.started:  # stopping: nothing new goes out
            if slot.delivery is not None:
                deliveries.release_claims(self._store(), [slot.delivery.id])
                self._free(slot)
            slot.finished = True
            return
        if slot.delivery is None:
            slot.delivery = claims.next(self._store)
            if slot.delivery is None:
                slot.finished = True
                return
            slot.domain = domain_of(slot.delivery.address)
        if slot.started:
            return
        try:
            self._begin(slot, now)
        except MailbounceError as exc:  # the relay refuses us: stop taking recipients
            self._stop(slot, exc)

    def _begin(self, slot: Slot, now: datetime) -> None:
        delivery = slot.delivery
        assert delivery is not None
        until = self.gate.backed_off_until(slot.domain)
        if until is not None and until > now:
            outcome = backed_off(slot.domain, until)
            self._pending.concluded.append((deliveries.Concluded(delivery, outcome, False), None))
            self._free(slot)
            return
        if not self._admitted(slot):
            return
        slot.in_flight, envelope = self._composer.compose(slot.session, delivery, now)
        slot.started = True
        if isinstance(envelope, SendResult):
            self._conclude(slot, envelope, now)
            return
        for event in slot.session.begin(envelope, time.monotonic()):
            self._event(slot, event, now)

    def _following(self, slot: Slot, now: datetime) -> Envelope | None:
        """The envelope of the connection's next recipient, to write after the data
        (``Composer.following``): not once stopping, nor with a rate limit to wait for."""
        if self.errors or self._interrupted or self.rate is not None:
            return None
        return self._composer.following(slot, self._claims, self.gate, now)

    def _admitted(self, slot: Slot) -> bool:
        """The domain's connection limit and the rate limits let this message go now."""
        if not slot.entered:
            if not self.gate.try_enter(slot.domain):
                slot.not_before = time.monotonic() + DOMAIN_WAIT
                return False
            slot.entered = True
            wait = self.gate.reserve_rate(slot.domain)
            if self.rate is not None:
                wait = max(wait, self.rate.reserve())
            slot.not_before = time.monotonic() + wait
        return time.monotonic() >= slot.not_before

    def _wait(self, slots: list[Slot], busy: list[Slot], now: datetime) -> None:
        """Wait for replies, a rate-limit slot or a timeout; act on them."""
        clock = time.monotonic()
        waiting = {s.session.socket_fd: s for s in busy if s.session.awaiting_reply}
        free = any(
            s.delivery is None and not s.finished and s.session.phase is _IDLE for s in slots
        )
        deadlines = [clock] if free else [s.session.deadline for s in waiting.values()]
        if self._pending and not self.writer.busy:
            deadlines.append(self._pending.since + BATCH_WAIT)
        deadlines += [
            s.not_before
            for s in busy
            if s.delivery is not None and not s.started and s.session.phase is _IDLE
        ]
        timeout = max(0.0, min(deadlines) - clock) if deadlines else None
        buffered = [fd for fd, s in waiting.items() if s.session.has_buffered()]
        watched = list(waiting)
        # The waits are where a Ctrl-C is acted on: between whole steps (``ctrl_c``).
        if buffered:
            readable = buffered
        elif watched:
            readable = ctrl_c.select_readable(watched, timeout)
        else:
            ctrl_c.sleep(timeout or 0.0)
            return
        for fd in readable:
            if fd in waiting:
                self._read(waiting.pop(fd), now)
        clock = time.monotonic()
        for slot in waiting.values():  # not readable: has its reply been awaited too long?
            if slot.session.awaiting_reply and slot.session.deadline < clock:
                for event in slot.session.time_out():
                    self._event(slot, event, now)

    def _read(self, slot: Slot, now: datetime) -> None:
        for event in slot.session.on_readable():
            self._event(slot, event, now)

    def _event(self, slot: Slot, event: Event, now: datetime) -> None:
        if event is READY:
            if self._interrupted:  # Ctrl-C: the 354 of an envelope written with the last
                slot.session.abandon()  # data; nothing new goes out (its claim is released)
            else:
                self._pending.ready.append(slot)
        elif event is VOID:  # its envelope went with a connection now closed: begin again
            slot.started, slot.in_flight = False, None
        elif isinstance(event, SmtpSetupError):  # 5xx to MAIL FROM: refuses the sender
            self._stop(slot, event)
        elif isinstance(event, SendResult) and slot.delivery is not None:
            self._conclude(slot, event, now)

    def _stop(self, slot: Slot, exc: MailbounceError) -> None:
        """A session error: no more recipients; this one goes back to pending."""
        self.errors.append(exc)
        slot.session.abandon()
        if slot.delivery is not None and not slot.flown:
            deliveries.release_claims(self._store(), [slot.delivery.id])
            self._free(slot)
        slot.finished = True

    def _conclude(self, slot: Slot, result: SendResult, now: datetime) -> None:
        """The attempt is over: its outcome waits for the next commit, its connection is
        free for the next recipient (whose data waits for that same commit or a later one)."""
        delivery = slot.delivery
        assert delivery is not None
        outcome = outcome_of(self.campaign, self.gate, result, delivery, now, slot.domain)
        crash_point("after_reply")
        concluded = deliveries.Concluded(delivery, outcome, slot.flown)
        # The reply as the server gave it, for the -v log only: built when there is one.
        self._pending.concluded.append((concluded, result.reply if self.log is not None else None))
        self._free(slot)
        if slot.following is not None:  # its envelope is out already (see ``_following``)
            slot.delivery, slot.in_flight = slot.following, slot.following_in_flight
            slot.following, slot.following_in_flight = None, None
            slot.domain = domain_of(slot.delivery.address)
            slot.entered = self.gate.try_enter(slot.domain)  # no limit: always entered
            slot.started = True

    def _free(self, slot: Slot) -> None:
        if slot.entered:
            self.gate.leave(slot.domain)
        slot.delivery, slot.in_flight = None, None
        slot.entered = slot.started = slot.flown = False

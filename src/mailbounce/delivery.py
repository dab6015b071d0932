"""The send loop of a run: claim, compose, send, record, each transition committed.

One thread drives ``concurrency`` SMTP connections (``smtp_pipeline.Session``, each
reused across messages) in ticks. A tick: every idle connection takes its next claimed
recipient (``_Claims`` claims ``CLAIM_BATCH`` at a time), composes its message and writes
its envelope; the loop waits until some connection has a reply; then every transition
those replies brought, of every connection, is committed in ONE transaction
(``store.sending.record_steps``); only then does any connection act on it: write the data
after a committed ``in_flight``, or take its next recipient after a committed outcome.
Network waits overlap across connections, commits are shared by all, and no thread
hand-off or lock is paid per message. One timestamp (seconds) serves a whole tick.

What a crash (SIGKILL) leaves, at each point (crash points in brackets, for the tests):

- after a claim and before the server's 354 [``after_claim``]: ``claimed``; the next run
  gives it back to ``pending`` and sends it (the server never had its data).
- after the tick's commit of ``in_flight`` and before or while its data is written
  [``after_in_flight``, ``after_data``]: ``in_flight``, which the next run turns into
  ``uncertain`` (maybe delivered; never resent unless ``--resend-uncertain``). Every
  connection whose 354 came in that tick is left so: at most ``concurrency`` recipients.
- after the final reply and before the tick's commit [``after_reply``]: ``in_flight`` →
  ``uncertain`` as above (the server's answer is lost with the process).
- after the commit [``after_commit``]: the outcome holds.

``in_flight`` is committed after the recipient's own 354 and before its data: never
earlier (a crash before the data must not turn an unsent message into ``uncertain``
needlessly), never later (a crash after the data must not let it be sent twice). An
outcome is committed before its connection starts anything else.
"""

from __future__ import annotations

import select
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from mailbounce import tracking
from mailbounce.addresses import domain_of
from mailbounce.campaign import Campaign
from mailbounce.classify import classify_smtp_reply, find_enhanced_status
from mailbounce.compose import MessageTemplate, make_message_id
from mailbounce.crash_points import crash_point
from mailbounce.errors import MailbounceError
from mailbounce.models import Classification, DeliveryState, Kind, SuppressionCause
from mailbounce.ratelimit import DomainGate, RateLimiter
from mailbounce.smtp import Result, SendResult, SmtpClient
from mailbounce.smtp_pipeline import READY, Phase, Session
from mailbounce.store import Store
from mailbounce.store import sending as deliveries

S = DeliveryState
CLAIM_BATCH = 100
DOMAIN_WAIT = 0.01  # seconds between looks at a per-domain connection limit that is full
# Outcomes wait at most this long (seconds) for a 354 to share their commit with.
COMMIT_DELAY = 0.005


class Progress(Protocol):
    def advance(self, steps: int = 1) -> None: ...


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class _Claims:
    """Hands out claimed recipients, claiming ``CLAIM_BATCH`` at a time (one commit)."""

    def __init__(self, campaign_id: int, now: str, limit: int) -> None:
        self.campaign_id = campaign_id
        self.now = now
        self.remaining = limit
        self.stopped = False
        self._buffer: list[deliveries.Delivery] = []

    def next(self, store: Store) -> deliveries.Delivery | None:
        if self.stopped:
            return None
        if not self._buffer and self.remaining > 0:
            limit = min(CLAIM_BATCH, self.remaining)
            batch = deliveries.claim_due(
                store, self.campaign_id, worker="send-loop", now=self.now, limit=limit
            )
            self.remaining = self.remaining - len(batch) if batch else 0
            self._buffer = batch[::-1]
            crash_point("after_claim")
        return self._buffer.pop() if self._buffer else None

    def stop(self) -> list[int]:
        """Stop handing out; return the ids claimed but never handed out."""
        self.stopped = True
        left, self._buffer = [d.id for d in self._buffer], []
        return left


@dataclass(eq=False)
class _Slot:
    """One connection and the recipient it carries (None: idle)."""

    session: Session
    delivery: deliveries.Delivery | None = None
    domain: str = ""
    entered: bool = False  # holds one of the domain's connections (``DomainGate``)
    not_before: float = 0.0  # monotonic: its rate-limit slot
    started: bool = False  # envelope written
    in_flight: deliveries.InFlight | None = None  # committed, or to commit this tick
    flown: bool = False  # ``in_flight`` committed: the attempt is counted
    finished: bool = False  # no recipient left for it


@dataclass
class _Tick:
    """The transitions waiting for the next commit."""

    ready: list[_Slot] = field(default_factory=list)  # 354 received: in_flight to commit
    # With the reply for the -v log (None: not logged, the server was not asked).
    concluded: list[tuple[deliveries.Concluded, str | None]] = field(default_factory=list)
    since: float = 0.0  # monotonic time of the oldest concluded attempt


class DeliveryRun:
    """The send loop of one run; see the module docstring."""

    def __init__(
        self,
        store: Store,
        campaign: Campaign,
        campaign_id: int,
        template: MessageTemplate,
        secret: bytes | None,
        *,
        now: Callable[[], datetime],
        log: Callable[[str], None] | None,
    ) -> None:
        self.store = store
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
        self._sender = campaign.envelope_from

    def execute(self, bar: Progress, due: int) -> list[int]:
        """Run the loop; return the ids of the deliveries this run decided."""
        claims = _Claims(self.campaign_id, _iso(self.now()), due)
        count = min(self.campaign.concurrency, max(due, 1))
        slots = [_Slot(Session(SmtpClient(self.campaign.smtp))) for _ in range(count)]
        try:
            self._loop(claims, slots, bar)
        finally:
            left = claims.stop()
            for slot in slots:
                if slot.delivery is not None and not slot.flown:
                    left.append(slot.delivery.id)
                slot.session.close()
            if left:
                deliveries.release_claims(self.store, left)
        if self.errors:
            raise self.errors[0]
        return self.decided

    # --- the loop ---------------------------------------------------------------------

    def _loop(self, claims: _Claims, slots: list[_Slot], bar: Progress) -> None:
        pending = _Tick()
        while True:
            now = self.now()
            stamp = _iso(now)
            for slot in slots:
                self._start(claims, slot, now, pending)
            busy = [s for s in slots if s.delivery is not None or s.session.awaiting_reply]
            if not busy and all(s.finished for s in slots):
                if pending.concluded:
                    self._commit(pending, now, stamp, bar)
                return
            if not pending.ready:
                self._wait(slots, busy, now, pending)
            if pending.ready or (pending.concluded and self._flush_due(slots, pending)):
                tick, pending = pending, _Tick()
                self._commit(tick, now, stamp, bar)

    @staticmethod
    def _flush_due(slots: list[_Slot], pending: _Tick) -> bool:
        """Commit outcomes alone only when no 354 is coming soon to share the commit."""
        if not any(s.session.phase is Phase.ENVELOPE for s in slots):
            return True
        return time.monotonic() - pending.since >= COMMIT_DELAY

    def _start(self, claims: _Claims, slot: _Slot, now: datetime, pending: _Tick) -> None:
        """An idle connection takes its next recipient and writes its envelope."""
        if slot.session.phase is not Phase.IDLE or slot.finished:
            return
        if self.errors and not slot.started:  # stopping: nothing new goes out
            if slot.delivery is not None:
                deliveries.release_claims(self.store, [slot.delivery.id])
                self._free(slot)
            slot.finished = True
            return
        if slot.delivery is None:
            slot.delivery = claims.next(self.store)
            if slot.delivery is None:
                slot.finished = True
                return
            slot.domain = domain_of(slot.delivery.address)
        if slot.started:
            return
        try:
            self._begin(slot, now, pending)
        except MailbounceError as exc:  # the relay refuses us: stop taking recipients
            self._stop(slot, exc)

    def _begin(self, slot: _Slot, now: datetime, pending: _Tick) -> None:
        delivery = slot.delivery
        assert delivery is not None
        until = self.gate.backed_off_until(slot.domain)
        if until is not None and until > now:
            outcome = deliveries.Outcome(
                S.DEFERRED,
                reply=f"not tried: {slot.domain} closed a connection with 421 in this run",
                next_attempt_at=_iso(until),
                attempted=False,
            )
            self._add(pending, deliveries.Concluded(delivery, outcome, False), None)
            self._free(slot)
            return
        if not self._admitted(slot):
            return
        session = slot.session
        token = (
            tracking.make_token(self.secret, self.campaign_id, delivery.id) if self.secret else None
        )
        message_id = make_message_id(
            self.campaign.name, delivery.address, self.campaign.message_domain
        )
        sender = self._sender
        if token and self.campaign.bounce_domain:
            sender = tracking.verp_sender(
                token, self.campaign.bounce_domain, self.campaign.verp_prefix
            )
        data = self.template.render(
            address=delivery.address,
            fields=delivery.fields,
            message_id=message_id,
            token=token,
            campaign=self.campaign.name,
            date=now,
            eight_bit=session.offers_8bitmime(),
        )
        slot.in_flight = deliveries.InFlight(delivery.id, token, message_id)
        slot.started = True
        result = session.begin(sender, delivery.address, data, time.monotonic())
        if result is not None:
            self._conclude(slot, result, now, pending)

    def _admitted(self, slot: _Slot) -> bool:
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

    def _wait(self, slots: list[_Slot], busy: list[_Slot], now: datetime, pending: _Tick) -> None:
        """Wait for replies (or a rate-limit slot, or a timeout) and read them."""
        clock = time.monotonic()
        waiting = {s.session.fileno(): s for s in busy if s.session.awaiting_reply}
        if any(
            s.delivery is None and not s.finished and s.session.phase is Phase.IDLE for s in slots
        ):
            deadlines = [clock]  # a connection is free to take its next recipient at once
        else:
            deadlines = [s.session.deadline for s in waiting.values()]
            deadlines += [
                s.not_before
                for s in busy
                if s.delivery is not None and not s.started and s.session.phase is Phase.IDLE
            ]
            if pending.concluded:
                deadlines.append(pending.since + COMMIT_DELAY)
        timeout = max(0.0, min(deadlines) - clock) if deadlines else 0.0
        buffered = [fd for fd, s in waiting.items() if s.session.has_buffered()]
        if buffered:
            readable = buffered
        elif waiting:
            readable = select.select(list(waiting), [], [], timeout)[0]
        else:
            time.sleep(timeout)
            return
        for fd in readable:
            self._read(waiting.pop(fd), now, pending)
        clock = time.monotonic()
        for slot in waiting.values():  # not readable: has its reply been awaited too long?
            if slot.session.awaiting_reply and slot.session.deadline < clock:
                self._event(slot, slot.session.time_out(), now, pending)

    def _read(self, slot: _Slot, now: datetime, pending: _Tick) -> None:
        try:
            event = slot.session.on_readable()
        except MailbounceError as exc:  # 5xx to MAIL FROM: the relay refuses the sender
            self._stop(slot, exc)
            return
        self._event(slot, event, now, pending)

    def _event(
        self, slot: _Slot, event: SendResult | str | None, now: datetime, pending: _Tick
    ) -> None:
        if event is READY:
            pending.ready.append(slot)
        elif isinstance(event, SendResult) and slot.delivery is not None:
            self._conclude(slot, event, now, pending)

    def _stop(self, slot: _Slot, exc: MailbounceError) -> None:
        """A session error: no more recipients; this one goes back to pending."""
        self.errors.append(exc)
        slot.session.abandon()
        if slot.delivery is not None and not slot.flown:
            deliveries.release_claims(self.store, [slot.delivery.id])
            self._free(slot)
        slot.finished = True

    def _conclude(self, slot: _Slot, result: SendResult, now: datetime, pending: _Tick) -> None:
        """The attempt is over: its outcome waits for the next commit, its connection is
        free for the next recipient (whose data waits for that same commit)."""
        delivery = slot.delivery
        assert delivery is not None
        outcome = self._outcome(result, delivery, now, slot.domain)
        crash_point("after_reply")
        self._add(pending, deliveries.Concluded(delivery, outcome, slot.flown), result.reply)
        self._free(slot)

    @staticmethod
    def _add(pending: _Tick, concluded: deliveries.Concluded, reply: str | None) -> None:
        if not pending.concluded:
            pending.since = time.monotonic()
        pending.concluded.append((concluded, reply))

    def _free(self, slot: _Slot) -> None:
        if slot.entered:
            self.gate.leave(slot.domain)
        slot.delivery, slot.in_flight = None, None
        slot.entered = slot.started = slot.flown = False

    def _commit(self, tick: _Tick, now: datetime, stamp: str, bar: Progress) -> None:
        """Commit the transitions, then write the data of the ``in_flight`` ones."""
        in_flight = [slot.in_flight for slot in tick.ready if slot.in_flight is not None]
        concluded = [item for item, _ in tick.concluded]
        try:
            deliveries.record_steps(self.store, in_flight, concluded, now=stamp)
        except BaseException:
            for slot in tick.ready:
                slot.session.abandon()  # its data must not go out unrecorded
            raise
        for item, reply in tick.concluded:
            crash_point("after_commit")
            self.decided.append(item.delivery.id)
            if self.log is not None and reply is not None:
                self.log(f"{item.delivery.address}: {item.outcome.state} {reply}".rstrip())
        if tick.concluded:
            bar.advance(len(tick.concluded))
        clock = time.monotonic()
        lost = _Tick()
        for slot in tick.ready:
            slot.flown = True
            crash_point("after_in_flight")
            result = slot.session.send_body(clock)
            if result is not None:  # the connection broke while the data was written
                self._conclude(slot, result, now, lost)
        if lost.concluded:
            self._commit(lost, now, stamp, bar)

    # --- what an attempt concluded ---------------------------------------------------------

    def _outcome(
        self, result: SendResult, delivery: deliveries.Delivery, now: datetime, domain: str
    ) -> deliveries.Outcome:
        if result.result is Result.ACCEPTED:
            return deliveries.Outcome(S.SENT, reply=result.reply, replycode=str(result.code))
        if result.result is Result.LOST_AFTER_DOT:
            return deliveries.Outcome(
                S.UNCERTAIN, reply=f"connection lost after the end of data: {result.text}"
            )
        if result.result is Result.LOST_BEFORE_DOT:
            cls = classify_smtp_reply(
                421, f"4.4.2 connection lost at {result.stage}: {result.text}"
            )
            return self._deferred(
                delivery, now, cls, f"connection lost at {result.stage}: {result.text}", None, None
            )
        code = result.code or 451
        cls = classify_smtp_reply(code, result.text, delivery.address)
        status = _status(result.text, code)
        if code == 421:
            self.gate.back_off(domain, now + self.campaign.retry.first)
        if cls.kind is Kind.TEMPORARY or 400 <= code < 500:
            return self._deferred(delivery, now, cls, result.reply, str(code), status)
        return deliveries.Outcome(
            S.FAILED,
            reply=result.reply,
            replycode=str(code),
            status=status,
            classification=cls,
            suppress_as=SuppressionCause.INVALID if cls.hardbounce else None,
        )

    def _deferred(
        self,
        delivery: deliveries.Delivery,
        now: datetime,
        cls: Classification,
        reply: str,
        replycode: str | None,
        status: str | None,
    ) -> deliveries.Outcome:
        first = _parse(delivery.first_attempt_at) or now
        when = self.campaign.retry.next_attempt(
            attempts=delivery.attempts + 1, first_attempt_at=first, now=now
        )
        return deliveries.Outcome(
            S.DEFERRED if when is not None else S.EXPIRED,
            reply=reply,
            replycode=replycode,
            status=status,
            classification=cls,
            next_attempt_at=_iso(when) if when is not None else None,
        )


def _status(text: str, code: int) -> str | None:
    status = find_enhanced_status(text)
    return status if status is not None and status[0] == str(code)[0] else None

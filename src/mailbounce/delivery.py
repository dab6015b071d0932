"""The workers of a send run: claim, compose, send, record, each transition committed.

``concurrency`` threads each hold one SMTP connection (reused across messages) and take
recipients from ``_Claims``, which claims them 100 at a time. Every write goes through one
``SerialWriter`` (one connection behind a lock) instead of fighting for SQLite's write
lock; each call returns only once committed. Per message: ``in_flight`` committed
after the server's 354 and before the data is written, then the outcome committed after
the reply (DESIGN §6). Crash points (``crash_points.crash_point``) mark each step for the tests.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
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
from mailbounce.store import sending as deliveries
from mailbounce.store.writer import SerialWriter

S = DeliveryState
CLAIM_BATCH = 100


class Progress(Protocol):
    def advance(self, steps: int = 1) -> None: ...


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class _Claims:
    """Hands out claimed recipients to the workers, claiming ``CLAIM_BATCH`` at a time."""

    def __init__(self, campaign_id: int, now: str, limit: int) -> None:
        self.campaign_id = campaign_id
        self.now = now
        self.remaining = limit
        self.stopped = False
        self._buffer: list[deliveries.Delivery] = []
        self._lock = threading.Lock()

    def next(self, writer: SerialWriter, worker: str) -> deliveries.Delivery | None:
        with self._lock:
            if self.stopped:
                return None
            if not self._buffer and self.remaining > 0:
                limit = min(CLAIM_BATCH, self.remaining)
                batch = writer.run(
                    lambda store: deliveries.claim_due(
                        store, self.campaign_id, worker=worker, now=self.now, limit=limit
                    )
                )
                self.remaining -= len(batch)
                if not batch:
                    self.remaining = 0
                self._buffer = batch[::-1]
                crash_point("after_claim")
            return self._buffer.pop() if self._buffer else None

    def stop(self) -> list[int]:
        """Stop handing out; return the ids claimed but never handed out."""
        with self._lock:
            self.stopped = True
            left, self._buffer = [d.id for d in self._buffer], []
            return left


class DeliveryRun:
    """The workers of one send run: claim, compose, send, record; see ``sending``."""

    def __init__(
        self,
        writer: SerialWriter,
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
        self.decided: list[int] = []  # appended by the workers (list.append is atomic)
        self.errors: list[BaseException] = []

    def execute(self, bar: Progress, due: int) -> list[int]:
        """Run the workers; return the ids of the deliveries this run decided."""
        claims = _Claims(self.campaign_id, _iso(self.now()), due)
        workers = [
            threading.Thread(target=self._worker, args=(claims, n), name=f"send-{n}", daemon=True)
            for n in range(min(self.campaign.concurrency, max(due, 1)))
        ]
        # The workers wait on sockets and commits, not on the CPU: a thread back from I/O
        # should not wait the default 5 ms for another to release the GIL (2 ms measured best
        # of 0.5, 2 and 5 ms with 8 connections, within noise).
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(switch_interval, 0.002))
        shown = 0
        try:
            for worker in workers:
                worker.start()
            for worker in workers:
                while worker.is_alive():
                    worker.join(timeout=0.1)
                    shown = self._show_progress(bar, shown)
        finally:
            left = claims.stop()
            for worker in workers:
                worker.join()
            sys.setswitchinterval(switch_interval)
            self._release(left)
        self._show_progress(bar, shown)
        if self.errors:
            raise self.errors[0]
        return self.decided

    def _show_progress(self, bar: Progress, shown: int) -> int:
        done = len(self.decided)
        if done > shown:
            bar.advance(done - shown)
        return done

    def _worker(self, claims: _Claims, number: int) -> None:
        name = f"{threading.get_native_id()}-{number}"
        client = SmtpClient(self.campaign.smtp)
        try:
            while (delivery := claims.next(self.writer, name)) is not None:
                try:
                    self._deliver(client, delivery)
                except BaseException:
                    self._release([delivery.id])
                    raise
                self.decided.append(delivery.id)
        except BaseException as exc:  # reported by execute(); the other workers stop
            if not isinstance(exc, MailbounceError | KeyboardInterrupt):
                exc.add_note(f"while sending campaign {self.campaign.name}")
            self.errors.append(exc)
            self._release(claims.stop())
        finally:
            client.close()

    def _release(self, ids: list[int]) -> None:
        if ids:
            self.writer.run(lambda store: deliveries.release_claims(store, ids))

    def _record(
        self, delivery: deliveries.Delivery, outcome: deliveries.Outcome, now: str, counted: bool
    ) -> None:
        self.writer.run(
            lambda store: deliveries.record_outcome(
                store, delivery, outcome, now=now, counted_in_flight=counted
            )
        )

    def _deliver(self, client: SmtpClient, delivery: deliveries.Delivery) -> None:
        now = self.now()
        stamp = _iso(now)
        domain = domain_of(delivery.address)
        until = self.gate.backed_off_until(domain)
        if until is not None and until > now:
            outcome = deliveries.Outcome(
                S.DEFERRED,
                reply=f"not tried: {domain} closed a connection with 421 in this run",
                next_attempt_at=_iso(until),
                attempted=False,
            )
            self._record(delivery, outcome, stamp, False)
            return
        token = (
            tracking.make_token(self.secret, self.campaign_id, delivery.id) if self.secret else None
        )
        message_id = make_message_id(
            self.campaign.name, delivery.address, self.campaign.message_domain
        )
        sender = self.campaign.envelope_from
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
            eight_bit=client.offers_8bitmime,
        )
        in_flight = False

        def before_data() -> None:
            nonlocal in_flight
            self.writer.run(
                lambda store: deliveries.mark_in_flight(
                    store, delivery.id, token=token, message_id=message_id, now=stamp
                )
            )
            in_flight = True
            crash_point("after_in_flight")

        with self.gate.slot(domain):
            if self.rate is not None:
                self.rate.take()
            result = client.send(sender, delivery.address, data, before_data)
        outcome = self._outcome(result, delivery, now, domain)
        crash_point("after_reply")
        self._record(delivery, outcome, stamp, in_flight)
        crash_point("after_commit")
        if self.log is not None:
            self.log(f"{delivery.address}: {outcome.state} {result.reply}".rstrip())

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

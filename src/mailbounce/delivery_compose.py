"""Each recipient's message for the send loop (``delivery``): composed, or the next one.

``Composer.compose`` gives a recipient's ``in_flight`` record (its token and Message-ID)
and the envelope its connection writes; ``Composer.following`` composes a connection's
next recipient once the current one's ``in_flight`` has committed, for its envelope to go
out in the same write as the current data (RFC 2920 §3.1; ``delivery`` has the whole
story).
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from mailbounce import tracking
from mailbounce.addresses import domain_of
from mailbounce.campaign import Campaign
from mailbounce.compose import MessageTemplate
from mailbounce.errors import ConfigError
from mailbounce.message_ids import message_id_ending, recipient_message_id
from mailbounce.ratelimit import DomainGate
from mailbounce.send_state import Claims, Slot
from mailbounce.smtp import SendResult
from mailbounce.smtp_envelope import Envelope
from mailbounce.smtp_pipeline import Session
from mailbounce.store import sending as deliveries


class Composer:
    """A run's messages: the campaign's template, tracking secret and envelope sender."""

    def __init__(
        self,
        campaign: Campaign,
        campaign_id: int,
        template: MessageTemplate,
        secret: bytes | None,
    ) -> None:
        self.campaign = campaign
        self.campaign_id = campaign_id
        self.template = template
        self.secret = secret
        self._sender = campaign.envelope_from
        self._name = campaign.name
        self._domain = campaign.message_domain
        self._verp = (campaign.bounce_domain, campaign.verp_prefix)
        # A stored Message-ID with this ending is this campaign's (``recipient_message_id``).
        self._id_ending: str | tuple[str, ...] = ()  # (no text ends with none of no endings)
        with contextlib.suppress(ConfigError):  # not a domain: ``recipient_message_id`` says so
            self._id_ending = message_id_ending(self._name, self._domain)

    def compose(
        self, session: Session, delivery: deliveries.Delivery, now: datetime
    ) -> tuple[deliveries.InFlight, Envelope | SendResult]:
        """The ``in_flight`` record and the envelope of ``delivery``'s message, or the
        refusal ``Session.prepare`` gives at once (``SmtpSetupError`` if cannot connect)."""
        token = (
            tracking.make_token(self.secret, self.campaign_id, delivery.id) if self.secret else None
        )
        address, name = delivery.address, self._name
        # Usually stored when the recipient was added (``store.campaigns``): not made again.
        message_id = delivery.message_id
        if message_id is None or not message_id.endswith(self._id_ending):
            message_id = recipient_message_id(message_id, name, address, self._domain)
        sender = self._sender
        bounce_domain, verp_prefix = self._verp
        if token and bounce_domain:
            sender = tracking.verp_sender(token, bounce_domain, verp_prefix)
        # The DATA payload itself (dots doubled, terminated): stuffing line runs once per
        # campaign, not scanning each message (``wire_data``: ~60% of composing); in pieces,
        # written with one writev, never joined.
        data = self.template.data_chunks(
            address=address,
            fields=delivery.fields,
            message_id=message_id,
            token=token,
            campaign=name,
            date=now,
            eight_bit=session.offers_8bitmime(),
        )
        in_flight = deliveries.InFlight(
            delivery.id, token, message_id, message_id != delivery.message_id
        )
        return in_flight, session.prepare(sender, address, data)

    def following(
        self, slot: Slot, claims: Claims, gate: DomainGate, now: datetime
    ) -> Envelope | None:
        """The envelope of the connection's next recipient, to write after the data.

        Only in the plain case: PIPELINING, no domain limit to wait for, the recipient
        already claimed, its domain not backed off; otherwise the recipient is left for
        ``DeliveryRun._start``. (The run checks its own: no error, no Ctrl-C, no rate limit.)
        """
        if not slot.session.pipelining:
            return None
        delivery = claims.take_claimed()
        if delivery is None:
            return None
        domain = domain_of(delivery.address)
        if gate.limits(domain) or gate.backed_off_until(domain) is not None:
            claims.put_back(delivery)
            return None
        # Held by the slot while composing: a Ctrl-C then releases it (``execute``) rather
        # than leaving it claimed in a local variable.
        slot.following = delivery
        in_flight, envelope = self.compose(slot.session, delivery, now)
        if isinstance(envelope, SendResult):
            slot.following = None
            claims.put_back(delivery)
            return None
        slot.following_in_flight = in_flight
        return envelope

"""The handoff desk, whatever the agents use (Slack, the web console): one core for both.

It turns handoff requests into cards, relays the customer's new messages into the card's thread,
carries the owner's replies to the customer through the outbox (and marks them delivered or not),
keeps internal notes internal, and applies Claim, Reassign, Return and Resolve through the
ownership state machine. An adapter (`DeskAdapter`) draws all this in its own medium.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

import redis.asyncio as aioredis

from handoff.announcements import active_async, related
from handoff.ownership import Action, Outcome, Ownership, Transition
from handoff.priority import NEGATIVE_MOOD, raised
from handoff.requests import HandoffRequest, Priority, Reason, TranscriptLine, customer_said
from handoff.routing import Routing
from handoff.sentiment import sounds_angry
from handoff.texts import rating_buttons, text
from handoff.timers import Timer, Timers, follow_up_time, sla_times
from relevo import keys
from relevo.events import EventType, emit
from relevo.lanes import RetryLater, StreamLanes
from relevo.messages import Outgoing
from relevo.metrics import HANDOFF_CARD_SECONDS, HANDOFFS
from relevo.pii import contains_personal_data, redact
from relevo.redis_conn import text_of

log = logging.getLogger(__name__)

NOTE_PREFIXES = ("note:", "nota:", "internal:")
MAX_REPLY_CHARS = 4000  # an agent's reply to a customer (the console's limit too)
TRANSITION_EVENTS = {
    Action.CLAIM: EventType.CLAIMED,
    Action.REASSIGN: EventType.CLAIMED,
    Action.RETURN: EventType.RETURNED,
    Action.RESOLVE: EventType.RESOLVED,
}
SEEN_TTL_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class HandoffView:
    """A handoff as the desk shows it: the request and where it stands now."""

    request: HandoffRequest
    state: str
    owner: str = ""
    owner_name: str = ""
    card_channel: str = ""
    card_ts: str = ""
    claimed_at: str = ""
    first_response_at: str = ""
    resolved_at: str = ""
    rating: str = ""
    notes: int = 0
    raised_priority: str = ""  # set by an SLA breach, or by anger while queued
    sla_state: str = ""  # "", warning, breached, resolution_warning, resolution_breached
    notices: tuple[str, ...] = ()  # incident notices related to the customer's question

    @property
    def id(self) -> str:
        """The handoff id."""
        return self.request.id

    @property
    def priority(self) -> Priority:
        """The priority now: the request's, or higher after an SLA breach or an angry message."""
        return Priority(self.raised_priority) if self.raised_priority else self.request.priority

    def handling_minutes(self) -> float | None:
        """From the escalation to the resolution."""
        if not self.resolved_at:
            return None
        start = dt.datetime.fromisoformat(self.request.created_at)
        return (dt.datetime.fromisoformat(self.resolved_at) - start).total_seconds() / 60


class AlertLevel(StrEnum):
    """How loud a desk alert is."""

    INFO = "info"  # the shift opened
    WARNING = "warning"  # a target is due soon
    BREACH = "breach"  # a target broke
    PRIORITY = "priority"  # the customer turned angry while waiting: the priority went up


ALERT_ICONS = {
    AlertLevel.INFO: "🌅",
    AlertLevel.WARNING: "⚠️",
    AlertLevel.BREACH: "⏰",
    AlertLevel.PRIORITY: "📈",
}


class ReplyOutcome(StrEnum):
    """What became of a message an agent wrote in a handoff's thread."""

    SENT = "sent"  # queued for the customer
    NOTE = "note"  # marked as an internal note
    NOT_OWNER = "not_owner"  # someone who does not own the handoff: stays internal
    CLOSED = "closed"  # the handoff is no longer with a person
    DUPLICATE = "duplicate"  # the same message again (a retried event)
    TOO_LONG = "too_long"  # over MAX_REPLY_CHARS: not sent, the agent is told


class DeskAdapter(Protocol):
    """Where agents work."""

    async def post_card(self, view: HandoffView) -> tuple[str, str]:
        """Post a new card; returns where it is (channel, message id)."""
        ...

    async def update_card(self, view: HandoffView) -> None:
        """Redraw the card in place."""
        ...

    async def post_in_thread(self, view: HandoffView, body: str) -> None:
        """Add a message under the card (the customer's words, the transcript)."""
        ...

    async def mark_delivery(self, receipt: str, ok: bool, reason: str) -> None:
        """Show on an agent's message whether it reached the customer."""
        ...

    async def alert(
        self, view: HandoffView, body: str, *, level: AlertLevel, mention: str | None = None
    ) -> None:
        """A warning from the desk itself (SLA, shifts).

        A breach also alerts the whole desk and `mention`s the department's user group where
        the medium has one.
        """
        ...


async def load(client: aioredis.Redis, handoff_id: str) -> HandoffView | None:
    """A handoff by id, or None."""
    raw = await client.hgetall(keys.handoff(handoff_id))
    if not raw or "record" not in raw:
        return None
    fields = {text_of(k): text_of(v) for k, v in raw.items()}
    return HandoffView(
        request=HandoffRequest.from_json(fields["record"]),
        state=fields.get("state", "queued"),
        owner=fields.get("owner", ""),
        owner_name=fields.get("owner_name", ""),
        card_channel=fields.get("card_channel", ""),
        card_ts=fields.get("card_ts", ""),
        claimed_at=fields.get("claimed_at", ""),
        first_response_at=fields.get("first_response_at", ""),
        resolved_at=fields.get("resolved_at", ""),
        rating=fields.get("rating", ""),
        notes=int(fields.get("notes", "0")),
        raised_priority=fields.get("priority", ""),
        sla_state=fields.get("sla_state", ""),
        notices=tuple(json.loads(fields.get("notices") or "[]")),
    )


def moment(iso: str) -> dt.datetime | None:
    """A stored ISO time as an aware datetime (UTC when it has no offset), None if unreadable."""
    try:
        parsed = dt.datetime.fromisoformat(iso)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


async def say_to_customer(
    client: aioredis.Redis,
    view: HandoffView,
    purpose: str,
    text_key: str,
    buttons: list[dict[str, str]] | None = None,
) -> None:
    """Queue one of the desk's own messages (once per handoff and purpose: the out id)."""
    await client.xadd(
        keys.OUTBOX,
        Outgoing(
            out_id=f"desk:{view.id}:{purpose}",
            conversation_id=view.request.conversation_id,
            author="bot",
            text=text(text_key, view.request.language),
            buttons=buttons or [],
            ends_turn=True,
        ).to_fields(),
    )


def _anger_scored(request: HandoffRequest) -> bool:
    """Whether the handoff's priority already counted the customer's anger.

    A complaint is filed for its anger, and the score gives points to a negative mood
    (`handoff.priority.score`): raising it again for more of the same would count it twice.
    """
    return request.reason is Reason.COMPLAINT or any(
        why.startswith(NEGATIVE_MOOD) for why in request.priority_reasons
    )


def transcript_line(line: TranscriptLine, limit: int | None = None) -> str:
    """One message as the desk shows it: who, then what (a tapped button in brackets)."""
    icon = {"customer": "👤", "bot": "🤖"}.get(line.role, "•")
    said = redact(line.text)[:limit]
    return f"{icon} [{said}]" if line.tapped else f"{icon} {said}"


def transcript_text(request: HandoffRequest) -> str:
    """The conversation so far, one line per message, for the card's thread."""
    return "\n".join(transcript_line(line) for line in request.transcript)


class Desk:
    """The desk's core: streams in, agent actions, replies out."""

    def __init__(self, client: aioredis.Redis, adapter: DeskAdapter, routing: Routing) -> None:
        self._client = client
        self._adapter = adapter
        self._routing = routing
        self._timers = Timers(client)
        self._ownership = Ownership(client)
        self._lanes = [
            self._consumer(keys.HANDOFF_REQUESTS, "conversation", self._on_request),
            self._consumer(keys.DESK_RELAY, "conversation_id", self._on_relay),
            self._consumer(keys.DESK_RECEIPTS, "receipt", self._on_receipt),
        ]

    def _consumer(self, stream: str, key_field: str, handle: object) -> StreamLanes:
        return StreamLanes(
            client=self._client,
            stream=stream,
            group=keys.DESK_GROUP,
            key_field=key_field,
            handle=handle,  # type: ignore[arg-type]
            on_poison=self._poison,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set."""
        await asyncio.gather(*(lanes.run(stop) for lanes in self._lanes))

    async def _poison(self, entry_id: str, fields: dict[str, str], exc: BaseException) -> None:
        log.error("desk entry dropped", extra={"entry": entry_id, "error": repr(exc)})

    async def _on_request(self, entry_id: str, fields: dict[str, str]) -> None:
        view = await load(self._client, fields["handoff_id"])
        if view is not None and not view.card_ts:
            view = await self._with_notices(view)
            try:
                channel, ts = await self._adapter.post_card(view)
            except Exception as exc:  # the desk's service is down: keep the request, try again
                raise RetryLater(f"the card could not be posted: {exc!r}"[:300], delay=5) from exc
            await self._client.hset(
                keys.handoff(view.id), mapping={"card_channel": channel, "card_ts": ts}
            )
            await self._client.set(keys.desk_thread(channel, ts), view.id)
            posted = await load(self._client, view.id)
            assert posted is not None
            await self._adapter.post_in_thread(posted, transcript_text(view.request))
            await self._timers.schedule(view.id, sla_times(view.request, self._routing))
            created = dt.datetime.fromisoformat(view.request.created_at)
            HANDOFF_CARD_SECONDS.observe((dt.datetime.now(dt.UTC) - created).total_seconds())
            HANDOFFS.labels("requested").inc()
            log.info(
                "handoff card posted",
                extra={
                    "handoff": view.id,
                    "channel": channel,
                    "conversation": view.request.conversation_id,
                },
            )
        await self._client.xack(keys.HANDOFF_REQUESTS, keys.DESK_GROUP, entry_id)

    async def _with_notices(self, view: HandoffView) -> HandoffView:
        """Attach the incident notices related to what the customer said."""
        said = " ".join(customer_said(view.request.transcript))
        found = related(await active_async(self._client), said)
        notices = [notice.text_for(view.request.language) for notice in found[:3]]
        if not notices:
            return view
        await self._client.hset(keys.handoff(view.id), "notices", json.dumps(notices))
        return replace(view, notices=tuple(notices))

    async def _on_relay(self, entry_id: str, fields: dict[str, str]) -> None:
        view = await load(self._client, fields.get("handoff", ""))
        if view is not None:
            if not view.card_ts:
                raise RetryLater("the card is not posted yet", delay=0.5)
            if fields.get("kind") == "moved":  # handoff.follow: the card names the new channel
                if await self._first_time(f"relay:{fields['log_id']}"):
                    await self._adapter.post_in_thread(view, f"➡️ {fields.get('text', '')}")
                await self._adapter.update_card(view)
            elif fields.get("kind") == "rating":
                if await self._first_time(f"relay:{fields['log_id']}"):
                    await self._adapter.post_in_thread(
                        view, f"⭐ The customer rated this {fields['rating']}/5"
                    )
                await self._adapter.update_card(view)
            elif await self._first_time(f"relay:{fields['log_id']}"):
                body = fields.get("display") or fields.get("text") or f"[{fields.get('kind')}]"
                await self._adapter.post_in_thread(view, f"👤 {redact(body)}")
                await self._raise_if_upset(view, fields.get("text", ""))
        await self._client.xack(keys.DESK_RELAY, keys.DESK_GROUP, entry_id)

    async def _raise_if_upset(self, view: HandoffView, said: str) -> None:
        """A customer who turns angry while queued moves up one level, once per handoff.

        The priority was scored from what they said before the handoff; a complaint written
        while they wait ("third time my flight is delayed, a disgrace!!") must not sit below
        every calm question in the queue.
        """
        if view.state != "queued" or view.priority is Priority.URGENT or not sounds_angry(said):
            return
        if _anger_scored(view.request):  # a complaint, or a score that counted the mood already
            return
        key = keys.handoff(view.id)
        if not await self._client.hsetnx(key, "upset_at", dt.datetime.now(dt.UTC).isoformat()):
            return
        priority = raised(view.priority)
        await self._client.hset(key, "priority", priority.value)
        HANDOFFS.labels("upset").inc()
        await self._adapter.alert(
            view,
            f"The customer sounds upset while waiting. Priority raised to {priority.value}.",
            level=AlertLevel.PRIORITY,
        )
        await self._adapter.update_card(replace(view, raised_priority=priority.value))

    async def _on_receipt(self, entry_id: str, fields: dict[str, str]) -> None:
        await self._adapter.mark_delivery(
            fields["receipt"], bool(fields.get("ok")), fields.get("reason", "")
        )
        await self._client.xack(keys.DESK_RECEIPTS, keys.DESK_GROUP, entry_id)

    async def _first_time(self, event_id: str) -> bool:
        return bool(
            await self._client.set(keys.desk_seen(event_id), "1", nx=True, ex=SEEN_TTL_SECONDS)
        )

    @property
    def client(self) -> aioredis.Redis:
        """The desk's Redis."""
        return self._client

    async def view(self, handoff_id: str) -> HandoffView | None:
        """A handoff as the desk shows it, or None."""
        return await load(self._client, handoff_id)

    async def reveal(self, handoff_id: str, *, user: str, name: str) -> str:
        """The customer's messages that hold personal data, unredacted, for one agent; recorded.

        Cards, threads and the console redact personal data; an agent who needs a booking code
        asks for it here, and the handoff's `:reveals` stream and the log keep who and when.
        """
        view = await load(self._client, handoff_id)
        if view is None:
            return ""
        entries = await self._client.xrange(keys.conversation_log(view.request.conversation_id))
        said = [
            text_of(fields.get(b"text") or fields.get("text") or "")
            for _, fields in entries
            if text_of(fields.get(b"author") or fields.get("author") or "") == "customer"
        ]
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        await self._client.xadd(
            keys.handoff_reveals(handoff_id), {"by": user, "by_name": name, "at": now}
        )
        log.info("personal data revealed", extra={"handoff": handoff_id, "by": user})
        shown = [text for text in said if contains_personal_data(text)]
        if not shown:
            return ""
        return "🔓 Revealed for you only (logged):\n" + "\n".join(f"👤 {t}" for t in shown)

    async def handoff_for_card(self, channel: str, ts: str) -> str | None:
        """The handoff whose card is the message (channel, ts)."""
        found = await self._client.get(keys.desk_thread(channel, ts))
        return text_of(found) if found else None

    async def act(
        self,
        handoff_id: str,
        action: Action,
        *,
        user: str,
        name: str,
        target: str = "",
        target_name: str = "",
    ) -> Transition:
        """Claim, reassign, return or resolve on behalf of an agent, then redraw the card."""
        result = await self._ownership.apply(
            handoff_id,
            action,
            actor=user,
            actor_name=name,
            target=target,
            target_name=target_name,
        )
        log.info(
            "handoff action",
            extra={
                "handoff": handoff_id,
                "action": action.value,
                "by": user,
                "outcome": result.outcome.value,
            },
        )
        if result.outcome is Outcome.DONE:
            await self._record(handoff_id, action, name)
        if result.outcome is Outcome.DONE and action in (Action.RESOLVE, Action.RETURN):
            await self._timers.cancel(handoff_id)
        if result.outcome is Outcome.DONE and action is Action.RESOLVE:
            await self._ask_for_rating(handoff_id)
            await self._schedule_follow_up(handoff_id)
        view = await load(self._client, handoff_id)
        if result.outcome is Outcome.DONE and view is not None and view.card_ts:
            await self._adapter.update_card(view)
        return result

    async def _record(self, handoff_id: str, action: Action, agent: str) -> None:
        """The operations event and metric of a transition."""
        HANDOFFS.labels(TRANSITION_EVENTS[action].value).inc()
        view = await load(self._client, handoff_id)
        if view is not None:
            await emit(
                self._client,
                TRANSITION_EVENTS[action],
                handoff=handoff_id,
                conversation=view.request.conversation_id,
                channel=view.request.channel,
                agent=agent,
            )

    async def _schedule_follow_up(self, handoff_id: str) -> None:
        view = await load(self._client, handoff_id)
        if view is None or self._routing.follow_up_hours <= 0:
            return
        resolved = dt.datetime.fromisoformat(
            view.resolved_at or dt.datetime.now(dt.UTC).isoformat()
        )
        at = follow_up_time(view.request, self._routing, resolved)
        await self._timers.schedule(handoff_id, {Timer.FOLLOW_UP: at})

    async def _ask_for_rating(self, handoff_id: str) -> None:
        view = await load(self._client, handoff_id)
        if view is None:
            return
        await self._client.hset(keys.handoff(handoff_id), "rating_asked", "1")
        await say_to_customer(self._client, view, "rating", "resolved", rating_buttons())

    async def reply(
        self, handoff_id: str, *, user: str, name: str, body: str, message_ref: str
    ) -> ReplyOutcome:
        """An agent wrote in the thread: to the customer if they own it, else it stays here.

        `message_ref` identifies the agent's message in the desk (it is also the delivery
        receipt), so a retried event never sends the reply twice.
        """
        if not await self._first_time(f"reply:{message_ref}"):
            return ReplyOutcome.DUPLICATE
        view = await load(self._client, handoff_id)
        if view is None or view.state not in ("agent", "queued"):
            return ReplyOutcome.CLOSED
        is_note = body.strip().lower().startswith(NOTE_PREFIXES)
        if not is_note and len(body) > MAX_REPLY_CHARS:
            return ReplyOutcome.TOO_LONG
        if is_note:
            await self._client.hincrby(keys.handoff(handoff_id), "notes", 1)
            outcome = ReplyOutcome.NOTE
        elif view.state == "agent" and view.owner == user:
            await self._client.xadd(
                keys.OUTBOX,
                Outgoing(
                    out_id=f"desk:{message_ref}",
                    conversation_id=view.request.conversation_id,
                    author="agent",
                    agent=name,
                    text=body,
                    receipt=message_ref,
                ).to_fields(),
            )
            first = await self._client.hsetnx(
                keys.handoff(handoff_id),
                "first_response_at",
                dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            )
            HANDOFFS.labels("replied").inc()
            await emit(
                self._client,
                EventType.AGENT_REPLY,
                handoff=handoff_id,
                conversation=view.request.conversation_id,
                channel=view.request.channel,
                agent=name,
                first="1" if first else "",
            )
            outcome = ReplyOutcome.SENT
        else:
            outcome = ReplyOutcome.NOT_OWNER
        log.info(
            "agent message", extra={"handoff": handoff_id, "by": user, "outcome": outcome.value}
        )
        updated = await load(self._client, handoff_id)
        if updated is not None and updated.card_ts and outcome is not ReplyOutcome.NOT_OWNER:
            await self._adapter.update_card(updated)
        return outcome

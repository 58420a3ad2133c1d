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
from dataclasses import replace

import redis.asyncio as aioredis

from handoff.announcements import active_async, related
from handoff.desk_view import (
    AlertLevel,
    DeskAdapter,
    HandoffView,
    agent_message,
    load,
    say_to_customer,
    transcript_text,
)
from handoff.invites import invitation, invitation_text, invite_once, invite_refusal
from handoff.ownership import Action, Outcome, Ownership, Transition
from handoff.relay import Relay
from handoff.replies import (
    MAX_REPLY_CHARS,
    ReplyOutcome,
    is_internal_note,
    not_open,
    public_reply_limit,
)
from handoff.requests import Reason, customer_said
from handoff.routing import Routing
from handoff.texts import rating_buttons
from handoff.timers import Timer, Timers, follow_up_time, sla_times
from relevo import keys
from relevo.events import EventType, emit
from relevo.lanes import RetryLater, StreamLanes
from relevo.messages import Outgoing
from relevo.metrics import HANDOFF_CARD_SECONDS, HANDOFFS
from relevo.pii import contains_personal_data
from relevo.redis_conn import text_of

log = logging.getLogger(__name__)

TRANSITION_EVENTS = {
    Action.CLAIM: EventType.CLAIMED,
    Action.REASSIGN: EventType.CLAIMED,
    Action.RETURN: EventType.RETURNED,
    Action.RESOLVE: EventType.RESOLVED,
}
SEEN_TTL_SECONDS = 7 * 24 * 3600
CUSTOMER = "customer"
"""The actor of a transition the customer made (a withdrawal), where an agent's id goes."""
SHOWN_ON_CARD = (ReplyOutcome.SENT, ReplyOutcome.NOTE)  # they change the card: first reply, notes


def moment(iso: str) -> dt.datetime | None:
    """A stored ISO time as an aware datetime (UTC when it has no offset), None if unreadable."""
    try:
        parsed = dt.datetime.fromisoformat(iso)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class Desk:
    """The desk's core: streams in, agent actions, replies out."""

    def __init__(self, client: aioredis.Redis, adapter: DeskAdapter, routing: Routing) -> None:
        self._client = client
        self._adapter = adapter
        self._routing = routing
        self._timers = Timers(client)
        self._ownership = Ownership(client)
        relay = Relay(client, adapter, routing, self._first_time, self._withdraw)
        self._lanes = [
            self._consumer(keys.HANDOFF_REQUESTS, "conversation", self._on_request),
            self._consumer(keys.DESK_RELAY, "conversation_id", relay.handle),
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
        ids = [notice.id for notice in found[:3]]  # to tell a notice withdrawn since
        await self._client.hset(
            keys.handoff(view.id),
            mapping={"notices": json.dumps(notices), "notice_ids": json.dumps(ids)},
        )
        return replace(view, notices=tuple(notices), notice_ids=tuple(ids))

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
            await self._tell_displaced_owner(view, action, user, name, result)
        return result

    async def _withdraw(self, view: HandoffView) -> None:
        """The customer went back to the assistant while the handoff waited: returned by them.

        Claimed meanwhile, it stays with its person (the gateway told the customer so).
        """
        if view.state == "queued":
            await self.act(view.id, Action.RETURN, user=CUSTOMER, name="the customer")

    async def _tell_displaced_owner(
        self, view: HandoffView, action: Action, user: str, name: str, result: Transition
    ) -> None:
        """Someone else resolved, returned or reassigned a handoff an agent owned: tell them.

        Allowed (a supervisor must be able to), never silent: the owner learns it in the thread.
        """
        owner = result.previous_owner
        if action is Action.CLAIM or not owner or owner == user:
            return
        done = {
            Action.RESOLVE: "resolved this handoff",
            Action.RETURN: "returned this conversation to the assistant",
            Action.REASSIGN: f"reassigned this handoff to {result.owner_name or result.owner}",
        }[action]
        await self._adapter.alert(
            view,
            f"{name} {done}; {result.previous_owner_name or owner} had it.",
            level=AlertLevel.TAKEN_OVER,
            notify=owner,
        )

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
        """Tell the customer it is resolved and ask for a rating, except on a sensitive topic.

        A bereavement, an illness or a legal matter is not a service to rate, least of all in
        public: the customer is told it is resolved, and their next words are words.
        """
        view = await load(self._client, handoff_id)
        if view is None:
            return
        if view.request.reason is Reason.SENSITIVE_TOPIC:
            await say_to_customer(self._client, view, "resolved", "resolved_sensitive")
            return
        await self._client.hset(keys.handoff(handoff_id), "rating_asked", "1")
        await say_to_customer(self._client, view, "rating", "resolved", rating_buttons())

    async def reply(
        self,
        handoff_id: str,
        *,
        user: str,
        name: str,
        body: str,
        message_ref: str,
        note: bool | None = None,
    ) -> ReplyOutcome:
        """An agent wrote in the thread: to the customer if they own it, else it stays here.

        `message_ref` identifies the agent's message in the desk (it is also the delivery
        receipt), so a retried event never sends the reply twice. `note` is the agent's own
        choice where the desk offers one (the console's switch); None reads the message's first
        words (`is_internal_note`, Slack).
        """
        if not body.strip():
            return ReplyOutcome.EMPTY
        if not await self._first_time(f"reply:{message_ref}"):
            return ReplyOutcome.DUPLICATE
        view = await load(self._client, handoff_id)
        noted = is_internal_note(body) if note is None else note
        outcome = await self._outcome(view, user, name, body, noted)
        if view is not None and outcome is ReplyOutcome.NOTE:
            await self._client.hincrby(keys.handoff(handoff_id), "notes", 1)
        elif view is not None and outcome is ReplyOutcome.SENT:
            await self._send(view, agent_message(view, name, body, message_ref))
        log.info(
            "agent message", extra={"handoff": handoff_id, "by": user, "outcome": outcome.value}
        )
        updated = await load(self._client, handoff_id)
        if updated is not None and updated.card_ts and outcome in SHOWN_ON_CARD:
            await self._adapter.update_card(updated)
        return outcome

    async def _outcome(
        self, view: HandoffView | None, user: str, name: str, body: str, note: bool
    ) -> ReplyOutcome:
        """Where an agent's message goes (see `handoff.replies`)."""
        stopped = not_open(view.state if view else "")
        if stopped is not None or view is None:
            return stopped or ReplyOutcome.CLOSED
        if note:
            return ReplyOutcome.NOTE
        if len(body) > MAX_REPLY_CHARS:
            return ReplyOutcome.TOO_LONG
        if not await self._owns(view, user, name):
            return ReplyOutcome.NOT_OWNER
        if contains_personal_data(body) and view.public:
            return ReplyOutcome.PUBLIC_PERSONAL_DATA
        if view.public and len(body) > public_reply_limit():
            return ReplyOutcome.PUBLIC_TOO_LONG
        return ReplyOutcome.SENT

    async def _owns(self, view: HandoffView, user: str, name: str) -> bool:
        """Whether `user` owns the handoff; the agent who had a reopened one takes it back."""
        if view.state == "agent":
            return view.owner == user
        if view.last_owner != user:
            return False
        taken = await self.act(view.id, Action.CLAIM, user=user, name=name)
        return taken.outcome is Outcome.DONE

    async def invite(self, handoff_id: str, *, user: str, name: str) -> ReplyOutcome:
        """The owner invites the customer of a public conversation to continue in private.

        The same owners as a reply's (`_owns`), once per handoff cycle: a double click or a
        retried request sends nothing more. The adapter shows it on the desk, where its
        delivery is marked as a reply's.
        """
        view = await load(self._client, handoff_id)
        outcome = await self._invite_outcome(view, user, name)
        if view is not None and outcome is ReplyOutcome.SENT:
            try:
                receipt = await self._adapter.post_invitation(
                    view, agent=user, agent_name=name, body=invitation_text(view)
                )
            except Exception:  # the desk's service is down: nothing went, a new click may
                await self._client.delete(keys.desk_seen(invite_once(view)))
                raise
            await self._send(view, invitation(view, name, receipt))
            updated = await load(self._client, handoff_id)
            if updated is not None and updated.card_ts:
                await self._adapter.update_card(updated)
        log.info(
            "invitation to private",
            extra={"handoff": handoff_id, "by": user, "outcome": outcome.value},
        )
        return outcome

    async def _invite_outcome(self, view: HandoffView | None, user: str, name: str) -> ReplyOutcome:
        """Whether the invitation goes (see `handoff.invites`)."""
        refused = invite_refusal(view)
        if refused is not None or view is None:
            return refused or ReplyOutcome.CLOSED
        if not await self._owns(view, user, name):
            return ReplyOutcome.NOT_OWNER
        if not await self._first_time(invite_once(view)):
            return ReplyOutcome.DUPLICATE
        return ReplyOutcome.SENT

    async def _send(self, view: HandoffView, message: Outgoing) -> None:
        """The owner's message on its way to the customer, and what it counts for."""
        await self._client.xadd(keys.OUTBOX, message.to_fields())
        await self._client.set(keys.desk_seen(f"sent:{message.receipt}"), "1", ex=SEEN_TTL_SECONDS)
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        await self._client.hset(keys.handoff(view.id), "replied_at", now)  # bot.waiting_notice
        first = await self._client.hsetnx(keys.handoff(view.id), "first_response_at", now)
        HANDOFFS.labels("replied").inc()
        await emit(
            self._client,
            EventType.AGENT_REPLY,
            handoff=view.id,
            conversation=view.request.conversation_id,
            channel=view.request.channel,
            agent=message.agent or "",
            first="1" if first else "",
        )

    async def was_sent(self, message_ref: str) -> bool:
        """Whether the agent's message `message_ref` went to the customer."""
        return bool(await self._client.exists(keys.desk_seen(f"sent:{message_ref}")))

"""The customer's new messages on the desk: shown once, and what they change about the handoff.

The accept script (`bot.conversations`) routes a message written while a person has the
conversation to `relevo:desk:relay`. Here each becomes a line in the handoff's thread, and may
change the handoff: a reopening after Resolve brings the card back to the queue (with its
targets due again from the reopening, and the agent who had it told), a poor rating alerts that
agent, a customer who turns angry or urgent while queued moves up one level, and one who taps
"back to the assistant" before anyone claimed the handoff has it returned to the assistant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import replace

import redis.asyncio as aioredis

from handoff.desk_view import (
    POOR_RATING,
    AlertLevel,
    DeskAdapter,
    HandoffView,
    load,
)
from handoff.priority import NEGATIVE_MOOD, URGENT_WORDS, raised
from handoff.requests import HandoffRequest, Priority, Reason
from handoff.routing import Routing
from handoff.sentiment import sounds_angry
from handoff.timers import Timer, Timers, reopen_times
from relevo import keys
from relevo.lanes import RetryLater
from relevo.metrics import HANDOFFS
from relevo.pii import redact


def _anger_scored(request: HandoffRequest) -> bool:
    """Whether the handoff's priority already counted the customer's anger.

    A complaint is filed for its anger, and the score gives points to a negative mood
    (`handoff.priority.score`): raising it again for more of the same would count it twice.
    """
    return request.reason is Reason.COMPLAINT or any(
        why.startswith(NEGATIVE_MOOD) for why in request.priority_reasons
    )


def _urgency_scored(request: HandoffRequest) -> bool:
    """Whether the handoff's priority already counted urgent words."""
    return any(why.startswith(URGENT_WORDS) for why in request.priority_reasons)


def rating_words(fields: dict[str, str]) -> str:
    """The customer's words around a rating (redacted), "" when they wrote only the rating."""
    words = redact(fields.get("text", "").strip())
    return words if any(ch.isalpha() for ch in words) else ""


def rating_line(fields: dict[str, str]) -> str:
    """A rating in the thread, with the customer's own words when they wrote more than it."""
    rating = fields.get("rating", "")
    words = rating_words(fields)
    said = f': "{words}"' if words else ""
    if fields.get("kept"):
        return (
            f"⭐ The customer rated this again, {rating}/5{said}. "
            f"The first rating, {fields['kept']}/5, stands."
        )
    return f"⭐ The customer rated this {rating}/5{said}"


def relayed_line(fields: dict[str, str]) -> str:
    """What the thread shows of one relayed entry (a move to private is a desk alert)."""
    kind = fields.get("kind")
    if kind == "rating":
        return rating_line(fields)
    said = fields.get("display") or fields.get("text") or f"[{kind}]"
    if kind == "back":  # bot.gestures: withdrawn while it waited for a claim
        return "↩️ The customer went back to the assistant instead of waiting for a person."
    if kind == "command":  # bot.gestures: answered by the gateway, not words for the agent
        return f'🤖 "{redact(said)}" (answered by Relevo: a person has this conversation)'
    return f"👤 {redact(said)}"


def _agent(owner: str) -> str:
    """The agent's id in a conversation owner ("agent:U1"); "" while it was queued."""
    return owner.removeprefix("agent:") if owner.startswith("agent:") else ""


class Relay:
    """Shows what the customer wrote and applies what it changes."""

    def __init__(
        self,
        client: aioredis.Redis,
        adapter: DeskAdapter,
        routing: Routing,
        first_time: Callable[[str], Awaitable[bool]],
        withdraw: Callable[[HandoffView], Awaitable[None]],
    ) -> None:
        self._client = client
        self._adapter = adapter
        self._routing = routing
        self._timers = Timers(client)
        self._first_time = first_time
        self._withdraw = withdraw

    async def handle(self, entry_id: str, fields: dict[str, str]) -> None:
        """One relayed entry (a lane of `Desk`)."""
        view = await load(self._client, fields.get("handoff", ""))
        if view is not None:
            if not view.card_ts:
                raise RetryLater("the card is not posted yet", delay=0.5)
            kind = fields.get("kind")
            if kind not in ("moved", "merged", "rating", "back"):
                await self._reopened(view)
            if await self._first_time(f"relay:{fields['log_id']}"):
                if kind in ("moved", "merged"):  # handoff.follow: the card names where it went
                    await self._adapter.alert(
                        view,
                        fields.get("text", ""),
                        level=AlertLevel.MOVED,
                        notify=_agent(fields.get("owner", "")) if kind == "merged" else "",
                    )
                else:
                    await self._adapter.post_in_thread(view, relayed_line(fields))
                await self._changed_by(view, fields)
            if kind in ("moved", "merged", "rating"):
                await self._adapter.update_card(view)
        await self._client.xack(keys.DESK_RELAY, keys.DESK_GROUP, entry_id)

    async def _changed_by(self, view: HandoffView, fields: dict[str, str]) -> None:
        kind = fields.get("kind")
        if kind == "rating" and not fields.get("kept"):
            await self._poorly_rated(view, fields)
        elif kind == "back":
            await self._withdraw(view)
        elif kind == "merged":  # closed into another handoff: its targets no longer count
            await self._timers.cancel(view.id)
        elif kind not in ("moved", "rating", "command"):
            await self._raise_if_pressing(view, fields.get("text", ""))

    async def _reopened(self, view: HandoffView) -> None:
        """A handoff the customer reopened: back in the queue, its targets again, its agent told.

        Once per reopening (its time), whichever of its messages comes first.
        """
        reopened = view.reopened_at
        if not reopened or view.state not in ("queued", "agent"):
            return
        if not await self._first_time(f"reopen:{view.id}:{reopened}"):
            return
        times = reopen_times(view.request, self._routing, dt.datetime.fromisoformat(reopened))
        first, resolution = (
            times[timer].astimezone(dt.UTC).isoformat()
            for timer in (Timer.FIRST_BREACH, Timer.RESOLUTION_BREACH)
        )
        view = replace(view, cycle_sla_due_at=first, cycle_resolution_due_at=resolution)
        await self._client.hset(
            keys.handoff(view.id),
            mapping={"cycle_sla_due_at": first, "cycle_resolution_due_at": resolution},
        )
        await self._timers.schedule(view.id, times)
        HANDOFFS.labels("reopened").inc()
        if view.state == "queued":
            who = view.last_owner_name or view.last_owner
            back = f" {who} had it: they can claim it again, or simply reply." if who else ""
            await self._adapter.alert(
                view,
                "The customer wrote again after the resolution: the handoff is open again, "
                f"waiting for a claim.{back}",
                level=AlertLevel.REOPENED,
                notify=view.last_owner,
            )
        await self._adapter.update_card(view)

    async def _poorly_rated(self, view: HandoffView, fields: dict[str, str]) -> None:
        """A rating of 1 or 2 tells the agent who handled it, with the customer's words.

        A rating never reopens the handoff (it ends its cycle): the gateway's thanks for it asks
        the customer to reply if anything is still pending, which reopens it as any words do.
        """
        rating = fields.get("rating", "")
        if not rating.isdigit() or int(rating) > POOR_RATING:
            return
        words = rating_words(fields)
        said = f', with these words: "{words}"' if words else ""
        await self._adapter.alert(
            view,
            f"A poor rating, {rating}/5{said}. The customer was asked to reply if anything is "
            "still pending (a reply soon after the resolution reopens it here).",
            level=AlertLevel.FEEDBACK,
            notify=view.owner,
        )

    async def _raise_if_pressing(self, view: HandoffView, said: str) -> None:
        """A customer who turns angry, or writes something urgent, while queued moves up a level.

        Once for each: the priority was scored from what they said before the handoff; a
        complaint or an urgent need written while they wait ("third time my flight is delayed,
        a disgrace!!", "es urgente, mis medicinas están en la maleta") must not sit below every
        calm question in the queue.
        """
        if view.state != "queued" or view.priority is Priority.URGENT:
            return
        if sounds_angry(said) and not _anger_scored(view.request):
            await self._raise(view, "upset", "The customer sounds upset while waiting.")
        elif not _urgency_scored(view.request) and (found := self._routing.urgent_keywords(said)):
            await self._raise(
                view, "urgent", f"The customer wrote urgent words while waiting ({found[0]})."
            )

    async def _raise(self, view: HandoffView, why: str, said: str) -> None:
        key = keys.handoff(view.id)
        if not await self._client.hsetnx(key, f"{why}_at", dt.datetime.now(dt.UTC).isoformat()):
            return
        priority = raised(view.priority)
        await self._client.hset(key, "priority", priority.value)
        HANDOFFS.labels(why).inc()
        await self._adapter.alert(
            view, f"{said} Priority raised to {priority.value}.", level=AlertLevel.PRIORITY
        )
        await self._adapter.update_card(replace(view, raised_priority=priority.value))

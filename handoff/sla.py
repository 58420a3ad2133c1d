"""The SLA monitor: warns before a target breaks, escalates when it does, opens shifts, follows up.

It fires the desk's timers (`handoff.timers`) with a clock it is given, so tests drive it through
a whole day in a second. A warning is a line in the card's thread and a "due soon" state on the
card; a breach mentions the department's user group, raises the priority one level and is
broadcast to the channel (a re-post). When the department's shift opens, a handoff that waited
overnight is announced first. After a resolution, the customer gets one follow-up message.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from enum import StrEnum

import redis.asyncio as aioredis

from handoff.desk_view import AlertLevel, DeskAdapter, HandoffView, load, say_to_customer
from handoff.priority import raised
from handoff.requests import Priority
from handoff.routing import Routing
from handoff.timers import Timer, Timers
from relevo import keys
from relevo.events import EventType, emit
from relevo.metrics import HANDOFFS
from relevo.redis_conn import text_of

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
OPEN_STATES = ("queued", "agent")


class Fired(StrEnum):
    """What a timer did."""

    WARNED = "warned"
    BREACHED = "breached"
    ANNOUNCED = "announced"
    FOLLOWED_UP = "followed_up"
    SKIPPED = "skipped"  # no longer applies (answered, resolved, reopened, gone)
    FAILED = "failed"  # it could not be shown (logged): not tried again


def _raised_to(before: Priority, after: Priority) -> str:
    """What a breach did to the priority: nothing to say when it was already urgent."""
    return f" Priority raised to {after.value}." if after is not before else ""


def utc_now() -> dt.datetime:
    """The real clock."""
    return dt.datetime.now(dt.UTC)


class SlaMonitor:
    """Fires due timers for any number of replicas (each timer fires once)."""

    def __init__(
        self,
        client: aioredis.Redis,
        adapter: DeskAdapter,
        routing: Routing,
        clock: Clock = utc_now,
        lease: dt.timedelta = dt.timedelta(minutes=2),
    ) -> None:
        self._client = client
        self._adapter = adapter
        self._routing = routing
        self._clock = clock
        self._lease = lease
        self.timers = Timers(client)

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        """Check every `interval` seconds until `stop` is set; errors are logged, not fatal."""
        while not stop.is_set():
            try:
                await self.tick()
            except Exception as exc:  # Redis or Slack down: try again at the next tick
                log.error("sla monitor tick failed", extra={"error": repr(exc)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    async def tick(self) -> list[tuple[str, Timer, Fired]]:
        """Fire what is due now.

        Each timer fires once, whatever becomes of it: one that fails (a card deleted in Slack,
        `message_not_found`) is logged and done, never leased again to repeat its alert, and
        the other timers of the tick still fire.
        """
        fired = []
        for handoff_id, timer in await self.timers.claim_due(self._clock(), self._lease):
            try:
                outcome = await self._fire(handoff_id, timer)
            except Exception as exc:  # one handoff's trouble stops no other
                log.error(
                    "sla timer failed",
                    extra={"handoff": handoff_id, "timer": timer.value, "error": repr(exc)},
                )
                outcome = Fired.FAILED
            await self.timers.done(handoff_id, timer)
            log.info(
                "sla timer",
                extra={"handoff": handoff_id, "timer": timer.value, "outcome": outcome.value},
            )
            fired.append((handoff_id, timer, outcome))
        return fired

    async def _fire(self, handoff_id: str, timer: Timer) -> Fired:
        view = await load(self._client, handoff_id)
        if view is None:
            return Fired.SKIPPED
        if timer is Timer.FOLLOW_UP:
            return await self._follow_up(view)
        if view.state not in OPEN_STATES or not view.card_ts:
            return Fired.SKIPPED
        if timer is Timer.SHIFT_OPEN:
            since = self._when(view, view.request.created_at)
            await self._adapter.alert(
                view,
                f"The shift has started: this customer has been waiting since {since}.",
                level=AlertLevel.INFO,
            )
            return Fired.ANNOUNCED
        first = timer in (Timer.FIRST_WARN, Timer.FIRST_BREACH)
        if first and view.first_response_at:
            return Fired.SKIPPED
        target = "first response" if first else "resolution"
        if timer in (Timer.FIRST_WARN, Timer.RESOLUTION_WARN):
            return await self._warn(view, target, first)
        return await self._breach(view, target, first)

    async def _warn(self, view: HandoffView, target: str, first: bool) -> Fired:
        state = "warning" if first else "resolution_warning"
        await self._event(EventType.SLA_WARNING, view, first)
        await self._client.hset(keys.handoff(view.id), "sla_state", state)
        due = view.sla_due_at if first else view.resolution_due_at
        at = f" ({self._when(view, due)})" if due else ""
        await self._adapter.alert(view, f"The {target} is due soon{at}.", level=AlertLevel.WARNING)
        await self._redraw(view.id)
        return Fired.WARNED

    async def _breach(self, view: HandoffView, target: str, first: bool) -> Fired:
        state = "breached" if first else "resolution_breached"
        await self._event(EventType.SLA_BREACH, view, first)
        priority = raised(view.priority)
        await self._client.hset(
            keys.handoff(view.id), mapping={"sla_state": state, "priority": priority.value}
        )
        group = self._routing.department(view.request.department).user_group
        await self._adapter.alert(
            view,
            f"SLA breached: the {target} is overdue.{_raised_to(view.priority, priority)}",
            level=AlertLevel.BREACH,
            mention=group,
            notify=view.owner if view.state == "agent" else "",
        )
        await self._redraw(view.id)
        return Fired.BREACHED

    def _when(self, view: HandoffView, iso: str) -> str:
        """A time in an alert: the adapter's way, in the department's time zone if it needs one."""
        calendar = self._routing.department(view.request.department).calendar
        return self._adapter.when(iso, calendar.timezone)

    async def _event(self, kind: EventType, view: HandoffView, first: bool) -> None:
        HANDOFFS.labels(kind.value).inc()
        await emit(
            self._client,
            kind,
            at=self._clock(),
            handoff=view.id,
            conversation=view.request.conversation_id,
            target="first_response" if first else "resolution",
        )

    async def _follow_up(self, view: HandoffView) -> Fired:
        last = await self._client.hget(
            keys.conversation(view.request.conversation_id), "last_message_at"
        )
        wrote_since = bool(last) and text_of(last) > view.resolved_at
        if view.state != "closed" or wrote_since:  # they came back: no need to ask
            return Fired.SKIPPED
        await say_to_customer(self._client, view, "follow_up", "follow_up")
        return Fired.FOLLOWED_UP

    async def _redraw(self, handoff_id: str) -> None:
        view = await load(self._client, handoff_id)
        if view is not None and view.card_ts:
            await self._adapter.update_card(view)

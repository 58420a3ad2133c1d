"""The desk's timers: SLA warnings and breaches, shift openings and follow-ups, in one sorted set.

Each timer is a member `<handoff id>|<timer>` of `relevo:sla:timers` scored by its due epoch.
Any number of desk replicas may watch the set: `claim_due` leases a due timer (moves it a lease
into the future) in one script, so exactly one replica fires it, and a replica that dies while
firing leaves it to fire again when the lease ends; `done` removes it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from enum import StrEnum

import redis.asyncio as aioredis

from handoff.requests import HandoffRequest
from handoff.routing import Routing
from relevo import keys
from relevo.redis_conn import text_of


class Timer(StrEnum):
    """What is due."""

    FIRST_WARN = "first_warn"
    FIRST_BREACH = "first_breach"
    RESOLUTION_WARN = "resolution_warn"
    RESOLUTION_BREACH = "resolution_breach"
    SHIFT_OPEN = "shift_open"
    FOLLOW_UP = "follow_up"


_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], member)
end
return due
"""


def sla_times(request: HandoffRequest, routing: Routing) -> dict[Timer, dt.datetime]:
    """When to warn and when the targets break, counted in the department's business hours."""
    calendar = routing.department(request.department).calendar
    created = dt.datetime.fromisoformat(request.created_at)
    first, resolution = routing.sla_minutes(request.priority, request.channel)
    left = 1 - routing.warn_before
    times = {
        Timer.FIRST_WARN: calendar.add(created, dt.timedelta(minutes=first * left)),
        Timer.FIRST_BREACH: calendar.add(created, dt.timedelta(minutes=first)),
        Timer.RESOLUTION_WARN: calendar.add(created, dt.timedelta(minutes=resolution * left)),
        Timer.RESOLUTION_BREACH: calendar.add(created, dt.timedelta(minutes=resolution)),
    }
    if request.opens_at:
        times[Timer.SHIFT_OPEN] = dt.datetime.fromisoformat(request.opens_at)
    return times


def reopen_times(
    request: HandoffRequest, routing: Routing, reopened: dt.datetime
) -> dict[Timer, dt.datetime]:
    """A reopened handoff's targets again, counted from the reopening.

    The customer's new message is owed a first response and a resolution, as the first one was
    (the desk is told of a reopening, so no shift-opening notice).
    """
    return sla_times(replace(request, created_at=reopened.isoformat(), opens_at=""), routing)


def follow_up_time(request: HandoffRequest, routing: Routing, resolved: dt.datetime) -> dt.datetime:
    """N business hours of the department after the resolution."""
    calendar = routing.department(request.department).calendar
    return calendar.add(resolved, dt.timedelta(hours=routing.follow_up_hours))


class Timers:
    """The timer set in Redis."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client
        self._claim = client.register_script(_CLAIM)

    async def schedule(self, handoff_id: str, times: dict[Timer, dt.datetime]) -> None:
        """Set (or move) the handoff's timers."""
        if times:
            await self._client.zadd(
                keys.SLA_TIMERS,
                {f"{handoff_id}|{timer.value}": at.timestamp() for timer, at in times.items()},
            )

    async def cancel(self, handoff_id: str, *timers: Timer) -> None:
        """Drop timers that no longer apply."""
        members = [f"{handoff_id}|{timer.value}" for timer in timers or list(Timer)]
        await self._client.zrem(keys.SLA_TIMERS, *members)

    async def claim_due(
        self, now: dt.datetime, lease: dt.timedelta, limit: int = 100
    ) -> list[tuple[str, Timer]]:
        """Timers due by `now`, leased to the caller."""
        due = await self._claim(
            keys=[keys.SLA_TIMERS],
            args=[now.timestamp(), (now + lease).timestamp(), limit],
        )
        claimed = []
        for member in due:
            handoff_id, _, timer = text_of(member).partition("|")
            if timer in Timer._value2member_map_:
                claimed.append((handoff_id, Timer(timer)))
        return claimed

    async def done(self, handoff_id: str, timer: Timer) -> None:
        """The timer fired: forget it."""
        await self._client.zrem(keys.SLA_TIMERS, f"{handoff_id}|{timer.value}")

    async def due_at(self, handoff_id: str, timer: Timer) -> dt.datetime | None:
        """When a timer of the handoff is due, if it is set."""
        score = await self._client.zscore(keys.SLA_TIMERS, f"{handoff_id}|{timer.value}")
        return None if score is None else dt.datetime.fromtimestamp(score, dt.UTC)

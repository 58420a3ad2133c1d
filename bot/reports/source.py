"""Reading the operations events of a period from Redis, for reports.

Stream ids are the milliseconds at which Redis appended each entry, so a period maps onto an id
range without scanning the whole stream. An id is the moment an event was recorded, which can
lag its `at` slightly; the KPIs filter on `at`, so a read that starts early or ends late costs
nothing but a few extra entries.
"""

from __future__ import annotations

import datetime as dt
import math

import redis

from relevo import keys
from relevo.events import parse

BATCH = 5_000
"""Entries per XRANGE call: large enough to be quick, small enough not to block Redis."""
_MAX_SEQUENCE = 2**64 - 1


def _millis(moment: dt.datetime) -> float:
    """Milliseconds since the epoch; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp() * 1000


def stream_id(moment: dt.datetime) -> str:
    """The first stream id of the millisecond a moment falls in."""
    return f"{max(0, math.floor(_millis(moment)))}-0"


def last_stream_id_before(moment: dt.datetime) -> str:
    """The last possible stream id strictly before a moment."""
    return f"{max(0, math.ceil(_millis(moment)) - 1)}-{_MAX_SEQUENCE}"


def _after(entry_id: str) -> str:
    """The smallest id after `entry_id` (exclusive ranges need Redis 6.2; this works on 6)."""
    millis, sequence = (int(part) for part in entry_id.split("-"))
    if sequence == _MAX_SEQUENCE:
        return f"{millis + 1}-0"
    return f"{millis}-{sequence + 1}"


def read_events(
    client: redis.Redis, since: dt.datetime, until: dt.datetime, *, batch: int = BATCH
) -> list[dict[str, str]]:
    """The events recorded from `since` up to `until` (excluded), oldest first, as text.

    Args:
        client: A synchronous client (with or without `decode_responses`).
        since: Start of the period.
        until: End of the period, excluded.
        batch: Entries per round trip.
    """
    if until <= since:
        return []
    start, end = stream_id(since), last_stream_id_before(until)
    events: list[dict[str, str]] = []
    while True:
        entries = client.xrange(keys.EVENTS, min=start, max=end, count=batch)
        events.extend(parse(fields) for _, fields in entries)
        if len(entries) < batch:
            return events
        last = entries[-1][0]
        start = _after(last.decode() if isinstance(last, bytes) else str(last))

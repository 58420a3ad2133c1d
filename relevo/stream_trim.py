"""Keep the work streams short: drop the entries every consumer group is done with.

Consumers only acknowledge what they handled (XACK), which leaves the entry in the stream: every
customer message and reply would stay in Redis for good, past the transcript retention. The
trimmer removes, with `XTRIM MINID`, the entries older than the oldest one a group still needs:
its oldest pending entry, or, when nothing is pending, the first one it has not been given yet.
What a group has not read or has not acknowledged is never removed. A stream without groups is
left alone (its consumer has not started yet). Several gateways may trim at once: a trim only
ever removes entries every group is done with, so the rounds agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from relevo import keys
from relevo.redis_conn import text_of

log = logging.getLogger(__name__)

TRIMMED_STREAMS = (
    keys.INBOUND,
    keys.OUTBOX,
    keys.DESK_RELAY,
    keys.HANDOFF_REQUESTS,
    keys.DESK_RECEIPTS,
)
TRIM_SECONDS = 60.0


def _order(entry_id: str) -> tuple[int, int]:
    """A stream entry id as a sortable pair (milliseconds, sequence)."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _after(entry_id: str) -> str:
    """The smallest entry id greater than `entry_id`."""
    ms, seq = _order(entry_id)
    return f"{ms}-{seq + 1}"


async def oldest_needed(client: aioredis.Redis, stream: str) -> str | None:
    """The id of the oldest entry some group of `stream` still needs; None without groups."""
    try:
        groups = await client.xinfo_groups(stream)
    except ResponseError as exc:
        if "no such key" not in str(exc):
            raise
        return None
    needed = []
    for group in groups:
        pending = await client.xpending(stream, text_of(group["name"]))
        if pending["pending"]:
            needed.append(text_of(pending["min"]))
        else:
            needed.append(_after(text_of(group["last-delivered-id"])))
    return min(needed, key=_order, default=None)


async def trim(client: aioredis.Redis, stream: str) -> int:
    """Remove the entries of `stream` that every group is done with; returns how many."""
    oldest = await oldest_needed(client, stream)
    if oldest is None:
        return 0
    return int(await client.xtrim(stream, minid=oldest, approximate=False))


async def keep_trimmed(
    client: aioredis.Redis, stop: asyncio.Event, interval: float = TRIM_SECONDS
) -> None:
    """Trim the work streams every `interval` seconds until `stop` is set.

    A Redis error (down, failing over, read-only) skips the round: the next one catches up.
    """
    while not stop.is_set():
        try:
            for stream in TRIMMED_STREAMS:
                if trimmed := await trim(client, stream):
                    log.debug("stream trimmed", extra={"stream": stream, "entries": trimmed})
        except redis.RedisError as exc:
            log.warning("stream trim skipped", extra={"error": repr(exc)})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)

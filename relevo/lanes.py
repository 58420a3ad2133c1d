"""Consume a Redis stream in per-conversation lanes: in order within one, in parallel across.

Entries of one key (a conversation) are handled one after another, so replies never overtake each
other; different keys run concurrently up to a limit. A handler that raises one of the `transient`
errors, or a Redis refusal (read-only, out of memory: `redis_refusing`), is retried with backoff
(the entry stays pending meanwhile, so a crash loses nothing); any other error is a poison entry,
handed to `on_poison` and acknowledged, so one bad entry never blocks its lane forever (when Redis
cannot take the rejection now, it is made later). The reader rides out any Redis error, and makes
the group again if the stream was lost. Entries another consumer left pending for too long (it
died) are claimed and handled here; the entries this consumer holds (handling, retrying, or queued
in a lane behind a slow one) are claimed again by itself every third of that time, so a living
consumer's long wait (a channel's RetryAfter, a backlog) never looks abandoned to the others, who
would handle the same entry a second time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable

import redis
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from relevo.redis_conn import REDIS_UNREACHABLE, redis_refusing, text_of

log = logging.getLogger(__name__)

# Resets the idle time of the entries consumer ARGV[2] of group ARGV[1] holds; entries another
# consumer has taken meanwhile stay theirs. JUSTID: the delivery count does not grow.
_KEEP_HELD = """
local kept = 0
for i = 3, #ARGV do
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if pending[1] and pending[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    kept = kept + 1
  end
end
return kept
"""
_KEEP_HELD_BATCH = 500

Entry = tuple[str, dict[str, str]]
Handler = Callable[[str, dict[str, str]], Awaitable[None]]
PoisonHandler = Callable[[str, dict[str, str], BaseException], Awaitable[None]]


class RetryLater(Exception):
    """A handler's way of saying: not now, try this entry again after `delay` seconds."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


async def ensure_group(client: aioredis.Redis, stream: str, group: str) -> None:
    """Create the consumer group (idempotent)."""
    try:
        await client.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def default_consumer_name() -> str:
    """Unique per process, readable in `XINFO CONSUMERS`."""
    return f"{socket.gethostname()}-{os.getpid()}"


class StreamLanes:
    """Reads `stream` as `consumer` of `group` and runs `handle` per entry, laned by `key_field`."""

    def __init__(
        self,
        *,
        client: aioredis.Redis,
        stream: str,
        group: str,
        key_field: str,
        handle: Handler,
        on_poison: PoisonHandler,
        transient: tuple[type[BaseException], ...] = (),
        concurrency: int = 32,
        consumer: str | None = None,
        claim_idle_ms: int = 30_000,
        max_backoff: float = 10.0,
    ) -> None:
        self._client = client
        self._stream = stream
        self._group = group
        self._key_field = key_field
        self._handle = handle
        self._on_poison = on_poison
        self._transient: tuple[type[BaseException], ...] = (
            RetryLater,
            *REDIS_UNREACHABLE,
            *transient,
        )
        self._slots = asyncio.Semaphore(concurrency)
        self.consumer = consumer or default_consumer_name()
        self._claim_idle_ms = claim_idle_ms
        self._max_backoff = max_backoff
        self._lanes: dict[str, deque[Entry]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._in_flight: set[str] = set()
        self._redelivered: set[str] = set()
        self._keep_held_script = client.register_script(_KEEP_HELD)

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, then let running entries finish (briefly)."""
        backoff = 0.5
        last_claim = 0.0
        recovered = False
        while not stop.is_set():
            try:
                if not recovered:
                    await ensure_group(self._client, self._stream, self._group)
                    await self._read("0")  # what this consumer had pending before a restart
                    recovered = True
                if time.monotonic() - last_claim > self._claim_idle_ms / 3000:
                    await self._keep_held()
                    await self._claim_abandoned()
                    last_claim = time.monotonic()
                await self._read(">", block_ms=min(1000, self._claim_idle_ms // 3))
                backoff = 0.5
            except redis.RedisError as exc:  # down, or refusing (read-only, full, group lost)
                log.warning("redis unavailable", extra={"stream": self._stream, "error": str(exc)})
                recovered = False  # make the group again if it was lost; take back what is ours
                await asyncio.sleep(backoff)
                backoff = min(self._max_backoff, backoff * 2)
        await self.drain(timeout=5.0)

    async def drain(self, timeout: float) -> None:
        """Wait for running lanes; cancel what is left (it stays pending in Redis)."""
        tasks = list(self._tasks.values())
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=timeout)
        for task in late:
            task.cancel()

    def take(self, entries: tuple[Entry, ...] | list[Entry]) -> None:
        """Handle entries read for this consumer elsewhere (a script that also wrote them)."""
        for entry_id, fields in entries:
            self._dispatch(entry_id, fields, redelivered=False)

    def is_redelivery(self, entry_id: str) -> bool:
        """Whether an entry in hand was handed out before: pending after a restart, or claimed.

        An entry read as new was never handled by anyone.
        """
        return entry_id in self._redelivered

    @property
    def busy(self) -> int:
        """Entries taken and not yet finished."""
        return len(self._in_flight)

    async def _read(self, start: str, block_ms: int | None = None) -> None:
        found = await self._client.xreadgroup(
            self._group, self.consumer, {self._stream: start}, count=100, block=block_ms
        )
        for entry_id, fields in found[0][1] if found else []:
            self._dispatch(
                text_of(entry_id),
                {text_of(k): text_of(v) for k, v in fields.items()},
                redelivered=start != ">",
            )

    async def _keep_held(self) -> None:
        """Show the others that the entries in hand are not abandoned (module docstring)."""
        held = sorted(self._in_flight)
        for start in range(0, len(held), _KEEP_HELD_BATCH):
            await self._keep_held_script(
                keys=[self._stream],
                args=[self._group, self.consumer, *held[start : start + _KEEP_HELD_BATCH]],
            )

    async def _claim_abandoned(self) -> None:
        _, claimed, *_ = await self._client.xautoclaim(
            self._stream, self._group, self.consumer, self._claim_idle_ms, "0-0", count=100
        )
        for entry_id, fields in claimed:
            if fields:
                self._dispatch(
                    text_of(entry_id),
                    {text_of(k): text_of(v) for k, v in fields.items()},
                    redelivered=True,
                )

    def _dispatch(self, entry_id: str, fields: dict[str, str], *, redelivered: bool) -> None:
        if entry_id in self._in_flight:
            return
        self._in_flight.add(entry_id)
        if redelivered:
            self._redelivered.add(entry_id)
        key = fields.get(self._key_field, "")
        self._lanes.setdefault(key, deque()).append((entry_id, fields))
        if key not in self._tasks:
            self._tasks[key] = asyncio.create_task(self._drain_lane(key))

    async def _drain_lane(self, key: str) -> None:
        """Run a lane's entries in order; if it stops early, its entries can be taken again."""
        lane = self._lanes[key]
        try:
            while lane:
                entry_id, fields = lane.popleft()
                try:
                    await self._run_one(entry_id, fields)
                finally:
                    self._forget(entry_id)
        except Exception:
            log.exception("lane stopped", extra={"stream": self._stream, "lane": key})
        finally:
            for entry_id, _ in self._lanes.pop(key):  # still pending: read again after a claim
                self._forget(entry_id)
            del self._tasks[key]

    def _forget(self, entry_id: str) -> None:
        self._in_flight.discard(entry_id)
        self._redelivered.discard(entry_id)

    def _is_transient(self, exc: BaseException) -> bool:
        return isinstance(exc, self._transient) or redis_refusing(exc)

    async def _run_one(self, entry_id: str, fields: dict[str, str]) -> None:
        backoff = 0.5
        while True:
            try:
                async with self._slots:
                    await self._handle(entry_id, fields)
                return
            except Exception as exc:
                if not self._is_transient(exc) and await self._rejected(entry_id, fields, exc):
                    return
                delay = exc.delay if isinstance(exc, RetryLater) and exc.delay else backoff
                log.warning(
                    "entry kept for a retry",
                    extra={
                        "stream": self._stream,
                        "entry": entry_id,
                        "error": str(exc),
                        "retry_in_s": round(delay, 2),
                    },
                )
                await asyncio.sleep(delay)
                backoff = min(self._max_backoff, backoff * 2) * random.uniform(0.8, 1.2)

    async def _rejected(self, entry_id: str, fields: dict[str, str], exc: BaseException) -> bool:
        """Hand a poison entry to `on_poison` and acknowledge it.

        False when Redis could not take it now (down, full): the entry is tried again later.
        """
        log.error("entry rejected", exc_info=exc, extra={"stream": self._stream, "entry": entry_id})
        try:
            await self._on_poison(entry_id, fields, exc)
            await self._client.xack(self._stream, self._group, entry_id)
        except Exception as failure:
            if not self._is_transient(failure):
                raise
            return False
        return True

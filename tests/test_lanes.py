"""StreamLanes on a real Redis: which entries were handed out before (a restart, a claim)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from urllib.parse import urlsplit

import redis
import redis.asyncio as aioredis

from relevo.lanes import Handler, StreamLanes, ensure_group
from relevo.redis_conn import connect_async
from relevo.settings import Settings

STREAM, GROUP = "relevo:test:lanes", "workers"


def lanes_of(
    client: aioredis.Redis, consumer: str, handle: Handler, claim_idle_ms: int
) -> StreamLanes:
    """A consumer of the test stream; an entry rejected as poison fails the test."""

    async def poison(entry_id: str, fields: dict[str, str], exc: BaseException) -> None:
        raise AssertionError(f"{fields} rejected: {exc!r}")

    return StreamLanes(
        client=client,
        stream=STREAM,
        group=GROUP,
        key_field="conversation",
        handle=handle,
        on_poison=poison,
        consumer=consumer,
        claim_idle_ms=claim_idle_ms,
    )


def first_one_handled(client: aioredis.Redis) -> tuple[list[str], asyncio.Event, Handler]:
    """A handler that records an entry's text, acknowledges it and sets the stop event."""
    handled: list[str] = []
    stop = asyncio.Event()

    async def handle(entry_id: str, fields: dict[str, str]) -> None:
        handled.append(fields["text"])
        await client.xack(STREAM, GROUP, entry_id)
        stop.set()

    return handled, stop, handle


async def handled_by(
    client: aioredis.Redis, consumer: str, expected: int, claim_idle_ms: int = 30_000
) -> dict[str, bool]:
    """Run a consumer until it handled `expected` entries: text -> whether it was a redelivery."""
    seen: dict[str, bool] = {}
    ids: list[str] = []
    stop = asyncio.Event()

    async def handle(entry_id: str, fields: dict[str, str]) -> None:
        seen[fields["text"]] = lanes.is_redelivery(entry_id)
        ids.append(entry_id)
        await client.xack(STREAM, GROUP, entry_id)
        if len(seen) == expected:
            stop.set()

    lanes = lanes_of(client, consumer, handle, claim_idle_ms)
    await asyncio.wait_for(lanes.run(stop), 20)
    assert not any(lanes.is_redelivery(i) for i in ids) and lanes.busy == 0  # forgotten when done
    return seen


async def test_new_entries_are_first_deliveries_and_pending_or_claimed_ones_are_not(
    aclient: aioredis.Redis,
) -> None:
    await ensure_group(aclient, STREAM, GROUP)
    for text in ("mine, pending", "abandoned by a dead worker"):
        await aclient.xadd(STREAM, {"conversation": text, "text": text})
    # Before a restart, "me" had taken the first entry, and a worker that died the second.
    await aclient.xreadgroup(GROUP, "me", {STREAM: ">"}, count=1)
    await aclient.xreadgroup(GROUP, "dead", {STREAM: ">"}, count=1)
    await asyncio.sleep(0.05)
    await aclient.xadd(STREAM, {"conversation": "new", "text": "new"})

    seen = await handled_by(aclient, "me", expected=3, claim_idle_ms=10)

    assert seen == {"mine, pending": True, "abandoned by a dead worker": True, "new": False}
    assert (await aclient.xpending(STREAM, GROUP))["pending"] == 0


async def test_a_long_wait_of_a_living_consumer_is_not_taken_over_by_another(
    aclient: aioredis.Redis,
) -> None:
    """An entry held 3 s (a channel's RetryAfter), while another gateway claims what has
    been idle 1 s, every 50 ms: the holder keeps it, and it is handled once."""
    await ensure_group(aclient, STREAM, GROUP)
    await aclient.xadd(STREAM, {"conversation": "c1", "text": "slow"})
    handled: list[str] = []
    stop = asyncio.Event()

    async def handle(entry_id: str, fields: dict[str, str]) -> None:
        handled.append(entry_id)
        await asyncio.sleep(3)
        await aclient.xack(STREAM, GROUP, entry_id)

    holder = lanes_of(aclient, "holder", handle, claim_idle_ms=1000)
    running = asyncio.create_task(holder.run(stop))
    taken = []
    while not handled or holder.busy:
        _, claimed, *_ = await aclient.xautoclaim(STREAM, GROUP, "other", 1000, "0-0", count=10)
        taken += claimed
        await asyncio.sleep(0.05)
    stop.set()
    await running
    assert len(handled) == 1 and taken == []
    assert (await aclient.xpending(STREAM, GROUP))["pending"] == 0


async def test_a_redis_refusal_in_a_handler_is_tried_again_not_dropped(
    aclient: aioredis.Redis,
) -> None:
    """Redis full (OOM inside a script) while the answer is recorded: the entry waits."""
    await ensure_group(aclient, STREAM, GROUP)
    await aclient.xadd(STREAM, {"conversation": "c1", "text": "where is my bag?"})
    attempts: list[str] = []
    stop = asyncio.Event()

    async def handle(entry_id: str, fields: dict[str, str]) -> None:
        attempts.append(entry_id)
        if len(attempts) == 1:
            raise redis.ResponseError(
                "Error running script (call to f_9): @user_script:8: @user_script: 8: -OOM "
                "command not allowed when used memory > 'maxmemory'."
            )
        await aclient.xack(STREAM, GROUP, entry_id)
        stop.set()

    await asyncio.wait_for(lanes_of(aclient, "me", handle, 30_000).run(stop), 20)
    assert len(attempts) == 2 and (await aclient.xpending(STREAM, GROUP))["pending"] == 0


async def test_the_reader_outlives_a_lost_group_and_makes_it_again(
    aclient: aioredis.Redis,
) -> None:
    """NOGROUP (the stream lost: Redis restarted without its file) no longer ends the reader."""
    await ensure_group(aclient, STREAM, GROUP)
    handled, stop, handle = first_one_handled(aclient)
    running = asyncio.create_task(lanes_of(aclient, "me", handle, 30_000).run(stop))
    await asyncio.sleep(0.3)
    await aclient.delete(STREAM)
    await asyncio.sleep(0.5)
    await aclient.xadd(STREAM, {"conversation": "c1", "text": "after the loss"})
    await asyncio.wait_for(running, 20)
    assert handled == ["after the loss"]


async def test_a_rejection_redis_cannot_record_now_is_made_later_and_the_lane_goes_on(
    aclient: aioredis.Redis,
) -> None:
    await ensure_group(aclient, STREAM, GROUP)
    for text in ("unreadable", "next"):
        await aclient.xadd(STREAM, {"conversation": "c1", "text": text})
    rejected: list[str] = []
    handled: list[str] = []
    stop = asyncio.Event()

    async def handle(entry_id: str, fields: dict[str, str]) -> None:
        if fields["text"] == "unreadable":
            raise ValueError("cannot decode")
        handled.append(fields["text"])
        await aclient.xack(STREAM, GROUP, entry_id)
        stop.set()

    async def poison(entry_id: str, fields: dict[str, str], exc: BaseException) -> None:
        rejected.append(fields["text"])
        if len(rejected) == 1:
            raise redis.exceptions.OutOfMemoryError("command not allowed when used memory")

    lanes = StreamLanes(
        client=aclient,
        stream=STREAM,
        group=GROUP,
        key_field="conversation",
        handle=handle,
        on_poison=poison,
        consumer="me",
    )
    await asyncio.wait_for(lanes.run(stop), 20)
    assert rejected == ["unreadable", "unreadable"] and handled == ["next"]
    assert (await aclient.xpending(STREAM, GROUP))["pending"] == 0


class SilentPath:
    """A TCP relay in front of Redis whose open connections can go silent: they stay open and
    pass nothing more, as a network path that died without a reset (a host gone, a partition).
    Connections made afterwards pass again."""

    def __init__(self, redis_url: str) -> None:
        parts = urlsplit(redis_url)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self._silenced: list[asyncio.Event] = []
        self._pumps: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        """Listen; the URL to give a client."""
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}/0"

    def silence(self) -> None:
        """Every connection open now passes nothing more."""
        for silent in self._silenced:
            silent.set()

    async def close(self) -> None:
        for pump in self._pumps:
            pump.cancel()
        if self._server is not None:
            self._server.close()

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(*self._target)
        silent = asyncio.Event()
        self._silenced.append(silent)
        for reader, writer in ((client_r, server_w), (server_r, client_w)):
            pump = asyncio.create_task(self._pump(reader, writer, silent))
            self._pumps.add(pump)

    @staticmethod
    async def _pump(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, silent: asyncio.Event
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                if not silent.is_set():
                    writer.write(data)
                    await writer.drain()


async def test_a_reader_whose_redis_path_went_silent_reconnects_and_goes_on(
    aclient: aioredis.Redis, redis_url: str, tmp_path: Path
) -> None:
    """The gateway's client gives up on an unanswered command (redis-py 8's 5 s socket
    timeout): the reader makes a new connection and handles the next entry, where an older
    redis-py waited on the dead connection for ever."""
    await ensure_group(aclient, STREAM, GROUP)
    path = SilentPath(redis_url)
    client = connect_async(Settings(redis_url=await path.start(), data_dir=tmp_path))
    handled, stop, handle = first_one_handled(client)
    running = asyncio.create_task(lanes_of(client, "me", handle, 30_000).run(stop))
    try:
        await asyncio.sleep(0.5)  # the reader waits in XREADGROUP on its connection
        path.silence()
        await aclient.xadd(STREAM, {"conversation": "c1", "text": "still there?"})
        await asyncio.wait_for(running, 20)
    finally:
        running.cancel()
        await path.close()
        await client.aclose()
    assert handled == ["still there?"]

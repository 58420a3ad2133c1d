"""The work streams' trimmer on a real Redis: what every group is done with goes, nothing else."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from relevo import keys
from relevo.lanes import ensure_group
from relevo.redis_conn import redis_server_binary
from relevo.stream_trim import keep_trimmed, trim
from tests.conftest import free_port, wait_for_redis

STREAM = "relevo:test:trim"


async def added(client: aioredis.Redis, stream: str, count: int) -> list[str]:
    return [await client.xadd(stream, {"text": f"message {n}"}) for n in range(count)]


async def read(client: aioredis.Redis, stream: str, group: str, count: int) -> list[str]:
    """Deliver the next `count` entries to `group` (pending until acknowledged)."""
    [(_, entries)] = await client.xreadgroup(group, "worker", {stream: ">"}, count=count)
    return [entry_id for entry_id, _ in entries]


async def left(client: aioredis.Redis, stream: str) -> list[str]:
    return [entry_id for entry_id, _ in await client.xrange(stream)]


async def test_acknowledged_entries_go_pending_and_undelivered_ones_stay(
    aclient: aioredis.Redis,
) -> None:
    await ensure_group(aclient, STREAM, "g")
    ids = await added(aclient, STREAM, 5)
    assert await read(aclient, STREAM, "g", 3) == ids[:3]
    await aclient.xack(STREAM, "g", ids[0], ids[2])  # ids[1] still pending, ids[3:] not delivered
    assert await trim(aclient, STREAM) == 1
    assert await left(aclient, STREAM) == ids[1:]
    await aclient.xack(STREAM, "g", ids[1])  # nothing pending: up to the last delivered goes
    assert await trim(aclient, STREAM) == 2
    assert await left(aclient, STREAM) == ids[3:]
    assert await read(aclient, STREAM, "g", 5) == ids[3:]  # the group reads on where it was


async def test_the_slowest_group_decides(aclient: aioredis.Redis) -> None:
    for group in ("fast", "slow", "idle"):
        await ensure_group(aclient, STREAM, group)
    ids = await added(aclient, STREAM, 4)
    await aclient.xack(STREAM, "fast", *await read(aclient, STREAM, "fast", 4))
    await aclient.xack(STREAM, "slow", *await read(aclient, STREAM, "slow", 2))
    assert await trim(aclient, STREAM) == 0  # "idle" has read nothing yet
    await aclient.xgroup_destroy(STREAM, "idle")
    assert await trim(aclient, STREAM) == 2
    assert await left(aclient, STREAM) == ids[2:]


async def test_a_stream_without_groups_is_left_alone(aclient: aioredis.Redis) -> None:
    assert await trim(aclient, STREAM) == 0  # no stream at all
    ids = await added(aclient, STREAM, 3)
    assert await trim(aclient, STREAM) == 0
    assert await left(aclient, STREAM) == ids


@contextmanager
def redis_on(port: int, data: Path) -> Iterator[None]:
    """A redis-server of its own on `port`, stopped when the block ends."""
    server = subprocess.Popen(
        [
            str(redis_server_binary()),
            *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(data)),
            *("--save", "", "--appendonly", "no"),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_redis(redis.Redis(port=port))
        yield
    finally:
        server.terminate()
        server.wait(10)


async def until(condition: Callable[[], Awaitable[bool]], seconds: float = 10) -> None:
    async with asyncio.timeout(seconds):
        while not await condition():
            await asyncio.sleep(0.05)


async def test_the_gateway_task_trims_every_round_and_outlives_a_redis_outage(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    client = aioredis.Redis(port=port, decode_responses=True, retry=Retry(NoBackoff(), 0))

    async def handled(count: int) -> None:
        """`count` messages queued for the assistant, read and acknowledged."""
        await ensure_group(client, keys.INBOUND, keys.INBOUND_GROUP)
        await added(client, keys.INBOUND, count)
        entries = await read(client, keys.INBOUND, keys.INBOUND_GROUP, count)
        await client.xack(keys.INBOUND, keys.INBOUND_GROUP, *entries)

    async def emptied() -> bool:
        return await client.xlen(keys.INBOUND) == 0

    async def skipped() -> bool:
        return "stream trim skipped" in caplog.text

    caplog.set_level(logging.WARNING, logger="relevo.stream_trim")
    stop = asyncio.Event()
    with redis_on(port, tmp_path):
        task = asyncio.create_task(keep_trimmed(client, stop, interval=0.05))
        await handled(3)
        await until(emptied)
    await until(skipped)  # Redis is down: a round fails
    assert not task.done()
    with redis_on(port, tmp_path):  # back, empty: the next rounds trim again
        await handled(2)
        await until(emptied)
        stop.set()
        await asyncio.wait_for(task, 5)
    await client.aclose()

"""Relevo on a Redis Sentinel group: clients, Rasa's stores and the action server follow the
primary through a failover (a `kill -9` of the primary), and no message is lost or answered twice.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
import redis

from bot.assistant import AssistantWorker
from bot.inbound import Channel, Customer, Inbound
from bot.pipeline import InboundPipeline
from bot.rasa_client import TRACKER_PREFIX, RasaClient
from relevo import keys
from relevo.redis_conn import connect, connect_async
from relevo.settings import Settings
from tests.e2e.conftest import running_engine
from tests.e2e.test_rasa_outage import answered, replies_by_message, wait_until
from tests.scale.sentinel import SentinelGroup, sentinel_group


@pytest.fixture
def group(tmp_path: Path) -> SentinelGroup:
    with sentinel_group(tmp_path / "sentinel") as group:
        yield group  # type: ignore[misc]


async def retried(call, seconds: float = 30.0):  # type: ignore[no-untyped-def]
    """What a channel does when the gateway fails: deliver again until it is taken."""
    async with asyncio.timeout(seconds):
        while True:
            try:
                return await call()
            except redis.RedisError:
                await asyncio.sleep(0.2)


async def test_clients_follow_the_primary_through_a_failover(
    group: SentinelGroup, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, redis_url=group.url(db=2))
    sync_client = connect(settings)
    async_client = connect_async(settings)
    sync_client.set("relevo:before", "kept")
    await async_client.xadd("relevo:stream", {"n": "1"})
    assert sync_client.wait(1, 2000) == 1  # the replica has both writes
    first = group.primary_port()
    assert redis.Redis(port=first, db=2, decode_responses=True).get("relevo:before") == "kept"

    group.kill_primary()
    second = group.wait_for_new_primary(old=first)

    await retried(lambda: async_client.xadd("relevo:stream", {"n": "2"}))
    assert [f["n"] for _, f in await async_client.xrange("relevo:stream")] == ["1", "2"]
    assert await retried(lambda: asyncio.to_thread(sync_client.get, "relevo:before")) == "kept"
    on_new_primary = redis.Redis(port=second, db=2, decode_responses=True)
    assert on_new_primary.xlen("relevo:stream") == 2
    await async_client.aclose()


@pytest.mark.slow
async def test_a_conversation_goes_on_through_a_failover_answered_once(
    group: SentinelGroup, tmp_path: Path
) -> None:
    with running_engine(group.url(db=1), tmp_path / "engine") as engine:
        client = connect_async(engine.settings)
        pipeline = InboundPipeline(client, engine.settings)
        rasa = RasaClient(url=engine.rasa_url, timeout=30)
        worker = AssistantWorker(client=client, rasa=rasa, consumer="sentinel-worker")
        stop = asyncio.Event()
        conversation = f"sentinel-{uuid.uuid4().hex[:8]}"

        def message(number: int, text: str) -> Inbound:
            return Inbound(
                Channel.WEBCHAT,
                conversation,
                f"m{number}-{conversation}",
                Customer(conversation),
                text,
            )

        first = message(1, "is there wifi on board?")
        second = message(2, "can my dog travel with me?")
        running = asyncio.create_task(worker.run(stop))
        try:
            await pipeline.accept(first)
            await wait_until(lambda: answered(client, conversation, first.message_id), 120)
            await client.wait(1, 2000)
            old = group.kill_primary()
            for _ in range(3):  # the channel delivers it again until taken, and then twice more
                await retried(lambda: pipeline.accept(second))
            group.wait_for_new_primary(old=old)
            await wait_until(lambda: answered(client, conversation, second.message_id), 120)

            replies = await replies_by_message(client, conversation)
            assert len(replies) == 2
            assert "wifi" in " ".join(replies[first.message_id]).lower()
            said = " ".join(replies[second.message_id]).lower()
            assert "dog" in said or "pet" in said
            assert len(replies[second.message_id]) == len(set(replies[second.message_id]))
            tracker = json.loads(await client.get(f"{TRACKER_PREFIX}:tracker:{conversation}"))
            seen = [
                (e.get("metadata") or {}).get("message_id")
                for e in tracker["events"]
                if e.get("event") == "user"
            ]
            assert seen == [first.message_id, second.message_id]  # Rasa saw each once
            assert (await client.xpending(keys.INBOUND, keys.INBOUND_GROUP))["pending"] == 0
        finally:
            stop.set()
            await running
            await rasa.close()
            await client.aclose()

"""Delivery through trouble: Redis going away after a send, and platforms that ask to wait.

The platform is the social connector stand-in (real HTTP, tests/channels/connector.py); Redis is
a real redis-server, restarted mid-delivery where the test is about a Redis outage.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
import redis.asyncio as aioredis

from bot.channels.social import SocialSender
from bot.delivery import DeliveryError, DeliveryWorker, RetryPolicy, Target, dead_letters
from bot.inbound import Channel, Customer, Inbound
from bot.invitations import Invitations
from bot.pipeline import InboundPipeline
from relevo import keys
from relevo.messages import Outgoing
from relevo.redis_conn import REDIS_UNREACHABLE, connect_async, redis_server_binary
from relevo.settings import Settings
from tests.channels.connector import Connector, running_connector
from tests.channels.test_pipeline_delivery import outbox_settled
from tests.conftest import free_port, wait_for_redis

SECRET = "connector-secret"
TWO_PARTS = ("Primera frase de la respuesta. " * 2).strip()  # two public parts of 60 characters
FAST = RetryPolicy(max_attempts=3, base_seconds=0.05, max_seconds=0.2)


@pytest.fixture
def connector() -> Iterator[Connector]:
    with running_connector(SECRET) as running:
        yield running


def _settings(connector: Connector, redis_url: str) -> Settings:
    return Settings(
        redis_url=redis_url,
        social_secret=SECRET,
        social_outbound_url=connector.url,
        public_reply_chars=60,
    )


async def _public_conversation(client: aioredis.Redis, settings: Settings) -> InboundPipeline:
    """Conversation c1: a public post of @ana, whose replies go through the connector."""
    pipeline = InboundPipeline(client, settings)
    await pipeline.accept(
        Inbound(
            channel=Channel.SOCIAL,
            conversation_id="c1",
            message_id="m1",
            customer=Customer(id="u1", handle="ana", followers=10),
            text="hola",
            public=True,
            route={"handle": "ana", "reply_to": "p1"},
        )
    )
    return pipeline


async def _deliver_all(
    client: aioredis.Redis, settings: Settings, policy: RetryPolicy, timeout: float = 20
) -> None:
    async with httpx.AsyncClient() as http:
        worker = DeliveryWorker(
            client=client,
            senders={"social": SocialSender(settings, http, client)},
            invites=Invitations(client, settings),
            policy=policy,
            consumer="test",
        )
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        try:
            async with asyncio.timeout(timeout):
                while not await _settled(client):
                    await asyncio.sleep(0.05)
        finally:
            stop.set()
            await task


async def _settled(client: aioredis.Redis) -> bool:
    """Every outbox entry acknowledged; not yet while Redis is away."""
    try:
        return await outbox_settled(client)
    except REDIS_UNREACHABLE:
        return False


class RestartingRedis:
    """A redis-server of the test's own (append-only, each write synced) that it may restart."""

    def __init__(self, data: Path) -> None:
        self.port = free_port()
        self.data = data
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process = self._start()
        self._back: threading.Timer | None = None
        wait_for_redis(redis.Redis.from_url(self.url))

    def _start(self) -> subprocess.Popen[bytes]:
        command = [str(redis_server_binary()), "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--dir", str(self.data), "--save", "", "--appendonly", "yes"]
        return subprocess.Popen([*command, "--appendfsync", "always"], stdout=subprocess.DEVNULL)

    def away_for(self, seconds: float) -> None:
        """Stop now, start again after `seconds` (a restart, a failover), with nothing lost."""
        self._process.terminate()
        self._process.wait(10)
        self._back = threading.Timer(seconds, self._restart)
        self._back.start()

    def _restart(self) -> None:
        self._process = self._start()

    def close(self) -> None:
        if self._back is not None:
            self._back.join()
        self._process.terminate()
        self._process.wait(10)


@pytest.fixture
def restarting_redis(tmp_path: Path) -> Iterator[RestartingRedis]:
    server = RestartingRedis(tmp_path)
    yield server
    server.close()


# The production client rides out about 3 s of a Redis that is away on its own (redis-py's
# default retries); longer, and its error reaches the worker, whose lane runs the entry again.
AWAY_SECONDS = 6.0


@pytest.mark.parametrize("blip_after", [0, 1], ids=["after-the-first-part", "after-the-last"])
async def test_a_redis_outage_after_a_send_records_the_part_without_sending_it_again(
    restarting_redis: RestartingRedis,
    connector: Connector,
    caplog: pytest.LogCaptureFixture,
    blip_after: int,
) -> None:
    """The connector took a part, then Redis went away before the worker could count it."""
    settings = _settings(connector, restarting_redis.url)
    client = connect_async(settings)
    pipeline = await _public_conversation(client, settings)
    await pipeline.store.enqueue(Outgoing("o1", "c1", "bot", TWO_PARTS))
    [(entry_id, _)] = await client.xrange(keys.OUTBOX)

    def redis_goes_away() -> None:
        if len(connector.replies) == blip_after + 1:
            restarting_redis.away_for(AWAY_SECONDS)

    connector.on_reply = redis_goes_away
    with caplog.at_level(logging.WARNING, logger="relevo.lanes"):
        await _deliver_all(client, settings, FAST, timeout=60)
    retried = [r for r in caplog.records if getattr(r, "entry", None) == entry_id]
    assert retried, "the outage did not reach the worker: nothing was tested"
    assert [r["delivery_id"] for r in connector.replies] == ["o1:0", "o1:1"]
    assert await client.hget(keys.outbox_sent("o1"), "parts") == "2"
    logged = [f for _, f in await client.xrange(keys.conversation_log("c1")) if f.get("out_id")]
    assert len(logged) == 1
    await client.aclose()


async def test_a_platform_asking_to_wait_is_not_counted_as_a_failed_attempt(
    redis_url: str, aclient: aioredis.Redis, connector: Connector, redis_client: redis.Redis
) -> None:
    """Flood control answers 429 five times; three failures would dead-letter, waits do not."""
    settings = _settings(connector, redis_url)
    pipeline = await _public_conversation(aclient, settings)
    connector.script.extend([(429, {"Retry-After": "0.05"})] * 5)
    await pipeline.store.enqueue(Outgoing("o1", "c1", "bot", "Hola"))
    await _deliver_all(aclient, settings, FAST)
    assert [r["delivery_id"] for r in connector.replies] == ["o1:0"]
    assert connector.attempts == 6
    assert dead_letters(redis_client) == []


async def test_a_platform_that_only_ever_says_wait_ends_in_the_dead_letters(
    redis_url: str, aclient: aioredis.Redis, connector: Connector, redis_client: redis.Redis
) -> None:
    settings = _settings(connector, redis_url)
    pipeline = await _public_conversation(aclient, settings)
    connector.script.extend([(429, {"Retry-After": "0.01"})] * 100)
    await pipeline.store.enqueue(Outgoing("o1", "c1", "bot", "Hola"))
    policy = RetryPolicy(max_attempts=3, base_seconds=0.05, max_seconds=0.2, max_waits=5)
    await _deliver_all(aclient, settings, policy)
    [letter] = dead_letters(redis_client)
    assert letter["attempts"] == 5 and "429" in letter["reason"]
    assert connector.attempts == 5 and connector.replies == []


async def test_a_huge_retry_after_is_cut_to_the_policys_longest_wait(
    redis_url: str, aclient: aioredis.Redis, connector: Connector, redis_client: redis.Redis
) -> None:
    """Believed as said, 1e12 seconds would hold the conversation's lane for good."""
    settings = _settings(connector, redis_url)
    pipeline = await _public_conversation(aclient, settings)
    connector.script.append((429, {"Retry-After": "1e12"}))
    await pipeline.store.enqueue(Outgoing("o1", "c1", "bot", "Hola"))
    policy = RetryPolicy(max_attempts=3, base_seconds=0.05, max_seconds=0.2, max_wait_seconds=0.1)
    await _deliver_all(aclient, settings, policy)
    assert [r["delivery_id"] for r in connector.replies] == ["o1:0"]
    assert RetryPolicy().delay(1, 1e12) == 3600  # an hour at most, by default


@pytest.mark.parametrize(
    ("header", "wait"),
    [("2.5", 2.5), ("0", 0.0), ("inf", None), ("nan", None), ("-5", None), ("soon", None)],
)
async def test_a_retry_after_that_names_no_usable_wait_is_not_believed(
    redis_url: str, aclient: aioredis.Redis, connector: Connector, header: str, wait: float | None
) -> None:
    """Without a usable wait the worker backs off on its own, as after any failure."""
    settings = _settings(connector, redis_url)
    connector.script.append((429, {"Retry-After": header}))
    target = Target("c1", "social", {"handle": "ana"}, public=True)
    async with httpx.AsyncClient() as http:
        with pytest.raises(DeliveryError) as refused:
            await SocialSender(settings, http, aclient).send(
                Outgoing("o1", "c1", "bot", "Hola"), "@ana Hola", 0, target
            )
    assert refused.value.retry_after == wait

"""Where the assistant's replies go: the web chat's log directly, other channels the outbox.

A real Rasa and action server answer; the assistant worker records each turn in one script.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import redis.asyncio as aioredis

from bot.assistant import AssistantWorker
from bot.inbound import Channel, Customer, Inbound
from bot.pipeline import InboundPipeline
from bot.rasa_client import RasaClient
from relevo import keys
from relevo.lanes import ensure_group
from tests.e2e.conftest import Engine
from tests.e2e.test_rasa_outage import wait_until


@pytest.fixture
async def client(engine: Engine) -> AsyncIterator[aioredis.Redis]:
    """Its own database: the session's gateway consumes the engine's streams."""
    assert engine.settings.redis_url is not None
    url = engine.settings.redis_url.get_secret_value().rsplit("/", 1)[0] + "/4"
    client = aioredis.Redis.from_url(url, decode_responses=True)
    await client.flushdb()
    yield client
    await client.aclose()


async def bot_entries(client: aioredis.Redis, conversation: str) -> list[dict[str, str]]:
    return [
        fields
        for _, fields in await client.xrange(keys.conversation_log(conversation))
        if fields.get("author") != "customer"
    ]


async def outbox_entries(client: aioredis.Redis, conversation: str) -> list[dict[str, str]]:
    return [
        fields
        for _, fields in await client.xrange(keys.OUTBOX)
        if fields["conversation_id"] == conversation
    ]


async def events_of(client: aioredis.Redis, conversation: str, kind: str) -> list[dict[str, str]]:
    return [
        fields
        for _, fields in await client.xrange(keys.EVENTS)
        if fields.get("conversation") == conversation and fields.get("type") == kind
    ]


async def answer_with_worker(
    engine: Engine, client: aioredis.Redis, inbound: Inbound, *, forget_first: bool = False
) -> None:
    """Accept `inbound`, then let a worker answer it and acknowledge it."""
    await ensure_group(client, keys.INBOUND, keys.INBOUND_GROUP)
    pipeline = InboundPipeline(client, engine.settings)
    await pipeline.accept(inbound)
    if forget_first:  # the conversation was forgotten while the message waited
        await client.delete(keys.conversation(inbound.conversation_id))
    rasa = RasaClient(url=engine.rasa_url, timeout=30)
    worker = AssistantWorker(client=client, rasa=rasa, consumer=f"record-{uuid.uuid4().hex[:6]}")
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:

        async def acknowledged() -> bool:
            done = await client.exists(keys.inbound_done(inbound.message_id))
            pending = await client.xpending(keys.INBOUND, keys.INBOUND_GROUP)
            return bool(done) and pending["pending"] == 0

        await wait_until(acknowledged, 90)
    finally:
        stop.set()
        await running
        await rasa.close()


def question(
    channel: Channel, route: dict[str, object] | None = None, text: str = "is there wifi on board?"
) -> Inbound:
    conversation = f"{'wc' if channel is Channel.WEBCHAT else 'tg'}-record-{uuid.uuid4().hex[:8]}"
    return Inbound(
        channel, conversation, f"m-{conversation}", Customer(conversation), text, route=route or {}
    )


async def test_a_web_chat_turn_is_logged_once_with_its_events_and_skips_the_outbox(
    engine: Engine, client: aioredis.Redis
) -> None:
    inbound = question(Channel.WEBCHAT)
    await answer_with_worker(engine, client, inbound)

    logged = await bot_entries(client, inbound.conversation_id)
    assert logged, "the reply is in the log"
    assert "wi-fi" in " ".join(e.get("text", "") for e in logged).lower()
    assert [e["out_id"].rsplit(":", 1)[0] for e in logged] == [inbound.message_id] * len(logged)
    assert logged[-1].get("ends_turn") == "1"
    assert await outbox_entries(client, inbound.conversation_id) == []
    delivered = await events_of(client, inbound.conversation_id, "delivered")
    assert len(delivered) == len(logged)
    assert {e["channel"] for e in delivered} == {"webchat"}
    [reply] = await events_of(client, inbound.conversation_id, "bot_reply")
    assert reply["decision"] == "answer" and int(reply["latency_ms"]) >= 0

    # The channel delivers the message again: dropped, and the log does not grow.
    await InboundPipeline(client, engine.settings).accept(inbound)
    assert await bot_entries(client, inbound.conversation_id) == logged


async def test_a_web_chat_handoff_logs_its_queued_event_without_a_delivered_event(
    engine: Engine, client: aioredis.Redis
) -> None:
    inbound = question(Channel.WEBCHAT, text="agent please, I want to talk to a person")
    await answer_with_worker(engine, client, inbound)

    logged = await bot_entries(client, inbound.conversation_id)
    messages = [e for e in logged if e["type"] == "message"]
    assert messages and logged[-1] == {**logged[-1], "type": "event", "event": "queued"}
    assert logged[-1].get("ends_turn") == "1"
    delivered = await events_of(client, inbound.conversation_id, "delivered")
    assert len(delivered) == len(messages)  # events are not deliveries
    [reply] = await events_of(client, inbound.conversation_id, "bot_reply")
    assert reply["decision"] == "handoff"


async def test_a_turn_on_another_channel_goes_through_the_outbox(
    engine: Engine, client: aioredis.Redis
) -> None:
    inbound = question(Channel.TELEGRAM, {"chat_id": 42})
    await answer_with_worker(engine, client, inbound)

    queued = await outbox_entries(client, inbound.conversation_id)
    assert queued and queued[-1]["ends_turn"] == "1"
    assert await bot_entries(client, inbound.conversation_id) == []  # the delivery worker logs
    assert await events_of(client, inbound.conversation_id, "delivered") == []
    [reply] = await events_of(client, inbound.conversation_id, "bot_reply")
    assert "public" not in reply


async def test_a_reply_on_a_public_post_is_marked_public_in_its_event(
    engine: Engine, client: aioredis.Redis
) -> None:
    """The report tells a public post's link from an offer left unpicked (QA s22 D20)."""
    inbound = replace(question(Channel.SOCIAL, {"post_id": "p-record"}), public=True)
    await answer_with_worker(engine, client, inbound)
    [reply] = await events_of(client, inbound.conversation_id, "bot_reply")
    assert reply["public"] == "1" and reply["channel"] == "social"


async def test_a_forgotten_web_chat_conversation_gets_no_new_log(
    engine: Engine, client: aioredis.Redis
) -> None:
    inbound = question(Channel.WEBCHAT)
    await answer_with_worker(engine, client, inbound, forget_first=True)

    assert await bot_entries(client, inbound.conversation_id) == []
    assert await outbox_entries(client, inbound.conversation_id)  # the delivery worker drops it

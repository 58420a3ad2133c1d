"""Rasa killed and restarted mid-conversation: every message answered, none twice."""

from __future__ import annotations

import asyncio
import json
import uuid

import redis.asyncio as aioredis

from bot.assistant import AssistantWorker
from bot.inbound import Channel, Customer, Inbound
from bot.pipeline import InboundPipeline
from bot.rasa_client import TRACKER_PREFIX, RasaClient
from relevo import keys
from tests.e2e.conftest import Engine


async def replies_by_message(client: aioredis.Redis, conversation: str) -> dict[str, list[str]]:
    """The web chat's replies as the customer sees them: the bot's entries in the log."""
    found: dict[str, list[str]] = {}
    for _, fields in await client.xrange(keys.conversation_log(conversation)):
        if fields.get("author") == "bot" and fields.get("text"):
            message_id = fields["out_id"].rsplit(":", 1)[0]
            found.setdefault(message_id, []).append(fields["text"])
    return found


async def wait_until(predicate, seconds: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(seconds):
        while not await predicate():
            await asyncio.sleep(0.1)


async def test_messages_survive_a_rasa_restart_and_are_answered_once(engine: Engine) -> None:
    assert engine.settings.redis_url is not None
    client = aioredis.Redis.from_url(
        engine.settings.redis_url.get_secret_value(), decode_responses=True
    )
    pipeline = InboundPipeline(client, engine.settings)
    rasa = RasaClient(url=engine.rasa_url, timeout=30)
    worker = AssistantWorker(client=client, rasa=rasa, consumer="outage-worker")
    stop = asyncio.Event()
    conversation = f"outage-{uuid.uuid4().hex[:8]}"

    def message(message_id: str, text: str) -> Inbound:
        return Inbound(Channel.WEBCHAT, conversation, message_id, Customer(conversation), text)

    first = message("m1-" + conversation, "is there wifi on board?")
    second = message("m2-" + conversation, "can my dog travel with me?")
    running = asyncio.create_task(worker.run(stop))
    try:
        await pipeline.accept(first)
        await wait_until(lambda: answered(client, conversation, first.message_id))
        engine.stop_rasa()
        for _ in range(3):  # the channel delivered it three times
            await pipeline.accept(second)
        await asyncio.sleep(3)  # the worker meets a dead Rasa and keeps the message
        pending = await client.xpending(keys.INBOUND, keys.INBOUND_GROUP)
        assert pending["pending"] == 1
        engine.start_rasa()
        await wait_until(lambda: answered(client, conversation, second.message_id), 120)
        replies = await replies_by_message(client, conversation)
        assert (
            "dog" in " ".join(replies[second.message_id]).lower()
            or "pet" in " ".join(replies[second.message_id]).lower()
        )
        assert len(replies[second.message_id]) == len(set(replies[second.message_id]))
        assert (await client.xpending(keys.INBOUND, keys.INBOUND_GROUP))["pending"] == 0
        tracker = json.loads(await client.get(f"{TRACKER_PREFIX}:tracker:{conversation}"))
        seen = [
            e
            for e in tracker["events"]
            if e.get("event") == "user"
            and (e.get("metadata") or {}).get("message_id") == second.message_id
        ]
        assert len(seen) == 1  # Rasa saw the message once
    finally:
        stop.set()
        await running
        if engine.rasa.poll() is not None:
            engine.start_rasa()
        await rasa.close()
        await client.aclose()


async def answered(client: aioredis.Redis, conversation: str, message_id: str) -> bool:
    return message_id in await replies_by_message(client, conversation)


async def test_a_dead_action_server_gets_an_apology_not_silence(engine: Engine) -> None:
    """In the conversation's language, which "wifi plus" does not show."""
    assert engine.settings.redis_url is not None
    client = aioredis.Redis.from_url(
        engine.settings.redis_url.get_secret_value(), decode_responses=True
    )
    pipeline = InboundPipeline(client, engine.settings)
    worker = AssistantWorker(client=client, rasa=RasaClient(url=engine.rasa_url, timeout=30))
    stop = asyncio.Event()
    conversation = f"silent-{uuid.uuid4().hex[:8]}"
    question = Inbound(
        Channel.WEBCHAT,
        conversation,
        f"q-{conversation}",
        Customer(conversation),
        "wifi plus",
        language="es",  # the channel's hint
    )
    running = asyncio.create_task(worker.run(stop))
    engine.stop_actions()
    try:
        await pipeline.accept(question)  # Rasa ends the turn without a word, again and again
        await wait_until(lambda: answered(client, conversation, question.message_id), 120)
        [apology] = (await replies_by_message(client, conversation))[question.message_id]
        assert "no he podido responderte" in apology and "/agent" in apology
        assert (await client.xpending(keys.INBOUND, keys.INBOUND_GROUP))["pending"] == 0
    finally:
        stop.set()
        await running
        engine.start_actions()
        await client.aclose()

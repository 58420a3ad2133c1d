"""Rasa killed and restarted mid-conversation: every message answered, none twice."""

from __future__ import annotations

import json
import uuid

import pytest
import redis.asyncio as aioredis

from bot.assistant import AssistantMessage, AssistantWorker, submit
from bot.rasa_client import TRACKER_PREFIX, RasaClient
from relevo import keys
from relevo.errors import RasaUnavailableError
from tests.e2e.conftest import Engine


async def replies_by_message(client: aioredis.Redis) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for _, fields in await client.xrange(keys.REPLIES):
        texts = [r["text"] for r in json.loads(fields["replies"])]
        found.setdefault(fields["message_id"], []).append(json.dumps(texts))
    return found


async def test_messages_survive_a_rasa_restart_and_are_answered_once(engine: Engine) -> None:
    assert engine.settings.redis_url is not None
    client = aioredis.Redis.from_url(
        engine.settings.redis_url.get_secret_value(), decode_responses=True
    )
    rasa = RasaClient(url=engine.rasa_url, timeout=30)
    worker = AssistantWorker(client=client, rasa=rasa, consumer="test-worker")
    conversation = f"outage-{uuid.uuid4().hex[:8]}"
    meta = {"channel": "webchat", "language": "en", "public": False}
    first = AssistantMessage("m1-" + conversation, conversation, "is there wifi on board?", meta)
    second = AssistantMessage(
        "m2-" + conversation, conversation, "can my dog travel with me?", meta
    )
    try:
        await submit(client, first)
        await worker.process_once()
        engine.stop_rasa()
        await submit(client, second)
        await submit(client, second)  # the channel delivered it twice
        with pytest.raises(RasaUnavailableError):
            await worker.process_once()
        pending = await client.xpending(keys.INBOUND, keys.INBOUND_GROUP)
        assert pending["pending"] >= 1  # kept, not lost
        engine.start_rasa()
        for _ in range(3):
            await worker.process_once()
        replies = await replies_by_message(client)
        assert len(replies[first.message_id]) == 1
        assert len(replies[second.message_id]) == 1
        assert (
            "pets-en" in replies[second.message_id][0]
            or "dog" in replies[second.message_id][0].lower()
        )
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
        if engine.rasa.poll() is not None:
            engine.start_rasa()
        await rasa.close()
        await client.aclose()

"""The assistant worker when recording a turn fails: the retry records, it never asks Rasa again.

A real Redis, and a stand-in for Rasa's REST webhook over real HTTP that counts the turns it is
asked for. Writes are paused on Redis (CLIENT PAUSE WRITE) the moment the turn is answered, so
the worker's record script times out: the ambiguous failure a dropped connection gives.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from aiohttp import web

from bot.assistant import AssistantWorker
from bot.inbound import Channel, Customer, Inbound
from bot.pipeline import InboundPipeline
from bot.rasa_client import RasaClient
from relevo import keys
from relevo.lanes import ensure_group
from relevo.settings import Settings
from tests.bot.test_rasa_client import free_port

PAUSE_MS = 3000


@pytest.fixture
async def rasa(redis_url: str) -> AsyncIterator[tuple[str, list[str]]]:
    """A webhook that answers every turn, pausing Redis writes first; and the texts it got."""
    asked: list[str] = []
    admin = aioredis.Redis.from_url(redis_url)

    async def webhook(request: web.Request) -> web.Response:
        asked.append((await request.json())["message"])
        await admin.execute_command("CLIENT", "PAUSE", PAUSE_MS, "WRITE")
        return web.json_response([{"recipient_id": "c", "text": "Sí, hay wifi a bordo."}])

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", asked
    await runner.cleanup()
    await admin.execute_command("CLIENT", "UNPAUSE")
    await admin.aclose()


async def test_a_turn_whose_record_timed_out_is_recorded_without_asking_rasa_again(
    aclient: aioredis.Redis, redis_url: str, rasa: tuple[str, list[str]]
) -> None:
    url, asked = rasa
    await ensure_group(aclient, keys.INBOUND, keys.INBOUND_GROUP)
    inbound = Inbound(Channel.WEBCHAT, "wc-pause-1", "m1", Customer("wc-pause-1"), "¿hay wifi?")
    await InboundPipeline(aclient, Settings()).accept(inbound)

    # The worker's own client gives up on a command after 1.5 s: the paused record times out.
    worker_client = aioredis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=1.5)
    worker = AssistantWorker(client=worker_client, rasa=RasaClient(url=url, timeout=5))
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(30):
            while (
                not await aclient.exists(keys.inbound_done("m1"))
                or (await aclient.xpending(keys.INBOUND, keys.INBOUND_GROUP))["pending"]
            ):
                await asyncio.sleep(0.1)
    finally:
        stop.set()
        await running
        await worker_client.aclose()

    assert asked == ["¿hay wifi?"]  # Rasa saw the message once
    bot = [
        f
        for _, f in await aclient.xrange(keys.conversation_log("wc-pause-1"))
        if f["author"] == "bot"
    ]
    assert [f["text"] for f in bot] == ["Sí, hay wifi a bordo."]  # and the reply is logged once
    recorded = json.loads(await aclient.get(keys.inbound_done("m1")))
    assert recorded[0]["text"] == "Sí, hay wifi a bordo."

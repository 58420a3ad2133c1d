"""The assistant worker on a real Redis, with a real HTTP server standing in for Rasa.

What the stand-in does is what Rasa and the action server do to Redis and answer on the
wire: a turn that hands over sets the conversation's owner (as `action_escalate` does through
`handoff.requests.request_handoff`) and says so in its custom payload.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from aiohttp import web

from bot.assistant import AssistantWorker
from bot.inbound import Channel, Customer, Inbound
from bot.pipeline import InboundPipeline
from bot.rasa_client import RasaClient
from relevo import keys
from relevo.settings import Settings
from tests.bot.conftest import Serve

CONVERSATION = "wc-worker-test"


def said(text: str, number: int) -> Inbound:
    return Inbound(Channel.WEBCHAT, CONVERSATION, f"m{number}", Customer(CONVERSATION), text)


async def bot_texts(client: aioredis.Redis) -> list[str]:
    log = await client.xrange(keys.conversation_log(CONVERSATION))
    return [fields["text"] for _, fields in log if fields.get("author") == "bot"]


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 20) -> None:
    async with asyncio.timeout(seconds):
        while not await check():
            await asyncio.sleep(0.05)


async def run_worker(
    client: aioredis.Redis,
    rasa_url: str,
    messages: list[Inbound],
    done: Callable[[], Awaitable[bool]],
) -> None:
    """Accept `messages` back to back, as a customer typing fast, and work until `done`."""
    worker = AssistantWorker(
        client=client, rasa=RasaClient(url=rasa_url, timeout=5), silent_turns=2
    )
    pipeline = InboundPipeline(client, Settings())
    pipeline.hand_to(worker.lanes)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        for message in messages:
            await pipeline.accept(message)
        await until(done)
    finally:
        stop.set()
        await running


async def test_a_message_that_waited_behind_a_handover_goes_to_the_person_not_to_rasa(
    aclient: aioredis.Redis, serve: Serve
) -> None:
    asked: list[str] = []

    async def rasa(request: web.Request) -> web.Response:
        text = (await request.json())["message"]
        asked.append(text)
        await asyncio.sleep(0.3)  # the second message arrives during this turn
        await aclient.set(keys.conversation_owner(CONVERSATION), "queued")
        await aclient.set(keys.conversation_handoff(CONVERSATION), "h1")
        return web.json_response(
            [
                {"recipient_id": CONVERSATION, "text": "Te paso con una persona."},
                {"recipient_id": CONVERSATION, "custom": {"relevo": {"decision": "handoff"}}},
            ]
        )

    async def settled() -> bool:
        return (await aclient.xpending(keys.INBOUND, keys.INBOUND_GROUP))["pending"] == 0 and (
            await aclient.xlen(keys.DESK_RELAY) == 1
        )

    first, second = said("quiero hablar con una persona", 1), said("es sobre mi maleta rota", 2)
    await run_worker(aclient, await serve(rasa), [first, second], settled)

    assert asked == [first.text]
    assert await bot_texts(aclient) == ["Te paso con una persona."]
    [(_, relayed)] = await aclient.xrange(keys.DESK_RELAY)
    assert relayed["text"] == second.text and relayed["handoff"] == "h1"
    assert relayed["owner"] == "queued" and relayed["author"] == "customer"
    logged = await aclient.xrange(keys.conversation_log(CONVERSATION))
    assert relayed["log_id"] in [entry_id for entry_id, f in logged if f.get("text") == second.text]


async def test_a_message_rasa_fails_on_every_time_gets_an_apology_and_unblocks_the_next(
    aclient: aioredis.Redis, serve: Serve
) -> None:
    """HTTP 500 for one message (a component that breaks on it) is not retried for ever."""
    asked: list[str] = []

    async def rasa(request: web.Request) -> web.Response:
        text = (await request.json())["message"]
        asked.append(text)
        if "\u202e" in text:
            return web.Response(status=500, text="Internal Server Error")
        return web.json_response([{"recipient_id": CONVERSATION, "text": f"ok: {text}"}])

    async def both_answered() -> bool:
        return len(await bot_texts(aclient)) == 2

    broken, next_one = said("my flight \u202eABC\u202c", 1), said("hello? anyone?", 2)
    await run_worker(aclient, await serve(rasa), [broken, next_one], both_answered)

    apology, answer = await bot_texts(aclient)
    assert "couldn't answer that just now" in apology and answer == "ok: hello? anyone?"
    assert asked == [broken.text, broken.text, next_one.text]
    assert (await aclient.xpending(keys.INBOUND, keys.INBOUND_GROUP))["pending"] == 0


async def test_a_proxy_saying_rasa_is_away_keeps_the_message_until_rasa_is_back(
    aclient: aioredis.Redis, serve: Serve
) -> None:
    """503 is an outage, not a broken message: no apology, answered once Rasa is back."""
    answers = [web.Response(status=503), web.Response(status=503), web.Response(status=503)]

    async def rasa(request: web.Request) -> web.Response:
        text = (await request.json())["message"]
        if answers:
            return answers.pop()
        return web.json_response([{"recipient_id": CONVERSATION, "text": f"ok: {text}"}])

    async def answered() -> bool:
        return bool(await bot_texts(aclient))

    await run_worker(aclient, await serve(rasa), [said("is there wifi?", 1)], answered)
    assert await bot_texts(aclient) == ["ok: is there wifi?"]  # no apology before it

"""Telegram delivery through python-telegram-bot against a local Bot API that misbehaves.

The emulator of the e2e tests never answers 429, so this Bot API answers from a script: Telegram's
own 429 body (with `retry_after`), a 502, then success, so the outbox's retries meet the errors
python-telegram-bot really raises.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
import redis
import redis.asyncio as aioredis
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from telegram import Bot

from bot.channels.telegram import MESSAGE_LIMIT, TelegramSender
from bot.delivery import DeliveryWorker, RetryPolicy, dead_letters
from bot.inbound import Channel, Customer, Inbound
from bot.invitations import Invitations
from bot.pipeline import InboundPipeline
from bot.ratelimit import RateLimits
from relevo import keys
from relevo.messages import Outgoing
from relevo.settings import Settings
from tests.channels.test_pipeline_delivery import outbox_settled
from tests.conftest import free_port

TOKEN = "123:abc"


class BotApi:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.calls = 0
        self.script: deque[tuple[int, dict[str, Any]]] = deque()
        self.url = ""

    async def method(self, request: Request) -> JSONResponse:
        name = request.path_params["method"]
        body = await request.body()
        if "json" in request.headers.get("content-type", ""):
            form = json.loads(body) if body else {}
        else:  # python-telegram-bot posts url-encoded forms
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if name == "getMe":
            return JSONResponse(
                {
                    "ok": True,
                    "result": {
                        "id": 123,
                        "is_bot": True,
                        "first_name": "Brisa",
                        "username": "BrisaBot",
                    },
                }
            )
        self.calls += 1
        if self.script:
            status, body = self.script.popleft()
            return JSONResponse(body, status_code=status)
        self.sent.append(form)
        return JSONResponse(
            {
                "ok": True,
                "result": {
                    "message_id": len(self.sent),
                    "date": int(time.time()),
                    "chat": {"id": int(form["chat_id"]), "type": "private"},
                    "text": form["text"],
                },
            }
        )


@pytest.fixture
def bot_api() -> Iterator[BotApi]:
    api = BotApi()
    app = Starlette(routes=[Route("/bot{token}/{method}", api.method, methods=["POST"])])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    api.url = f"http://127.0.0.1:{port}/bot"
    yield api
    server.should_exit = True
    thread.join(5)


async def _deliver(
    aclient: aioredis.Redis, api: BotApi, messages: list[Outgoing], attempts: int = 4
) -> None:
    settings = Settings(outbox_backoff_seconds=0.05)
    pipeline = InboundPipeline(aclient, settings)
    await pipeline.accept(
        Inbound(Channel.TELEGRAM, "tg:42", "42:1", Customer("42"), "hola", route={"chat_id": 42})
    )
    for message in messages:
        await pipeline.store.enqueue(message)
    bot = Bot(TOKEN, base_url=api.url)
    worker = DeliveryWorker(
        client=aclient,
        senders={
            "telegram": TelegramSender(bot, RateLimits(overall=100, per_chat=100), pipeline.store)
        },
        invites=Invitations(aclient, settings),
        policy=RetryPolicy(max_attempts=attempts, base_seconds=0.05, max_seconds=0.2),
        consumer="test",
    )
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(30):
            while not await outbox_settled(aclient):
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
        await bot.shutdown()


async def test_retry_after_and_server_errors_are_retried_and_long_texts_split(
    aclient: aioredis.Redis, bot_api: BotApi, redis_client: redis.Redis
) -> None:
    bot_api.script.extend(
        [
            (
                429,
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1},
                },
            ),
            (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}),
        ]
    )
    long_answer = ("Una frase de la respuesta sobre el equipaje. " * 200).strip()
    buttons = [{"title": "Sí 👍", "payload": "/affirm"}, {"title": "No 👎", "payload": "/deny"}]
    started = time.monotonic()
    await _deliver(aclient, bot_api, [Outgoing("o1", "tg:42", "bot", long_answer, buttons)])
    assert time.monotonic() - started >= 1.0  # Telegram's retry_after was honoured
    texts = [m["text"] for m in bot_api.sent]
    assert len(texts) == -(-len(long_answer) // MESSAGE_LIMIT) and all(
        len(t) <= MESSAGE_LIMIT for t in texts
    )
    assert " ".join(texts) == long_answer
    assert all("parse_mode" not in m for m in bot_api.sent)  # plain text: nothing to escape
    assert bot_api.calls == len(texts) + 2
    markups = ["reply_markup" in m for m in bot_api.sent]
    assert markups == [False] * (len(texts) - 1) + [True]  # the buttons under the last part
    assert dead_letters(redis_client) == []


async def test_a_blocked_bot_is_dead_lettered_at_once(
    aclient: aioredis.Redis, bot_api: BotApi, redis_client: redis.Redis
) -> None:
    bot_api.script.append(
        (
            403,
            {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            },
        )
    )
    await _deliver(aclient, bot_api, [Outgoing("o1", "tg:42", "bot", "hola")])
    [letter] = dead_letters(redis_client)
    assert letter["attempts"] == 1 and "blocked" in letter["reason"]
    assert bot_api.sent == []
    logged = [f for _, f in await aclient.xrange(keys.conversation_log("tg:42")) if f.get("out_id")]
    assert logged == []  # not delivered, so not in the conversation as if it were


async def test_network_errors_end_in_the_dead_letter_list_after_the_last_attempt(
    aclient: aioredis.Redis, bot_api: BotApi, redis_client: redis.Redis
) -> None:
    bot_api.url = f"http://127.0.0.1:{free_port()}/bot"  # nobody listens there
    await _deliver(aclient, bot_api, [Outgoing("o1", "tg:42", "bot", "hola")], attempts=3)
    [letter] = dead_letters(redis_client)
    assert letter["attempts"] == 3 and "telegram error" in letter["reason"]


async def test_a_group_that_became_a_supergroup_gets_the_reply_at_its_new_id(
    aclient: aioredis.Redis, bot_api: BotApi, redis_client: redis.Redis
) -> None:
    migrated = {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: group chat was upgraded to a supergroup chat",
        "parameters": {"migrate_to_chat_id": -1001234567890},
    }
    bot_api.script.append((400, migrated))
    await _deliver(aclient, bot_api, [Outgoing("o1", "tg:42", "bot", "hola")])
    assert [m["chat_id"] for m in bot_api.sent] == ["-1001234567890"]
    assert dead_letters(redis_client) == []

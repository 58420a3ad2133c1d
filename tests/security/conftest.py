"""Fixtures of the security tests: the real gateway app, served in this process on the test Redis.

`create_app` builds the same app `relevo serve` runs; here uvicorn serves it in a thread without
its lifespan (no workers, no index), so requests reach every door and the pipeline writes to the
real Redis, and nothing consumes what they write: whatever a request left behind is there to see.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from pydantic import SecretStr

from bot.gateway import create_app
from handoff.slack import SlackDesk
from relevo.settings import Settings
from tests.emulators.slack_emulator import AsgiServer, SlackEmulator
from tests.handoff.test_console_api import queue as queued_handoff

SOCIAL_SECRET = "social-door-secret"
TELEGRAM_TOKEN = "4321:door-bot"
WEBHOOK_SECRET = "hook-door-secret"
CONSOLE_TOKEN = "console-door-token"
SLACK_SECRET = "slack-door-signing-secret"
CONSOLE_HEADER = {"X-Relevo-Console": "1"}


def door_settings(tmp_path: Path, redis_url: str, **changes: Any) -> Settings:
    """The console configuration with every door on: social, Telegram (webhook mode), console."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "redis_url": redis_url,
        "social_secret": SecretStr(SOCIAL_SECRET),
        "telegram_token": SecretStr(TELEGRAM_TOKEN),
        "telegram_mode": "webhook",
        "telegram_webhook_url": "https://relevo.example/channels/telegram/webhook",
        "telegram_webhook_secret": SecretStr(WEBHOOK_SECRET),
        "console_token": SecretStr(CONSOLE_TOKEN),
        **changes,
    }
    return Settings(**values)


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """The gateway app of `settings`, served on a free port; yields its base URL."""
    with AsgiServer(create_app(settings)) as server:
        yield server.url


@pytest.fixture
def gateway_url(tmp_path: Path, redis_url: str, redis_client: redis.Redis) -> Iterator[str]:
    """The console configuration's gateway, on the flushed test Redis."""
    with serving(door_settings(tmp_path, redis_url)) as url:
        yield url


@pytest.fixture
def slack_emulator() -> Iterator[SlackEmulator]:
    """Slack's Web API, for the Slack desk's calls (auth.test, cards, names)."""
    with SlackEmulator() as emulator:
        yield emulator


def slack_settings(tmp_path: Path, redis_url: str, slack: SlackEmulator) -> Settings:
    """The Slack configuration: the desk in Slack (the console is off)."""
    return door_settings(
        tmp_path,
        redis_url,
        slack_bot_token=SecretStr(slack.bot_token),
        slack_signing_secret=SecretStr(SLACK_SECRET),
        slack_channel="C1",
        slack_api_url=slack.api_url,
    )


@dataclass
class SlackDoor:
    """The Slack configuration's gateway, the desk worker that posts cards, and Slack."""

    url: str
    helper: SlackDesk
    slack: SlackEmulator


@pytest.fixture
async def slack_door(
    tmp_path: Path,
    redis_url: str,
    redis_client: redis.Redis,
    slack_emulator: SlackEmulator,
    aclient: aioredis.Redis,
) -> AsyncIterator[SlackDoor]:
    """The Slack configuration's gateway, and a desk worker that posts the cards.

    The served app runs no workers; its Slack endpoints act through its own desk, on the same
    Redis as the helper's.
    """
    settings = slack_settings(tmp_path, redis_url, slack_emulator)
    helper = SlackDesk(settings, aclient)
    stop = asyncio.Event()
    worker = asyncio.create_task(helper.desk.run(stop))
    with serving(settings) as url:
        yield SlackDoor(url, helper, slack_emulator)
    stop.set()
    await worker


async def a_handoff_with_its_card(door: SlackDoor, client: redis.Redis) -> tuple[str, str]:
    """A queued handoff once the desk has posted its card: (handoff id, the card's ts)."""
    handoff = queued_handoff(client, "wc-slack-door-1")
    async with asyncio.timeout(10):
        while not ((view := await door.helper.desk.view(handoff)) and view.card_ts):
            await asyncio.sleep(0.05)
    return handoff, view.card_ts


def stored(client: redis.Redis) -> dict[str, int]:
    """Every key in Redis and its size: what a refused request must not change."""
    sizes = {
        "string": client.strlen,
        "hash": client.hlen,
        "list": client.llen,
        "set": client.scard,
        "zset": client.zcard,
        "stream": client.xlen,
    }
    return {key: sizes[client.type(key)](key) for key in client.scan_iter("*")}


def customer_messages(client: redis.Redis) -> list[dict[str, str]]:
    """The customer messages of every conversation log."""
    return [
        fields
        for key in client.scan_iter("relevo:conv:*:log")
        for _, fields in client.xrange(key)
        if fields.get("author") == "customer"
    ]


def outbox(client: redis.Redis) -> list[dict[str, str]]:
    """What waits to be delivered."""
    return [fields for _, fields in client.xrange("relevo:outbox")]


def away_from_a_minute_boundary(margin: float = 8.0) -> None:
    """The flood limit counts per clock minute: start a burst well inside one."""
    into = time.time() % 60
    if into > 60 - margin:
        time.sleep(60 - into + 0.1)

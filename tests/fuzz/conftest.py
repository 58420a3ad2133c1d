"""The fuzz tests' shared pieces: Hypothesis settings, the real gateway in process, stand-ins.

The gateway is the real app (`bot.gateway.create_app`) on the test Redis and a small real index,
started with its lifespan and workers by starlette's TestClient. What it talks to is stood in for
by tiny HTTP servers on free local ports (processes that answer, not mocks of our code): Rasa and
the action server, and Telegram's Bot API (the channel calls getMe and setWebhook at start-up),
and, for the Slack desk, the Slack Web API emulator of tests/emulators.

Settings: every fuzz test runs `derandomize=True` (a seed derived from the test's name, no
example database), so CI runs the same examples every time and a failure reproduces with a plain
`pytest`. For a longer search on a workstation, `RELEVO_FUZZ_EXPLORE=1` switches to random seeds
and skips the explicit examples (with `--runxfail`, Hypothesis then reports every distinct bug it
finds), and `RELEVO_FUZZ_SCALE=10` multiplies the example counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from bot.gateway import create_app
from kb_index.embeddings import Embedder
from kb_index.service import index_options
from kb_index.store import IndexStore
from kb_index.sync import sync_directory
from relevo.settings import Settings
from tests.conftest import DEMO_KB
from tests.emulators.slack_emulator import AsgiServer, SlackEmulator

FUZZ_SCALE = float(os.environ.get("RELEVO_FUZZ_SCALE", "1"))
EXPLORE = os.environ.get("RELEVO_FUZZ_EXPLORE") == "1"

CONSOLE_TOKEN = "fuzz-console-token"
SOCIAL_SECRET = "fuzz-social-secret"
TELEGRAM_TOKEN = "4242:fuzz"
TELEGRAM_SECRET = "fuzz-hook-secret"
TELEGRAM_BOT = {"id": 4242, "is_bot": True, "first_name": "Brisa", "username": "BrisaFuzzBot"}
SLACK_SECRET = "fuzz-slack-signing-secret"
SLACK_CHANNELS = {"C1": "relevo-desk", "C2": "general"}
BOLT_LISTENER = "run_ack_function_asynchronously"  # Bolt's task for a listener after its ack
ARTICLES = ("en/baggage-damaged.md", "es/baggage-damaged.md", "en/refunds.md", "es/refunds.md")


def fuzz_settings(max_examples: int, **overrides: Any) -> settings:
    """Bounded, reproducible Hypothesis settings (see the module's docstring)."""
    return settings(
        max_examples=max(1, int(max_examples * FUZZ_SCALE)),
        deadline=None,
        derandomize=not EXPLORE,
        database=None,
        phases=[Phase.generate, Phase.target, Phase.shrink] if EXPLORE else list(Phase),
        print_blob=True,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,  # the app and caplog live across examples
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
        **overrides,
    )


# --- what the gateway talks to ----------------------------------------------------------------


def _bot_api() -> Starlette:
    """Telegram's Bot API, as far as the channel uses it: every method answers ok."""

    async def method(request: Request) -> JSONResponse:
        name = request.path_params["method"]
        result: Any = True
        if name == "getMe":
            result = TELEGRAM_BOT
        elif name == "sendMessage":
            result = {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": 1, "type": "private"},
                "text": "",
            }
        return JSONResponse({"ok": True, "result": result})

    return Starlette(routes=[Route("/bot{token}/{method}", method, methods=["GET", "POST"])])


def _rasa() -> Starlette:
    """Rasa's REST channel (one reply a turn) and the action server's health, on one port."""

    async def root(_: Request) -> PlainTextResponse:
        return PlainTextResponse("Hello from Rasa: 3.6.0")

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def webhook(request: Request) -> JSONResponse:
        sender = (await request.json()).get("sender")
        return JSONResponse([{"recipient_id": sender, "text": "Hola, ¿en qué puedo ayudarte?"}])

    return Starlette(
        routes=[
            Route("/", root),
            Route("/health", health),
            Route("/webhooks/rest/webhook", webhook, methods=["POST"]),
        ]
    )


@pytest.fixture(scope="session")
def stand_ins() -> Iterator[tuple[AsgiServer, AsgiServer]]:
    """The Bot API and Rasa stand-ins, for the session."""
    with AsgiServer(_bot_api()) as bot_api, AsgiServer(_rasa()) as rasa:
        yield bot_api, rasa


@pytest.fixture(scope="session")
def fuzz_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four articles of the demo knowledge base (two topics, each in Spanish and English)."""
    kb = tmp_path_factory.mktemp("fuzz-kb")
    for name in ARTICLES:
        (kb / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DEMO_KB / name, kb / name)
    return kb


@pytest.fixture(scope="session")
def fuzz_data(
    fuzz_kb: Path, tmp_path_factory: pytest.TempPathFactory, use_embedder: Embedder
) -> Path:
    """A data directory with the small knowledge base indexed."""
    data = tmp_path_factory.mktemp("fuzz-data")
    settings = Settings(_env_file=None, data_dir=data, kb_dir=fuzz_kb)  # type: ignore[call-arg]
    sync_directory(fuzz_kb, IndexStore(settings.index_dir), use_embedder, index_options(settings))
    return data


# --- the gateway ----------------------------------------------------------------------------


@dataclass
class Gateway:
    """The running app, its settings and a logged-in console session."""

    client: TestClient
    settings: Settings
    session: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return "Gateway(...)"

    def settle(self, seconds: float = 5.0) -> None:
        """Wait for Slack listeners that Bolt runs after its answer (acknowledged requests)."""

        async def idle() -> None:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                running = [
                    task
                    for task in asyncio.all_tasks()
                    if BOLT_LISTENER in getattr(task.get_coro(), "__qualname__", "")
                ]
                if not running:
                    return
                await asyncio.sleep(0.002)

        assert self.client.portal is not None
        self.client.portal.call(idle)


def base_settings(data: Path, kb: Path, redis_url: str, rasa: AsgiServer, **more: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=data,
        kb_dir=kb,
        redis_url=redis_url,
        rasa_url=rasa.url,
        action_port=rasa.port,
        console_token=SecretStr(CONSOLE_TOKEN),
        social_secret=SecretStr(SOCIAL_SECRET),
        outbox_backoff_seconds=0.05,
        sla_check_seconds=3600,
        **more,
    )


@contextlib.contextmanager
def running(settings: Settings) -> Iterator[Gateway]:
    """The gateway on an empty test database, started (lifespan, workers) and stopped."""
    assert settings.redis_url is not None
    flush = redis.Redis.from_url(settings.redis_url.get_secret_value())
    flush.flushdb()
    flush.close()
    with TestClient(create_app(settings)) as client:
        yield Gateway(client, settings)


def log_in(gateway: Gateway) -> str:
    """A console session for an agent, as the login answers it."""
    answer = gateway.client.post(
        "/console/login",
        json={"name": "Fuzz Agent", "token": CONSOLE_TOKEN},
        headers={"X-Relevo-Console": "1"},
    )
    assert answer.status_code == 200, answer.text
    session = answer.cookies["relevo_console"]
    gateway.client.cookies.clear()
    return session


@pytest.fixture(scope="class")
def console_gateway(
    redis_url: str, fuzz_data: Path, fuzz_kb: Path, stand_ins: tuple[AsgiServer, AsgiServer]
) -> Iterator[Gateway]:
    """The gateway with the web console desk (Slack off), social and the Telegram webhook."""
    bot_api, rasa = stand_ins
    settings = base_settings(
        fuzz_data,
        fuzz_kb,
        redis_url,
        rasa,
        telegram_token=SecretStr(TELEGRAM_TOKEN),
        telegram_api_url=f"{bot_api.url}/bot",
        telegram_file_url=f"{bot_api.url}/file/bot",
        telegram_mode="webhook",
        telegram_webhook_url="https://relevo.example/channels/telegram/webhook",
        telegram_webhook_secret=SecretStr(TELEGRAM_SECRET),
    )
    with running(settings) as gateway:
        gateway.session = log_in(gateway)
        yield gateway


@pytest.fixture(scope="class")
def slack_gateway(
    redis_url: str, fuzz_data: Path, fuzz_kb: Path, stand_ins: tuple[AsgiServer, AsgiServer]
) -> Iterator[Gateway]:
    """The gateway with the Slack desk, on the Slack Web API emulator."""
    _, rasa = stand_ins
    with SlackEmulator(channels=SLACK_CHANNELS) as slack:
        settings = base_settings(
            fuzz_data,
            fuzz_kb,
            redis_url,
            rasa,
            slack_bot_token=SecretStr(slack.bot_token),
            slack_signing_secret=SecretStr(SLACK_SECRET),
            slack_channel="C1",
            slack_api_url=slack.api_url,
        )
        with running(settings) as gateway:
            gateway.extra["slack"] = slack
            yield gateway


# --- logs -----------------------------------------------------------------------------------


def server_errors(records: list[logging.LogRecord]) -> list[str]:
    """Log records that mean an unhandled exception: errors, tracebacks, ASGI crashes."""
    return [
        f"{r.name} {r.levelname}: {r.getMessage()} {getattr(r, 'error', '')}"
        f"{getattr(r, 'reason', '')}"
        for r in records
        if r.levelno >= logging.ERROR
        or r.exc_info
        or "Exception in ASGI application" in r.getMessage()
    ]

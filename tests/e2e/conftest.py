"""The real conversation engine for end-to-end tests: a trained Rasa server, the action server,
a real Redis and the demo knowledge base. Started once per session."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from playwright.async_api import Browser, Page, async_playwright

from bot.rasa_client import BotReply, RasaClient
from bot.rasa_process import train
from kb_index.embeddings import load_embedder
from kb_index.service import index_options, publish_version
from kb_index.store import IndexStore
from kb_index.sync import sync_directory
from relevo.health import wait_until_healthy
from relevo.messages import BACK_TO_BOT
from relevo.redis_conn import connect
from relevo.settings import Settings
from tests.channels.connector import Connector, running_connector
from tests.conftest import BIN, DEMO_KB, ROOT, free_port
from tests.emulators.slack_emulator import SlackEmulator
from tests.emulators.telegram_emulator import TelegramEmulator


@dataclass
class Engine:
    """Handles on the running engine."""

    settings: Settings
    env: dict[str, str]
    rasa_url: str
    rasa: subprocess.Popen[bytes]
    actions: subprocess.Popen[bytes]

    def start_rasa(self) -> None:
        self.rasa = _start(["rasa", "serve", "--port", str(self.settings.rasa_port)], self.env)
        wait_until_healthy(f"{self.rasa_url}/", self.rasa, 180)

    def stop_rasa(self) -> None:
        stop(self.rasa)

    def start_actions(self) -> None:
        port = str(self.settings.action_port)
        self.actions = _start(["actions", "--port", port], self.env)
        wait_until_healthy(f"http://127.0.0.1:{port}/health", self.actions, 120)

    def stop_actions(self) -> None:
        stop(self.actions)


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(BIN / "relevo"), *args], env=env, cwd=ROOT)


def stop(process: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    """SIGTERM, and SIGKILL when it has not stopped after `grace` seconds (a server still
    draining connections or starting up must not fail the test that stops it)."""
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def always_open_routing(target: Path) -> Path:
    """The shipped routing file with every department on shift around the clock.

    End-to-end tests then get the same replies whatever the day and hour they run (the
    out-of-hours notice and business-hours arithmetic have their own tests).
    """
    routing = yaml.safe_load((ROOT / "config" / "routing.yml").read_text(encoding="utf-8"))
    for calendar in routing["calendars"].values():
        calendar["hours"] = {"daily": "00:00-24:00"}
        calendar["holidays"] = []
    target.write_text(yaml.safe_dump(routing, allow_unicode=True), encoding="utf-8")
    return target


@contextmanager
def running_engine(redis_url: str, data: Path) -> Iterator[Engine]:
    """Rasa and the action server on `redis_url`, the demo index built under `data`."""
    settings = Settings(
        data_dir=data,
        kb_dir=DEMO_KB,
        redis_url=redis_url,
        models_dir=ROOT / "models",
        rasa_venv=ROOT / ".venv-rasa",
        nlu_dir=ROOT / "nlu",
        rasa_port=free_port(),
        action_port=free_port(),
    )
    report = sync_directory(
        DEMO_KB,
        IndexStore(settings.index_dir),
        load_embedder(settings.embedding_model),
        index_options(settings),
    )
    publish_version(connect(settings), report)
    train(settings)
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "RELEVO_DATA_DIR": str(data),
        "RELEVO_KB_DIR": str(DEMO_KB),
        "RELEVO_RASA_PORT": str(settings.rasa_port),
        "RELEVO_ACTION_PORT": str(settings.action_port),
        "RELEVO_ROUTING_FILE": str(always_open_routing(data / "routing.yml")),
        "SANIC_HOST": "127.0.0.1",
    }
    engine = Engine(settings, env, f"http://127.0.0.1:{settings.rasa_port}", None, None)  # type: ignore[arg-type]
    try:
        engine.start_actions()
        engine.start_rasa()
        yield engine
    finally:
        for process in {engine.rasa, engine.actions} - {None}:
            stop(process)


def run_in_rasa_env(engine: Engine, program: str, *args: str, stdin: str = "") -> Any:
    """Run `program` with Rasa's Python and nlu/ on its path; the JSON of its last output line."""
    result = subprocess.run(
        [str(engine.settings.rasa_venv / "bin" / "python"), "-c", program, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "nlu")},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


class Customer:
    """Plays a customer on one conversation."""

    def __init__(self, engine: Engine, language: str, *, public: bool = False) -> None:
        self.engine = engine
        self.id = f"test-{uuid.uuid4().hex[:10]}"
        self.metadata: dict[str, Any] = {
            "channel": "social" if public else "webchat",
            "language": language,
            "public": public,
            "customer": {"handle": "@ana", "followers": "1200"},
        }

    async def says(self, text: str, *, display: str | None = None) -> list[BotReply]:
        """Send a message; `display` is a tapped button's title, as the gateway sends it."""
        client = RasaClient(url=self.engine.rasa_url, timeout=30)
        metadata = {**self.metadata, **({"display": display} if display else {})}
        try:
            return await client.send(self.id, text, metadata)
        finally:
            await client.close()


@pytest.fixture
def store(engine: Engine) -> redis.Redis:
    assert engine.settings.redis_url is not None
    return redis.Redis.from_url(engine.settings.redis_url.get_secret_value(), decode_responses=True)


@pytest.fixture(scope="session")
def engine(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    redis_url = redis_url.rsplit("/", 1)[0] + "/1"  # its own database: other tests flush db 0
    with running_engine(redis_url, tmp_path_factory.mktemp("engine")) as engine:
        yield engine


@dataclass
class Stack:
    """The engine plus a gateway wired to the Telegram emulator and a social connector."""

    engine: Engine
    base_url: str
    telegram: TelegramEmulator
    telegram_token: str
    webhook_secret: str
    social_secret: str
    connector: Connector
    slack: SlackEmulator

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/channels/webchat/ws"

    async def handed_over(self, chat: int) -> list[dict[str, Any]]:
        """A Telegram handoff's two messages: the handoff, then what to expect and the way back."""
        found = await self.telegram.await_bot_messages(self.telegram_token, chat, 2, 60)
        assert len(found) == 2
        keyboard = found[-1]["message"]["reply_markup"]["inline_keyboard"]
        assert [b["callback_data"] for row in keyboard for b in row] == [BACK_TO_BOT]
        return found


SOCIAL_SECRET = "social-test-secret"
SLACK_SECRET = "slack-signing-secret"
SLACK_CHANNELS = {"C1": "relevo-desk", "C2": "general", "CBAG": "care-baggage"}


@pytest.fixture(scope="session")
def stack(engine: Engine) -> Iterator[Stack]:
    token = "4242:relevo-e2e"
    port = free_port()
    with (
        TelegramEmulator() as telegram,
        running_connector(SOCIAL_SECRET) as connector,
        SlackEmulator(channels=SLACK_CHANNELS) as slack,
    ):
        env = {
            **engine.env,
            "RELEVO_PORT": str(port),
            "RELEVO_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "RELEVO_RASA_URL": engine.rasa_url,
            "RELEVO_TELEGRAM_TOKEN": token,
            "RELEVO_TELEGRAM_API_URL": telegram.bot_base_url,
            "RELEVO_TELEGRAM_FILE_URL": telegram.bot_file_url,
            "RELEVO_TELEGRAM_WEBHOOK_SECRET": "hook-secret",
            "RELEVO_SOCIAL_SECRET": SOCIAL_SECRET,
            "RELEVO_SOCIAL_OUTBOUND_URL": connector.url,
            "RELEVO_OUTBOX_BACKOFF_SECONDS": "0.1",
            "RELEVO_SLACK_BOT_TOKEN": slack.bot_token,
            "RELEVO_SLACK_SIGNING_SECRET": SLACK_SECRET,
            "RELEVO_SLACK_CHANNEL": "C1",
            "RELEVO_SLACK_API_URL": slack.api_url,
        }
        gateway = _start(["serve"], env)
        try:
            wait_until_healthy(f"http://127.0.0.1:{port}/healthz", gateway, 120)
            yield Stack(
                engine,
                f"http://127.0.0.1:{port}",
                telegram,
                token,
                "hook-secret",
                SOCIAL_SECRET,
                connector,
                slack,
            )
        finally:
            stop(gateway)


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A real headless chromium (Debian's), driven by Playwright."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        await browser.close()


async def say(page: Page, text: str) -> None:
    """Type into a chat's composer and send."""
    await page.get_by_test_id("composer").fill(text)
    await page.get_by_test_id("send").click()

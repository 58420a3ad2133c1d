"""Load and soak: hundreds of conversations on every channel at once, with handoffs, for minutes.

Run: `.venv/bin/python bench/load_soak.py [--conversations 200] [--minutes 10] [--think-min 5]
[--think-max 30] [--handoff-share 0.1] [--quick]` (--quick: 30 conversations for 2 minutes).
Localhost only, bounded (it stops by itself) and everything it starts is stopped on exit, error,
Ctrl-C or SIGTERM (bench/stack.py): a real redis-server configured as `make run` runs it
(append-only, fsync every second) on a free port, the demo index, the action server, Rasa (one
Sanic worker), the gateway (`relevo serve`) with Telegram (long polling against the tests' Telegram
Bot API emulator, a Node process), public mentions (replies posted, signed, to a connector served
by this process) and the Slack desk (the tests' Slack Web API emulator, in this process). The
routing file is the shipped one with every department on shift around the clock (as in the
end-to-end tests), so results do not depend on the hour.

Load: --conversations slots run at the same time until --minutes have passed. A slot plays
conversations one after another, on the web chat (WebSocket, as the page speaks it), Telegram
(the emulator's customer side) or public mentions (signed events), in turn, in English or Spanish;
a conversation has --turns-min..--turns-max turns, each after a pause of --think-min..--think-max
seconds (also before the first). A turn is a knowledge-base question the assistant answers
(questions from kb/eval/queries.yaml, probed first straight to Rasa as bench/gateway_bench.py does)
or, after an answer, the "Yes" to "Did this help?" (the button: "/affirm" on the web chat, the
inline button on Telegram; "thanks!" in public). A share of conversations (--handoff-share) asks
for a person once; scripted agents (Laura, Marc, Sofía) pick each card up in the Slack emulator,
click Claim (a signed interaction), answer in the card's thread (a signed Events API delivery),
wait for the ✅ that says the customer got it and click Return to bot; the customer waits for the
agent's reply on their channel and for the bot to be back, then goes on. A turn that ends in a
handoff the customer did not ask for is followed the same way. A conversation stops at its first
failed turn (the next slot's conversation starts anew).

Reply time of a turn: from sending the customer's message to the moment the customer's channel
has the assistant's last reply of the turn (`ends_turn`): the web chat frame; on Telegram the
emulator's own receipt time of the last message of the turn; in public the connector's receipt
time of the last part. Which messages belong to a turn comes from the conversation log (their
out ids start with the customer's message id), the time from the channel. For a handoff: agent
reply -> customer (from the agent's signed event to the reply on the customer's channel), and the
customer's request -> the agent's reply (this includes the scripted agents' own pauses).

Figures: messages in and replies out per second, p50/p95/p99 reply time per channel and per kind,
errors and timeouts (a turn times out after --turn-timeout s); RSS and CPU of every process
(gateway, Rasa, action server, redis-server, the Telegram emulator, this process) sampled every
--sample-seconds: start, end, max and the growth per 1000 turns (the slope of a linear fit of RSS
against completed turns after the first --warmup share of the run: the leak check); Redis
`used_memory` before and after the load divided by the conversations played.

Baselines, in the same run: before the load, on the idle stack, Redis PING and one stream hop
(bench/desk_bench.py) and 40 turns (20 with --quick) sent straight to Rasa's REST webhook one at
a time (the latency floor of a turn); during the load, one conversation at a time straight to
Rasa (a turn every think-min/2..think-min s): how much of the reply time is Rasa's own queue.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import itertools
import json
import os
import random
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import redis
import redis.asyncio as aioredis
import websockets
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import table
from bench.desk_bench import baselines
from bench.gateway_bench import AFFIRM, DirectChat, TurnError, probe
from bench.stack import (
    BIN,
    READY_LINE,
    ROOT,
    Service,
    Services,
    free_port,
    prepare_engine,
    run_main,
    step,
    temporary_services,
    wait_http,
)
from bot.rasa_client import TRACKER_PREFIX, RasaClient
from bot.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, signed_headers, verify
from bot.texts import text
from kb_index.evaluation import load_queries
from relevo import keys
from relevo.errors import RasaUnavailableError
from relevo.redis_conn import embedded_server_command
from relevo.settings import Settings
from tests.emulators.slack_emulator import AsgiServer, SlackEmulator
from tests.emulators.slack_requests import block_action, event_request, interaction_request, new_ts
from tests.emulators.telegram_emulator import TelegramEmulator

NAN = float("nan")
SOCIAL_SECRET = "soak-social-secret"
SLACK_SECRET = "soak-slack-signing-secret"
TELEGRAM_TOKEN = "7001:relevo-soak"
DESK_CHANNEL = "C1"
AGENTS = {"U1": "Laura", "U2": "Marc", "U3": "Sofía"}
CHANNELS = ("webchat", "telegram", "social")
ASK_PERSON = {"en": "I want to talk to a person", "es": "quiero hablar con una persona"}
PUBLIC_YES = {"en": "thanks!", "es": "¡gracias!"}
DELIVERED = "white_check_mark"


# --- the stack -------------------------------------------------------------------------------


def always_open_routing(target: Path) -> Path:
    """The shipped routing file with every department on shift around the clock."""
    routing = yaml.safe_load((ROOT / "config" / "routing.yml").read_text(encoding="utf-8"))
    for calendar in routing["calendars"].values():
        calendar["hours"] = {"daily": "00:00-24:00"}
        calendar["holidays"] = []
    target.write_text(yaml.safe_dump(routing, allow_unicode=True), encoding="utf-8")
    return target


def desk_channels() -> dict[str, str]:
    """The Slack channels of the desk and of every department (id -> name)."""
    routing = yaml.safe_load((ROOT / "config" / "routing.yml").read_text(encoding="utf-8"))
    channels = {DESK_CHANNEL: "relevo-desk"}
    for number, department in enumerate(routing.get("departments", {}).values()):
        name = str(department.get("slack_channel") or "").lstrip("#")
        if name:
            channels[f"CD{number:02d}"] = name
    return channels


def stream_time(entry_id: str) -> float:
    """The wall-clock time (s) a Redis stream entry was added."""
    return int(entry_id.split("-")[0]) / 1000


class Connector:
    """A social network's connector: receives Relevo's signed public replies, with their time.

    It checks each reply's signature and can answer failures on purpose (`fail_next`).
    """

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.receipts: list[tuple[float, dict[str, Any]]] = []
        self.by_conversation: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        self.refused = 0
        self.failed = 0
        self._faults: list[list[Any]] = []  # [status, times left, retry_after]
        self._lock = threading.Lock()
        self._server = AsgiServer(
            Starlette(routes=[Route("/replies", self._receive, methods=["POST"])])
        )

    @property
    def url(self) -> str:
        """Where Relevo posts its replies."""
        return f"{self._server.url}/replies"

    def start(self) -> None:
        """Serve on a free port."""
        self._server.start()

    def stop(self) -> None:
        """Stop serving."""
        self._server.stop()

    def fail_next(self, status: int, times: int, retry_after: int | None = None) -> None:
        """Answer the next `times` replies with `status` (and Retry-After for a 429)."""
        with self._lock:
            self._faults.append([status, times, retry_after])

    def replies_for(self, conversation: str) -> list[tuple[float, dict[str, Any]]]:
        """The replies received for a conversation, oldest first."""
        with self._lock:
            return list(self.by_conversation.get(conversation, []))

    async def _receive(self, request: Request) -> JSONResponse:
        body = await request.body()
        try:
            verify(
                self.secret,
                body,
                request.headers.get(TIMESTAMP_HEADER),
                request.headers.get(SIGNATURE_HEADER),
                max_skew=300,
            )
        except SignatureError as exc:
            self.refused += 1
            return JSONResponse({"error": str(exc)}, status_code=401)
        with self._lock:
            if self._faults:
                fault = self._faults[0]
                fault[1] -= 1
                if fault[1] <= 0:
                    self._faults.pop(0)
                self.failed += 1
                headers = {"Retry-After": str(fault[2])} if fault[2] is not None else {}
                return JSONResponse({"error": "scripted"}, status_code=fault[0], headers=headers)
            payload = json.loads(body)
            receipt = (time.time(), payload)
            self.receipts.append(receipt)
            self.by_conversation.setdefault(str(payload.get("conversation_id")), []).append(receipt)
        return JSONResponse({"ok": True})


@dataclass
class Stack:
    """Everything started for the run, and how to kill and restart its parts."""

    services: Services
    data: Path
    settings: Settings
    env: dict[str, str]
    redis: Service
    redis_command: list[str]
    actions: Service
    rasa: Service
    gateway: Service
    gateway_url: str
    telegram: TelegramEmulator
    slack: SlackEmulator
    connector: Connector
    store: redis.Redis
    restarts: itertools.count = field(default_factory=lambda: itertools.count(2))

    @property
    def redis_url(self) -> str:
        """The URL of the run's Redis."""
        return self.env["REDIS_URL"]

    @property
    def rasa_url(self) -> str:
        """Rasa's base URL."""
        return f"http://127.0.0.1:{self.settings.rasa_port}"

    def pids(self) -> dict[str, int]:
        """The processes watched for memory and CPU, by name."""
        found = {
            "gateway": self.gateway.process.pid,
            "Rasa": self.rasa.process.pid,
            "action server": self.actions.process.pid,
            "redis-server": self.redis.process.pid,
            "load generator (this process, Slack emulator, connector)": os.getpid(),
        }
        if self.telegram.pid is not None:
            found["Telegram emulator (node)"] = self.telegram.pid
        return found

    def kill(self, service: Service) -> None:
        """SIGKILL the service's whole process group, as a crash would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(service.process.pid, signal.SIGKILL)
        service.process.wait(10)
        self.services.stop(service, seconds=1)

    def restart_redis(self) -> None:
        """redis-server again, on the same port and append-only data dir."""
        self.redis = self.services.start(
            f"redis-{next(self.restarts)}", self.redis_command, dict(os.environ)
        )
        wait_redis(self.redis_url)

    def restart_actions(self) -> None:
        """The action server again on its port."""
        self.actions = start_actions(self.services, self.settings, self.env, next(self.restarts))

    def restart_rasa(self) -> None:
        """Rasa again on its port; waits until it has loaded the model."""
        self.rasa = start_rasa(self.services, self.settings, self.env, next(self.restarts))


def wait_redis(url: str, seconds: float = 30.0) -> None:
    """Wait until Redis answers PING."""
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(redis.RedisError):
            if client.ping():
                return
        time.sleep(0.05)
    raise RuntimeError(f"redis-server did not answer on {url}")


def start_actions(services: Services, settings: Settings, env: dict[str, str], n: int) -> Service:
    """`relevo actions` on the settings' port."""
    service = services.start(
        f"actions-{n}", [str(BIN / "relevo"), "actions", "--port", str(settings.action_port)], env
    )
    wait_http(f"http://127.0.0.1:{settings.action_port}/health", service, 180)
    return service


def start_rasa(services: Services, settings: Settings, env: dict[str, str], n: int) -> Service:
    """`relevo rasa serve` (one worker) with a log of its own; waits for the model."""
    service = services.start(
        f"rasa-{n}", [str(BIN / "relevo"), "rasa", "serve", "--port", str(settings.rasa_port)], env
    )
    wait_http(f"http://127.0.0.1:{settings.rasa_port}/", service, 300)
    deadline = time.monotonic() + 300
    while READY_LINE not in service.log.read_text(errors="replace"):
        if service.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"Rasa did not start:\n{service.tail()}")
        time.sleep(0.5)
    return service


def start_stack(
    services: Services,
    data: Path,
    resources: ExitStack,
    *,
    telegram_front: Callable[[str], str] = lambda url: url,
    connector_front: Callable[[str], str] = lambda url: url,
    gateway_env: dict[str, str] | None = None,
) -> Stack:
    """Redis, the index, the action server, Rasa, the emulators, the connector and the gateway.

    `telegram_front` and `connector_front` turn the emulator's and the connector's URLs into the
    ones the gateway is given (a fault-injecting proxy in front of them, see bench/faults.py).
    """
    with step("Redis (append-only, fsync every second, as `make run` runs it)"):
        port = free_port()
        redis_command = embedded_server_command(
            Settings(data_dir=data, embedded_redis_port=port), daemonize=False
        )
        redis_service = services.start("redis", redis_command, dict(os.environ))
        url = f"redis://127.0.0.1:{port}/0"
        wait_redis(url)
    routing = always_open_routing(data / "routing.yml")
    settings, store, env = prepare_engine(data, url, {"RELEVO_ROUTING_FILE": str(routing)})
    with step("Action server and Rasa"):
        actions = start_actions(services, settings, env, 1)
        rasa = start_rasa(services, settings, env, 1)
    with step("Telegram emulator, Slack emulator, social connector"):
        telegram = resources.enter_context(TelegramEmulator(store_timeout=7200))
        slack = resources.enter_context(SlackEmulator(users=AGENTS, channels=desk_channels()))
        connector = Connector(SOCIAL_SECRET)
        connector.start()
        resources.callback(connector.stop)
    telegram_url = telegram_front(telegram.base_url)
    connector_url = connector_front(connector.url)
    with step("Gateway (relevo serve) with Telegram, mentions and the Slack desk"):
        for attempt in range(1, 4):  # a free port can be taken by someone else before we bind
            port = free_port()
            gateway_url = f"http://127.0.0.1:{port}"
            genv = {
                **env,
                "RELEVO_PORT": str(port),
                "RELEVO_PUBLIC_URL": gateway_url,
                "RELEVO_RASA_URL": f"http://127.0.0.1:{settings.rasa_port}",
                "RELEVO_TELEGRAM_TOKEN": TELEGRAM_TOKEN,
                "RELEVO_TELEGRAM_API_URL": telegram_url + "/bot",
                "RELEVO_TELEGRAM_FILE_URL": telegram_url + "/file/bot",
                "RELEVO_SOCIAL_SECRET": SOCIAL_SECRET,
                "RELEVO_SOCIAL_OUTBOUND_URL": connector_url,
                "RELEVO_SLACK_BOT_TOKEN": slack.bot_token,
                "RELEVO_SLACK_SIGNING_SECRET": SLACK_SECRET,
                "RELEVO_SLACK_CHANNEL": DESK_CHANNEL,
                "RELEVO_SLACK_API_URL": slack.api_url,
                **(gateway_env or {}),
            }
            name = "gateway" if attempt == 1 else f"gateway-{attempt}"
            gateway = services.start(name, [str(BIN / "relevo"), "serve"], genv)
            try:
                wait_http(f"{gateway_url}/healthz", gateway, 180)
                break
            except RuntimeError:
                services.stop(gateway)
                if attempt == 3 or "address already in use" not in gateway.tail():
                    raise
    return Stack(
        services=services,
        data=data,
        settings=settings,
        env=env,
        redis=redis_service,
        redis_command=redis_command,
        actions=actions,
        rasa=rasa,
        gateway=gateway,
        gateway_url=gateway_url,
        telegram=telegram,
        slack=slack,
        connector=connector,
        store=store,
    )


# --- customers -------------------------------------------------------------------------------


@dataclass
class TurnRecord:
    """One customer message (or one agent reply) and when the customer's channel had the answer."""

    channel: str
    conversation: str
    kind: str  # question, affirm, handoff, agent
    sent: float  # time.time()
    message_ids: list[str] = field(default_factory=list)
    done: float = NAN
    error: str = ""  # "", "timeout" or what failed
    resent: int = 0  # sent again by the customer or the connector after an error
    replies: int = 0  # messages received on the channel for this turn
    queued: bool = False  # the turn ended with the conversation queued for a person

    @property
    def ms(self) -> float:
        """Reply time in ms (NaN when not answered)."""
        return (self.done - self.sent) * 1000


class LogWatch:
    """Follows a conversation's log (XREAD BLOCK): what belongs to a turn, when it was logged."""

    def __init__(self, client: aioredis.Redis, conversation: str) -> None:
        self._client = client
        self._key = keys.conversation_log(conversation)
        self.after = "0-0"

    async def wait(
        self, predicate: Callable[[dict[str, str]], bool]
    ) -> tuple[list[tuple[str, dict[str, str]]], str, dict[str, str]]:
        """Entries up to the first one matching (the caller bounds the wait); that one's id."""
        seen: list[tuple[str, dict[str, str]]] = []
        while True:
            try:
                found = await self._client.xread({self._key: self.after}, count=100, block=4000)
            except redis.RedisError:
                await asyncio.sleep(0.5)  # Redis restarting: the log is still there after
                continue
            for _, entries in found or []:
                for entry_id, fields in entries:
                    self.after = entry_id
                    seen.append((entry_id, fields))
                    if predicate(fields):
                        return seen, entry_id, fields


def reply_of(prefix: str) -> Callable[[dict[str, str]], bool]:
    """A log entry that ends the turn of the message whose id is `prefix` minus its last ':'."""
    return lambda f: bool(f.get("ends_turn")) and f.get("out_id", "").startswith(prefix)


def messages_of(entries: list[tuple[str, dict[str, str]]], prefix: str) -> int:
    """How many delivered messages (not events) of the turn are among the entries."""
    return sum(
        1
        for _, f in entries
        if f.get("type") == "message" and f.get("out_id", "").startswith(prefix)
    )


class Customer:
    """A customer on one channel: sends turns and notices the answers where a customer would."""

    channel = ""

    def __init__(self, conversation: str, language: str) -> None:
        self.conversation = conversation
        self.language = language
        self.records: list[TurnRecord] = []

    async def open(self) -> None:
        """Connect (the web chat's socket)."""

    async def close(self) -> None:
        """Disconnect."""

    async def say(self, text: str, kind: str, timeout: float) -> TurnRecord:
        """Send one message and wait for the end of the assistant's turn on the channel."""
        record = TurnRecord(self.channel, self.conversation, kind, time.time())
        try:
            async with asyncio.timeout(timeout):
                await self._turn(record, text)
        except TimeoutError:
            record.error = "timeout"
        except Exception as exc:
            record.error = f"{type(exc).__name__}: {exc}"[:200]
        self.records.append(record)
        return record

    async def agent_reply(self, timeout: float) -> TurnRecord:
        """Wait for an agent's reply on the channel (its `sent` is filled in by the caller)."""
        record = TurnRecord(self.channel, self.conversation, "agent", NAN)
        try:
            async with asyncio.timeout(timeout):
                await self._agent(record)
        except TimeoutError:
            record.error = "timeout"
        except Exception as exc:
            record.error = f"{type(exc).__name__}: {exc}"[:200]
        self.records.append(record)
        return record

    async def bot_back(self, timeout: float) -> bool:
        """Wait until an agent has handed the conversation back to the assistant."""
        try:
            async with asyncio.timeout(timeout):
                await self._bot_back()
        except TimeoutError:
            return False
        return True

    def received(self) -> int:
        """Messages of the assistant and of agents received on the channel so far."""
        return 0

    async def _turn(self, record: TurnRecord, text: str) -> None:
        raise NotImplementedError

    async def _agent(self, record: TurnRecord) -> None:
        raise NotImplementedError

    async def _bot_back(self) -> None:
        raise NotImplementedError


class WebchatCustomer(Customer):
    """The web chat page's protocol over a real WebSocket.

    As the page: it reconnects with backoff (0.5 s doubling to 10 s, jittered) and `after` = the
    last entry it rendered, resends what was not acknowledged with the same client id, renders
    each log entry once, and a message refused with an error frame is sent again under a new
    client id a second later (the customer pressing retry).
    """

    channel = "webchat"

    def __init__(self, ws_url: str, conversation: str, language: str) -> None:
        super().__init__(conversation, language)
        self._ws_url = ws_url
        self.frames: list[tuple[float, dict[str, Any]]] = []  # messages and events, once each
        self._seen: set[str] = set()
        self._last = "0"
        self._outbox: dict[str, dict[str, Any]] = {}
        self._failed: dict[str, str] = {}
        self.acks: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self._socket: Any = None
        self._runner: asyncio.Task[None] | None = None
        self._closing = False
        self._cursor = 0
        self.reconnects = 0

    async def open(self) -> None:
        """Start the socket (it reconnects by itself until closed)."""
        self._runner = asyncio.create_task(self._run())

    async def close(self) -> None:
        """Close the socket for good."""
        self._closing = True
        if self._socket is not None:
            with contextlib.suppress(Exception):
                await self._socket.close()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(BaseException):
                await self._runner

    def received(self) -> int:
        """Messages of the assistant and agents rendered."""
        return sum(
            1 for _, f in self.frames if f["type"] == "message" and f["author"] != "customer"
        )

    async def _run(self) -> None:
        attempt = 0
        while not self._closing:
            url = (
                f"{self._ws_url}?conversation={self.conversation}&after={self._last}"
                f"&lang={self.language}"
            )
            try:
                async with websockets.connect(url, open_timeout=30, max_queue=None) as socket:
                    self._socket = socket
                    attempt = 0
                    for frame in list(self._outbox.values()):
                        await socket.send(json.dumps(frame))
                    async for raw in socket:
                        self._on_frame(json.loads(raw))
            except asyncio.CancelledError:
                raise
            except Exception:  # any failure: reconnect, as the page does
                pass
            self._socket = None
            if self._closing:
                return
            self.reconnects += 1
            await asyncio.sleep(min(10.0, 0.5 * 2**attempt) * random.uniform(0.8, 1.2))
            attempt = min(attempt + 1, 16)

    def _on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind in ("message", "event"):
            entry = str(frame.get("id") or "")
            if entry in self._seen:
                return
            self._seen.add(entry)
            self._last = entry or self._last
            self.frames.append((time.time(), frame))
        elif kind == "ack":
            self.acks.append(frame)
            self._outbox.pop(str(frame.get("client_id")), None)
        elif kind == "error" and frame.get("client_id"):
            client_id = str(frame["client_id"])
            self._outbox.pop(client_id, None)
            self._failed[client_id] = str(frame.get("reason"))
        self._changed.set()

    async def _transmit(self, frame: dict[str, Any]) -> None:
        if self._socket is not None:
            with contextlib.suppress(Exception):  # sent again after the reconnection
                await self._socket.send(json.dumps(frame))

    async def _until(self, check: Callable[[], Any]) -> Any:
        while True:
            self._changed.clear()
            found = check()
            if found is not None:
                return found
            await self._changed.wait()

    def _turn_end(self, start: int, client_ids: list[str]) -> tuple[int, float, int] | None:
        own, replies = False, 0
        for index in range(start, len(self.frames)):
            at, frame = self.frames[index]
            if frame["type"] == "message" and frame.get("client_id") in client_ids:
                own = True
            elif own:
                replies += frame["type"] == "message"
                if frame.get("ends_turn"):
                    return index, at, replies
        return None

    async def send_copies(self, text: str, copies: int) -> str:
        """Send one message `copies` times with the same client id (a resend storm)."""
        client_id = uuid.uuid4().hex
        frame = {"type": "message", "client_id": client_id, "text": text}
        self._outbox[client_id] = frame
        for _ in range(copies):
            await self._transmit(frame)
        return client_id

    async def _turn(self, record: TurnRecord, text: str) -> None:
        start = len(self.frames)
        client_ids: list[str] = []
        while True:
            client_id = uuid.uuid4().hex
            client_ids.append(client_id)
            record.message_ids.append(f"{self.conversation}:{client_id}")
            frame: dict[str, Any] = {"type": "message", "client_id": client_id, "text": text}
            if text == AFFIRM:
                frame["display"] = "Yes" if self.language == "en" else "Sí"
            self._outbox[client_id] = frame
            await self._transmit(frame)
            outcome = await self._until(
                lambda cid=client_id: (
                    self._turn_end(start, client_ids) or ("failed" if cid in self._failed else None)
                )
            )
            if outcome == "failed":
                record.resent += 1
                await asyncio.sleep(1.0)
                continue
            index, record.done, record.replies = outcome
            record.queued = self.frames[index][1].get("event") == "queued"
            self._cursor = index + 1
            return

    async def _agent(self, record: TurnRecord) -> None:
        def check() -> tuple[int, float] | None:
            for index in range(self._cursor, len(self.frames)):
                at, frame = self.frames[index]
                if frame["type"] == "message" and frame.get("author") == "agent":
                    return index, at
            return None

        index, record.done = await self._until(check)
        record.replies = 1
        self._cursor = index + 1

    async def _bot_back(self) -> None:
        def check() -> int | None:
            for index in range(self._cursor, len(self.frames)):
                if self.frames[index][1].get("event") == "bot_back":
                    return index
            return None

        self._cursor = await self._until(check) + 1


class TelegramCustomerApi:
    """The customer side of the Telegram emulator, asynchronous (one client for every customer)."""

    def __init__(self, emulator: TelegramEmulator, token: str) -> None:
        self.token = token
        self._http = httpx.AsyncClient(
            base_url=emulator.base_url,
            timeout=30,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
        )

    async def close(self) -> None:
        """Release the connections."""
        await self._http.aclose()

    async def _post(self, path: str, payload: dict[str, Any]) -> Any:
        response = await self._http.post(path, json=payload)
        if response.status_code != 200:
            raise RuntimeError(f"emulator {path}: HTTP {response.status_code} {response.text}")
        return response.json().get("result")

    async def message(self, chat_id: int, text: str, name: str = "Ana") -> dict[str, Any]:
        """A customer's text message in a private chat; the update the bot will receive."""
        user, chat = TelegramEmulator._people(
            chat_id,
            user_id=None,
            first_name=name,
            username=None,
            chat_type="private",
            chat_title=None,
        )
        payload = {
            "botToken": self.token,
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        result: dict[str, Any] = await self._post("/sendMessage", payload)
        return result

    async def press(self, chat_id: int, data: str, message_id: int) -> dict[str, Any]:
        """Press an inline button of one of the bot's messages."""
        user, chat = TelegramEmulator._people(
            chat_id,
            user_id=None,
            first_name="Ana",
            username=None,
            chat_type="private",
            chat_title=None,
        )
        payload = {
            "botToken": self.token,
            "from": user,
            "data": data,
            "message": {"message_id": message_id, "chat": chat},
        }
        result: dict[str, Any] = await self._post("/sendCallback", payload)
        return result

    async def unread(self, chat_id: int) -> list[dict[str, Any]]:
        """The bot's messages to a chat not read yet (now read), with the emulator's `time` (ms)."""
        result: list[dict[str, Any]] = await self._post(
            "/getUpdates", {"token": self.token, "chatId": chat_id}
        )
        return result


class TelegramCustomer(Customer):
    """A customer in a private Telegram chat, through the emulator's customer side."""

    channel = "telegram"

    def __init__(
        self, api: TelegramCustomerApi, client: aioredis.Redis, chat_id: int, language: str
    ) -> None:
        super().__init__(f"tg:{chat_id}", language)
        self.chat_id = chat_id
        self._api = api
        self._watch = LogWatch(client, self.conversation)
        self.messages: list[dict[str, Any]] = []  # the bot's messages received, emulator records
        self._buttons: int | None = None

    def received(self) -> int:
        """The bot's messages received."""
        return len(self.messages)

    async def collect(self, expected: int = 0, seconds: float = 5.0) -> list[dict[str, Any]]:
        """Read what the bot sent to the chat until at least `expected` new messages came."""
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + seconds
        while True:
            got += await self._api.unread(self.chat_id)
            if len(got) >= expected or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        for message in got:
            markup = message.get("message", {}).get("reply_markup") or {}
            if isinstance(markup, dict) and markup.get("inline_keyboard"):
                self._buttons = int(message["messageId"])
        self.messages += got
        return got

    async def _finish(
        self, record: TurnRecord, predicate: Callable[[dict[str, str]], bool], prefix: str
    ) -> dict[str, str]:
        entries, entry_id, fields = await self._watch.wait(predicate)
        got = await self.collect(messages_of(entries, prefix))
        record.replies = len(got)
        record.done = max(m["time"] for m in got) / 1000 if got else stream_time(entry_id)
        return fields

    async def _turn(self, record: TurnRecord, text: str) -> None:
        record.sent = time.time()
        if record.kind == "affirm" and self._buttons is not None:
            update = await self._api.press(self.chat_id, AFFIRM, self._buttons)
            message_id = f"callback:{update['callback_query']['id']}"
        else:
            if record.kind == "affirm":  # no button to press: the customer types it
                text = "yes" if self.language == "en" else "sí"
            update = await self._api.message(self.chat_id, text)
            message_id = f"{self.chat_id}:{update['message']['message_id']}"
        record.message_ids.append(message_id)
        fields = await self._finish(record, reply_of(message_id + ":"), message_id + ":")
        record.queued = fields.get("event") == "queued"

    async def _agent(self, record: TurnRecord) -> None:
        await self._finish(record, lambda f: f.get("author") == "agent", "desk:")

    async def _bot_back(self) -> None:
        await self._watch.wait(lambda f: f.get("event") == "bot_back")


class SocialCustomer(Customer):
    """A customer writing public mentions; the connector posts them signed, and retries them.

    Like a real connector, a post the gateway could not take (5xx, a network error) is sent again
    with backoff (the gateway drops it if it had been stored after all).
    """

    channel = "social"

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        connector: Connector,
        client: aioredis.Redis,
        author: str,
        language: str,
    ) -> None:
        self.thread = f"t-{author}"
        super().__init__(f"social:x:{self.thread}:{author}", language)
        self.author = author
        self._http = http
        self._base_url = base_url
        self._connector = connector
        self._watch = LogWatch(client, self.conversation)
        self.statuses: list[int] = []

    def received(self) -> int:
        """Public reply parts received by the connector."""
        return len(self._connector.replies_for(self.conversation))

    def event(self, text: str) -> dict[str, Any]:
        """A new public post in the customer's thread."""
        post = uuid.uuid4().hex[:16]
        return {
            "network": "x",
            "type": "mention",
            "post_id": post,
            "thread_id": self.thread,
            "author": {"id": self.author, "handle": f"{self.author}_h", "followers": 150},
            "text": f"@brisaair {text}",
            "url": f"https://social.example/{self.author}/{post}",
        }

    async def post(self, event: dict[str, Any], record: TurnRecord | None = None) -> int:
        """Post a signed event, retried on 5xx and network errors; the final HTTP status."""
        body = json.dumps(event).encode()
        backoff = 0.5
        while True:
            headers = {**signed_headers(SOCIAL_SECRET, body), "Content-Type": "application/json"}
            try:
                response = await self._http.post(
                    f"{self._base_url}/channels/social/events", content=body, headers=headers
                )
                status = response.status_code
            except httpx.HTTPError:
                status = 0
            self.statuses.append(status)
            if 0 < status < 500:
                return status
            if record is not None:
                record.resent += 1
            await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
            backoff = min(8.0, backoff * 2)

    async def _finish(
        self, record: TurnRecord, predicate: Callable[[dict[str, str]], bool], prefix: str
    ) -> dict[str, str]:
        entries, entry_id, fields = await self._watch.wait(predicate)
        wanted = {
            f["out_id"]
            for _, f in entries
            if f.get("type") == "message" and f.get("out_id", "").startswith(prefix)
        }
        deadline = time.monotonic() + 5
        while True:
            parts = [
                (at, p)
                for at, p in self._connector.replies_for(self.conversation)
                if str(p.get("delivery_id", "")).rsplit(":", 1)[0] in wanted
            ]
            have = {str(p["delivery_id"]).rsplit(":", 1)[0] for _, p in parts}
            if have >= wanted or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        record.replies = len(parts)
        record.done = max(at for at, _ in parts) if parts else stream_time(entry_id)
        return fields

    async def _turn(self, record: TurnRecord, text: str) -> None:
        if record.kind == "affirm":
            text = PUBLIC_YES[self.language]
        event = self.event(text)
        message_id = f"x:{event['post_id']}"
        record.message_ids.append(message_id)
        record.sent = time.time()
        status = await self.post(event, record)
        if status not in (200, 202):
            raise TurnError(f"the events API answered {status}")
        fields = await self._finish(record, reply_of(message_id + ":"), message_id + ":")
        record.queued = fields.get("event") == "queued"

    async def _agent(self, record: TurnRecord) -> None:
        await self._finish(record, lambda f: f.get("author") == "agent", "desk:")

    async def _bot_back(self) -> None:
        await self._watch.wait(lambda f: f.get("event") == "bot_back")


# --- scripted agents in Slack ----------------------------------------------------------------


@dataclass
class HandoffRecord:
    """One handoff as the scripted agents lived it (times are time.time())."""

    handoff_id: str
    card_at: float
    conversation: str = ""
    channel: str = ""
    created: float = NAN
    claimed_at: float = NAN
    replied_at: float = NAN
    receipt_at: float = NAN
    returned_at: float = NAN
    message_ref: str = ""
    cards: int = 1
    error: str = ""


def card_handoff(params: dict[str, Any]) -> str | None:
    """The handoff id of a card (its actions block is `handoff:<id>`), or None."""
    for block in params.get("blocks") or []:
        block_id = str(block.get("block_id", "")) if isinstance(block, dict) else ""
        if block_id.startswith("handoff:"):
            return block_id.split(":", 1)[1]
    return None


class Agents:
    """Scripted agents working in the Slack emulator through the gateway's signed endpoints.

    For each new card: after a short pause, Claim; once the handoff is theirs, a reply in the
    card's thread; once the ✅ shows the customer got it, Return to bot. Requests that fail (5xx,
    network) are sent again, events with `X-Slack-Retry-Num` as Slack does. `event_copies` > 1
    delivers every reply event that many times (Slack's retries, for the duplicates scenario).
    """

    def __init__(
        self,
        slack: SlackEmulator,
        base_url: str,
        client: aioredis.Redis,
        *,
        pause: tuple[float, float] = (0.5, 2.0),
        timeout: float = 300.0,
        event_copies: int = 1,
    ) -> None:
        self._slack = slack
        self._base_url = base_url
        self._client = client
        self._pause = pause
        self._timeout = timeout
        self._event_copies = event_copies
        self.wanted: Callable[[str], bool] = lambda conversation: True  # whose handoffs to take
        self.records: dict[str, HandoffRecord] = {}
        self.by_conversation: dict[str, HandoffRecord] = {}
        self.resent = 0
        self._seen = len(slack.calls("chat.postMessage"))  # cards from now on
        self._turn = itertools.cycle(AGENTS)
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Watch for cards until `stop`, then let the handoffs in progress finish (bounded)."""
        async with httpx.AsyncClient(timeout=30) as http:
            while not stop.is_set():
                self._pick_up(http)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.1)
            self._pick_up(http)
            if self._tasks:
                _, late = await asyncio.wait(self._tasks, timeout=self._timeout)
                for task in late:
                    task.cancel()

    def _pick_up(self, http: httpx.AsyncClient) -> None:
        calls = self._slack.calls("chat.postMessage")
        for call in calls[self._seen :]:
            handoff = card_handoff(call.params) if call.ok else None
            if handoff is None:
                continue
            if handoff in self.records:
                self.records[handoff].cards += 1
                continue
            record = HandoffRecord(handoff, card_at=call.time)
            self.records[handoff] = record
            task = asyncio.create_task(
                self._handle(record, str(call.response["channel"]), str(call.response["ts"]), http)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self._seen = len(calls)

    async def _post(
        self, http: httpx.AsyncClient, path: str, body: bytes, headers: dict[str, str]
    ) -> None:
        for attempt in range(6):
            if attempt and path.endswith("events"):
                headers = {
                    **headers,
                    "X-Slack-Retry-Num": str(attempt),
                    "X-Slack-Retry-Reason": "http_error",
                }
            try:
                response = await http.post(f"{self._base_url}{path}", content=body, headers=headers)
                if response.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            self.resent += 1
            await asyncio.sleep(1.0 + attempt)
        raise RuntimeError(f"{path} kept failing")

    async def _click(
        self,
        http: httpx.AsyncClient,
        action: str,
        handoff_id: str,
        user: str,
        channel: str,
        card_ts: str,
    ) -> None:
        """Click one of the card's buttons (a signed interaction)."""
        click = block_action(
            action,
            handoff_id,
            user=user,
            channel=channel,
            message_ts=card_ts,
            block_id=f"handoff:{handoff_id}",
        )
        await self._post(http, "/slack/interactions", *interaction_request(SLACK_SECRET, click))

    async def _state(self, handoff_id: str, wanted: str) -> None:
        while True:
            with contextlib.suppress(redis.RedisError):
                if await self._client.hget(keys.handoff(handoff_id), "state") == wanted:
                    return
            await asyncio.sleep(0.05)

    async def _handle(
        self, record: HandoffRecord, channel: str, card_ts: str, http: httpx.AsyncClient
    ) -> None:
        user = next(self._turn)
        try:
            async with asyncio.timeout(self._timeout):
                fields = await self._client.hgetall(keys.handoff(record.handoff_id))
                request = json.loads(fields.get("record") or "{}")
                record.conversation = str(fields.get("conversation") or "")
                if not self.wanted(record.conversation):  # not a customer of this run
                    del self.records[record.handoff_id]
                    return
                record.channel = str(request.get("channel") or "")
                with contextlib.suppress(ValueError, TypeError):
                    record.created = dt.datetime.fromisoformat(request["created_at"]).timestamp()
                self.by_conversation[record.conversation] = record
                await asyncio.sleep(random.uniform(*self._pause))
                await self._click(http, "claim", record.handoff_id, user, channel, card_ts)
                await self._state(record.handoff_id, "agent")
                record.claimed_at = time.time()
                await asyncio.sleep(random.uniform(*self._pause))
                text = f"Hi, this is {AGENTS[user]}: I'm on it ({record.handoff_id[:8]})."
                event = self._slack.add_message(
                    channel, text, user=user, ts=new_ts(), thread_ts=card_ts
                )
                record.message_ref = f"slack:{channel}:{card_ts}:{event['ts']}"
                body, headers = event_request(SLACK_SECRET, event)
                record.replied_at = time.time()
                for copy in range(self._event_copies):
                    retry = {"X-Slack-Retry-Num": str(copy), "X-Slack-Retry-Reason": "http_timeout"}
                    await self._post(
                        http, "/slack/events", body, {**headers, **(retry if copy else {})}
                    )
                while DELIVERED not in self._slack.reactions(channel, str(event["ts"])):
                    await asyncio.sleep(0.1)
                record.receipt_at = time.time()
                await self._click(http, "return", record.handoff_id, user, channel, card_ts)
                await self._state(record.handoff_id, "returned")
                record.returned_at = time.time()
        except TimeoutError:
            record.error = "timeout"
        except Exception as exc:
            record.error = f"{type(exc).__name__}: {exc}"[:200]


# --- the load --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How much load, for how long."""

    conversations: int
    minutes: float
    think_min: float
    think_max: float
    handoff_share: float
    turns_min: int = 4
    turns_max: int = 12
    seed: int = 7
    sample_seconds: float = 30.0
    warmup: float = 0.2
    turn_timeout: float = 120.0
    handoff_timeout: float = 300.0
    probe_questions: int = 60
    floor_turns: int = 40


class Population:
    """Makes customers on each channel and plays their conversations."""

    def __init__(
        self,
        stack: Stack,
        client: aioredis.Redis,
        agents: Agents,
        questions: dict[str, list[str]],
        *,
        base_url: str | None = None,
        run_id: str | None = None,
    ) -> None:
        self.stack = stack
        self.client = client
        self.agents = agents
        self.questions = questions
        self.base_url = base_url or stack.gateway_url
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self.customers: list[Customer] = []
        self.ids: set[str] = set()
        agents.wanted = self.ids.__contains__
        self.conversations = 0
        self.handoff_waits: list[float] = []  # customer's request -> agent's reply received (s)
        self.telegram = TelegramCustomerApi(stack.telegram, TELEGRAM_TOKEN)
        self.http = httpx.AsyncClient(
            timeout=30, limits=httpx.Limits(max_connections=128, max_keepalive_connections=64)
        )
        self._numbers = itertools.count(1)

    async def close(self) -> None:
        """Release the HTTP clients."""
        await self.telegram.close()
        await self.http.aclose()

    def make(self, channel: str, language: str) -> Customer:
        """A new customer (a new conversation) on `channel`."""
        number = next(self._numbers)
        self.conversations += 1
        customer: Customer
        if channel == "webchat":
            ws_url = self.base_url.replace("http://", "ws://") + "/channels/webchat/ws"
            customer = WebchatCustomer(ws_url, f"wc-soak-{self.run_id}-{number:06d}", language)
        elif channel == "telegram":
            chat = 800_000_000 + int(self.run_id[:4], 16) * 10_000 + number
            customer = TelegramCustomer(self.telegram, self.client, chat, language)
        else:
            customer = SocialCustomer(
                self.http,
                self.base_url,
                self.stack.connector,
                self.client,
                f"c{self.run_id}{number:06d}",
                language,
            )
        self.customers.append(customer)
        self.ids.add(customer.conversation)
        return customer

    async def converse(
        self,
        customer: Customer,
        rng: random.Random,
        *,
        turns: int,
        handoff_at: int,
        think: tuple[float, float],
        end: float,
        timeout: float,
        handoff_timeout: float,
    ) -> None:
        """Play one conversation; stops at the first failed turn or at `end` (monotonic)."""
        pool = list(self.questions[customer.language])
        rng.shuffle(pool)
        answered = False
        await customer.open()
        try:
            for number in range(turns):
                await asyncio.sleep(rng.uniform(*think))
                if time.monotonic() >= end:
                    return
                if number == handoff_at:
                    text, kind = ASK_PERSON[customer.language], "handoff"
                elif answered:
                    text, kind = AFFIRM, "affirm"
                else:
                    text, kind = pool[number % len(pool)], "question"
                record = await customer.say(text, kind, timeout)
                if record.error:
                    return
                answered = kind == "question" and not record.queued
                if record.queued and not await self.handed_over(customer, record, handoff_timeout):
                    return
        finally:
            await customer.close()

    async def handed_over(self, customer: Customer, request: TurnRecord, timeout: float) -> bool:
        """After a handoff: the agent's reply on the channel, then the bot back."""
        reply = await customer.agent_reply(timeout)
        handoff = self.agents.by_conversation.get(customer.conversation)
        reply.sent = handoff.replied_at if handoff else NAN
        if reply.error:
            return False
        self.handoff_waits.append(reply.done - request.sent)
        return await customer.bot_back(timeout)

    async def slot(self, number: int, plan: Plan, end: float) -> None:
        """Conversations one after another until `end` (monotonic)."""
        rng = random.Random(plan.seed * 1_000_003 + number)
        for index in itertools.count():
            if time.monotonic() >= end:
                return
            customer = self.make(
                CHANNELS[(number + index) % len(CHANNELS)], rng.choice(sorted(self.questions))
            )
            turns = rng.randint(plan.turns_min, plan.turns_max)
            handoff_at = rng.randrange(1, turns) if rng.random() < plan.handoff_share else -1
            await self.converse(
                customer,
                rng,
                turns=turns,
                handoff_at=handoff_at,
                think=(plan.think_min, plan.think_max),
                end=end,
                timeout=plan.turn_timeout,
                handoff_timeout=plan.handoff_timeout,
            )

    def records(self) -> list[TurnRecord]:
        """Every turn so far."""
        return [r for c in self.customers for r in c.records]

    def completed(self) -> int:
        """Turns answered so far."""
        return sum(1 for c in self.customers for r in c.records if not r.error)


# --- sampling --------------------------------------------------------------------------------


def _tree(pid: int) -> list[psutil.Process]:
    """A process and its children; this process alone (the services are its children too)."""
    root = psutil.Process(pid)
    return [root] if pid == os.getpid() else [root, *root.children(recursive=True)]


def tree_rss_mb(pid: int) -> float:
    """RSS (MB) of a process and its children; NaN when it is gone."""
    try:
        processes = _tree(pid)
    except psutil.NoSuchProcess:
        return NAN
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += process.memory_info().rss / 1e6
    return total


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its live children."""
    try:
        processes = _tree(pid)
    except psutil.NoSuchProcess:
        return NAN
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


@dataclass
class Sample:
    """One look at the processes."""

    at: float  # seconds since the load started
    turns: int  # turns answered so far
    rss: dict[str, float]
    cpu: dict[str, float]
    machine: float
    redis_used: int


class Sampler:
    """Samples RSS and CPU of every process every `every` seconds."""

    def __init__(
        self, pids: Callable[[], dict[str, int]], store: redis.Redis, turns: Callable[[], int]
    ) -> None:
        self._pids = pids
        self._store = store
        self._turns = turns
        self._started = time.monotonic()
        self.samples: list[Sample] = []

    def take(self) -> Sample:
        """One sample now."""
        pids = self._pids()
        used = -1
        with contextlib.suppress(redis.RedisError):
            used = int(self._store.info("memory")["used_memory"])
        sample = Sample(
            at=time.monotonic() - self._started,
            turns=self._turns(),
            rss={name: tree_rss_mb(pid) for name, pid in pids.items()},
            cpu={name: tree_cpu(pid) for name, pid in pids.items()},
            machine=machine_busy(),
            redis_used=used,
        )
        self.samples.append(sample)
        return sample

    async def run(self, stop: asyncio.Event, every: float) -> None:
        """Sample until `stop`."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            if not stop.is_set():
                self.take()


def growth_per_1000_turns(samples: list[Sample], name: str, warmup_s: float) -> float:
    """Slope (MB per 1000 turns) of RSS against completed turns, after the warm-up."""
    kept = [s for s in samples if s.at >= warmup_s and not np.isnan(s.rss.get(name, NAN))]
    turns = np.array([s.turns for s in kept], dtype=float)
    if len(kept) < 3 or np.ptp(turns) == 0:
        return NAN
    slope = np.polyfit(turns, np.array([s.rss[name] for s in kept]), 1)[0]
    return float(slope * 1000)


# --- baselines -------------------------------------------------------------------------------


async def direct_turns(
    rasa_url: str,
    questions: list[str],
    turns: int,
    *,
    pause: tuple[float, float] | None = None,
    end: float | None = None,
) -> tuple[list[float], int]:
    """Turns straight to Rasa, one at a time: question and /affirm, two per conversation."""
    client = RasaClient(url=rasa_url, timeout=120)
    samples: list[float] = []
    errors = 0
    run = uuid.uuid4().hex[:6]
    try:
        for number in itertools.count():
            if (end is None and number >= turns) or (end is not None and time.monotonic() >= end):
                break
            if pause:
                await asyncio.sleep(random.uniform(*pause))
            chat = DirectChat(client, f"wc-floor-{run}-{number // 2:05d}")
            text = questions[(number // 2) % len(questions)] if number % 2 == 0 else AFFIRM
            started = time.perf_counter()
            try:
                await chat.say(text, uuid.uuid4().hex)
            except (TurnError, RasaUnavailableError):
                errors += 1
                continue
            samples.append((time.perf_counter() - started) * 1000)
    finally:
        await client.close()
    return samples, errors


# --- reporting -------------------------------------------------------------------------------


def percentiles(values: list[float]) -> list[object]:
    """n, p50, p95, p99 and max of a list of ms (dashes when empty)."""
    clean = np.array([v for v in values if not np.isnan(v)])
    if not len(clean):
        return [0, "-", "-", "-", "-"]
    p50, p95, p99 = np.percentile(clean, [50, 95, 99])
    return [len(clean), float(p50), float(p95), float(p99), float(clean.max())]


def latency_rows(population: Population, seconds: float) -> list[list[object]]:
    """Per channel and kind: sent, answered, errors, reply times, rates."""
    rows: list[list[object]] = []
    records = [r for r in population.records()]
    groups: list[tuple[str, Callable[[TurnRecord], bool]]] = [
        *(
            (f"{c}: customer turns", lambda r, c=c: r.channel == c and r.kind != "agent")
            for c in CHANNELS
        ),
        ("all channels: customer turns", lambda r: r.kind != "agent"),
        ("  questions", lambda r: r.kind == "question"),
        ("  'Yes' to 'Did this help?'", lambda r: r.kind == "affirm"),
        ("  asks for a person (-> handoff notice)", lambda r: r.kind == "handoff"),
        ("agent reply -> customer (all channels)", lambda r: r.kind == "agent"),
    ]
    for label, keep in groups:
        chosen = [r for r in records if keep(r)]
        errors = sum(1 for r in chosen if r.error and r.error != "timeout")
        timeouts = sum(1 for r in chosen if r.error == "timeout")
        replies = sum(r.replies for r in chosen)
        rows.append(
            [
                label,
                len(chosen),
                errors,
                timeouts,
                *percentiles([r.ms for r in chosen if not r.error]),
                len(chosen) / seconds,
                replies / seconds,
            ]
        )
    return rows


def print_report(
    plan: Plan,
    population: Population,
    agents: Agents,
    sampler: Sampler,
    seconds: float,
    floors: dict[str, tuple[list[float], int]],
    redis_before: dict[str, int],
    redis_after: dict[str, int],
    notes: list[str],
) -> None:
    """Every table."""
    table(
        f"Reply times (ms): {plan.conversations} conversations at once for {plan.minutes:g} min, "
        f"think time {plan.think_min:g}-{plan.think_max:g} s, {plan.handoff_share:.0%} of "
        f"conversations ask for a person; load {seconds:.0f} s; rates per second of load",
        [
            "turns",
            "sent",
            "errors",
            "timeouts",
            "answered",
            "p50",
            "p95",
            "p99",
            "max",
            "msgs in/s",
            "replies out/s",
        ],
        latency_rows(population, seconds),
    )
    table(
        "Baselines measured in the same run (ms)",
        ["path", "errors", "n", "p50", "p95", "p99", "max"],
        [[name, errors, *percentiles(values)] for name, (values, errors) in floors.items()],
    )
    records = list(agents.records.values())
    done = [r for r in records if not np.isnan(r.returned_at)]
    card_ms = [(r.card_at - r.created) * 1000 for r in records]
    receipt_ms = [(r.receipt_at - r.replied_at) * 1000 for r in records]
    wait_ms = [w * 1000 for w in population.handoff_waits]
    table(
        f"Handoffs: {len(records)} cards, {sum(1 for r in records if not np.isnan(r.claimed_at))} "
        f"claimed, {sum(1 for r in records if not np.isnan(r.replied_at))} answered, "
        f"{sum(1 for r in records if not np.isnan(r.receipt_at))} marked delivered (✅), "
        f"{len(done)} returned to the bot; cards posted twice: "
        f"{sum(1 for r in records if r.cards > 1)}; agent errors: "
        f"{sum(1 for r in records if r.error)}",
        ["path (ms)", "n", "p50", "p95", "p99", "max"],
        [
            ["escalation (request queued) -> card in Slack", *percentiles(card_ms)],
            ["agent reply -> ✅ in Slack (delivery receipt)", *percentiles(receipt_ms)],
            ["customer asks -> agent's reply on the channel*", *percentiles(wait_ms)],
        ],
    )
    print("* includes the scripted agents' pauses (0.5-2 s before claiming, again before replying)")
    samples = sampler.samples
    warmup_s = plan.minutes * 60 * plan.warmup
    rows = []
    if samples:
        first, last = samples[0], samples[-1]
        span = last.at - first.at
        ours = 0.0
        for name in first.rss:
            values = [s.rss[name] for s in samples if not np.isnan(s.rss.get(name, NAN))]
            cpu = (last.cpu[name] - first.cpu[name]) / span if span else NAN
            ours += 0.0 if np.isnan(cpu) else cpu
            rows.append(
                [
                    name,
                    first.rss[name],
                    last.rss[name],
                    max(values) if values else NAN,
                    growth_per_1000_turns(samples, name, warmup_s),
                    cpu,
                ]
            )
        others = (last.machine - first.machine) / span - ours if span else NAN
        rows.append(
            ["other processes on the machine (not started here)", "-", "-", "-", "-", others]
        )
    table(
        f"Memory and CPU ({len(samples)} samples every {plan.sample_seconds:g} s; growth: slope of "
        f"RSS against answered turns after the first {warmup_s:.0f} s; CPU: cores used on average)",
        [
            "process (with its children)",
            "RSS start MB",
            "RSS end MB",
            "RSS max MB",
            "MB per 1000 turns",
            "CPU cores",
        ],
        rows,
    )
    timeline = []
    for sample in samples:
        timeline.append(
            [
                f"{sample.at:.0f}",
                sample.turns,
                *[
                    sample.rss.get(n, NAN)
                    for n in ("gateway", "Rasa", "action server", "redis-server")
                ],
                sample.redis_used / 1e6,
            ]
        )
    table(
        "Timeline (RSS MB)",
        [
            "s",
            "turns answered",
            "gateway",
            "Rasa",
            "action server",
            "redis-server",
            "Redis used MB",
        ],
        timeline,
    )
    conversations = max(population.conversations, 1)
    used = redis_after["used_memory"] - redis_before["used_memory"]
    added = redis_after["keys"] - redis_before["keys"]
    table(
        "Redis",
        ["measure", "value"],
        [
            ["used_memory before the load (MB)", redis_before["used_memory"] / 1e6],
            ["used_memory after the load (MB)", redis_after["used_memory"] / 1e6],
            ["conversations played", population.conversations],
            ["used_memory added per conversation (KB)", used / conversations / 1e3],
            ["keys added per conversation", added / conversations],
            ["dead letters added (relevo:outbox:dead)", redis_after["dead"] - redis_before["dead"]],
        ],
    )
    for note in notes:
        print(note)


def redis_figures(store: redis.Redis) -> dict[str, int]:
    """used_memory, the number of keys and the dead letters."""
    return {
        "used_memory": int(store.info("memory")["used_memory"]),
        "keys": int(store.dbsize()),
        "dead": int(store.llen(keys.OUTBOX_DEAD)),
    }


async def wait_quiet(client: aioredis.Redis, seconds: float = 120.0) -> bool:
    """Wait until the gateway's and the desk's consumer groups have nothing pending."""
    streams = (
        (keys.INBOUND, keys.INBOUND_GROUP),
        (keys.OUTBOX, keys.OUTBOX_GROUP),
        (keys.HANDOFF_REQUESTS, keys.DESK_GROUP),
        (keys.DESK_RELAY, keys.DESK_GROUP),
        (keys.DESK_RECEIPTS, keys.DESK_GROUP),
    )
    deadline = time.monotonic() + seconds
    quiet_since = None
    while time.monotonic() < deadline:
        busy = False
        try:
            for stream, group in streams:
                if not await client.exists(stream):
                    continue
                groups = {g["name"]: g for g in await client.xinfo_groups(stream)}
                info = groups.get(group)
                last = (await client.xinfo_stream(stream))["last-generated-id"]
                if info is None or info["pending"] or info["last-delivered-id"] != last:
                    busy = True
        except redis.RedisError:
            busy = True
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 2.0:
            return True
        await asyncio.sleep(0.2)
    return False


def answerable_questions(rasa_url: str, plan: Plan) -> dict[str, list[str]]:
    """Questions the assistant answers (probed straight to Rasa), by language."""
    labelled = [
        q
        for q in load_queries(ROOT / "kb" / "eval" / "queries.yaml")
        if q.expected is not None and q.kind == "question"
    ]
    if plan.probe_questions:
        labelled = labelled[:: max(len(labelled) // plan.probe_questions, 1)]
    language = {q.text: q.language for q in labelled}
    kept = asyncio.run(probe(rasa_url, [q.text for q in labelled]))
    found: dict[str, list[str]] = {}
    for question in kept:
        found.setdefault(language[question], []).append(question)
    print(
        f"  {len(kept)} of {len(labelled)} answered: "
        + ", ".join(f"{k} {len(v)}" for k, v in sorted(found.items()))
    )
    if not found:
        raise RuntimeError("Rasa answered none of the questions")
    return found


APOLOGIES = {text("no_answer", language) for language in ("en", "es")}


@dataclass
class Outcome:
    """The figures of one scenario."""

    scenario: str
    fault: str
    conversations: int = 0
    messages_in: int = 0
    accepted: int = 0
    answered: int = 0
    replies_out: int = 0
    duplicates: int = 0
    lost: int = 0
    resent: int = 0
    p95_ms: float = NAN
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    why: Counter[str] = field(default_factory=Counter)  # duplicates and lost, by cause
    apologies: int = 0  # answered with "Sorry, I couldn't answer that just now"
    latencies: list[float] = field(default_factory=list)


async def tally(
    client: aioredis.Redis,
    connector: Connector,
    population: Population,
    agents: Agents,
    outcome: Outcome,
) -> None:
    """Count messages in, replies out, duplicates and lost from the logs and the channels."""
    outcome.conversations += len(population.customers)
    done = [r.ms for r in population.records() if not r.error and r.kind != "agent"]
    outcome.latencies += done
    slow = []
    for channel in ("webchat", "telegram", "social"):
        times = [
            r.ms
            for r in population.records()
            if r.channel == channel and r.kind != "agent" and not np.isnan(r.ms)
        ]
        if times:
            slow.append(f"{channel} {np.percentile(times, 50):.0f} / {max(times):.0f}")
    if slow:
        outcome.notes.append("reply ms p50 / max: " + ", ".join(slow))
    if outcome.latencies:
        outcome.p95_ms = float(np.percentile(np.array(outcome.latencies), 95))
    why = outcome.why
    for customer in population.customers:
        log = await client.xrange(keys.conversation_log(customer.conversation))
        accepted = Counter(f["message_id"] for _, f in log if f.get("author") == "customer")
        delivered = [
            f for _, f in log if f.get("type") == "message" and f.get("author") != "customer"
        ]
        out_ids = Counter(f.get("out_id", "") for f in delivered)
        outcome.apologies += sum(1 for f in delivered if f.get("text") in APOLOGIES)
        why["duplicate: a reply logged twice"] += sum(n - 1 for n in out_ids.values() if n > 1)
        why["duplicate: a message accepted twice"] += sum(n - 1 for n in accepted.values() if n > 1)
        for record in customer.records:
            if record.kind == "agent":
                continue
            outcome.messages_in += 1
            outcome.resent += record.resent
            ids = [i for i in record.message_ids if i in accepted]
            outcome.accepted += bool(ids)
            answered = [i for i in ids if any(o.startswith(i + ":") for o in out_ids)]
            if answered:
                outcome.answered += 1
            elif ids:
                why[f"lost: {customer.channel} message accepted, never answered"] += 1
            else:
                why[f"lost: {customer.channel} message never accepted"] += 1
            why["duplicate: one message answered twice (resent under a new id)"] += max(
                0, len(answered) - 1
            )
        outcome.replies_out += customer.received()
        if isinstance(customer, TelegramCustomer):
            got = Counter(m["message"].get("text", "") for m in customer.messages)
            sent = Counter(f.get("text", "") for f in delivered)
            why["duplicate: telegram message received twice"] += sum((got - sent).values())
            why["lost: telegram reply logged as sent, never received"] += sum((sent - got).values())
        elif isinstance(customer, SocialCustomer):
            parts = [p for _, p in connector.replies_for(customer.conversation)]
            ids_received = Counter(str(p["delivery_id"]) for p in parts)
            why["duplicate: public reply part posted twice"] += sum(
                n - 1 for n in ids_received.values() if n > 1
            )
            received = {i.rsplit(":", 1)[0] for i in ids_received}
            why["lost: public reply logged as sent, never received"] += sum(
                1 for o in out_ids if o not in received
            )
    seen_twice = 0
    for customer in population.customers:
        raw = await client.get(f"{TRACKER_PREFIX}:tracker:{customer.conversation}")
        events = json.loads(raw).get("events", []) if raw else []
        users = Counter(
            (e.get("metadata") or {}).get("message_id")
            for e in events
            if e.get("event") == "user" and (e.get("metadata") or {}).get("message_id")
        )
        seen_twice += sum(1 for n in users.values() if n > 1)
    if seen_twice:
        outcome.notes.append(
            f"messages Rasa's tracker holds more than once (sent to Rasa again): {seen_twice}"
        )
    for handoff in agents.records.values():
        if np.isnan(handoff.replied_at):
            continue
        outcome.messages_in += 1
        log = await client.xrange(keys.conversation_log(handoff.conversation))
        copies = sum(1 for _, f in log if f.get("out_id") == f"desk:{handoff.message_ref}")
        outcome.accepted += copies > 0
        outcome.answered += copies > 0
        why["lost: agent reply never delivered"] += copies == 0
    asked = {r.conversation for r in population.records() if r.queued}
    carded = {c.conversation for c in agents.records.values()}
    why["lost: handoff asked for, no card in Slack (no person ever came)"] += len(asked - carded)
    outcome.resent += agents.resent
    cards = list(agents.records.values())
    if asked or cards:
        outcome.notes.append(
            f"handoffs asked: {len(asked)}; cards in Slack: {len(cards)} (posted twice: "
            f"{sum(1 for c in cards if c.cards > 1)}); claimed: "
            f"{sum(1 for c in cards if not np.isnan(c.claimed_at))}; agent replies marked "
            f"delivered (✅): {sum(1 for c in cards if not np.isnan(c.receipt_at))}; agent "
            f"errors: {dict(Counter(c.error for c in cards if c.error)) or 0}"
        )
    outcome.duplicates = sum(n for k, n in why.items() if k.startswith("duplicate"))
    outcome.lost = sum(n for k, n in why.items() if k.startswith("lost"))


async def play(stack: Stack, plan: Plan, questions: dict[str, list[str]]) -> dict[str, Any]:
    """The load itself, with the agents, the sampler and the direct-to-Rasa probe alongside."""
    client = aioredis.Redis(
        connection_pool=aioredis.BlockingConnectionPool.from_url(
            stack.redis_url, decode_responses=True, max_connections=1000, timeout=60
        )
    )
    agents = Agents(stack.slack, stack.gateway_url, client, timeout=plan.handoff_timeout)
    population = Population(stack, client, agents, questions)
    sampler = Sampler(stack.pids, stack.store, population.completed)
    stop = asyncio.Event()
    sampler.take()
    started = time.monotonic()
    end = started + plan.minutes * 60
    background = [
        asyncio.create_task(agents.run(stop)),
        asyncio.create_task(sampler.run(stop, plan.sample_seconds)),
    ]
    everything = [questions[k][0] for k in sorted(questions)] + [
        q for v in questions.values() for q in v
    ]
    during = asyncio.create_task(
        direct_turns(
            stack.rasa_url, everything, 0, pause=(plan.think_min / 2, plan.think_min), end=end
        )
    )
    slots = [asyncio.create_task(population.slot(n, plan, end)) for n in range(plan.conversations)]
    limit = plan.minutes * 60 + 2 * plan.turn_timeout + 2 * plan.handoff_timeout + 60
    _, late = await asyncio.wait(slots, timeout=max(limit - (time.monotonic() - started), 1))
    for task in late:
        task.cancel()
    seconds = time.monotonic() - started
    quiet = await wait_quiet(client)
    stop.set()
    await asyncio.gather(*background, return_exceptions=True)
    sampler.take()
    redis_after = redis_figures(stack.store)
    floor_during = await during
    for customer in population.customers:
        if isinstance(customer, TelegramCustomer):
            await customer.collect(0, 0.2)  # anything that came after the customer moved on
    accounting = Outcome("load", "")
    await tally(client, stack.connector, population, agents, accounting)
    await population.close()
    await client.aclose()
    return {
        "population": population,
        "agents": agents,
        "sampler": sampler,
        "seconds": seconds,
        "floor_during": floor_during,
        "quiet": quiet,
        "cut_short": len(late),
        "redis_after": redis_after,
        "accounting": accounting,
    }


def run(services: Services, data: Path, plan: Plan) -> None:
    """Start everything, play the load, print the tables."""
    resources = ExitStack()
    with resources:
        stack = start_stack(services, data, resources)
        with step("Probe: the questions the assistant answers"):
            questions = answerable_questions(stack.rasa_url, plan)
        floors: dict[str, tuple[list[float], int]] = {}
        with step("Baselines on the idle stack"):
            pings, hops = asyncio.run(baselines(stack.redis_url))
            floors["Redis PING round trip (idle)"] = (list(pings), 0)
            floors["one stream hop, XADD -> XREAD (idle)"] = (list(hops), 0)
            everything = [q for v in questions.values() for q in v]
            floors["straight to Rasa, one at a time (idle)"] = asyncio.run(
                direct_turns(stack.rasa_url, everything, plan.floor_turns)
            )
        before = redis_figures(stack.store)
        load_avg = os.getloadavg()
        with step(
            f"Load: {plan.conversations} conversations for {plan.minutes:g} min "
            f"(think {plan.think_min:g}-{plan.think_max:g} s)"
        ):
            try:
                result = asyncio.run(play(stack, plan, questions))
            finally:
                services.stop_all()  # before the emulators the gateway talks to
        after = result["redis_after"]
        floors["straight to Rasa, one at a time, during the load"] = result["floor_during"]
        gateway_log = stack.gateway.log.read_text(errors="replace")
        notes = [
            f"Machine: {os.cpu_count()} cores, load average {load_avg[0]:.1f} before the load and "
            f"{os.getloadavg()[0]:.1f} after.",
            f"Quiet after the load (nothing pending in the gateway's streams): {result['quiet']}; "
            f"slots cut short at the hard limit: {result['cut_short']}.",
            f"Gateway log: {gateway_log.count(' ERROR ')} ERROR lines, "
            f"{gateway_log.count('delivery failed; retrying')} delivery retries, "
            f"{gateway_log.count('entry kept for a retry')} entries kept for a retry.",
            f"Web chat reconnections: "
            f"{sum(getattr(c, 'reconnects', 0) for c in result['population'].customers)}; "
            f"requests the agents sent again: {result['agents'].resent}.",
        ]
        accounting: Outcome = result["accounting"]
        notes.append(
            f"Accounting (conversation logs, Rasa's trackers and what each channel received): "
            f"{accounting.messages_in} messages in (customer turns and agent replies), "
            f"{accounting.accepted} accepted, {accounting.answered} answered, "
            f"{accounting.apologies} apologies, {accounting.replies_out} replies out; "
            f"duplicates {accounting.duplicates}, lost {accounting.lost}"
            + "".join(f"; {why}: {n}" for why, n in accounting.why.items() if n)
            + "".join(f"; {n}" for n in accounting.notes if not n.startswith("reply ms"))
            + "."
        )
        print_report(
            plan,
            result["population"],
            result["agents"],
            result["sampler"],
            result["seconds"],
            floors,
            before,
            after,
            notes,
        )


def plan_from(args: argparse.Namespace) -> Plan:
    """The plan from the command line (--quick overrides the size and the sampling)."""
    if args.think_min < 0 or args.think_max < args.think_min:
        raise SystemExit("--think-min must be >= 0 and <= --think-max")
    if not 0 <= args.handoff_share <= 1:
        raise SystemExit("--handoff-share is a share between 0 and 1")
    if args.quick:
        return Plan(
            30,
            2.0,
            args.think_min,
            args.think_max,
            args.handoff_share,
            turns_min=args.turns_min,
            turns_max=args.turns_max,
            seed=args.seed,
            sample_seconds=10.0,
            turn_timeout=args.turn_timeout,
            probe_questions=30,
            floor_turns=20,
        )
    return Plan(
        args.conversations,
        args.minutes,
        args.think_min,
        args.think_max,
        args.handoff_share,
        turns_min=args.turns_min,
        turns_max=args.turns_max,
        seed=args.seed,
        sample_seconds=args.sample_seconds,
        turn_timeout=args.turn_timeout,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=200, help="At the same time (200).")
    parser.add_argument("--minutes", type=float, default=10.0, help="Length of the load (10).")
    parser.add_argument("--think-min", type=float, default=5.0, help="Shortest pause, s (5).")
    parser.add_argument("--think-max", type=float, default=30.0, help="Longest pause, s (30).")
    parser.add_argument(
        "--handoff-share", type=float, default=0.1, help="Conversations asking for a person (0.1)."
    )
    parser.add_argument("--turns-min", type=int, default=4, help="Shortest conversation (4).")
    parser.add_argument("--turns-max", type=int, default=12, help="Longest conversation (12).")
    parser.add_argument("--turn-timeout", type=float, default=120.0, help="Per turn, s (120).")
    parser.add_argument("--sample-seconds", type=float, default=30.0, help="RSS sampling (30).")
    parser.add_argument("--seed", type=int, default=7, help="Seed of the scripts (7).")
    parser.add_argument("--quick", action="store_true", help="30 conversations for 2 minutes.")
    parser.add_argument(
        "--keep-logs", type=Path, default=None, help="Copy the services' logs to this folder."
    )
    args = parser.parse_args()
    plan = plan_from(args)
    started = time.perf_counter()
    with temporary_services("relevo-load-soak-", args.keep_logs) as (services, data):
        run(services, data, plan)
    print(f"Whole run: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    run_main(main)

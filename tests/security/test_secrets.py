"""No secret in logs, pages, answers or errors: real gateways searched for every secret setting.

Two `relevo serve` processes run with a distinctive value for every secret of relevo/settings.py
(the `SecretStr` fields: Redis's password in REDIS_URL, the Telegram tokens and webhook secret,
the social secret and outbound secret, Slack's bot token, signing secret and app token, the
console token, Rasa's token): one with the desk in Slack and Telegram in webhook mode, one with
the web console and Telegram long polling. Each secret is put to use (Slack's emulator, the
Telegram emulator and a social connector check them), every door is exercised with valid and
invalid requests, error paths included (401, 403, 404, 405, 413, 422, 503, dead letters), the
gateways are stopped, and then the secrets are searched for in what came out: the processes'
stdout and stderr, every response (status line, headers and body, pages and scripts included),
what `relevo doctor` prints, and everything left in Redis.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import redis
import websockets.sync.client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from bot.signing import signed_headers
from handoff.requests import HandoffRequest, Priority, Reason, TranscriptLine, request_handoff
from kb_index.embeddings import Embedder
from kb_index.service import index_options, publish_version
from kb_index.store import IndexStore
from kb_index.sync import sync_directory
from relevo.health import wait_until_healthy
from relevo.redis_conn import redis_server_binary
from relevo.settings import Settings
from tests.channels.connector import Connector, running_connector
from tests.conftest import BIN, ROOT, free_port, wait_for_redis, write_article
from tests.emulators.slack_emulator import AsgiServer, SlackEmulator
from tests.emulators.slack_requests import block_action, event_request, interaction_request
from tests.emulators.slack_requests import signed_headers as slack_signed_headers
from tests.emulators.telegram_emulator import TelegramEmulator

pytestmark = pytest.mark.slow

_RUN = uuid.uuid4().hex[:8]
SECRETS = {
    "redis_password": f"redisPass{_RUN}Zq7",
    "telegram_token": f"7310001:tgWebhookToken{_RUN}",
    "telegram_token_polling": f"7310002:tgPollingToken{_RUN}",
    "telegram_webhook_secret": f"tgHookSecret{_RUN}",
    "social_secret": f"socialSecret{_RUN}",
    "social_outbound_secret": f"socialOutbound{_RUN}",
    "slack_bot_token": f"xoxb-1-{_RUN}-slackBotToken",
    "slack_signing_secret": f"slackSigning{_RUN}",
    "slack_app_token": f"xapp-1-{_RUN}-slackAppToken",
    "console_token": f"consoleToken{_RUN}",
    "rasa_token": f"rasaToken{_RUN}",
}


def test_every_secret_setting_is_covered() -> None:
    """A new secret setting must be added to SECRETS (and so to every search below)."""
    secret_fields = {
        name
        for name, spec in Settings.model_fields.items()
        if "SecretStr" in str(spec.annotation) or name.endswith(("_secret", "_token", "_password"))
    }
    covered = {name.removesuffix("_polling") for name in SECRETS} | {"redis_url"}
    assert secret_fields - covered == set()


@dataclass
class Exercise:
    """What came out of the gateways."""

    logs: dict[str, str] = field(default_factory=dict)
    responses: list[tuple[str, int, str, str]] = field(default_factory=list)  # url, status...
    frames: list[str] = field(default_factory=list)  # what the web chat socket sent back
    doctor: dict[str, str] = field(default_factory=dict)
    redis_dump: str = ""
    statuses: dict[str, int] = field(default_factory=dict)  # a name -> its status, checked

    def record(self, response: httpx.Response) -> None:
        response.read()
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        self.responses.append((str(response.url), response.status_code, headers, response.text))

    @property
    def pages(self) -> list[tuple[str, str]]:
        """The HTML, scripts and styles served."""
        kinds = ("text/html", "javascript", "text/css")
        return [
            (url, body)
            for url, _, headers, body in self.responses
            if any(kind in headers for kind in kinds)
        ]


def variants(secret: str) -> set[str]:
    """How a secret could be written: as is, URL-quoted, and its part after a `:`."""
    forms = {secret, quote(secret, safe=""), quote(secret)}
    if ":" in secret:  # a Telegram token: the bot id is public, the part after it is the secret
        forms.add(secret.split(":", 1)[1])
    return forms


def found(secret: str, text: str) -> bool:
    return any(form in text for form in variants(secret))


@pytest.fixture(scope="module")
def password_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis that needs a password (SECRETS["redis_password"]); yields its URL without a db."""
    port = free_port()
    server = subprocess.Popen(
        [
            str(redis_server_binary()),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(tmp_path_factory.mktemp("redis-auth")),
            "--save",
            "",
            "--appendonly",
            "no",
            "--requirepass",
            SECRETS["redis_password"],
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://:{SECRETS['redis_password']}@127.0.0.1:{port}"
    wait_for_redis(redis.Redis.from_url(f"{url}/0"))
    yield url
    server.terminate()
    server.wait(10)


def _index(data: Path, kb: Path, embedder: Embedder, redis_urls: list[str]) -> None:
    write_article(
        kb / "en",
        "wifi.md",
        "id: wifi-en\ntitle: Wi-Fi on board\nlanguage: en\ntags: [wifi]",
        "Wi-Fi is free on every Brisa Air flight: connect to the network BrisaAir.",
    )
    settings = Settings(data_dir=data, kb_dir=kb)
    report = sync_directory(kb, IndexStore(settings.index_dir), embedder, index_options(settings))
    for url in redis_urls:
        publish_version(redis.Redis.from_url(url, decode_responses=True), report)


def _gateway_env(base: dict[str, str], port: int, **values: str) -> dict[str, str]:
    return {**base, "RELEVO_PORT": str(port), "RELEVO_PUBLIC_URL": f"http://127.0.0.1:{port}"} | {
        f"RELEVO_{k.upper()}" if not k.isupper() else k: v for k, v in values.items()
    }


def _handoff(url: str, conversation: str) -> str:
    request = HandoffRequest(
        conversation_id=conversation,
        channel="webchat",
        language="en",
        reason=Reason.ASKED_FOR_PERSON,
        priority=Priority.NORMAL,
        transcript=[TranscriptLine("customer", "a person please", "2025-01-01")],
        hits=[],
        draft=None,
        customer={"id": conversation},
    )
    request_handoff(redis.Redis.from_url(url, decode_responses=True), request)
    return request.id


def _social(http: httpx.Client, exercise: Exercise, name: str, secret: str) -> None:
    """Valid, long, forged, stale, unsigned, malformed and oversized social events."""
    url = "/channels/social/events"

    def body(text: str) -> bytes:
        event = {
            "network": "x",
            "type": "mention",
            "post_id": uuid.uuid4().hex,
            "author": {"id": f"{name}-author", "handle": "ana"},
            "text": text,
        }
        return json.dumps(event).encode()

    good, long = body("@brisaair is there wifi?"), body("@brisaair " + "my bag is lost " * 300)
    cases = {
        "valid": (good, signed_headers(secret, good)),
        "long": (long, signed_headers(secret, long)),
        "forged": (good, signed_headers("guess", good)),
        "stale": (good, signed_headers(secret, good, now=time.time() - 3600)),
        "unsigned": (good, {}),
        "malformed": (b"{", signed_headers(secret, b"{")),
        "oversized": (b"x" * 70_000, signed_headers(secret, b"x" * 70_000)),
    }
    for case, (content, headers) in cases.items():
        exercise.statuses[f"{name} social {case}"] = http.post(
            url, content=content, headers=headers
        ).status_code


def _common(http: httpx.Client, exercise: Exercise, name: str, webhook_secret: str) -> None:
    """The public pages and APIs, their error paths, the Telegram webhook and the web chat."""
    for path in (
        "/",
        "/webchat/widget.js",
        "/webchat/chat.js",
        "/webchat/chat.css",
        "/webchat/demo-embed.html",
        "/healthz",
        "/readyz",
        "/metrics",
        "/kb/search?q=wifi",
        "/kb/search",
        "/kb/search?q=" + "a" * 1001,
        "/kb/articles/wifi-en",
        "/kb/articles/no-such-article",
        "/no-such-page",
        "/openapi.json",
        "/docs",
    ):
        exercise.statuses[f"{name} GET {path[:40]}"] = http.get(path).status_code
    exercise.statuses[f"{name} POST /healthz"] = http.post("/healthz").status_code
    hook = "/channels/telegram/webhook"
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "text": "hello",
            "from": {"id": 6100, "is_bot": False, "first_name": "Ana"},
            "chat": {"id": 6100, "type": "private"},
        },
    }
    secret = {"X-Telegram-Bot-Api-Secret-Token": webhook_secret}
    for case, kwargs in {
        "wrong secret": {"json": update, "headers": {"X-Telegram-Bot-Api-Secret-Token": "x"}},
        "no secret": {"json": update},
        "valid": {"json": update, "headers": secret},
        "unreadable": {"content": b"{", "headers": secret},
    }.items():
        exercise.statuses[f"{name} telegram webhook {case}"] = http.post(hook, **kwargs).status_code
    ws = str(http.base_url).replace("http://", "ws://") + "/channels/webchat/ws"
    with websockets.sync.client.connect(f"{ws}?conversation=wc-{uuid.uuid4().hex}") as socket:
        for text in ("is there wifi?", "where is my bag? " * 300):
            socket.send(
                json.dumps({"type": "message", "client_id": uuid.uuid4().hex, "text": text})
            )
        socket.send(b"\x00")
        socket.send("{")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            frame = socket.recv(timeout=15)
            exercise.frames.append(frame if isinstance(frame, str) else frame.decode())
            if "bit long" in exercise.frames[-1]:  # the notice asking to shorten it
                break


def _slack(http: httpx.Client, exercise: Exercise, slack: SlackEmulator, redis_url: str) -> None:
    """Slack's doors: URL verification, forged and stale requests, a claim and a reply."""
    secret = SECRETS["slack_signing_secret"]
    challenge = json.dumps({"type": "url_verification", "challenge": "c-1", "token": "t"}).encode()
    headers = {"Content-Type": "application/json"}
    exercise.statuses["slack url_verification"] = http.post(
        "/slack/events",
        content=challenge,
        headers={**headers, **_slack_signature(secret, challenge)},
    ).status_code
    handoff = _handoff(redis_url, "wc-secrets-slack")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not slack.messages("C1"):
        time.sleep(0.1)
    card_ts = slack.messages("C1")[0]["ts"]
    click = block_action(
        "claim", handoff, user="U1", channel="C1", message_ts=card_ts, block_id=f"handoff:{handoff}"
    )
    for case, signing, at in (
        ("valid", secret, None),
        ("forged", "guess", None),
        ("stale", secret, int(time.time()) - 3600),
    ):
        body, signed = interaction_request(signing, click, timestamp=at)
        exercise.statuses[f"slack interaction {case}"] = http.post(
            "/slack/interactions", content=body, headers=signed
        ).status_code
    time.sleep(1.0)  # the claim, after Bolt's answer
    event = slack.add_message("C1", "Hello, Laura here.", user="U1", thread_ts=card_ts)
    for case, signing in (("valid", secret), ("forged", "guess")):
        body, signed = event_request(signing, event)
        exercise.statuses[f"slack event {case}"] = http.post(
            "/slack/events", content=body, headers=signed
        ).status_code


def _slack_signature(secret: str, body: bytes) -> dict[str, str]:
    signed = slack_signed_headers(secret, body, "application/json")
    return {k: v for k, v in signed.items() if k != "Content-Type"}


def _console(http: httpx.Client, exercise: Exercise, redis_url: str) -> None:
    """The console and the dashboard, logged out, logged in, and their refusals."""
    header = {"X-Relevo-Console": "1"}
    token = SECRETS["console_token"]
    handoff = _handoff(redis_url, "wc-secrets-console")
    reply = {"text": "Hi, Laura here.", "client_id": "secrets-reply-1"}
    steps: dict[str, tuple[str, str, dict[str, Any]]] = {
        "page": ("GET", "/console", {}),
        "script": ("GET", "/console/assets/console.js", {}),
        "style": ("GET", "/console/assets/console.css", {}),
        "me logged out": ("GET", "/console/api/me", {}),
        "dashboard logged out": ("GET", "/dashboard", {"follow_redirects": False}),
        "summary logged out": ("GET", "/dashboard/api/summary", {}),
        "login wrong token": ("POST", "/console/login", {"json": {"name": "L", "token": "guess"}}),
        "login no header": (
            "POST",
            "/console/login",
            {"json": {"name": "L", "token": token}, "headers": {}},
        ),
        "login no token": ("POST", "/console/login", {"json": {"name": "L"}}),
        "login": ("POST", "/console/login", {"json": {"name": "Laura", "token": token}}),
        "me": ("GET", "/console/api/me", {}),
        "agents": ("GET", "/console/api/agents", {}),
        "queue": ("GET", "/console/api/handoffs", {}),
        "handoff": ("GET", f"/console/api/handoffs/{handoff}", {}),
        "no such handoff": ("GET", "/console/api/handoffs/no-such", {}),
        "claim no header": ("POST", f"/console/api/handoffs/{handoff}/claim", {"headers": {}}),
        "claim": ("POST", f"/console/api/handoffs/{handoff}/claim", {}),
        "reply empty": ("POST", f"/console/api/handoffs/{handoff}/reply", {"json": {}}),
        "reply": ("POST", f"/console/api/handoffs/{handoff}/reply", {"json": reply}),
        "dashboard": ("GET", "/console/dashboard", {"follow_redirects": True}),
        "dashboard script": ("GET", "/dashboard/assets/dashboard.js", {}),
        "summary": ("GET", "/dashboard/api/summary?since=7d", {}),
        "summary bad period": ("GET", "/dashboard/api/summary?since=forever", {}),
        "logout": ("POST", "/console/logout", {}),
    }
    for label, (method, path, kwargs) in steps.items():
        headers = kwargs.pop("headers", header if method == "POST" else {})
        answer = http.request(method, path, headers=headers, **kwargs)
        exercise.statuses[f"console {label}"] = answer.status_code


def _silent_rasa() -> Starlette:
    """Rasa's REST channel answering every message with one short reply (the assistant's words
    are not what this test is about, and a Rasa that answers lets the gateways stop at once).
    """

    async def root(_: Request) -> PlainTextResponse:
        return PlainTextResponse("Hello from Rasa: 3.6.21")

    async def webhook(_: Request) -> JSONResponse:
        return JSONResponse([{"text": "ok"}])

    return Starlette(
        routes=[Route("/", root), Route("/webhooks/rest/webhook", webhook, methods=["POST"])]
    )


def _dump(url: str) -> str:
    """Every key and value of a Redis database, as text."""
    client = redis.Redis.from_url(url, decode_responses=True)
    lines = []
    for key in client.scan_iter("*"):
        kind = client.type(key)
        value: Any = {
            "string": lambda k: client.get(k),
            "hash": lambda k: client.hgetall(k),
            "list": lambda k: client.lrange(k, 0, -1),
            "set": lambda k: client.smembers(k),
            "zset": lambda k: client.zrange(k, 0, -1, withscores=True),
            "stream": lambda k: client.xrange(k),
        }[kind](key)
        lines.append(f"{key} {value!r}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def exercise(
    password_redis: str,
    tmp_path_factory: pytest.TempPathFactory,
    use_embedder: Embedder,
) -> Exercise:
    """Run both gateways, exercise them, stop them; what came out."""
    folder = tmp_path_factory.mktemp("secrets")
    data, kb = folder / "data", folder / "kb"
    slack_db, console_db = f"{password_redis}/0", f"{password_redis}/1"
    _index(data, kb, use_embedder, [slack_db, console_db])
    result = Exercise()
    closed = free_port()  # the action server is down: /readyz reports it
    base = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "RELEVO_DATA_DIR": str(data),
        "RELEVO_KB_DIR": str(kb),
        "RELEVO_ACTION_PORT": str(closed),
        "RELEVO_RASA_TOKEN": SECRETS["rasa_token"],
        "RELEVO_SOCIAL_SECRET": SECRETS["social_secret"],
        "RELEVO_SOCIAL_OUTBOUND_SECRET": SECRETS["social_outbound_secret"],
        "RELEVO_CONSOLE_TOKEN": SECRETS["console_token"],
        "RELEVO_OUTBOX_BACKOFF_SECONDS": "0.1",
        "RELEVO_OUTBOX_MAX_ATTEMPTS": "2",
        "RELEVO_LOG_LEVEL": "INFO",
    }
    with (
        TelegramEmulator() as telegram,
        SlackEmulator(bot_token=SECRETS["slack_bot_token"]) as slack,
        running_connector(SECRETS["social_outbound_secret"]) as connector,
        AsgiServer(_silent_rasa()) as rasa,
    ):
        base |= {
            "RELEVO_RASA_URL": rasa.url,
            "RELEVO_RASA_PORT": str(rasa.port),
            "RELEVO_TELEGRAM_API_URL": telegram.bot_base_url,
            "RELEVO_TELEGRAM_FILE_URL": telegram.bot_file_url,
            "RELEVO_SOCIAL_OUTBOUND_URL": connector.url,
            "RELEVO_TELEGRAM_WEBHOOK_SECRET": SECRETS["telegram_webhook_secret"],
        }
        slack_port, console_port = free_port(), free_port()
        envs = {
            "slack": _gateway_env(
                base,
                slack_port,
                REDIS_URL=slack_db,
                telegram_token=SECRETS["telegram_token"],
                telegram_mode="webhook",
                telegram_webhook_url=f"http://127.0.0.1:{slack_port}/channels/telegram/webhook",
                slack_bot_token=SECRETS["slack_bot_token"],
                slack_signing_secret=SECRETS["slack_signing_secret"],
                slack_channel="C1",
                slack_api_url=slack.api_url,
            ),
            "console": _gateway_env(
                base,
                console_port,
                REDIS_URL=console_db,
                telegram_token=SECRETS["telegram_token_polling"],
                slack_app_token=SECRETS["slack_app_token"],  # set, unused without the others
            ),
        }
        logs = {name: folder / f"{name}.log" for name in envs}
        processes = {}
        for name, env in envs.items():
            with logs[name].open("wb") as out:
                processes[name] = subprocess.Popen(
                    [str(BIN / "relevo"), "serve"], env=env, cwd=ROOT, stdout=out, stderr=out
                )
        try:
            for name, env in envs.items():
                wait_until_healthy(f"{env['RELEVO_PUBLIC_URL']}/healthz", processes[name], 120)
            _drive(result, envs, telegram, slack, connector, slack_db, console_db)
            doctors = {
                name: subprocess.Popen(
                    [str(BIN / "relevo"), "doctor"],
                    env=env,
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                for name, env in envs.items()
            }
            for name, doctor in doctors.items():
                result.doctor[name] = doctor.communicate(timeout=120)[0]
        finally:
            for process in processes.values():
                process.terminate()
            for process in processes.values():
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
    result.logs = {name: path.read_text(errors="replace") for name, path in logs.items()}
    result.redis_dump = _dump(slack_db) + "\n" + _dump(console_db)
    return result


def _drive(
    result: Exercise,
    envs: dict[str, dict[str, str]],
    telegram: TelegramEmulator,
    slack: SlackEmulator,
    connector: Connector,
    slack_db: str,
    console_db: str,
) -> None:
    hooks = {"response": [result.record]}
    with (
        httpx.Client(
            base_url=envs["slack"]["RELEVO_PUBLIC_URL"], event_hooks=hooks, timeout=30
        ) as slack_http,
        httpx.Client(
            base_url=envs["console"]["RELEVO_PUBLIC_URL"], event_hooks=hooks, timeout=30
        ) as console,
    ):
        for name, http in (("slack", slack_http), ("console", console)):
            _social(http, result, name, SECRETS["social_secret"])
            _common(http, result, name, SECRETS["telegram_webhook_secret"])
        _slack(slack_http, result, slack, slack_db)
        _console(console, result, console_db)
        long = "where is my bag? " * 300  # a notice: sent back through the Bot API
        telegram.send_message(SECRETS["telegram_token"], 6201, long)  # to the webhook
        telegram.send_message(SECRETS["telegram_token_polling"], 6202, long)  # polled
        for token, chat in (
            (SECRETS["telegram_token"], 6201),
            (SECRETS["telegram_token_polling"], 6202),
        ):
            result.statuses[f"telegram notice to {chat}"] = len(
                telegram.wait_for_bot_messages(token, chat, 1, timeout=30)
            )
        connector.wait_for(2, timeout=30)  # the long posts' notices, signed
        result.statuses["connector replies"] = len(connector.replies)
        time.sleep(1.0)  # the slack reply's delivery fails (no such conversation): dead letter


EXPECTED = {
    "slack social valid": 202,
    "slack social long": 202,
    "slack social forged": 401,
    "slack social stale": 401,
    "slack social unsigned": 401,
    "slack social malformed": 422,
    "slack social oversized": 413,
    "console social forged": 401,
    "slack GET /readyz": 503,
    "slack GET /kb/search?q=wifi": 200,
    "slack GET /kb/search": 422,
    "slack GET /no-such-page": 404,
    "slack POST /healthz": 405,
    "slack telegram webhook wrong secret": 403,
    "slack telegram webhook valid": 200,
    "slack telegram webhook unreadable": 400,
    "console telegram webhook valid": 200,
    "slack url_verification": 200,
    "slack interaction valid": 200,
    "slack interaction forged": 401,
    "slack interaction stale": 401,
    "slack event valid": 200,
    "slack event forged": 401,
    "console me logged out": 401,
    "console dashboard logged out": 303,
    "console login wrong token": 401,
    "console login no header": 403,
    "console login no token": 422,
    "console login": 200,
    "console no such handoff": 404,
    "console claim no header": 403,
    "console claim": 200,
    "console reply empty": 422,
    "console reply": 200,
    "console dashboard": 200,
    "console summary": 200,
    "console summary bad period": 422,
    "telegram notice to 6201": 1,
    "telegram notice to 6202": 1,
}


def test_the_gateways_were_exercised_and_used_every_secret(exercise: Exercise) -> None:
    got = {name: exercise.statuses.get(name) for name in EXPECTED}
    assert got == EXPECTED
    assert exercise.statuses["connector replies"] >= 2  # signed with the outbound secret
    assert "gateway ready" in exercise.logs["slack"] and "gateway ready" in exercise.logs["console"]
    assert "social event refused" in exercise.logs["slack"]
    assert "telegram webhook refused" in exercise.logs["console"]
    assert "dead letter" in exercise.doctor["slack"]  # the Slack reply to a conversation gone
    assert any("bit long" in frame for frame in exercise.frames)  # the web chat's notice
    served = {url.rsplit("/", 1)[-1] for url, _ in exercise.pages}
    assert {"chat.js", "widget.js", "console.js", "dashboard.js", "console", "wifi-en"} <= served


SURFACES = ("logs", "responses", "pages", "doctor", "redis")


def _surface(exercise: Exercise, surface: str) -> dict[str, str]:
    if surface == "logs":
        return exercise.logs
    if surface == "responses":
        answers = {
            f"{url} -> {status}": f"{status}\n{headers}\n\n{body}"
            for url, status, headers, body in exercise.responses
        }
        return answers | {"web chat frames": "\n".join(exercise.frames)}
    if surface == "pages":
        return dict(exercise.pages)
    if surface == "doctor":
        return exercise.doctor
    return {"redis": exercise.redis_dump}


@pytest.mark.parametrize(
    ("secret", "surface"),
    [(secret, surface) for secret in sorted(SECRETS) for surface in SURFACES],
)
def test_no_secret_comes_out(exercise: Exercise, secret: str, surface: str) -> None:
    leaked = [
        where for where, text in _surface(exercise, surface).items() if found(SECRETS[secret], text)
    ]
    assert leaked == [], f"{secret} found in {surface}: {leaked}"

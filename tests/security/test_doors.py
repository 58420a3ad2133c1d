"""Every inbound door of the gateway, and what it does with forged, replayed and stale requests.

The doors are enumerated once, in `DOORS`, and `test_every_door_of_the_gateway_is_listed` fails
when the gateway grows a route that is not there: a new door gets its checks here. For each
door, requests with a wrong, missing or stale signature (or secret, or session) are refused with
4xx and leave nothing behind: nothing reaches `relevo:inbound`, the desk's streams or any
conversation log (the tests compare all of Redis before and after). A replay of a valid request
is processed once. The apps are the real gateway (`create_app`), served in this process on the
test Redis (see conftest.py); Slack's Web API is the repo's emulator.

The browser side of injection (text rendered as text in the web chat and the console) is tested
in a real browser by tests/e2e/test_webchat_browser.py and tests/e2e/test_console_browser.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import websockets
from websockets.exceptions import InvalidStatus

from bot.channels.social import MAX_BODY_BYTES
from bot.channels.telegram import SECRET_HEADER
from bot.console_routes import COOKIE
from bot.dashboard_routes import DASHBOARD_COOKIE
from bot.gateway import create_app
from bot.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signed_headers
from handoff.console_login import SESSION_SECONDS, Agent, ConsoleLogin
from handoff.ownership import Action
from relevo import keys
from tests.emulators.slack_emulator import SlackEmulator
from tests.emulators.slack_requests import (
    block_action,
    event_request,
    interaction_request,
)
from tests.security.conftest import (
    CONSOLE_HEADER,
    CONSOLE_TOKEN,
    SLACK_SECRET,
    SOCIAL_SECRET,
    WEBHOOK_SECRET,
    SlackDoor,
    a_handoff_with_its_card,
    customer_messages,
    door_settings,
    outbox,
    queued_handoff,
    serving,
    slack_settings,
    stored,
)

# Every route of the gateway (both desk configurations) and what lets a request in.
DOORS: dict[tuple[str, str], str] = {
    ("POST", "/channels/social/events"): "HMAC-SHA256 of '<ts>.<body>', fresh within the skew",
    ("POST", "/channels/telegram/webhook"): "X-Telegram-Bot-Api-Secret-Token",
    ("POST", "/slack/events"): "Slack's v0 signature, timestamp within 5 minutes (Bolt)",
    ("POST", "/slack/interactions"): "Slack's v0 signature, timestamp within 5 minutes (Bolt)",
    ("POST", "/console/login"): "the console token and the X-Relevo-Console header",
    ("POST", "/console/logout"): "the X-Relevo-Console header",
    ("GET", "/console/api/me"): "session",
    ("GET", "/console/api/agents"): "session",
    ("GET", "/console/api/handoffs"): "session",
    ("GET", "/console/api/handoffs/{handoff_id}"): "session",
    ("GET", "/console/api/handoffs/{handoff_id}/history"): "session",
    ("POST", "/console/api/handoffs/{handoff_id}/reveal"): "session and header",
    ("POST", "/console/api/handoffs/{handoff_id}/reassign"): "session and header",
    ("POST", "/console/api/handoffs/{handoff_id}/reply"): "session and header",
    ("POST", "/console/api/handoffs/{handoff_id}/invite"): "session and header",
    ("POST", "/console/api/handoffs/{handoff_id}/{verb}"): "session and header",
    ("WS", "/console/ws"): "session cookie and the gateway's own Origin",
    ("GET", "/dashboard/api/summary"): "session",
    ("GET", "/dashboard/api/gaps"): "session",
    ("GET", "/console/dashboard"): "session (else a redirect to the login)",
    ("GET", "/dashboard"): "session (else a redirect to the login)",
    # Public by design: anonymous customers, pages, and what load balancers and Prometheus read.
    ("WS", "/channels/webchat/ws"): "public: the conversation id is the customer's key",
    ("GET", "/"): "public page",
    ("GET", "/console"): "public page (the login form)",
    ("GET", "/kb/search"): "public",
    ("GET", "/kb/articles/{article_id}"): "public",
    ("GET", "/healthz"): "public, no personal data",
    ("GET", "/readyz"): "public, no personal data",
    ("GET", "/metrics"): "public, no personal data",
    ("MOUNT", "/webchat"): "static files",
    ("MOUNT", "/console/assets"): "static files",
    ("MOUNT", "/dashboard/assets"): "static files",
    ("GET", "/openapi.json"): "FastAPI's schema (public)",
    ("GET", "/docs"): "FastAPI's docs page (public)",
    ("GET", "/docs/oauth2-redirect"): "FastAPI's docs page (public)",
    ("GET", "/redoc"): "FastAPI's docs page (public)",
}


def _routes(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI keeps included routers nested
            yield from _routes(route.original_router.routes)
        else:
            yield route


def doors_of(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route of an app: WS for sockets, MOUNT for static files."""
    found = set()
    for route in _routes(app.routes):
        methods = getattr(route, "methods", None)
        if methods:
            found |= {(m, route.path) for m in methods - {"HEAD"}}
        else:
            found.add(("MOUNT" if type(route).__name__ == "Mount" else "WS", route.path))
    return found


def test_every_door_of_the_gateway_is_listed(
    tmp_path: Path, redis_url: str, slack_emulator: SlackEmulator
) -> None:
    console = doors_of(create_app(door_settings(tmp_path, redis_url)))
    slack = doors_of(create_app(slack_settings(tmp_path, redis_url, slack_emulator)))
    assert (console | slack) - DOORS.keys() == set(), "a new door: add its checks to this file"
    assert ("POST", "/slack/events") not in console and ("GET", "/console") not in slack


# --- the social events API -------------------------------------------------------------------


def social_body(post_id: str = "p1", text: str = "@brisaair my bag did not arrive") -> bytes:
    event = {
        "network": "x",
        "type": "mention",
        "post_id": post_id,
        "author": {"id": "u1", "handle": "ana_travels", "followers": 120},
        "text": text,
    }
    return json.dumps(event).encode()


def test_social_events_refuse_forged_stale_and_unsigned_requests(
    gateway_url: str, redis_client: redis.Redis
) -> None:
    url = f"{gateway_url}/channels/social/events"
    body = social_body()
    now = int(time.time())
    good = signed_headers(SOCIAL_SECRET, body)
    cases = {
        "another key": signed_headers("not-the-secret", body),
        "another body's signature": signed_headers(SOCIAL_SECRET, body + b" "),
        "stale (skew + 1 s)": signed_headers(SOCIAL_SECRET, body, now=now - 301),
        "from the future": signed_headers(SOCIAL_SECRET, body, now=now + 400),
        "a fresh timestamp on an old signature": {**good, TIMESTAMP_HEADER: str(now + 2)},
        "no headers": {},
        "no signature": {TIMESTAMP_HEADER: str(now)},
        "no timestamp": {SIGNATURE_HEADER: good[SIGNATURE_HEADER]},
        "timestamp not a number": {**good, TIMESTAMP_HEADER: "yesterday"},
        "empty signature": {**good, SIGNATURE_HEADER: "v1="},
        "bare hex without v1=": {**good, SIGNATURE_HEADER: good[SIGNATURE_HEADER][3:]},
    }
    for case, headers in cases.items():
        answer = httpx.post(url, content=body, headers=headers)
        assert answer.status_code == 401, case
        assert answer.json()["error"], case
    assert stored(redis_client) == {}  # not a key: no inbound, no log, no dedupe mark


def test_a_replayed_social_event_is_processed_once(
    gateway_url: str, redis_client: redis.Redis
) -> None:
    url = f"{gateway_url}/channels/social/events"
    body = social_body("p-replay")
    headers = signed_headers(SOCIAL_SECRET, body)
    first = httpx.post(url, content=body, headers=headers)
    again = [httpx.post(url, content=body, headers=headers) for _ in range(3)]  # byte for byte
    assert (first.status_code, first.json()["status"]) == (202, "accepted")
    for answer in again:  # docs/channels.md: 200 {"status": "duplicate"}
        assert (answer.status_code, answer.json()["status"]) == (200, "duplicate")
    assert redis_client.xlen(keys.INBOUND) == 1
    assert len(customer_messages(redis_client)) == 1
    # Re-signed later by the connector (a retry): the same post, still once.
    resent = httpx.post(url, content=body, headers=signed_headers(SOCIAL_SECRET, body))
    assert resent.json()["status"] == "duplicate" and redis_client.xlen(keys.INBOUND) == 1


def test_a_social_body_over_64_kb_is_refused_with_413(
    gateway_url: str, redis_client: redis.Redis
) -> None:
    body = social_body(text="@brisaair " + "a" * MAX_BODY_BYTES)
    answer = httpx.post(
        f"{gateway_url}/channels/social/events",
        content=body,
        headers=signed_headers(SOCIAL_SECRET, body),
    )
    assert answer.status_code == 413 and "65536" in answer.json()["error"]
    assert stored(redis_client) == {}


@pytest.mark.parametrize(
    "door", ["/channels/social/events", "/console/login", "/slack/events", "/slack/interactions"]
)
async def test_an_oversized_body_is_refused_before_it_is_read_whole(
    door: str,
    tmp_path: Path,
    redis_url: str,
    redis_client: redis.Redis,
    slack_emulator: SlackEmulator,
) -> None:
    slack = door.startswith("/slack/")
    settings = (
        slack_settings(tmp_path, redis_url, slack_emulator)
        if slack
        else door_settings(tmp_path, redis_url)
    )
    app = create_app(settings)
    # 10 MiB that parse once complete (a JSON string, or a form's JSON payload), announced in
    # Content-Length: each door's own check answers, only after reading it all.
    form = door == "/slack/interactions"
    head, tail = (b"payload=%7B%22a%22%3A%22", b"%22%7D") if form else (b'{"a": "', b'"}')
    parts = [head, *[b"x" * 65_536] * 160, tail]
    size = sum(len(part) for part in parts)
    read = 0

    async def receive() -> dict[str, Any]:
        nonlocal read
        part = parts.pop(0) if parts else b""
        read += len(part)
        return {"type": "http.request", "body": part, "more_body": bool(parts)}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    kind = b"application/x-www-form-urlencoded" if form else b"application/json"
    headers = [
        (b"host", b"gateway"),
        (b"content-type", kind),
        (b"content-length", str(size).encode()),
        (b"x-relevo-console", b"1"),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": door,
        "raw_path": door.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("gateway", 80),
    }
    await app(scope, receive, send)
    assert 400 <= sent[0]["status"] < 500
    assert read <= 1024 * 1024, f"read {read} bytes before answering {sent[0]['status']}"
    assert stored(redis_client) == {}


def test_unreadable_slack_bodies_get_a_4xx_not_a_500(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis, slack_emulator: SlackEmulator
) -> None:
    with serving(slack_settings(tmp_path, redis_url, slack_emulator)) as url:
        answers = {
            (path, body): httpx.post(f"{url}{path}", content=body, headers={"Content-Type": kind})
            for path, body, kind in (
                ("/slack/events", b"{", "application/json"),
                ("/slack/events", b"{not json", "text/plain"),
                ("/slack/interactions", b"payload=%7B", "application/x-www-form-urlencoded"),
            )
        }
    assert {case: a.status_code for case, a in answers.items() if a.status_code >= 500} == {}
    assert stored(redis_client) == {}


def test_the_social_door_is_shut_without_its_secret(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis
) -> None:
    with serving(door_settings(tmp_path, redis_url, social_secret=None)) as url:
        body = social_body()
        answer = httpx.post(
            f"{url}/channels/social/events", content=body, headers=signed_headers("", body)
        )
    assert answer.status_code == 503
    assert stored(redis_client) == {}


# --- the Telegram webhook --------------------------------------------------------------------


def telegram_update(update_id: int = 10, message_id: int = 7001) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "date": int(time.time()),
            "text": "hello, is there wifi on board?",
            "from": {"id": 4242, "is_bot": False, "first_name": "Ana", "language_code": "en"},
            "chat": {"id": 4242, "type": "private"},
        },
    }


def test_the_telegram_webhook_needs_its_secret_token(
    gateway_url: str, redis_client: redis.Redis
) -> None:
    url = f"{gateway_url}/channels/telegram/webhook"
    for headers in (
        {},
        {SECRET_HEADER: ""},
        {SECRET_HEADER: "wrong"},
        {SECRET_HEADER: WEBHOOK_SECRET + "x"},
        {SECRET_HEADER: WEBHOOK_SECRET[:-1]},
        {"X-Telegram-Bot-Api-Secret": WEBHOOK_SECRET},  # the wrong header name
    ):
        answer = httpx.post(url, json=telegram_update(), headers=headers)
        assert (answer.status_code, answer.json()) == (403, {"error": "wrong secret token"})
    assert stored(redis_client) == {}


def test_a_replayed_telegram_update_is_processed_once(
    gateway_url: str, redis_client: redis.Redis
) -> None:
    url = f"{gateway_url}/channels/telegram/webhook"
    header = {SECRET_HEADER: WEBHOOK_SECRET}
    answers = [httpx.post(url, json=telegram_update(), headers=header) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]  # Telegram stops resending
    assert redis_client.xlen(keys.INBOUND) == 1
    assert len(customer_messages(redis_client)) == 1
    unreadable = httpx.post(url, content=b"{", headers=header)
    assert unreadable.status_code == 400 and redis_client.xlen(keys.INBOUND) == 1


def test_a_telegram_webhook_without_a_configured_secret_refuses_everything(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis
) -> None:
    settings = door_settings(tmp_path, redis_url, telegram_webhook_secret=None)
    with serving(settings) as url:
        for headers in ({}, {SECRET_HEADER: ""}, {SECRET_HEADER: "anything"}):
            answer = httpx.post(
                f"{url}/channels/telegram/webhook", json=telegram_update(), headers=headers
            )
            assert answer.status_code == 403
    assert stored(redis_client) == {}


# --- Slack's endpoints -----------------------------------------------------------------------


def agent_replies(redis_client: redis.Redis) -> list[dict[str, str]]:
    return [m for m in outbox(redis_client) if m.get("author") == "agent"]


async def test_slack_refuses_forged_stale_and_unsigned_requests_and_relays_nothing(
    slack_door: SlackDoor, redis_client: redis.Redis
) -> None:
    handoff, card_ts = await a_handoff_with_its_card(slack_door, redis_client)
    await slack_door.helper.desk.act(handoff, Action.CLAIM, user="U1", name="Laura")
    event = slack_door.slack.add_message("C1", "Hola, soy Laura", user="U1", thread_ts=card_ts)
    click = block_action(
        "resolve",
        handoff,
        user="U1",
        channel="C1",
        message_ts=card_ts,
        block_id=f"handoff:{handoff}",
    )
    stale = int(time.time()) - 5 * 60 - 1
    requests: dict[str, tuple[str, bytes, dict[str, str]]] = {}
    for path, make in (
        ("/slack/events", lambda secret, **kw: event_request(secret, event, **kw)),
        ("/slack/interactions", lambda secret, **kw: interaction_request(secret, click, **kw)),
    ):
        body, headers = make(SLACK_SECRET)
        other_body, _ = make(SLACK_SECRET)  # another delivery: another event id or trigger
        requests[f"{path} another key"] = (path, *make("not-the-signing-secret"))
        requests[f"{path} stale"] = (path, *make(SLACK_SECRET, timestamp=stale))
        requests[f"{path} no headers"] = (path, body, {"Content-Type": headers["Content-Type"]})
        requests[f"{path} another body"] = (path, other_body + b" ", headers)
        requests[f"{path} no timestamp"] = (
            path,
            body,
            {k: v for k, v in headers.items() if k != "X-Slack-Request-Timestamp"},
        )
    before = stored(redis_client)
    async with httpx.AsyncClient(base_url=slack_door.url) as http:
        for case, (path, body, headers) in requests.items():
            answer = await http.post(path, content=body, headers=headers)
            assert answer.status_code == 401, case
    await asyncio.sleep(1.0)  # Bolt runs listeners after its answer: give any a chance
    assert stored(redis_client) == before
    assert agent_replies(redis_client) == []
    assert redis_client.hget(keys.handoff(handoff), "state") == "agent"


async def test_a_replayed_slack_event_is_relayed_once(
    slack_door: SlackDoor, redis_client: redis.Redis
) -> None:
    handoff, card_ts = await a_handoff_with_its_card(slack_door, redis_client)
    await slack_door.helper.desk.act(handoff, Action.CLAIM, user="U1", name="Laura")
    event = slack_door.slack.add_message("C1", "Hola, soy Laura", user="U1", thread_ts=card_ts)
    first = event_request(SLACK_SECRET, event, event_id="EvREPLAY1")
    deliveries = [
        first,
        first,  # byte for byte
        event_request(SLACK_SECRET, event, event_id="EvREPLAY1", retry_num=1),  # Slack's retries
        event_request(SLACK_SECRET, event, event_id="EvREPLAY1", retry_num=2),
        event_request(SLACK_SECRET, event, event_id="EvOTHER01"),  # another delivery id
    ]
    async with httpx.AsyncClient(base_url=slack_door.url) as http:
        for body, headers in deliveries:
            answer = await http.post("/slack/events", content=body, headers=headers)
            assert answer.status_code == 200
    async with asyncio.timeout(10):
        while not agent_replies(redis_client):
            await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # the other deliveries' listeners have run too
    assert [m["text"] for m in agent_replies(redis_client)] == ["Hola, soy Laura"]


async def test_a_replayed_slack_click_acts_once(
    slack_door: SlackDoor, redis_client: redis.Redis
) -> None:
    handoff, card_ts = await a_handoff_with_its_card(slack_door, redis_client)
    await slack_door.helper.desk.act(handoff, Action.CLAIM, user="U1", name="Laura")
    click = block_action(
        "resolve",
        handoff,
        user="U1",
        channel="C1",
        message_ts=card_ts,
        block_id=f"handoff:{handoff}",
    )
    body, headers = interaction_request(SLACK_SECRET, click)
    async with httpx.AsyncClient(base_url=slack_door.url) as http:
        answers = [
            await http.post("/slack/interactions", content=body, headers=headers) for _ in range(3)
        ]
    assert [a.status_code for a in answers] == [200] * 3

    def resolutions() -> list[dict[str, str]]:
        events = redis_client.xrange(f"relevo:handoff:{handoff}:events")
        return [fields for _, fields in events if fields.get("action") == "resolve"]

    async with asyncio.timeout(10):
        while not resolutions():
            await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)
    assert len(resolutions()) == 1
    ratings = [m for m in outbox(redis_client) if m["out_id"] == f"desk:{handoff}:rating"]
    assert len(ratings) == 1  # the customer is asked for a rating once


# --- the agent console and the dashboard ------------------------------------------------------


def session_cookie(value: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={value}; {DASHBOARD_COOKIE}={value}"}


def test_console_login_needs_the_token_and_the_header(
    gateway_url: str, redis_client: redis.Redis
) -> None:
    url = f"{gateway_url}/console/login"
    good = {"name": "Laura", "token": CONSOLE_TOKEN}
    refused = {
        "wrong token": (401, {"name": "Laura", "token": "guess"}, CONSOLE_HEADER),
        "token and a space": (401, {"name": "Laura", "token": f"{CONSOLE_TOKEN} "}, CONSOLE_HEADER),
        "empty token": (401, {"name": "Laura", "token": ""}, CONSOLE_HEADER),
        "no header": (403, good, {}),
        "header not 1": (403, good, {"X-Relevo-Console": "true"}),
        "no token": (422, {"name": "Laura"}, CONSOLE_HEADER),
    }
    for case, (status, body, headers) in refused.items():
        answer = httpx.post(url, json=body, headers=headers)
        assert answer.status_code == status, case
        assert COOKIE not in answer.cookies, case
    # A refused login is not remembered as an agent; only the throttle counts it.
    failures = "relevo:console:login-failures:127.0.0.1"
    assert set(stored(redis_client)) == {failures} and redis_client.get(failures) == "3"
    answer = httpx.post(url, json=good, headers=CONSOLE_HEADER)
    assert answer.status_code == 200
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie


def test_forged_tampered_and_expired_sessions_are_refused(gateway_url: str) -> None:
    login = ConsoleLogin(CONSOLE_TOKEN)
    valid = login.issue(Agent("web:ana", "Ana"))
    payload, signature = valid.split(".")
    boss = base64.urlsafe_b64encode(
        json.dumps({"id": "web:boss", "name": "Boss", "exp": time.time() + 3600}).encode()
    )
    forged = {
        "signed with another token": ConsoleLogin("guess").issue(Agent("web:ana", "Ana")),
        "payload changed, signature kept": f"{boss.decode().rstrip('=')}.{signature}",
        "signature changed": f"{payload}.{signature[:-2]}AA",
        "expired": login.issue(Agent("web:ana", "Ana"), now=time.time() - SESSION_SECONDS - 1),
        "no signature": payload,
        "three parts": f"{valid}.x",
        "empty": "",
    }
    with httpx.Client(base_url=gateway_url) as http:
        for case, cookie in forged.items():
            for path in ("/console/api/me", "/console/api/handoffs", "/dashboard/api/summary"):
                answer = http.get(path, headers=session_cookie(cookie))
                assert (answer.status_code, answer.json()) == (401, {"error": "log in first"}), (
                    case,
                    path,
                )
            bridge = http.get("/console/dashboard", headers=session_cookie(cookie))
            assert bridge.status_code == 303 and bridge.headers["location"] == "/console", case
            assert DASHBOARD_COOKIE not in bridge.cookies, case
        assert http.get("/console/api/me", headers=session_cookie(valid)).status_code == 200


def test_every_console_and_dashboard_api_refuses_without_a_session(
    tmp_path: Path, redis_url: str, gateway_url: str, redis_client: redis.Redis
) -> None:
    app = create_app(door_settings(tmp_path, redis_url))
    api = sorted(
        (method, path)
        for method, path in doors_of(app)
        if path.startswith(("/console/api/", "/dashboard/api/"))
    )
    assert len(api) >= 10
    with httpx.Client(base_url=gateway_url) as http:
        for method, path in api:
            concrete = path.replace("{handoff_id}", "h1").replace("{verb}", "claim")
            if method == "GET":
                answer = http.get(concrete)
                assert answer.status_code == 401, path
            else:
                assert http.post(concrete, json={}).status_code == 403, path  # no header
                answer = http.post(concrete, json={}, headers=CONSOLE_HEADER)
                assert answer.status_code == 401, path
        redirects = {"/dashboard": "/console/dashboard", "/console/dashboard": "/console"}
        for page, target in redirects.items():
            answer = http.get(page)
            assert (answer.status_code, answer.headers["location"]) == (303, target)
    assert stored(redis_client) == {}


def test_console_posts_need_the_header_even_with_a_session(
    gateway_url: str, redis_client: redis.Redis
) -> None:
    handoff = queued_handoff(redis_client, "wc-console-door")
    with httpx.Client(base_url=gateway_url) as http:
        login = http.post(
            "/console/login", json={"name": "Laura", "token": CONSOLE_TOKEN}, headers=CONSOLE_HEADER
        )
        assert login.status_code == 200
        base = f"/console/api/handoffs/{handoff}"
        for path, body in (
            (f"{base}/claim", None),
            (f"{base}/reply", {"text": "hola", "note": False, "client_id": "client-0001"}),
            (f"{base}/reveal", None),
            (f"{base}/invite", None),
            ("/console/logout", None),
        ):
            answer = http.post(path, json=body)
            assert answer.status_code == 403 and "X-Relevo-Console" in answer.json()["error"]
        assert http.get("/console/api/me").status_code == 200  # still logged in
    assert redis_client.hget(keys.handoff(handoff), "state") == "queued"
    assert outbox(redis_client) == []


def test_repeated_wrong_console_logins_are_throttled(gateway_url: str) -> None:
    with httpx.Client(base_url=gateway_url, headers=CONSOLE_HEADER) as http:
        answers = [
            http.post("/console/login", json={"name": "Laura", "token": f"guess-{i}"}).status_code
            for i in range(30)
        ]
    assert set(answers) <= {401, 429}
    assert 429 in answers


async def test_the_console_socket_needs_a_session_from_this_site(gateway_url: str) -> None:
    ws_url = gateway_url.replace("http://", "ws://") + "/console/ws"
    with httpx.Client(base_url=gateway_url) as http:
        login = http.post(
            "/console/login", json={"name": "Laura", "token": CONSOLE_TOKEN}, headers=CONSOLE_HEADER
        )
    cookie = f"{COOKIE}={login.cookies[COOKIE]}"
    forged = f"{COOKIE}={ConsoleLogin('guess').issue(Agent('web:x', 'X'))}"
    for headers in (
        {},
        {"Cookie": forged, "Origin": gateway_url},
        {"Cookie": cookie, "Origin": "http://evil.example"},
    ):
        with pytest.raises(InvalidStatus):
            async with websockets.connect(ws_url, additional_headers=headers):
                pass
    async with websockets.connect(
        ws_url, additional_headers={"Cookie": cookie, "Origin": gateway_url}
    ) as socket:
        assert socket.state.name == "OPEN"


async def test_the_web_chat_socket_checks_its_parameters(gateway_url: str) -> None:
    ws_url = gateway_url.replace("http://", "ws://") + "/channels/webchat/ws"
    for query in (
        "",
        "conversation=../../etc",
        "conversation=wc-short",
        "conversation=wc-" + "a" * 65,
        "conversation=wc-abcdefgh1&after=$",
    ):
        with pytest.raises(InvalidStatus):  # closed before the handshake: HTTP 403
            async with websockets.connect(f"{ws_url}?{query}"):
                pass

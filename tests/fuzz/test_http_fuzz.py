"""Every door of the real gateway, fuzzed: no 5xx, no unhandled exception, no error logged.

The app is the real one (`create_app`), started with its workers on the test Redis by
starlette's TestClient (see conftest.py), which re-raises any exception that escapes the app: an
unhandled exception fails the example with its traceback. Besides the status (< 500), each
example checks the log (caplog) for errors and tracebacks, which is where failures of work done
after the answer show up (Slack listeners run after Bolt's ack: the test waits for them).

Requests are drawn per door: the method, the path (the route's, with known or random segments,
or any path), the query (the route's parameters with interesting values, unknown ones, invalid
percent-encoding), the headers the app reads (latin-1 bytes included) and the body (JSON shaped
like what the door expects and then mutated, JSON of any shape, forms, bytes, 70 KB). Bodies are
signed correctly where a door checks a signature, so that the parser behind it is reached.

Bugs found are kept as explicit `@example`s of the test that found them, the test marked
a regression test.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from hypothesis import example, given
from hypothesis import strategies as st
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from bot.channels.webchat import is_entry_id
from bot.signing import sign as social_sign
from bot.signing import signed_headers as social_headers
from handoff.requests import HandoffRequest, Priority, Reason, TranscriptLine, request_handoff
from tests.emulators.slack_requests import event_request, interaction_request
from tests.emulators.slack_requests import signed_headers as slack_headers
from tests.fuzz.conftest import (
    SLACK_SECRET,
    SOCIAL_SECRET,
    TELEGRAM_SECRET,
    Gateway,
    fuzz_settings,
    server_errors,
)
from tests.fuzz.strategies import (
    big_text,
    bodies,
    dumps,
    encodable_text,
    header_bytes,
    headers,
    hostile_text,
    json_values,
    mutated,
    path_segment,
    query_string,
    slack_card_clicks,
    slack_messages,
    social_events,
    telegram_updates,
    zone_names,
)

HANDOFFS = ("fuzzhandoff1", "fuzzhandoff2")
SLACK_HANDOFF = "fuzzslack1"
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD")
PERIODS = ("24h", "7d", "30d", "999d", "1000d", "0h", "1h", "2w", "90m", "h", "-1d", "1e3d")
FILTERS = ("webchat", "telegram", "social", "es", "en", "baggage", "a" * 65, "<b>", "a b")


@dataclass(frozen=True)
class Route:
    """A route of the app: its method, path template (`{name}` segments) and what it reads."""

    method: str
    template: str
    segments: dict[str, tuple[str, ...]] = field(default_factory=dict)
    params: dict[str, tuple[str, ...]] = field(default_factory=dict)
    body: st.SearchStrategy[Any] | None = None


login_bodies = st.fixed_dictionaries(
    {"name": hostile_text, "token": st.one_of(st.just("fuzz-console-token"), hostile_text)}
)
reply_bodies = st.fixed_dictionaries(
    {
        "text": st.one_of(hostile_text, st.just("x" * 4001)),
        "client_id": st.one_of(st.from_regex(r"\A[A-Za-z0-9_-]{8,64}\Z"), hostile_text),
    },
    optional={"note": st.one_of(st.booleans(), json_values)},
)
reassign_bodies = st.fixed_dictionaries(
    {"to_id": st.one_of(st.sampled_from(["web:fuzz-agent", "web:other"]), hostile_text)}
)
HANDOFF = {"hid": (*HANDOFFS, "x", "a" * 65, "no-such-handoff")}
ARTICLE_IDS = ("refunds-en", "refunds-es", "baggage-damaged-en", "nope", "")
STATIC = {"file": ("index.html", "chat.js", "widget.js", "console.js", "dashboard.js", "x.map")}

PUBLIC = [
    Route("GET", "/"),
    Route("GET", "/webchat/{file}", STATIC),
    Route(
        "GET",
        "/kb/search",
        params={
            "q": ("hola", " ", "maleta rota"),
            "k": ("0", "1", "50", "51", "-1", "1e3", "99999999999999999999"),
            "lang": ("es", "en", "fr", ""),
        },
    ),
    Route("GET", "/kb/articles/{id}", {"id": ARTICLE_IDS}),
    Route("GET", "/healthz"),
    Route("GET", "/readyz"),
    Route("GET", "/metrics"),
]
CONSOLE = [
    Route("GET", "/console"),
    Route("GET", "/console/assets/{file}", STATIC),
    Route("POST", "/console/login", body=login_bodies),
    Route("POST", "/console/logout"),
    Route("GET", "/console/api/me"),
    Route("GET", "/console/api/agents"),
    Route("GET", "/console/api/handoffs"),
    Route("GET", "/console/api/handoffs/{hid}", HANDOFF),
    Route("GET", "/console/api/handoffs/{hid}/history", HANDOFF),
    Route("POST", "/console/api/handoffs/{hid}/reveal", HANDOFF),
    Route("POST", "/console/api/handoffs/{hid}/reassign", HANDOFF, body=reassign_bodies),
    Route("POST", "/console/api/handoffs/{hid}/reply", HANDOFF, body=reply_bodies),
    Route(
        "POST",
        "/console/api/handoffs/{hid}/{verb}",
        {**HANDOFF, "verb": ("claim", "return", "resolve", "x")},
    ),
]
VIEW = {"since": PERIODS, "channel": FILTERS, "language": FILTERS, "department": FILTERS}
DASHBOARD = [
    Route("GET", "/console/dashboard", params=VIEW),
    Route("GET", "/dashboard", params={**VIEW, "from": ("console", "")}),
    Route("GET", "/dashboard/assets/{file}", STATIC),
    Route("GET", "/dashboard/api/summary", params=VIEW),
]
GAPS = Route(
    "GET", "/dashboard/api/gaps", params={"since": PERIODS, "top": ("0", "1", "100", "101", "x")}
)
SOCIAL = Route("POST", "/channels/social/events", body=social_events)
TELEGRAM = Route("POST", "/channels/telegram/webhook", body=telegram_updates)
slack_envelopes = st.fixed_dictionaries(
    {"type": st.sampled_from(["event_callback", "url_verification", "ssl_check"])},
    optional={"challenge": hostile_text, "event": json_values, "token": hostile_text},
)
SLACK = [
    Route("POST", "/slack/events", body=slack_envelopes),
    Route("POST", "/slack/interactions", body=st.fixed_dictionaries({"payload": json_values})),
]
EVERYTHING = [*PUBLIC, *CONSOLE, *DASHBOARD, GAPS, SOCIAL, TELEGRAM, *SLACK]
JSON = [(b"content-type", b"application/json")]
FORM = [(b"content-type", b"application/x-www-form-urlencoded")]


@dataclass(frozen=True)
class Call:
    """One request, as sent."""

    method: str
    url: str
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""

    def having(self, fixed: dict[str, bytes]) -> Call:
        """The same request with these headers set (replacing drawn ones of the same name)."""
        names = {name.encode() for name in fixed}
        kept = [(name, value) for name, value in self.headers if name not in names]
        added = [(name.encode(), value) for name, value in fixed.items()]
        return Call(self.method, self.url, [*kept, *added], self.body)


@st.composite
def calls(draw: st.DrawFn, routes: list[Route], *, any_path: bool = False) -> Call:
    """A request to one of `routes` (or, with `any_path`, sometimes to any path at all)."""
    if any_path and not draw(st.integers(0, 5)):
        path = "/" + "/".join(draw(st.lists(path_segment(), max_size=4)))
        route = Route(draw(st.sampled_from(METHODS)), path)
    else:
        route = draw(st.sampled_from(routes))
        path = route.template
        for name, known in route.segments.items():
            path = path.replace("{" + name + "}", draw(path_segment(known)))
    method = route.method if draw(st.integers(0, 5)) else draw(st.sampled_from(METHODS))
    query = draw(query_string(route.params))
    body, content_type = draw(bodies(route.body))
    drawn = draw(headers())
    if body and not any(name == b"content-type" for name, _ in drawn):
        drawn.append((b"content-type", content_type.encode()))
    return Call(method, path + (f"?{query}" if query else ""), drawn, body)


def send(gateway: Gateway, call: Call, caplog: pytest.LogCaptureFixture) -> Any:
    """Send `call`; fail on a 5xx, on an exception out of the app or on an error in the log."""
    before = len(caplog.records)
    gateway.client.cookies.clear()
    response = gateway.client.request(
        call.method, call.url, headers=call.headers, content=call.body or None
    )
    gateway.settle()
    assert response.status_code < 500, (call, response.status_code, response.text[:500])
    errors = server_errors(caplog.records[before:])
    assert not errors, (call, errors)
    return response


def session_cookies(gateway: Gateway) -> dict[str, bytes]:
    """The console's session, in the console's cookie and the dashboard's."""
    value = gateway.session.encode()
    return {"cookie": b"relevo_console=" + value + b"; relevo_dashboard=" + value}


def clean(value: bytes) -> bytes:
    """A header value that HTTP can carry: no CR, LF or NUL."""
    return value.replace(b"\r", b"").replace(b"\n", b"").replace(b"\0", b"")


def queue_handoff(gateway: Gateway, handoff: str, conversation: str) -> None:
    """A web chat conversation (started on the socket) handed to a person, as the actions do."""
    with gateway.client.websocket_connect(
        f"/channels/webchat/ws?conversation={conversation}"
    ) as socket:
        socket.send_json({"type": "message", "client_id": "seed-0001", "text": "una persona"})
        assert list(answers(socket, "seed-0001")) == []
    assert gateway.settings.redis_url is not None
    url = gateway.settings.redis_url.get_secret_value()
    client = redis.Redis.from_url(url, decode_responses=True)
    request_handoff(
        client,
        HandoffRequest(
            id=handoff,
            conversation_id=conversation,
            channel="webchat",
            language="es",
            reason=Reason.ASKED_FOR_PERSON,
            priority=Priority.NORMAL,
            transcript=[TranscriptLine("customer", "mi DNI es 12345678Z", "2025-01-01")],
            hits=[],
            draft="Hola, ¿su localizador QWERTY?",
            customer={"id": conversation},
        ),
    )
    client.close()


def eventually(check: Any, what: str, seconds: float = 10.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(what)


@pytest.fixture(scope="class")
def console(console_gateway: Gateway) -> Gateway:
    """The console gateway with two handoffs in its queue (the API's ids are real sometimes)."""
    for number, handoff in enumerate(HANDOFFS):
        queue_handoff(console_gateway, handoff, f"wc-fuzz-handoff-{number}")
    cookie = {"cookie": f"relevo_console={console_gateway.session}"}

    def listed() -> bool:
        answer = console_gateway.client.get("/console/api/handoffs", headers=cookie)
        return len(answer.json()["open"]) == len(HANDOFFS)

    eventually(listed, "the desk did not list the seeded handoffs")
    return console_gateway


@pytest.fixture(scope="class")
def slack(slack_gateway: Gateway) -> Gateway:
    """The Slack gateway with a handoff whose card the desk has posted (its ts in `extra`)."""
    queue_handoff(slack_gateway, SLACK_HANDOFF, "wc-fuzz-slack-1")
    emulator = slack_gateway.extra["slack"]

    def card() -> str | None:
        for message in emulator.messages("C1"):
            if SLACK_HANDOFF in json.dumps(message.get("blocks", [])):
                return str(message["ts"])
        return None

    slack_gateway.extra["card_ts"] = eventually(card, "the desk did not post the card")
    return slack_gateway


# --- the web chat's socket ------------------------------------------------------------------

_serial = itertools.count()
chat_messages = st.fixed_dictionaries(
    {
        "type": st.just("message"),
        "client_id": st.one_of(st.from_regex(r"\A[A-Za-z0-9_-]{8,64}\Z"), json_values),
    },
    optional={"text": st.one_of(hostile_text, json_values), "display": json_values},
)
well_formed_messages = st.fixed_dictionaries(
    {
        "type": st.just("message"),
        "client_id": st.from_regex(r"\A[A-Za-z0-9_-]{8,64}\Z"),
        "text": st.one_of(hostile_text, big_text(5000)),
    },
    optional={"display": hostile_text},
)
frames = st.one_of(
    st.builds(lambda v: ("text", dumps(v).decode()), well_formed_messages),
    st.builds(lambda v: ("text", dumps(v).decode()), mutated(chat_messages)),
    st.builds(lambda v: ("text", dumps(v).decode()), json_values),
    st.builds(lambda t: ("text", t), encodable_text),
    st.builds(
        lambda n: ("text", '{"type": "message", "text": "' + "a" * n + '"}'),
        st.integers(19_980, 20_050),
    ),
    st.builds(lambda b: ("bytes", b), st.binary(max_size=100)),
    st.just(("text", '{"type": "ping"}')),
)
Frame = tuple[str, str | bytes]


def expected_answer(kind: str, frame: str | bytes) -> tuple[str, str | None] | None:
    """What the socket answers a frame with: (error, reason), (ack, client_id), (pong, None), or
    nothing."""
    if kind == "bytes":
        return ("error", "binary frames are not supported")
    assert isinstance(frame, str)
    if len(frame) > 20_000:
        return ("error", "message too large")
    try:
        data = json.loads(frame)
    except json.JSONDecodeError:
        return ("error", "invalid JSON")
    except RecursionError:
        return ("error", "JSON nested too deeply")
    if not isinstance(data, dict):
        return None
    if data.get("type") == "ping":
        return ("pong", None)
    client_id = data.get("client_id")
    if (
        data.get("type") != "message"
        or not isinstance(client_id, str)
        or not re.match(r"^[A-Za-z0-9_-]{8,64}$", client_id)
    ):
        return ("error", "expected {type: message, client_id, text}")
    return ("ack", client_id)


def answers(socket: Any, probe: str) -> Iterator[tuple[str, str | None]]:
    """The socket's acks, errors and pongs, up to the ack of the `probe` message."""
    while True:
        received = socket.receive_json()
        kind = received.get("type") if isinstance(received, dict) else None
        assert kind in ("ack", "error", "pong", "message", "event", "language"), received
        if kind == "error":
            yield ("error", received.get("reason"))
        elif kind == "pong":
            yield ("pong", None)
        elif kind == "ack":
            if received["client_id"] == probe:
                return
            yield ("ack", received["client_id"])


def send_frames(socket: Any, sent: list[Frame]) -> None:
    for _, frame in sent:
        if isinstance(frame, bytes):
            socket.send_bytes(frame)
        else:
            socket.send_text(frame)


# --- the tests ----------------------------------------------------------------------------------


class TestConsoleGateway:
    """The gateway with the web console (Slack off), the social API and the Telegram webhook."""

    @fuzz_settings(150)
    @given(call=calls(EVERYTHING, any_path=True))
    def test_any_request_without_a_session(
        self, console: Gateway, caplog: pytest.LogCaptureFixture, call: Call
    ) -> None:
        response = send(console, call, caplog)
        if call.url.startswith("/console/api/") and response.status_code == 200:
            raise AssertionError(f"the console's API answered without a session: {call}")

    @fuzz_settings(40)
    @given(
        call=calls([*CONSOLE, *DASHBOARD]),
        name=st.sampled_from([b"relevo_console", b"relevo_dashboard"]),
        payload=header_bytes,
        signature=header_bytes,
    )
    @example(
        call=Call("GET", "/console/api/me"), name=b"relevo_console", payload=b"a", signature=b"\xe9"
    )
    @example(
        call=Call("GET", "/dashboard"), name=b"relevo_dashboard", payload=b"a", signature=b"\xe9"
    )
    def test_forged_session_cookies(
        self,
        console: Gateway,
        caplog: pytest.LogCaptureFixture,
        call: Call,
        name: bytes,
        payload: bytes,
        signature: bytes,
    ) -> None:
        value = clean(name + b"=" + payload.replace(b".", b"") + b"." + signature)
        response = send(console, call.having({"cookie": value}), caplog)
        if "/api/" in call.url:
            assert response.status_code != 200, call

    @fuzz_settings(120)
    @given(call=calls([*CONSOLE, *PUBLIC]), csrf=st.booleans())
    def test_console_api_with_a_session(
        self, console: Gateway, caplog: pytest.LogCaptureFixture, call: Call, csrf: bool
    ) -> None:
        csrf_header = {"x-relevo-console": b"1"} if csrf else {}
        send(console, call.having({**session_cookies(console), **csrf_header}), caplog)

    @fuzz_settings(40)
    @given(call=calls(DASHBOARD))
    def test_dashboard_with_a_session(
        self, console: Gateway, caplog: pytest.LogCaptureFixture, call: Call
    ) -> None:
        send(console, call.having(session_cookies(console)), caplog)

    @fuzz_settings(10)
    @given(call=calls([GAPS]))
    @example(call=Call("GET", "/dashboard/api/gaps"))
    def test_knowledge_gaps_with_a_session(
        self, console: Gateway, caplog: pytest.LogCaptureFixture, call: Call
    ) -> None:
        send(console, call.having(session_cookies(console)), caplog)

    @fuzz_settings(120)
    @given(call=calls([SOCIAL]))
    def test_social_events_signed(
        self, console: Gateway, caplog: pytest.LogCaptureFixture, call: Call
    ) -> None:
        signed = social_headers(SOCIAL_SECRET, call.body)
        response = send(console, call.having(_lower(signed)), caplog)
        if call.method == "POST":
            assert response.status_code in (200, 202, 413, 422), (call, response.text)

    @fuzz_settings(60)
    @given(
        call=calls([SOCIAL]),
        skew=st.one_of(st.integers(-400, 400), header_bytes),
        signature=st.one_of(header_bytes, st.just(b"v1=" + b"0" * 64)),
    )
    @example(
        call=Call("POST", "/channels/social/events", JSON, b"{}"), skew=0, signature=b"v1=\xe9"
    )
    def test_social_events_badly_signed(
        self,
        console: Gateway,
        caplog: pytest.LogCaptureFixture,
        call: Call,
        skew: int | bytes,
        signature: bytes,
    ) -> None:
        timestamp = str(int(time.time()) + skew).encode() if isinstance(skew, int) else skew
        if signature == social_sign(SOCIAL_SECRET, int(time.time()), call.body).encode():
            return  # drawn right: not a bad signature
        fixed = {"x-relevo-timestamp": clean(timestamp), "x-relevo-signature": clean(signature)}
        response = send(console, call.having(fixed), caplog)
        if call.method == "POST":
            assert response.status_code in (401, 413), (call, response.text)

    @fuzz_settings(150)
    @given(call=calls([TELEGRAM]))
    @example(
        call=Call(
            "POST",
            "/channels/telegram/webhook",
            JSON,
            b'{"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": {"id": 5, "type": '
            b'"private"}, "from": {"id": 5, "is_bot": false, "first_name": "A"}, "text": '
            b'"hola \\ud800"}}',
        )
    )
    def test_telegram_webhook_with_the_secret(
        self, console: Gateway, caplog: pytest.LogCaptureFixture, call: Call
    ) -> None:
        hook = {"x-telegram-bot-api-secret-token": TELEGRAM_SECRET.encode()}
        response = send(console, call.having(hook), caplog)
        if call.method == "POST":
            assert response.status_code in (200, 400), (call, response.text)

    @fuzz_settings(40)
    @given(call=calls([TELEGRAM]), secret=header_bytes)
    @example(call=Call("POST", "/channels/telegram/webhook", JSON, b"{}"), secret=b"\x80")
    def test_telegram_webhook_with_a_wrong_secret(
        self, console: Gateway, caplog: pytest.LogCaptureFixture, call: Call, secret: bytes
    ) -> None:
        secret = clean(secret)
        response = send(console, call.having({"x-telegram-bot-api-secret-token": secret}), caplog)
        if call.method == "POST" and secret != TELEGRAM_SECRET.encode():
            assert response.status_code == 403, (call, response.text)

    @fuzz_settings(60)
    @given(sent=st.lists(frames, min_size=1, max_size=4))
    @example(sent=[("text", '{"type": "message", "client_id": "abcdefgh", "text": "\\ud800"}')])
    @example(sent=[("text", "[" * 19_000)])  # RecursionError, not JSONDecodeError
    @example(sent=[("text", '{"type": "ping"}')])  # a pong: the page tells a live socket by it
    def test_webchat_socket_answers_every_frame_and_stays_open(
        self, console: Gateway, caplog: pytest.LogCaptureFixture, sent: list[Frame]
    ) -> None:
        before = len(caplog.records)
        conversation = f"wc-fuzz-{next(_serial):08d}"
        probe = f"probe-{conversation}"
        with console.client.websocket_connect(
            f"/channels/webchat/ws?conversation={conversation}"
        ) as socket:
            send_frames(socket, sent)
            socket.send_json({"type": "message", "client_id": probe, "text": "hola"})
            got = list(answers(socket, probe))
        wanted = [a for a in (expected_answer(k, f) for k, f in sent) if a is not None]
        assert got == wanted, (sent, got)
        assert not server_errors(caplog.records[before:]), sent

    @fuzz_settings(60)
    @given(
        conversation=st.one_of(
            st.from_regex(r"\Awc-[A-Za-z0-9-]{8,64}\Z"),
            st.from_regex(r"\Awc-[A-Za-z0-9-]{8,64}\Z"),
            encodable_text,
            st.just("wc-" + "a" * 65),
        ),
        after=st.one_of(
            st.sampled_from(["0", "1-0", "0-0", "99999999999999999999-1"]), encodable_text
        ),
        lang=st.one_of(st.none(), st.sampled_from(["es", "EN", "es-ES", "fr"]), encodable_text),
        tz=st.one_of(st.none(), zone_names.filter(lambda z: "\x00" not in z)),
        invitation=st.one_of(st.none(), encodable_text),
    )
    @example(conversation="wc-aaaaaaaa", after="0", lang=None, tz="America", invitation=None)
    def test_webchat_socket_handshake(
        self,
        console: Gateway,
        caplog: pytest.LogCaptureFixture,
        conversation: str,
        after: str,
        lang: str | None,
        tz: str | None,
        invitation: str | None,
    ) -> None:
        before = len(caplog.records)
        query = {"conversation": conversation, "after": after, "lang": lang, "tz": tz}
        query["continue"] = invitation
        url = "/channels/webchat/ws?" + urlencode({k: v for k, v in query.items() if v is not None})
        valid = re.match(r"^wc-[A-Za-z0-9-]{8,64}$", conversation) and (
            after == "0" or is_entry_id(after)
        )
        probe = f"probe-{next(_serial):08d}"
        try:
            with console.client.websocket_connect(url) as socket:
                socket.send_json({"type": "message", "client_id": probe, "text": "hola"})
                assert list(answers(socket, probe)) == []
        except WebSocketDisconnect as closed:
            assert not valid and closed.code == 4400, (query, closed)
        else:
            assert valid, query
        assert not server_errors(caplog.records[before:]), query

    @fuzz_settings(30)
    @given(
        sent=st.lists(frames, max_size=4),
        origin=st.one_of(
            st.none(), st.sampled_from([b"http://testserver", b"http://evil.example"]), header_bytes
        ),
    )
    @example(sent=[("bytes", b"")], origin=None)
    def test_console_socket(
        self,
        console: Gateway,
        caplog: pytest.LogCaptureFixture,
        sent: list[Frame],
        origin: bytes | None,
    ) -> None:
        before = len(caplog.records)
        fixed = {**session_cookies(console)}
        if origin is not None:
            fixed["origin"] = clean(origin)
        try:
            with console.client.websocket_connect("/console/ws", headers=fixed) as socket:
                send_frames(socket, sent)
                socket.send_json({"type": "watch", "handoff": HANDOFFS[0]})
        except (WebSocketDisconnect, WebSocketDenialResponse):
            pass
        assert not server_errors(caplog.records[before:]), (sent, origin)


class TestSlackGateway:
    """The gateway with the Slack desk: Bolt's two endpoints, signed and not."""

    @fuzz_settings(80)
    @given(call=calls(SLACK))
    @example(call=Call("POST", "/slack/events", JSON, b"null"))
    @example(call=Call("POST", "/slack/interactions", FORM, b"payload=1"))
    @example(call=Call("POST", "/slack/events", [(b"x-slack-request-timestamp", b"abc")], b"a=1"))
    def test_slack_without_a_valid_signature(
        self, slack: Gateway, caplog: pytest.LogCaptureFixture, call: Call
    ) -> None:
        response = send(slack, call, caplog)
        if call.method == "POST":
            assert response.status_code in (400, 401, 404), (call, response.text)

    @fuzz_settings(50)
    @given(
        body=st.one_of(st.binary(max_size=200), json_values.map(dumps), slack_envelopes.map(dumps)),
        content_type=st.sampled_from(
            ["application/json", "application/x-www-form-urlencoded", "text/plain", ""]
        ),
        path=st.sampled_from(["/slack/events", "/slack/interactions"]),
    )
    @example(body=b"[]", content_type="application/json", path="/slack/events")
    @example(
        body=b'{"type": "event_callback", "event": 1}',
        content_type="application/json",
        path="/slack/events",
    )
    @example(
        body=b"payload=null",
        content_type="application/x-www-form-urlencoded",
        path="/slack/interactions",
    )
    def test_slack_any_body_signed(
        self,
        slack: Gateway,
        caplog: pytest.LogCaptureFixture,
        body: bytes,
        content_type: str,
        path: str,
    ) -> None:
        """Signed bodies of any shape: Bolt answers, without a 5xx (listener logs not checked:
        Slack never sends these shapes)."""
        fixed = _lower(slack_headers(SLACK_SECRET, body, content_type))
        slack.client.cookies.clear()
        response = slack.client.post(path, content=body, headers=fixed)
        slack.settle()
        assert response.status_code < 500, (body, response.status_code)

    @fuzz_settings(100)
    @given(data=st.data(), retry=st.one_of(st.none(), st.integers(1, 3)))
    def test_slack_events_signed(
        self,
        slack: Gateway,
        caplog: pytest.LogCaptureFixture,
        data: st.DataObject,
        retry: int | None,
    ) -> None:
        """Message events as Slack sends them, in the card's thread or not."""
        message = data.draw(slack_messages((slack.extra["card_ts"],)))
        event = slack.extra["slack"].add_message(**message)  # Slack has it, then sends its event
        body, fixed = event_request(SLACK_SECRET, event, retry_num=retry)
        response = send(
            slack, Call("POST", "/slack/events", [], body).having(_lower(fixed)), caplog
        )
        assert response.status_code in (200, 404), response.text

    @fuzz_settings(100)
    @given(data=st.data())
    def test_slack_card_clicks_signed(
        self, slack: Gateway, caplog: pytest.LogCaptureFixture, data: st.DataObject
    ) -> None:
        """Clicks on the desk's card as Slack sends them, for its handoff or another."""
        payload = data.draw(slack_card_clicks((SLACK_HANDOFF,), (slack.extra["card_ts"],)))
        body, fixed = interaction_request(SLACK_SECRET, payload)
        call = Call("POST", "/slack/interactions", [], body).having(_lower(fixed))
        response = send(slack, call, caplog)
        assert response.status_code == 200, response.text


def _lower(fixed: dict[str, str]) -> dict[str, bytes]:
    return {k.lower(): v.encode() for k, v in fixed.items()}

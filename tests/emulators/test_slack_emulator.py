"""The Slack emulator is faithful enough: slack_sdk (sync and async) and slack-bolt work against it.

Facts these tests pin down about slack-bolt (1.30) served through its Starlette adapters:
forged, stale (older than 5 minutes) and unsigned requests get 401 before any listener runs,
the app's own bot messages never reach a ``message`` listener, and Bolt does NOT de-duplicate:
a retried delivery (same ``event_id``, ``X-Slack-Retry-Num: 1``) runs the listener again, so
de-duplication is the app's job.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from slack_bolt import App
from slack_bolt.adapter.starlette import SlackRequestHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.routing import Route

from tests.emulators.slack_emulator import AsgiServer, SlackEmulator
from tests.emulators.slack_requests import (
    block_action,
    event_request,
    interaction_request,
    message_event,
    message_shortcut,
    sign,
    view_submission,
)

SECRET = "test-signing-secret"
TS = re.compile(r"^\d{10}\.\d{6}$")
CARD = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Handoff* from Telegram"}}]


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token=emu.bot_token, base_url=emu.api_url)


def slack_error(exc: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(exc.value.response["error"])


# -- (a) slack_sdk.WebClient ------------------------------------------------------------------


def test_auth_test_identifies_the_bot(client: WebClient) -> None:
    auth = client.auth_test()
    assert (auth["ok"], auth["user_id"], auth["bot_id"], auth["team_id"]) == (
        True,
        "UBOT",
        "BBOT",
        "T1",
    )


def test_post_message_with_blocks_as_json(emu: SlackEmulator, client: WebClient) -> None:
    first = client.chat_postMessage(channel="C1", text="Handoff", blocks=CARD)
    second = client.chat_postMessage(channel="C1", text="another")
    assert first["ok"] and first["channel"] == "C1"
    assert TS.match(first["ts"]) and float(second["ts"]) > float(first["ts"])
    assert first["message"]["blocks"] == CARD and first["message"]["user"] == "UBOT"
    call = emu.calls("chat.postMessage")[0]
    assert call.params["blocks"] == CARD and call.token == "xoxb-test" and call.ok
    assert [m["text"] for m in emu.messages("C1")] == ["Handoff", "another"]


def test_post_message_as_form_and_token_as_field(emu: SlackEmulator, client: WebClient) -> None:
    response = client.api_call(
        "chat.postMessage",
        params={"channel": "C1", "text": "form", "blocks": json.dumps(CARD)},
    )
    assert response["message"]["blocks"] == CARD
    assert emu.calls("chat.postMessage")[0].params["blocks"] == CARD
    answer = httpx.post(emu.api_url + "auth.test", data={"token": emu.bot_token}).json()
    assert answer["ok"] and answer["user_id"] == "UBOT"
    assert httpx.post(emu.api_url + "auth.test").json() == {"ok": False, "error": "not_authed"}


def test_thread_replies_permalink_and_errors(emu: SlackEmulator, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="C1", text="card", blocks=CARD)["ts"]
    reply = client.chat_postMessage(channel="C1", text="customer says hi", thread_ts=parent)
    assert reply["message"]["thread_ts"] == parent
    human = emu.add_message("C1", "on it", user="U2", thread_ts=parent)
    thread = client.conversations_replies(channel="C1", ts=parent)["messages"]
    assert [m["text"] for m in thread] == ["card", "customer says hi", "on it"]
    assert thread[0]["reply_count"] == 2 and human["channel_type"] == "channel"
    assert emu.messages("C1", thread_ts=parent) == thread
    link = client.chat_getPermalink(channel="C1", message_ts=reply["ts"])["permalink"]
    assert link.startswith("https://relevo-test.slack.com/archives/C1/p") and parent in link
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C404", text="x")
    assert slack_error(exc) == "channel_not_found"
    with pytest.raises(SlackApiError) as exc, pytest.warns(UserWarning, match="`text`"):
        client.chat_postMessage(channel="C1")
    assert slack_error(exc) == "no_text"
    dm = client.chat_postMessage(channel="U1", text="private")
    assert dm["channel"] == "DU1" and emu.messages("DU1")[0]["text"] == "private"


def test_update(emu: SlackEmulator, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C1", text="unclaimed", blocks=CARD)["ts"]
    updated = client.chat_update(channel="C1", ts=ts, text="Claimed by <@U2>")
    assert updated["ts"] == ts and updated["text"] == "Claimed by <@U2>"
    stored = emu.message("C1", ts)
    assert stored is not None and stored["text"] == "Claimed by <@U2>"
    assert "blocks" not in stored and stored["edited"]["user"] == "UBOT"
    assert len(emu.messages("C1")) == 1
    with pytest.raises(SlackApiError) as exc:
        client.chat_update(channel="C1", ts="1.000100", text="x")
    assert slack_error(exc) == "message_not_found"
    human = emu.add_message("C1", "mine", user="U1")
    with pytest.raises(SlackApiError) as exc:
        client.chat_update(channel="C1", ts=human["ts"], text="x")
    assert slack_error(exc) == "cant_update_message"


def test_ephemeral(emu: SlackEmulator, client: WebClient) -> None:
    response = client.chat_postEphemeral(channel="C1", user="U2", text="Only you see this")
    assert TS.match(response["message_ts"])
    assert emu.ephemerals("C1") == [
        {
            "channel": "C1",
            "user": "U2",
            "message_ts": response["message_ts"],
            "text": "Only you see this",
        }
    ]
    assert emu.messages("C1") == [] and emu.ephemerals("C2") == []
    with pytest.raises(SlackApiError) as exc:
        client.chat_postEphemeral(channel="C1", user="U999", text="x")
    assert slack_error(exc) == "user_not_found"


def test_reactions(emu: SlackEmulator, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C1", text="card")["ts"]
    client.reactions_add(channel="C1", timestamp=ts, name="eyes")
    client.reactions_add(channel="C1", timestamp=ts, name=":white_check_mark:")
    with pytest.raises(SlackApiError) as exc:
        client.reactions_add(channel="C1", timestamp=ts, name="eyes")
    assert slack_error(exc) == "already_reacted"
    assert emu.reactions("C1", ts) == ["eyes", "white_check_mark"]
    with pytest.raises(SlackApiError) as exc:
        client.reactions_add(channel="C1", timestamp="1.000100", name="eyes")
    assert slack_error(exc) == "message_not_found"


def test_users_info(client: WebClient) -> None:
    user = client.users_info(user="U3")["user"]
    assert (user["id"], user["name"], user["real_name"]) == ("U3", "sofia", "Sofía")
    assert user["profile"]["display_name"] == "Sofía" and not user["is_bot"]
    assert client.users_info(user="UBOT")["user"]["is_bot"]
    with pytest.raises(SlackApiError) as exc:
        client.users_info(user="U999")
    assert slack_error(exc) == "user_not_found"


def test_configured_users_and_channels() -> None:
    users = {"UA": {"real_name": "Ana Pérez", "profile": {"display_name": "ana"}}}
    with SlackEmulator(users=users, channels={"CDESK": "desk"}, bot_token="xoxb-other") as emu:
        client = WebClient(token="xoxb-other", base_url=emu.api_url)
        assert client.users_info(user="UA")["user"]["profile"]["display_name"] == "ana"
        assert client.chat_postMessage(channel="CDESK", text="x")["ok"]
        with pytest.raises(SlackApiError):
            client.users_info(user="U1")


def test_invalid_auth(emu: SlackEmulator) -> None:
    wrong = WebClient(token="xoxb-wrong", base_url=emu.api_url)
    with pytest.raises(SlackApiError) as exc:
        wrong.chat_postMessage(channel="C1", text="x")
    assert slack_error(exc) == "invalid_auth" and exc.value.response.status_code == 200
    assert emu.messages("C1") == [] and emu.calls()[0].error == "invalid_auth"


def test_views_open(emu: SlackEmulator, client: WebClient) -> None:
    view = {"type": "modal", "callback_id": "note", "title": {"type": "plain_text", "text": "N"}}
    opened = client.views_open(trigger_id="1.2.abc", view=view)["view"]
    assert opened["id"].startswith("V") and opened["callback_id"] == "note"
    assert emu.views()[0]["trigger_id"] == "1.2.abc"
    with pytest.raises(SlackApiError) as exc:
        client.api_call("views.open", json={"view": view})
    assert slack_error(exc) == "invalid_arguments"


def test_response_url_replaces_original(emu: SlackEmulator, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C1", text="card", blocks=CARD)["ts"]
    url = emu.new_response_url("C1", ts)
    answer = httpx.post(url, json={"replace_original": True, "text": "done"})
    assert answer.json() == {"ok": True}
    assert emu.message("C1", ts)["text"] == "done"  # type: ignore[index]
    httpx.post(url, json={"text": "just for you"})
    assert emu.ephemerals("C1")[0]["text"] == "just for you"
    assert len(emu.calls("response_url")) == 2


# -- (b) AsyncWebClient -----------------------------------------------------------------------


async def test_async_client(emu: SlackEmulator) -> None:
    client = AsyncWebClient(token=emu.bot_token, base_url=emu.api_url)
    posted = await client.chat_postMessage(channel="C1", text="hola", blocks=CARD)
    await client.chat_update(channel="C1", ts=posted["ts"], text="adiós")
    await client.reactions_add(channel="C1", timestamp=posted["ts"], name="eyes")
    ephemeral = await client.chat_postEphemeral(channel="C1", user="U1", text="psst")
    user = await client.users_info(user="U2")
    assert user["user"]["real_name"] == "Marc" and TS.match(ephemeral["message_ts"])
    assert [m["text"] for m in emu.messages("C1")] == ["adiós"]
    assert emu.reactions("C1", posted["ts"]) == ["eyes"]
    with pytest.raises(SlackApiError) as exc:
        await client.reactions_add(channel="C1", timestamp=posted["ts"], name="eyes")
    assert slack_error(exc) == "already_reacted"
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=emu.api_url)
    with pytest.raises(SlackApiError) as exc:
        await wrong.auth_test()
    assert slack_error(exc) == "invalid_auth"
    calls = await emu.wait_for_async("chat.update")
    assert calls[0].params["text"] == "adiós"


# -- (c) fault injection ----------------------------------------------------------------------


def test_rate_limited_call_is_retried_once_and_not_duplicated(emu: SlackEmulator) -> None:
    client = WebClient(
        token=emu.bot_token,
        base_url=emu.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    emu.fail_next("chat.postMessage", retry_after=1)
    started = time.monotonic()
    response = client.chat_postMessage(channel="C1", text="once")
    assert response["ok"] and 1 <= time.monotonic() - started < 3  # Retry-After honoured
    assert [(c.status, c.error) for c in emu.calls("chat.postMessage")] == [
        (429, "ratelimited"),
        (200, None),
    ]
    assert [m["text"] for m in emu.messages("C1")] == ["once"]


def test_rate_limit_without_retry_handler_surfaces_retry_after(
    emu: SlackEmulator, client: WebClient
) -> None:
    emu.fail_next("chat.update", retry_after=7, times=2)
    ts = client.chat_postMessage(channel="C1", text="x")["ts"]
    for _ in range(2):
        with pytest.raises(SlackApiError) as exc:
            client.chat_update(channel="C1", ts=ts, text="y")
        assert exc.value.response.status_code == 429
        assert exc.value.response.headers["Retry-After"] in ("7", ["7"])
        assert slack_error(exc) == "ratelimited"
    assert client.chat_update(channel="C1", ts=ts, text="y")["ok"]


def test_server_error_and_plain_error_injection(emu: SlackEmulator) -> None:
    client = WebClient(
        token=emu.bot_token,
        base_url=emu.api_url,
        retry_handlers=[ServerErrorRetryHandler(max_retry_count=1)],
    )
    emu.fail_next("chat.postMessage", status=503, error="service_unavailable")
    assert client.chat_postMessage(channel="C1", text="after 503")["ok"]
    emu.fail_next("chat.postMessage", status=200, error="channel_not_found")
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C1", text="x")
    assert slack_error(exc) == "channel_not_found"
    assert [m["text"] for m in emu.messages("C1")] == ["after 503"]


def test_wait_for_times_out_with_what_it_saw(emu: SlackEmulator, client: WebClient) -> None:
    client.auth_test()
    with pytest.raises(AssertionError, match=r"seen: auth.test\(ok\)"):
        emu.wait_for("chat.update", timeout=0.1)
    assert emu.wait_for(lambda c: c.method == "auth.test" and c.ok)[0].ok


# -- (d) slack-bolt against the emulator ------------------------------------------------------


class Received:
    """What the Bolt listeners saw, readable from the test thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: list[tuple[str, dict[str, Any]]] = []

    def add(self, kind: str, data: dict[str, Any]) -> None:
        with self._lock:
            self.items.append((kind, data))

    def of(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [data for k, data in self.items if k == kind]

    def wait(self, kind: str, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.of(kind)) < count:
            assert time.monotonic() < deadline, f"{kind}: {len(self.of(kind))} < {count}"
            time.sleep(0.02)
        return self.of(kind)


NOTE_VIEW = {
    "type": "modal",
    "callback_id": "note",
    "title": {"type": "plain_text", "text": "Note"},
    "blocks": [],
}


def sync_bolt_app(emu: SlackEmulator, received: Received) -> Starlette:
    app = App(signing_secret=SECRET, client=WebClient(token=emu.bot_token, base_url=emu.api_url))

    @app.event("message")
    def on_message(event: dict[str, Any], say: Any) -> None:
        received.add("message", event)
        say(text=f"got: {event['text']}", thread_ts=event["ts"])

    @app.action("claim")
    def on_claim(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        received.add("claim", body)
        client.chat_update(
            channel=body["channel"]["id"],
            ts=body["message"]["ts"],
            text=f"Claimed by <@{body['user']['id']}>",
        )

    @app.action("assign")
    def on_assign(ack: Any, action: dict[str, Any]) -> None:
        ack()
        received.add("assign", action)

    @app.shortcut("escalate")
    def on_shortcut(ack: Any, shortcut: dict[str, Any], client: WebClient) -> None:
        ack()
        received.add("escalate", shortcut)
        client.views_open(trigger_id=shortcut["trigger_id"], view=NOTE_VIEW)

    @app.view("note")
    def on_note(ack: Any, view: dict[str, Any]) -> None:
        ack()
        received.add("note", view)

    handler = SlackRequestHandler(app)
    return Starlette(routes=[Route("/slack/events", handler.handle, methods=["POST"])])


def async_bolt_app(emu: SlackEmulator, received: Received) -> Starlette:
    app = AsyncApp(
        signing_secret=SECRET, client=AsyncWebClient(token=emu.bot_token, base_url=emu.api_url)
    )

    @app.event("message")
    async def on_message(event: dict[str, Any], say: Any) -> None:
        received.add("message", event)
        await say(text=f"got: {event['text']}", thread_ts=event["ts"])

    @app.action("claim")
    async def on_claim(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        received.add("claim", body)
        await client.chat_update(
            channel=body["channel"]["id"],
            ts=body["message"]["ts"],
            text=f"Claimed by <@{body['user']['id']}>",
        )

    @app.action("assign")
    async def on_assign(ack: Any, action: dict[str, Any]) -> None:
        await ack()
        received.add("assign", action)

    @app.shortcut("escalate")
    async def on_shortcut(ack: Any, shortcut: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        received.add("escalate", shortcut)
        await client.views_open(trigger_id=shortcut["trigger_id"], view=NOTE_VIEW)

    @app.view("note")
    async def on_note(ack: Any, view: dict[str, Any]) -> None:
        await ack()
        received.add("note", view)

    handler = AsyncSlackRequestHandler(app)
    return Starlette(routes=[Route("/slack/events", handler.handle, methods=["POST"])])


class Bolt:
    """A Bolt app served over HTTP, with what its listeners received."""

    def __init__(self, url: str, received: Received) -> None:
        self.url = url
        self.received = received

    def post(self, request: tuple[bytes, dict[str, str]]) -> httpx.Response:
        body, headers = request
        return httpx.post(self.url, content=body, headers=headers, timeout=5)


@pytest.fixture(params=["sync", "async"])
def bolt(request: pytest.FixtureRequest, emu: SlackEmulator) -> Iterator[Bolt]:
    received = Received()
    build = sync_bolt_app if request.param == "sync" else async_bolt_app
    with AsgiServer(build(emu, received)) as server:
        yield Bolt(server.url + "/slack/events", received)


def test_bolt_message_event_reaches_listener(bolt: Bolt, emu: SlackEmulator) -> None:
    own = message_event("C1", "UBOT", "my own card", bot_id="BBOT")
    assert bolt.post(event_request(SECRET, own)).status_code == 200
    event = message_event("C1", "U1", "¿me ayudas?")
    assert bolt.post(event_request(SECRET, event)).status_code == 200
    bolt.received.wait("message")
    reply = emu.wait_for(lambda c: c.method == "chat.postMessage" and c.ok)[0]
    assert reply.params["thread_ts"] == event["ts"] and reply.params["text"] == "got: ¿me ayudas?"
    time.sleep(0.2)  # listeners run after the ack: give a wrongly accepted one time to show up
    # Bolt drops the app's own bot messages before any listener.
    assert [e["text"] for e in bolt.received.of("message")] == ["¿me ayudas?"]


def test_bolt_block_action_claim_updates_the_card(
    bolt: Bolt, emu: SlackEmulator, client: WebClient
) -> None:
    card = client.chat_postMessage(channel="C1", text="New handoff", blocks=CARD)
    payload = block_action(
        "claim",
        "handoff-42",
        user="U2",
        message_ts=card["ts"],
        message=emu.message("C1", card["ts"]),
    )
    answer = bolt.post(interaction_request(SECRET, payload))
    assert answer.status_code == 200
    body = bolt.received.wait("claim")[0]
    assert body["actions"][0]["value"] == "handoff-42"
    emu.wait_for(lambda c: c.method == "chat.update" and c.ok)
    assert [m["text"] for m in emu.messages("C1")] == ["Claimed by <@U2>"]


def test_bolt_other_interactions(bolt: Bolt, emu: SlackEmulator) -> None:
    ts = emu.add_message("C1", "this customer is angry", user="U1")["ts"]
    select = block_action("assign", None, message_ts=ts, selected_user="U3")
    assert bolt.post(interaction_request(SECRET, select)).status_code == 200
    assert bolt.received.wait("assign")[0]["selected_user"] == "U3"
    shortcut = message_shortcut(
        "escalate", user="U2", channel="C1", message_ts=ts, text="this customer is angry"
    )
    assert bolt.post(interaction_request(SECRET, shortcut)).status_code == 200
    bolt.received.wait("escalate")
    view = emu.wait_for(lambda c: c.method == "views.open" and c.ok)[0].response["view"]
    submission = view_submission(
        "note", {"b": {"text": "call back"}}, user="U2", private_metadata="h42", view_id=view["id"]
    )
    assert bolt.post(interaction_request(SECRET, submission)).status_code == 200
    note = bolt.received.wait("note")[0]
    assert note["state"]["values"]["b"]["text"]["value"] == "call back"
    assert note["private_metadata"] == "h42"


def test_bolt_rejects_forged_stale_and_unsigned(bolt: Bolt) -> None:
    forged = event_request("not-the-secret", message_event("C1", "U1", "forged"))
    assert bolt.post(forged).status_code == 401
    stale = event_request(
        SECRET, message_event("C1", "U1", "stale"), timestamp=int(time.time()) - 301
    )
    assert bolt.post(stale).status_code == 401
    body, headers = event_request(SECRET, message_event("C1", "U1", "tampered"))
    assert bolt.post((body.replace(b"tampered", b"tampered!"), headers)).status_code == 401
    unsigned = {"Content-Type": "application/json"}
    assert bolt.post((body, unsigned)).status_code == 401
    assert bolt.post(event_request(SECRET, message_event("C1", "U1", "fresh"))).status_code == 200
    # A 401 is answered before any listener is scheduled: only "fresh" ever arrives.
    assert [e["text"] for e in bolt.received.wait("message")] == ["fresh"]


def test_bolt_does_not_dedupe_retries(bolt: Bolt, emu: SlackEmulator) -> None:
    event = message_event("C1", "U1", "hola")
    first = event_request(SECRET, event, event_id="Ev0SAME")
    retry = event_request(
        SECRET, event, event_id="Ev0SAME", retry_num=1, retry_reason="http_timeout"
    )
    assert retry[1]["X-Slack-Retry-Num"] == "1"
    assert bolt.post(first).status_code == 200
    assert bolt.post(retry).status_code == 200
    # Bolt ran the listener twice, and a naive listener answered twice: dedupe is the app's job.
    assert len(bolt.received.wait("message", count=2)) == 2
    emu.wait_for(lambda c: c.method == "chat.postMessage" and c.ok, count=2)


def test_sign_matches_slack_sdk_verifier() -> None:
    from slack_sdk.signature import SignatureVerifier

    body = b'{"type":"event_callback"}'
    now = int(time.time())
    signature = sign(SECRET, now, body)
    assert signature.startswith("v0=") and len(signature) == 67
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(body=body, timestamp=str(now), signature=signature)
    body, headers = interaction_request(SECRET, {"type": "block_actions"})
    assert body.startswith(b"payload=%7B")
    assert verifier.is_valid_request(body, headers)

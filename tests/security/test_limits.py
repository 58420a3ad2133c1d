"""Size limits on every input, and the per-customer flood limit.

Each oversized input gets a clear 4xx (an API) or a polite notice (a customer), never a 500, and
nothing huge is stored: a customer message over `RELEVO_MAX_MESSAGE_CHARS` is answered with a
request to shorten it (in private) and kept within that length, its start and its end. Over
`RELEVO_CUSTOMER_MESSAGES_PER_MINUTE` a customer's messages are kept in the conversation log but
not sent to the assistant, with one polite notice. The gateway is the real app on the test
Redis (see conftest.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

import httpx
import pytest
import redis
import websockets

from bot.channels.telegram import SECRET_HEADER
from bot.channels.webchat import MAX_FRAME_CHARS
from bot.pipeline import ELISION
from bot.signing import signed_headers
from bot.texts import text
from handoff.announcements import Announcements
from handoff.ownership import Action
from relevo import keys
from relevo.settings import Settings
from tests.emulators.slack_requests import event_request
from tests.security.conftest import (
    CONSOLE_HEADER,
    CONSOLE_TOKEN,
    SLACK_SECRET,
    SOCIAL_SECRET,
    WEBHOOK_SECRET,
    SlackDoor,
    a_handoff_with_its_card,
    away_from_a_minute_boundary,
    customer_messages,
    outbox,
    queued_handoff,
    stored,
)

LIMIT = Settings().max_message_chars  # RELEVO_MAX_MESSAGE_CHARS, 4000 by default
PER_MINUTE = Settings().customer_messages_per_minute  # 20 by default
TOO_LONG = {text("too_long", lang, limit=LIMIT) for lang in ("en", "es")}
SLOW_DOWN = {text("slow_down", lang) for lang in ("en", "es")}


class Socket:
    """The web chat page's side of the socket: sends frames, collects what comes back."""

    def __init__(self, gateway_url: str) -> None:
        self.conversation = f"wc-{uuid.uuid4().hex}"
        self.url = (
            gateway_url.replace("http://", "ws://")
            + f"/channels/webchat/ws?conversation={self.conversation}&lang=en"
        )
        self.frames: list[dict[str, Any]] = []

    async def exchange(self, *frames: str | bytes, answers: int) -> list[dict[str, Any]]:
        """Send `frames`, then wait for `answers` acks or errors."""
        async with websockets.connect(self.url, max_size=None) as socket:
            for raw in frames:
                await socket.send(raw)
            async with asyncio.timeout(10):
                while len([f for f in self.frames if f["type"] in ("ack", "error")]) < answers:
                    self.frames.append(json.loads(await socket.recv()))
        return [f for f in self.frames if f["type"] in ("ack", "error")]


def message(body: str, **extra: Any) -> str:
    return json.dumps({"type": "message", "client_id": uuid.uuid4().hex, "text": body, **extra})


def notices(client: redis.Redis) -> list[str]:
    return [m["text"] for m in outbox(client) if m["out_id"].endswith(":notice")]


# --- web chat ---------------------------------------------------------------------------------


async def test_web_chat_frames_over_the_limit_are_refused_and_not_stored(
    gateway_url: str, redis_client: redis.Redis
) -> None:
    socket = Socket(gateway_url)
    answers = await socket.exchange(
        message("a" * MAX_FRAME_CHARS),  # the frame, with its JSON, is over MAX_FRAME_CHARS
        b"\x00" * 100,
        "{not json",
        json.dumps({"type": "message", "text": "no client id"}),
        answers=4,
    )
    assert [a["reason"] for a in answers] == [
        "message too large",
        "binary frames are not supported",
        "invalid JSON",
        "expected {type: message, client_id, text}",
    ]
    assert stored(redis_client) == {}


async def test_deeply_nested_json_in_a_web_chat_frame_is_refused_without_an_error_logged(
    gateway_url: str, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    socket = Socket(gateway_url)
    with caplog.at_level(logging.INFO):
        answers = await socket.exchange("[" * 19_000, message("hola"), answers=2)
    assert [a["type"] for a in answers] == ["error", "ack"]  # the socket keeps working
    assert answers[0]["reason"] == "JSON nested too deeply"
    refused = [r for r in caplog.records if "JSON nested too deeply" in r.getMessage()]
    assert [(r.levelname, getattr(r, "conversation", None)) for r in refused] == [
        ("INFO", socket.conversation)
    ]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_a_long_web_chat_message_gets_a_polite_notice_and_is_kept_cut(
    gateway_url: str, redis_client: redis.Redis
) -> None:
    socket = Socket(gateway_url)
    answers = await socket.exchange(message("word " * 3000), message("a" * LIMIT), answers=2)
    assert [a["type"] for a in answers] == ["ack", "ack"]
    assert notices(redis_client)[0] in TOO_LONG  # the 15,000 characters: asked to shorten
    assert redis_client.xlen(keys.INBOUND) == 1  # the one at the limit goes to the assistant
    kept = sorted(len(m["text"]) for m in customer_messages(redis_client))
    assert kept == [LIMIT, LIMIT]  # the long one: its start and its end, within the limit


async def test_the_web_chat_display_label_is_limited_too(
    gateway_url: str, redis_client: redis.Redis
) -> None:
    socket = Socket(gateway_url)
    await socket.exchange(message("/greet", display="x" * 19_000), answers=1)
    [logged] = customer_messages(redis_client)
    assert len(logged.get("display", "")) <= LIMIT + 1


# --- social posts -----------------------------------------------------------------------------


def post(gateway_url: str, **event: Any) -> httpx.Response:
    body = json.dumps(
        {
            "network": "x",
            "type": "mention",
            "post_id": event.pop("post_id", uuid.uuid4().hex),
            "author": event.pop("author", {"id": "u1", "handle": "ana_travels"}),
            **event,
        }
    ).encode()
    return httpx.post(
        f"{gateway_url}/channels/social/events",
        content=body,
        headers=signed_headers(SOCIAL_SECRET, body),
    )


def test_social_fields_over_their_limits_are_refused_with_422(
    gateway_url: str, redis_client: redis.Redis
) -> None:
    cases = {
        "text: String should have at most 20000 characters": {"text": "@brisaair " + "a" * 20_000},
        "author.handle: String should have at most 100 characters": {
            "text": "@brisaair hola",
            "author": {"id": "u1", "handle": "h" * 101},
        },
        "author.name: String should have at most 200 characters": {
            "text": "@brisaair hola",
            "author": {"id": "u1", "handle": "ana", "name": "n" * 201},
        },
        "post_id: String should have at most 200 characters": {
            "text": "@brisaair hola",
            "post_id": "p" * 201,
        },
        "url: String should have at most 2000 characters": {
            "text": "@brisaair hola",
            "url": "https://x.example/" + "u" * 2000,
        },
        "network: String should have at most 40 characters": {
            "text": "@brisaair hola",
            "network": "n" * 41,
        },
    }
    for problem, event in cases.items():
        answer = post(gateway_url, **event)
        assert answer.status_code == 422, problem
        assert problem in answer.json()["problems"], answer.json()
    assert stored(redis_client) == {}


def test_a_long_social_post_reaches_the_assistant_with_its_end_and_without_a_public_notice(
    gateway_url: str, redis_client: redis.Redis
) -> None:
    """The card (or the question) at the end of a long post was cut off (QA s22 D4)."""
    end = "my card 4111 1111 1111 1111 was charged twice, can I get a refund?"
    answer = post(gateway_url, text="@brisaair " + "my bag is lost " * 1000 + end)
    assert (answer.status_code, answer.json()["route"]) == (202, "bot")
    assert notices(redis_client) == []  # "sum it up" is not said in front of everyone
    [logged] = customer_messages(redis_client)
    [(_, entry)] = redis_client.xrange(keys.INBOUND)
    for kept in (logged["text"], entry["text"]):  # the desk's log and the assistant
        assert len(kept) == LIMIT and ELISION in kept
        assert kept.startswith("my bag is lost") and kept.endswith(end)


def test_a_bare_mention_gets_a_public_hello(gateway_url: str, redis_client: redis.Redis) -> None:
    answer = post(gateway_url, text="@brisaair")
    assert (answer.status_code, answer.json()["route"]) == (202, "notice")
    assert notices(redis_client) == [text("empty_public", "en")]
    assert redis_client.xlen(keys.INBOUND) == 0


# --- Telegram ---------------------------------------------------------------------------------


def test_a_long_telegram_message_gets_a_polite_notice_and_is_kept_cut(
    gateway_url: str, redis_client: redis.Redis
) -> None:
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "text": "where is my bag? " * 600,  # Telegram stops at 4096; a forged update need not
            "from": {"id": 77, "is_bot": False, "first_name": "Ana", "language_code": "en"},
            "chat": {"id": 77, "type": "private"},
        },
    }
    answer = httpx.post(
        f"{gateway_url}/channels/telegram/webhook",
        json=update,
        headers={SECRET_HEADER: WEBHOOK_SECRET},
    )
    assert answer.status_code == 200
    assert notices(redis_client) and notices(redis_client)[0] in TOO_LONG
    assert [len(m["text"]) for m in customer_messages(redis_client)] == [LIMIT]
    assert redis_client.xlen(keys.INBOUND) == 0


# --- the console, Slack, the knowledge base, announcements ------------------------------------


def test_console_inputs_over_their_limits_are_refused_with_422(
    gateway_url: str, redis_client: redis.Redis
) -> None:
    handoff = queued_handoff(redis_client, "wc-console-limits")
    with httpx.Client(base_url=gateway_url, headers=CONSOLE_HEADER) as http:
        for body in (
            {"name": "n" * 201, "token": CONSOLE_TOKEN},
            {"name": "Laura", "token": "t" * 501},
        ):
            answer = http.post("/console/login", json=body)
            assert answer.status_code == 422 and answer.json()["error"] == "invalid request"
        assert http.post(
            "/console/login", json={"name": "Laura", "token": CONSOLE_TOKEN}
        ).is_success
        assert http.post(f"/console/api/handoffs/{handoff}/claim").is_success
        url = f"/console/api/handoffs/{handoff}/reply"
        for body in (
            {"text": "a" * (LIMIT + 1), "note": False, "client_id": "client-long-1"},
            {"text": "a" * (LIMIT + 1), "note": True, "client_id": "client-long-2"},
            {"text": "hola", "note": False, "client_id": "c" * 65},
        ):
            answer = http.post(url, json=body)
            assert answer.status_code == 422, answer.text
            assert answer.json()["problems"], answer.text
        reassign = http.post(f"/console/api/handoffs/{handoff}/reassign", json={"to_id": "x" * 101})
        assert reassign.status_code == 422
        at_limit = {"text": "a" * LIMIT, "note": False, "client_id": "client-at-limit"}
        assert http.post(url, json=at_limit).json() == {"outcome": "sent"}
    replies = [m for m in outbox(redis_client) if m.get("author") == "agent"]
    assert [len(m["text"]) for m in replies] == [LIMIT]


async def test_a_long_slack_reply_is_not_relayed_whole(
    slack_door: SlackDoor, redis_client: redis.Redis
) -> None:
    handoff, card_ts = await a_handoff_with_its_card(slack_door, redis_client)
    await slack_door.helper.desk.act(handoff, Action.CLAIM, user="U1", name="Laura")
    event = slack_door.slack.add_message("C1", "word " * 2000, user="U1", thread_ts=card_ts)
    body, headers = event_request(SLACK_SECRET, event)
    async with httpx.AsyncClient(base_url=slack_door.url) as http:
        assert (await http.post("/slack/events", content=body, headers=headers)).status_code == 200
    await asyncio.sleep(1.5)  # Bolt's listener runs after its answer
    replies = [m for m in outbox(redis_client) if m.get("author") == "agent"]
    assert all(len(m["text"]) <= LIMIT for m in replies)
    assert slack_door.slack.ephemerals("C1"), "the agent is told why"


def test_knowledge_base_search_parameters_over_their_limits_get_422(gateway_url: str) -> None:
    for params, problem in (
        ({"q": "a" * 1001}, "q: String should have at most 1000 characters"),
        ({"q": "wifi", "k": 51}, "k: Input should be less than or equal to 50"),
    ):
        answer = httpx.get(f"{gateway_url}/kb/search", params=params)
        assert answer.status_code == 422
        assert problem in answer.json()["problems"]


def test_an_oversized_announcement_is_refused(redis_client: redis.Redis) -> None:
    with pytest.raises(ValueError, match="long"):
        Announcements(redis_client).publish(
            {"en": "Flight BA123 is delayed. " * 4000}, ["BA123"], None, created_by="test"
        )


# --- the per-customer flood limit -------------------------------------------------------------


def test_a_social_flood_is_kept_but_only_the_first_messages_reach_the_assistant(
    gateway_url: str, redis_client: redis.Redis
) -> None:
    away_from_a_minute_boundary()
    routes = [
        post(gateway_url, text=f"@brisaair where is my bag? ({i})").json()["route"]
        for i in range(30)
    ]
    assert routes == ["bot"] * PER_MINUTE + ["notice"] + ["throttled"] * (29 - PER_MINUTE)
    assert redis_client.xlen(keys.INBOUND) == PER_MINUTE
    assert [n in SLOW_DOWN for n in notices(redis_client)] == [True]
    assert len(customer_messages(redis_client)) == 30  # every message kept
    other = post(gateway_url, text="@brisaair hola", author={"id": "u2", "handle": "marc"})
    assert other.json()["route"] == "bot"  # per customer: someone else is answered


async def test_a_web_chat_flood_is_kept_but_only_the_first_messages_reach_the_assistant(
    gateway_url: str, redis_client: redis.Redis
) -> None:
    away_from_a_minute_boundary()
    socket = Socket(gateway_url)
    frames = [message(f"is there wifi on board? ({i})") for i in range(30)]
    answers = await socket.exchange(*frames, answers=30)
    assert [a["type"] for a in answers] == ["ack"] * 30  # all stored: the page keeps none
    assert redis_client.xlen(keys.INBOUND) == PER_MINUTE
    assert [n in SLOW_DOWN for n in notices(redis_client)] == [True]
    assert len(customer_messages(redis_client)) == 30
    typing = [a for a in answers if a["typing"]]
    assert len(typing) == PER_MINUTE  # "typing..." only for what the assistant will answer


def test_replays_do_not_count_towards_the_flood_limit(
    gateway_url: str, redis_client: redis.Redis
) -> None:
    away_from_a_minute_boundary()
    for i in range(PER_MINUTE):
        assert post(gateway_url, post_id=f"p{i}", text="@brisaair hola").json()["route"] == "bot"
    again = post(gateway_url, post_id="p0", text="@brisaair hola")  # the connector retries
    assert again.json()["status"] == "duplicate"
    over = post(gateway_url, post_id="p-over", text="@brisaair hola").json()["route"]
    assert over == "notice"  # the customer's 21st message: told to slow down

"""Social-care operations through the real stack: notices, human-only topics, personal data in
public, department channels, the History and Reveal buttons.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import redis

from handoff.announcements import Announcements
from tests.e2e.conftest import SLACK_SECRET, Stack
from tests.e2e.test_channels import _public_replies, mention, post_event
from tests.e2e.webchat_client import WebchatCustomer
from tests.emulators.slack_requests import block_action, interaction_request

pytestmark = pytest.mark.slow


async def card_in(stack: Stack, channel: str, needle: str) -> dict[str, Any]:
    """The card in `channel` whose blocks mention `needle`."""
    async with asyncio.timeout(60):
        while True:
            for message in stack.slack.messages(channel):
                if message.get("thread_ts") in (None, message["ts"]) and needle in json.dumps(
                    message.get("blocks", []), ensure_ascii=False
                ):
                    return message
            await asyncio.sleep(0.1)


def press(stack: Stack, channel: str, card: dict[str, Any], action: str, user: str) -> None:
    handoff = next(
        e["value"]
        for b in card["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("action_id") == action
    )
    payload = block_action(
        action,
        handoff,
        user=user,
        channel=channel,
        message_ts=card["ts"],
        block_id=f"lookup:{handoff}",
    )
    body, headers = interaction_request(SLACK_SECRET, payload)
    answer = httpx.post(f"{stack.base_url}/slack/interactions", content=body, headers=headers)
    assert answer.status_code == 200


@contextmanager
def ba123_delayed(stack: Stack) -> Iterator[None]:
    """An incident notice on flight BA123, in both languages, while the block runs."""
    client = redis.Redis.from_url(stack.engine.env["REDIS_URL"], decode_responses=True)
    notice = Announcements(client).publish(
        {"es": "El vuelo BA123 sale con 3 h de retraso.", "en": "Flight BA123 is delayed 3 h."},
        ["BA123", "retraso", "delay*"],
        dt.timedelta(hours=1),
        "ops",
    )
    try:
        yield
    finally:
        Announcements(client).withdraw(notice.id)


@pytest.mark.parametrize(
    ("question", "language_word"),
    [("¿mi vuelo BA 123 sale con retraso?", "retraso"), ("is flight ba-123 delayed?", "delayed")],
)
async def test_an_incident_notice_is_said_first_in_the_customers_language(
    stack: Stack, question: str, language_word: str
) -> None:
    with ba123_delayed(stack):
        async with WebchatCustomer(stack.ws_url) as customer:
            await customer.say(question)
            first = (await customer.wait_for("bot", 1))[0]
            assert first["text"].startswith("📣 ") and language_word in first["text"].lower()


@pytest.mark.parametrize(
    "question",
    [
        "mi vuelo ba-123 va con retraso? necesito hablar con una persona",  # straight to a person
        "BA123 delayed AGAIN?? 3 hours at the gate, this is a disgrace 😡",  # a complaint
    ],
)
async def test_a_handoff_tells_the_incident_notice_first_and_once(
    stack: Stack, question: str
) -> None:
    """QA s24 #2: a request for a person about the incident got only "a person will answer"."""
    with ba123_delayed(stack):
        async with WebchatCustomer(stack.ws_url) as customer:
            await customer.say(question)
            async with asyncio.timeout(60):  # the handoff's last message has the way back
                while not any(m.get("buttons") for m in customer.messages("bot")):
                    await asyncio.sleep(0.05)
            said = [m["text"] for m in customer.messages("bot")]
    assert said[0].startswith("📣 ") and "BA123" in said[0]
    assert [t for t in said if t.startswith("📣")] == said[:1]
    assert len(said) >= 3  # the notice, then the handoff's own messages


async def test_a_human_only_topic_skips_the_bot_and_reaches_a_person(stack: Stack) -> None:
    name = f"wc-topic-{uuid.uuid4().hex[:8]}"
    async with WebchatCustomer(stack.ws_url, conversation=name) as customer:
        await customer.say("My father passed away and I need to cancel his flight")
        said = (await customer.wait_for("bot", 1))[0]
        assert "person" in said["text"].lower() or "colleague" in said["text"].lower()
    card = await card_in(stack, "C1", name)
    assert "a topic for people only" in json.dumps(card["blocks"])


async def test_a_card_number_posted_in_public_is_never_echoed_and_moves_to_private(
    stack: Stack,
) -> None:
    answer = post_event(
        stack, mention("@brisaair me cobrasteis dos veces en la tarjeta 4111 1111 1111 1111")
    )
    conversation = answer.json()["conversation_id"]
    async with asyncio.timeout(30):
        while "borra tu publicación" not in (
            joined := " ".join(
                str(r["text"]) for r in await _public_replies(stack, conversation, 1)
            )
        ):
            await asyncio.sleep(0.1)
    assert "4111" not in joined


async def test_a_baggage_case_goes_to_its_channel_with_history_and_a_logged_reveal(
    stack: Stack,
) -> None:
    name = f"wc-bags-{uuid.uuid4().hex[:8]}"
    async with WebchatCustomer(stack.ws_url, conversation=name) as customer:
        await customer.say("Mi maleta llegó rota. Quiero hablar con una persona")
        await customer.wait_for("bot", 1)
        card = await card_in(stack, "CBAG", name)
        await customer.say("mi email es ana.bags@example.com")
    blocks = json.dumps(card["blocks"], ensure_ascii=False)
    assert "Baggage" in blocks and "score" in blocks
    async with asyncio.timeout(30):  # the customer's words reach the thread, redacted
        while not any("[e-mail]" in m.get("text", "") for m in stack.slack.messages("CBAG")):
            await asyncio.sleep(0.1)
    press(stack, "CBAG", card, "history", "U1")
    press(stack, "CBAG", card, "reveal", "U1")
    async with asyncio.timeout(30):
        while not (
            any("History" in m.get("text", "") for m in stack.slack.messages("CBAG", card["ts"]))
            and any("ana.bags@example.com" in e.get("text", "") for e in stack.slack.ephemerals())
        ):
            await asyncio.sleep(0.1)
    thread = " ".join(m.get("text", "") for m in stack.slack.messages("CBAG", card["ts"]))
    assert "ana.bags@example.com" not in thread  # only the ephemeral shows it, to U1 alone
    client = redis.Redis.from_url(stack.engine.env["REDIS_URL"], decode_responses=True)
    handoff = client.get(f"relevo:conv:{name}:handoff")
    [(_, reveal)] = client.xrange(f"relevo:handoff:{handoff}:reveals")
    assert reveal["by"] == "U1"

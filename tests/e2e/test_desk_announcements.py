"""The customer is told when a person joins and when the assistant is back, where it helps.

Telegram only shows messages, so a claim, a reassignment and a return reach the chat in words, in
the conversation's language and in order with the agent's replies. The web chat draws these
events itself and a public post is read by everyone: there the announcement reaches the delivery
worker and is dropped, and nothing is sent. Real gateway, Rasa, Telegram emulator, Slack emulator
and social connector.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
import redis

from relevo import keys
from relevo.messages import BACK_TO_BOT
from tests.e2e.conftest import Stack
from tests.e2e.test_channels import mention, post_event
from tests.e2e.test_desk import (
    _load,
    _thread_posts,
    _wait,
    card_for,
    claimed_from_the_web_chat,
    click,
    handoff_of,
    state_of,
    telegram_texts,
    write_in_thread,
)
from tests.e2e.webchat_client import WebchatCustomer

pytestmark = pytest.mark.slow

JOINED_EN = "{} from our team has joined the conversation."
BACK_EN = (
    "You're chatting with the assistant again: ask me anything, or ask for a person at any time."
)
SOFIA_JOINED = "Sofía, de nuestro equipo, se ha unido a la conversación."
LAURA_JOINED = "Laura, de nuestro equipo, se ha unido a la conversación."
BACK_ES = (
    "Vuelves a hablar con el asistente: pregúntame lo que quieras, o pide hablar con una persona "
    "cuando quieras."
)


async def test_a_telegram_customer_is_told_who_joined_and_when_the_assistant_is_back(
    stack: Stack,
) -> None:
    emu, token, slack = stack.telegram, stack.telegram_token, stack.slack
    chat, name = 920001, f"Ava{uuid.uuid4().hex[:6]}"
    emu.send_message(token, chat, "I want to speak to a person, please", first_name=name)
    await stack.handed_over(chat)
    card = await card_for(stack, name)
    handoff = handoff_of(card)

    click(stack, "claim", handoff, "U1", card["ts"])
    await _wait(lambda: "Laura" in state_of(slack.message("C1", card["ts"]) or card))
    write_in_thread(stack, "U1", "Hi, I'm Laura. Which booking is it?", card["ts"])
    assert await telegram_texts(stack, chat, 2) == [  # the join first, then her words
        JOINED_EN.format("Laura"),
        "Hi, I'm Laura. Which booking is it?",
    ]
    click(stack, "reassign", handoff, "U1", card["ts"], selected_user="U2")
    await _wait(lambda: "Marc" in state_of(slack.message("C1", card["ts"]) or card))
    write_in_thread(stack, "U2", "Marc here: I'll take it from now.", card["ts"])
    assert await telegram_texts(stack, chat, 2) == [
        JOINED_EN.format("Marc"),
        "Marc here: I'll take it from now.",
    ]
    emu.send_message(token, chat, "thanks, but one more question", first_name=name)
    await _wait(lambda: any("one more question" in t for t in _thread_posts(stack, card["ts"])))
    click(stack, "return", handoff, "U2", card["ts"])
    assert await telegram_texts(stack, chat, 1) == [BACK_EN]

    emu.send_message(token, chat, "is there wifi on board?", first_name=name)
    answer = await telegram_texts(stack, chat, 1)
    assert "wi-fi" in answer[0].lower()  # the assistant answers, as it said
    await asyncio.sleep(2)
    later = answer + [m["message"]["text"] for m in emu.bot_messages(token, chat)]
    assert not set(later) & {JOINED_EN.format("Laura"), JOINED_EN.format("Marc"), BACK_EN}
    log = redis.Redis.from_url(stack.engine.env["REDIS_URL"], decode_responses=True).xrange(
        keys.conversation_log(f"tg:{chat}")
    )
    said = [f.get("text", "") for _, f in log]
    assert not any("from our team" in t or "assistant again" in t for t in said)  # the events are
    events = [f["event"] for _, f in log if f.get("type") == "event"]  # logged, not doubled
    assert events[-3:] == ["agent_joined", "agent_joined", "bot_back"]


async def test_the_announcement_is_in_the_conversations_language(stack: Stack) -> None:
    emu, token = stack.telegram, stack.telegram_token
    chat, name = 920002, f"Bea{uuid.uuid4().hex[:6]}"
    emu.send_message(token, chat, "quiero hablar con una persona, por favor", first_name=name)
    await stack.handed_over(chat)
    card = await card_for(stack, name)
    click(stack, "claim", handoff_of(card), "U3", card["ts"])
    assert await telegram_texts(stack, chat, 1) == [SOFIA_JOINED]
    click(stack, "return", handoff_of(card), "U3", card["ts"])
    assert await telegram_texts(stack, chat, 1) == [BACK_ES]


@pytest.fixture
def outbox_watch(stack: Stack) -> Iterator[redis.Redis]:
    """A consumer group of the test's own on the outbox: it sees every entry, and trimming keeps
    them until the test is done."""
    store = redis.Redis.from_url(stack.engine.env["REDIS_URL"], decode_responses=True)
    store.xgroup_create(keys.OUTBOX, "announcements-test", id="$", mkstream=True)
    yield store
    store.xgroup_destroy(keys.OUTBOX, "announcements-test")


async def dropped_announcements(store: redis.Redis, conversation: str, count: int) -> list[str]:
    """The events announced on `conversation`, once the delivery worker has settled `count`."""
    seen: list[tuple[str, str]] = []
    async with asyncio.timeout(30):
        while True:
            for _, entries in store.xreadgroup("announcements-test", "t", {keys.OUTBOX: ">"}) or []:
                seen += [
                    (entry_id, fields["announces"])
                    for entry_id, fields in entries
                    if fields.get("conversation_id") == conversation and fields.get("announces")
                ]
            pending = {
                p["message_id"]
                for p in store.xpending_range(keys.OUTBOX, keys.OUTBOX_GROUP, "-", "+", 1000)
            }
            if len(seen) >= count and not pending & {entry_id for entry_id, _ in seen}:
                return [event for _, event in seen]
            await asyncio.sleep(0.1)


async def test_a_public_post_is_told_neither_of_a_join_nor_of_a_hand_back(
    stack: Stack, outbox_watch: redis.Redis
) -> None:
    handle = f"rosa{uuid.uuid4().hex[:6]}"
    event = mention("@brisaair quiero hablar con una persona")
    event["author"] = {"id": handle, "handle": handle, "followers": 300}
    assert post_event(stack, event).status_code == 202
    card = await card_for(stack, handle)
    handoff = handoff_of(card)
    conversation = (await _load(stack, handoff)).request.conversation_id
    click(stack, "claim", handoff, "U3", card["ts"])
    await _wait(lambda: "Sofía" in state_of(stack.slack.message("C1", card["ts"]) or card))
    write_in_thread(stack, "U3", "Hola, Rosa: te escribo por mensaje directo.", card["ts"])
    reply = f"@{handle} Hola, Rosa: te escribo por mensaje directo."
    await _wait(lambda: any(r["text"] == reply for r in stack.connector.replies))
    click(stack, "return", handoff, "U3", card["ts"])

    assert await dropped_announcements(outbox_watch, conversation, 2) == [
        "agent_joined",
        "bot_back",
    ]
    posts = [r["text"] for r in stack.connector.replies if r["text"].startswith(f"@{handle}")]
    assert not any(SOFIA_JOINED in p or BACK_ES in p for p in posts)  # nothing public
    assert posts[-1] == reply


async def test_the_web_chat_draws_the_events_and_gets_no_words_twice(
    stack: Stack, outbox_watch: redis.Redis
) -> None:
    async with WebchatCustomer(stack.ws_url) as customer:
        card, handoff = await claimed_from_the_web_chat(stack, customer)
        click(stack, "return", handoff, "U1", card["ts"])
        assert await dropped_announcements(outbox_watch, customer.conversation, 2) == [
            "agent_joined",
            "bot_back",
        ]
        async with asyncio.timeout(30):
            while not any(f.get("event") == "bot_back" for f in customer.frames):
                await asyncio.sleep(0.1)
        await asyncio.sleep(1)
        texts = [f.get("text", "") for f in customer.frames]
        assert not any(LAURA_JOINED in t or BACK_ES in t for t in texts)


async def test_a_telegram_customer_who_would_rather_not_wait_goes_back_to_the_assistant(
    stack: Stack,
) -> None:
    """QA s22 W3: waiting for a person was a dead end."""
    emu, token, slack = stack.telegram, stack.telegram_token, stack.slack
    chat, name = 920003, f"Cai{uuid.uuid4().hex[:6]}"
    emu.send_message(token, chat, "I want to speak to a person, please", first_name=name)
    _, wait = await stack.handed_over(chat)
    assert "Our team aims to reply within" in wait["message"]["text"]
    card = await card_for(stack, name)
    emu.send_callback(token, chat, BACK_TO_BOT, wait["messageId"], first_name=name)
    assert await telegram_texts(stack, chat, 1) == [BACK_EN]

    def shown() -> str:
        return state_of(slack.message("C1", card["ts"]) or card)

    await _wait(lambda: "back with the assistant" in shown())
    emu.send_message(token, chat, "is there wifi on board?", first_name=name)
    answer = await telegram_texts(stack, chat, 1)
    assert "wi-fi" in answer[0].lower()  # the assistant answers again

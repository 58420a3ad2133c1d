"""Commands and old buttons around a handoff (QA s21 D6, D10), through the real stack.

While a person has the conversation, /help, /start and /agent are answered by the gateway and
the Slack thread shows them marked, not as the customer's words; after a resolution, an article
tapped from an old offer is answered by the assistant instead of reopening the case, on
Telegram (a callback query) and in the web chat (a press the page would have disabled). Real
gateway, Rasa, action server, Telegram emulator and Slack emulator.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_desk import (
    _load,
    _thread_posts,
    _wait,
    card_for,
    claimed_from_the_web_chat,
    click,
    handoff_of,
    telegram_texts,
    write_in_thread,
)
from tests.e2e.webchat_client import WebchatCustomer

pytestmark = pytest.mark.slow

WITH_A_PERSON = "Una persona de nuestro equipo tiene esta conversación"
ALREADY = "Ya estás con nuestro equipo"
PICK = '/pick_article{"article":"payment-problems-es"}'


def _cards(stack: Stack, name: str) -> int:
    """How many desk cards name the customer."""
    return sum(
        1
        for m in stack.slack.messages("C1")
        if name in m.get("text", "") and m.get("thread_ts") in (None, m["ts"])
    )


async def _read_until(stack: Stack, chat: int, words: str) -> None:
    """Read the bot's messages to `chat` until one that contains `words`."""
    async with asyncio.timeout(60):
        while not any(words in t for t in await telegram_texts(stack, chat, 1)):
            pass


async def test_commands_while_a_person_has_it_are_answered_and_marked_on_the_desk(
    stack: Stack,
) -> None:
    emu, token = stack.telegram, stack.telegram_token
    chat, name = 910201, f"Olga{uuid.uuid4().hex[:6]}"
    emu.send_message(token, chat, "quiero hablar con una persona, por favor", first_name=name)
    await telegram_texts(stack, chat, 1)
    card = await card_for(stack, name)

    emu.send_command(token, chat, "help", first_name=name)
    [helped] = await telegram_texts(stack, chat, 1)
    assert helped.startswith(WITH_A_PERSON)
    emu.send_command(token, chat, "agent", first_name=name)
    [already] = await telegram_texts(stack, chat, 1)
    assert already.startswith(ALREADY)

    click(stack, "claim", handoff_of(card), "U1", card["ts"])
    [joined] = await telegram_texts(stack, chat, 1)
    assert joined.startswith("Laura")
    emu.send_command(token, chat, "start", first_name=name)
    [started] = await telegram_texts(stack, chat, 1)
    assert started.startswith(WITH_A_PERSON)

    marked = [
        f'🤖 "/{command}" (answered by Relevo: a person has this conversation)'
        for command in ("help", "agent", "start")
    ]
    await _wait(lambda: all(line in _thread_posts(stack, card["ts"]) for line in marked))
    assert not any(p.startswith("👤 /") for p in _thread_posts(stack, card["ts"]))
    assert _cards(stack, name) == 1  # /agent made no second handoff
    assert (await _load(stack, handoff_of(card))).state == "agent"


async def test_an_old_offer_tapped_after_the_resolution_is_answered_on_telegram(
    stack: Stack,
) -> None:
    emu, token = stack.telegram, stack.telegram_token
    chat, name = 910202, f"Pia{uuid.uuid4().hex[:6]}"
    emu.send_message(token, chat, "no me deja pagar con la tarjeta", first_name=name)
    (offer,) = await emu.await_bot_messages(token, chat, 1, 60)
    data = [
        b["callback_data"]
        for row in offer["message"]["reply_markup"]["inline_keyboard"]
        for b in row
    ]
    assert PICK in data
    emu.send_message(token, chat, "ninguno", first_name=name)  # typed: the keyboard stays
    card = await card_for(stack, name)
    handoff = handoff_of(card)
    click(stack, "claim", handoff, "U1", card["ts"])
    write_in_thread(stack, "U1", "Hola, lo miro yo.", card["ts"])
    await _read_until(stack, chat, "Hola, lo miro yo.")
    click(stack, "resolve", handoff, "U1", card["ts"])
    await _read_until(stack, chat, "de 1 (mala) a 5 (excelente)")

    emu.send_callback(token, chat, PICK, offer["messageId"], first_name=name)
    answer, ask = await telegram_texts(stack, chat, 2)
    assert "/payment-problems-es" in answer and ask == "¿Te ha servido?"
    view = await _load(stack, handoff)
    assert view.state == "closed" and not view.reopened_at
    await asyncio.sleep(1)
    assert not any(p.startswith("👤 Problemas") for p in _thread_posts(stack, card["ts"]))


async def test_an_old_article_pressed_in_the_web_chat_after_the_resolution_is_answered(
    stack: Stack,
) -> None:
    async with WebchatCustomer(stack.ws_url) as customer:
        card, handoff = await claimed_from_the_web_chat(stack, customer)
        click(stack, "resolve", handoff, "U1", card["ts"])
        async with asyncio.timeout(30):  # the rating question, with its buttons
            while not any(b["payload"] == "5" for b in customer.messages("bot")[-1]["buttons"]):
                await asyncio.sleep(0.1)
        before = len(customer.messages("bot"))
        press = {
            "type": "message",
            "client_id": uuid.uuid4().hex,
            "text": PICK,
            "display": "Problemas con el pago",
        }
        await customer.send_raw(json.dumps(press))
        said = await customer.wait_for("bot", before + 2)
        assert "/payment-problems-es" in said[before]["text"]
        view = await _load(stack, handoff)
        assert view.state == "closed" and not view.reopened_at

"""Telegram's inline buttons against the Bot API emulator (telegram-test-api), with real Redis.

In a group a press is taken only from the member the buttons answered; callback data is the
client's, so only the payloads the bot's own buttons carry are taken.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from bot.channels.telegram import MESSAGE_LIMIT, TelegramChannel, TelegramSender
from bot.conversations import ConversationStore
from bot.delivery import Target
from bot.invitations import Invitations
from bot.pipeline import InboundPipeline
from bot.ratelimit import RateLimits
from relevo import keys
from relevo.messages import Outgoing
from relevo.settings import Settings
from tests.conftest import free_port
from tests.emulators.telegram_emulator import TelegramEmulator

pytestmark = pytest.mark.timeout(60)

GROUP = -100777
ANAS = f"tg:{GROUP}:5"
ANA = {"id": 5, "is_bot": False, "first_name": "Ana", "username": "ana", "language_code": "es"}
LUIS = {"id": 6, "is_bot": False, "first_name": "Luis", "language_code": "en"}
PERSON = [{"title": "Hablar con una persona", "payload": "/ask_human"}]
_tokens = itertools.count(1)


@pytest.fixture(scope="module")
def emu() -> Iterator[TelegramEmulator]:
    """The emulator, logging every Bot API call: the callback answers are read from its log."""
    with TelegramEmulator(env={"TELEGRAM_EMULATOR_DEBUG": "1"}) as emulator:
        yield emulator


@pytest.fixture
async def channel(emu: TelegramEmulator, aclient: aioredis.Redis) -> AsyncIterator[TelegramChannel]:
    settings = Settings(
        telegram_token=SecretStr(f"{4100 + next(_tokens)}:buttons"),
        telegram_api_url=emu.bot_base_url,
        telegram_file_url=emu.bot_file_url,
    )
    channel = TelegramChannel(
        settings, InboundPipeline(aclient, settings), Invitations(aclient, settings)
    )
    await channel.start()
    yield channel
    await channel.stop()


def _token(channel: TelegramChannel) -> str:
    return channel.bot.token


async def _handle_new(channel: TelegramChannel) -> None:
    """Read what the customers sent and hand it to the channel, as polling does."""
    offset = None
    while updates := await channel.bot.get_updates(offset=offset, timeout=0):
        for update in updates:
            await channel.handle(update)
            offset = update.update_id + 1


def _press(
    emu: TelegramEmulator, channel: TelegramChannel, who: dict[str, Any], data: str, message: int
) -> None:
    """A member presses a button of the bot's `message` in the group."""
    chat = {"id": GROUP, "type": "supergroup", "title": "Viajeros"}
    response = emu.client.post(
        "/sendCallback",
        json={
            "botToken": _token(channel),
            "from": who,
            "data": data,
            "message": {"message_id": message, "chat": chat},
        },
    )
    response.raise_for_status()


async def _route(aclient: aioredis.Redis, conversation: str) -> dict[str, Any]:
    route: dict[str, Any] = (await ConversationStore(aclient, 0).meta(conversation))["route"]
    return route


async def _ask_in_group(
    emu: TelegramEmulator, channel: TelegramChannel, aclient: aioredis.Redis
) -> tuple[int, int]:
    """Ana asks the bot in the group, and it answers her with buttons: both message ids."""
    update = emu.send_raw_message(
        _token(channel),
        GROUP,
        {"text": "@TestNameBot mi maleta no ha llegado", "from": ANA},
        chat_type="supergroup",
        chat_title="Viajeros",
    )
    await _handle_new(channel)
    question = int(update["message"]["message_id"])
    route = await _route(aclient, ANAS)
    assert route["reply_to"] == question
    target = Target(ANAS, "telegram", route, public=False)
    answer = Outgoing("o1", ANAS, "bot", "¿Te paso con una persona?", buttons=PERSON)
    await channel.sender().send(answer, answer.text, 0, target)
    [sent] = await emu.await_bot_messages(_token(channel), GROUP)
    return question, int(sent["messageId"])


def _callback_answers(emu: TelegramEmulator, channel: TelegramChannel) -> list[dict[str, Any]]:
    """The answerCallbackQuery calls of this bot, as the emulator logged them."""
    pattern = re.compile(rf"POST /bot{re.escape(_token(channel))}/answerCallbackQuery (\{{.*\}})")
    return [json.loads(m.group(1)) for m in pattern.finditer(emu.log_text())]


async def _inbound(aclient: aioredis.Redis) -> list[tuple[str, str]]:
    return [(f["conversation_id"], f["text"]) for _, f in await aclient.xrange(keys.INBOUND)]


async def test_only_the_member_the_buttons_answered_may_press_them(
    emu: TelegramEmulator, channel: TelegramChannel, aclient: aioredis.Redis
) -> None:
    question, buttons = await _ask_in_group(emu, channel, aclient)
    _press(emu, channel, LUIS, "/ask_human", buttons)
    await _handle_new(channel)
    assert await _inbound(aclient) == [(ANAS, "mi maleta no ha llegado")]  # nothing for Luis
    assert not await aclient.exists(keys.conversation(f"tg:{GROUP}:6"))
    [refusal] = _callback_answers(emu, channel)
    assert refusal["text"] == "These buttons are for @ana. Mention me to ask your own question 🙂"
    _press(emu, channel, ANA, "/ask_human", buttons)
    await _handle_new(channel)
    assert (await _inbound(aclient))[-1] == (ANAS, "/ask_human")
    assert (await _route(aclient, ANAS))["reply_to"] == question  # the answer goes under it
    taken = _callback_answers(emu, channel)[-1]
    assert "text" not in taken  # her press just stops spinning


async def test_the_answer_to_a_press_in_a_group_replies_to_the_members_question(
    emu: TelegramEmulator, channel: TelegramChannel, aclient: aioredis.Redis
) -> None:
    """Even a long one, split in parts: the part with the keyboard replies too."""
    question, _ = await _ask_in_group(emu, channel, aclient)
    long = "Detalle. " * (MESSAGE_LIMIT // 9 + 10)
    answer = Outgoing("o2", ANAS, "bot", long, buttons=PERSON)
    target = Target(ANAS, "telegram", await _route(aclient, ANAS), public=False)
    parts = channel.sender().parts(answer, target)
    for index, part in enumerate(parts):
        await channel.sender().send(answer, part, index, target)
    first, last = await emu.await_bot_messages(_token(channel), GROUP, len(parts))
    assert last["message"]["reply_markup"]["inline_keyboard"]
    for part in (first, last):
        assert int(part["message"]["reply_parameters"]["message_id"]) == question
    _press(emu, channel, ANA, "/ask_human", int(last["messageId"]))
    await _handle_new(channel)
    assert (await _inbound(aclient))[-1] == (ANAS, "/ask_human")


@pytest.mark.parametrize(
    "data",
    [
        '/inform{"booking_code":"AAAAAA"}',
        '/pick_article{"article":"pets-es","language":"en"}',
        "/greet",
        "quiero una persona",
        "6",
    ],
)
async def test_callback_data_the_bot_never_sent_is_answered_and_ignored(
    data: str,
    emu: TelegramEmulator,
    channel: TelegramChannel,
    aclient: aioredis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    chat = 880001
    emu.send_message(_token(channel), chat, "hola")
    await _handle_new(channel)
    emu.client.post(
        "/sendCallback",
        json={
            "botToken": _token(channel),
            "from": {"id": chat, "is_bot": False, "first_name": "Eva"},
            "data": data,
            "message": {"message_id": 1, "chat": {"id": chat, "type": "private"}},
        },
    ).raise_for_status()
    with caplog.at_level(logging.WARNING, logger="bot.channels.telegram"):
        await _handle_new(channel)
    assert await _inbound(aclient) == [(f"tg:{chat}", "hola")]
    [answered] = _callback_answers(emu, channel)
    assert "text" not in answered
    assert any("never carry" in r.getMessage() for r in caplog.records)


def _keyboard_of(emu: TelegramEmulator, channel: TelegramChannel, message_id: int) -> Any:
    """The inline keyboard the bot's message `message_id` shows now (None: none)."""
    [record] = [
        r
        for r in emu.history(_token(channel))
        if r.get("messageId") == message_id and "chat_id" in r["message"]  # the bot's
    ]
    return record["message"].get("reply_markup")


async def test_a_taken_press_closes_its_keyboard_and_a_refused_one_leaves_it(
    emu: TelegramEmulator, channel: TelegramChannel, aclient: aioredis.Redis
) -> None:
    """QA s21: the keyboard stayed, so a "No 👎" pressed under an answered "Did this help?"
    was read as a no to "Anything else?" and said goodbye; a second "Yes" started over."""
    chat = 880200
    target = Target(f"tg:{chat}", "telegram", {"chat_id": chat}, public=False)
    yes_no = [{"title": "Yes 👍", "payload": "/affirm"}, {"title": "No 👎", "payload": "/deny"}]
    ask = Outgoing("h1", target.conversation_id, "bot", "Did this help?", buttons=yes_no)
    await channel.sender().send(ask, ask.text, 0, target)
    [sent] = await emu.await_bot_messages(_token(channel), chat)
    asked = int(sent["messageId"])
    emu.send_callback(_token(channel), chat, '/inform{"x":"y"}', asked)  # forged: refused
    await _handle_new(channel)
    assert _keyboard_of(emu, channel, asked)
    emu.send_callback(_token(channel), chat, "/affirm", asked)
    await _handle_new(channel)
    assert await _inbound(aclient) == [(f"tg:{chat}", "/affirm")]
    assert not _keyboard_of(emu, channel, asked)
    emu.send_callback(_token(channel), chat, "/deny", asked)  # a stale client still shows it
    await _handle_new(channel)
    assert (await _inbound(aclient))[-1] == (f"tg:{chat}", "/deny")  # taken, and no error


async def test_a_yes_or_no_under_an_older_question_is_refused_and_its_keyboard_closed(
    emu: TelegramEmulator, channel: TelegramChannel, aclient: aioredis.Redis
) -> None:
    """QA s25: a "No 👎" under an earlier "Did this help?" counted against the newest answer.
    An offered article says what it means, so an older offer still counts."""
    chat = 880300
    conversation = f"tg:{chat}"
    target = Target(conversation, "telegram", {"chat_id": chat}, public=False)
    await aclient.hset(keys.conversation(conversation), "language", "es")
    pick = '/pick_article{"article":"pets-es"}'
    offer = Outgoing(
        "s1", conversation, "bot", "¿Cuál?", buttons=[{"title": "Mascotas", "payload": pick}]
    )
    yes_no = [{"title": "Sí 👍", "payload": "/affirm"}, {"title": "No 👎", "payload": "/deny"}]
    for out_id in ("s2", "s3"):  # two answers, each asking "did this help?"
        ask = Outgoing(out_id, conversation, "bot", "¿Te ha servido?", buttons=yes_no)
        for message in (offer, ask) if out_id == "s2" else (ask,):
            await channel.sender().send(message, message.text, 0, target)
    sent = await emu.await_bot_messages(_token(channel), chat, 3)
    offered, older, latest = (int(m["messageId"]) for m in sent)

    emu.send_callback(_token(channel), chat, "/deny", older)
    await _handle_new(channel)
    assert await _inbound(aclient) == []
    [refused] = _callback_answers(emu, channel)
    assert (
        refused["text"]
        == "Esos botones eran de una respuesta anterior. Usa los de mi último mensaje 👇"
    )
    assert not _keyboard_of(emu, channel, older)
    assert _keyboard_of(emu, channel, latest)

    emu.send_callback(_token(channel), chat, pick, offered)
    emu.send_callback(_token(channel), chat, "/deny", latest)
    await _handle_new(channel)
    assert await _inbound(aclient) == [(conversation, pick), (conversation, "/deny")]


async def test_a_press_by_another_member_leaves_the_keyboard_to_its_owner(
    emu: TelegramEmulator, channel: TelegramChannel, aclient: aioredis.Redis
) -> None:
    _, buttons = await _ask_in_group(emu, channel, aclient)
    _press(emu, channel, LUIS, "/ask_human", buttons)
    await _handle_new(channel)
    assert _keyboard_of(emu, channel, buttons)
    _press(emu, channel, ANA, "/ask_human", buttons)
    await _handle_new(channel)
    assert not _keyboard_of(emu, channel, buttons)


async def test_offered_articles_go_one_a_row_and_short_answers_share_one(
    emu: TelegramEmulator, channel: TelegramChannel
) -> None:
    """QA s21: four offered articles on one row of an inline keyboard each got a quarter of a
    phone's width, their titles cut to "Cabin bag…": the customer could not tell them apart."""
    chat = 880100
    target = Target(f"tg:{chat}", "telegram", {"chat_id": chat}, public=False)
    offer = [
        {"title": "Cabin baggage: sizes, weight and what your fare includes", "payload": "/a"},
        {"title": "Checked baggage allowance, extra bags and overweight fees", "payload": "/b"},
        {"title": "Travelling with your pet: cabin, hold and assistance dogs", "payload": "/c"},
        {"title": "None: talk to a person", "payload": "/deny"},
    ]
    yes_no = [{"title": "Sí 👍", "payload": "/affirm"}, {"title": "No 👎", "payload": "/deny"}]
    ratings = [{"title": f"{n} ⭐", "payload": str(n)} for n in range(1, 6)]
    for n, buttons in enumerate((offer, yes_no, ratings)):
        message = Outgoing(f"k{n}", target.conversation_id, "bot", "?", buttons=buttons)
        await channel.sender().send(message, "?", 0, target)
    sent = await emu.await_bot_messages(_token(channel), chat, 3)
    rows = [
        [
            [(b["text"], b["callback_data"]) for b in row]
            for row in m["message"]["reply_markup"]["inline_keyboard"]
        ]
        for m in sent
    ]
    assert rows[0] == [[(b["title"], b["payload"])] for b in offer]
    assert rows[1] == [[("Sí 👍", "/affirm"), ("No 👎", "/deny")]]
    assert rows[2] == [[(f"{n} ⭐", str(n)) for n in range(1, 6)]]


async def test_a_keyboard_sent_while_redis_fails_to_record_it_is_sent_once(
    emu: TelegramEmulator, channel: TelegramChannel, caplog: pytest.LogCaptureFixture
) -> None:
    """The message is out: a failure to record its keyboard must not make delivery send it again."""
    chat = 880400
    dead = aioredis.Redis(port=free_port(), socket_connect_timeout=0.2)
    sender = TelegramSender(
        channel.bot, RateLimits(overall=100, per_chat=100), ConversationStore(dead)
    )
    target = Target(f"tg:{chat}", "telegram", {"chat_id": chat}, public=False)
    yes_no = [{"title": "Yes 👍", "payload": "/affirm"}, {"title": "No 👎", "payload": "/deny"}]
    ask = Outgoing("r1", target.conversation_id, "bot", "Did this help?", buttons=yes_no)
    with caplog.at_level(logging.WARNING, logger="bot.channels.telegram"):
        await sender.send(ask, ask.text, 0, target)
    [sent] = await emu.await_bot_messages(_token(channel), chat)
    assert sent["message"]["reply_markup"]["inline_keyboard"]
    assert any("latest keyboard not recorded" in r.getMessage() for r in caplog.records)
    await dead.aclose()

"""Button presses and channel commands around a handoff (QA s21 D6, D10), against a real Redis.

After a resolution, an old button is for the assistant, not a reopening; while a person has the
conversation, /help, /start and /agent are answered by the gateway and shown to the desk marked.
Telegram's updates go through its real adapter code (`received`, `TelegramChannel.handle`).
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr
from telegram import Update

from bot.channels.telegram import TelegramChannel
from bot.channels.telegram_updates import received
from bot.conversations import Route
from bot.gestures import Gesture, gesture_of
from bot.inbound import Channel, Customer, Inbound
from bot.invitations import Invitations
from bot.pipeline import InboundPipeline
from handoff.relay import relayed_line
from relevo import keys
from relevo.messages import BACK_TO_BOT
from relevo.settings import Settings

CHAT = 7
TG = f"tg:{CHAT}"
PICK = '/pick_article{"article":"pets-es"}'
_ids = itertools.count(1)


def _channel(client: aioredis.Redis) -> TelegramChannel:
    settings = Settings(telegram_token=SecretStr("1234:token"))
    return TelegramChannel(
        settings, InboundPipeline(client, settings), Invitations(client, settings)
    )


def _user() -> dict[str, Any]:
    return {"id": CHAT, "is_bot": False, "first_name": "Ana", "language_code": "es"}


def _command(channel: TelegramChannel, body: str) -> Update:
    """The customer types `body`, a command, in the private chat."""
    number = next(_ids)
    entity = {"type": "bot_command", "offset": 0, "length": len(body.split()[0])}
    message = {
        "message_id": number,
        "date": 1_700_000_000,
        "chat": {"id": CHAT, "type": "private"},
        "from": _user(),
        "text": body,
        "entities": [entity],
    }
    update = Update.de_json({"update_id": number, "message": message}, channel.bot)
    assert update is not None
    return update


def _pressed(data: str, buttons: list[tuple[str, str]]) -> Inbound:
    """The customer taps `data` under one of the bot's messages, as the adapter reads it."""
    number = next(_ids)
    keyboard = [[{"text": title, "callback_data": payload} for title, payload in buttons]]
    query = {
        "id": f"q{number}",
        "from": _user(),
        "chat_instance": "ci",
        "data": data,
        "message": {
            "message_id": 900 + number,
            "date": 1_700_000_000,
            "chat": {"id": CHAT, "type": "private"},
            "from": {"id": 1, "is_bot": True, "first_name": "Brisa"},
            "text": "…",
            "reply_markup": {"inline_keyboard": keyboard},
        },
    }
    update = Update.de_json({"update_id": number, "callback_query": query}, None)
    assert update is not None
    got = received(update, "brisabot")
    assert got is not None
    return got.inbound


OFFER = [("Mascotas en cabina", PICK), ("Ninguno: hablar con una persona", "/ask_human")]
HELPED = [("Sí 👍", "/affirm"), ("No 👎", "/deny")]
RATING = [(f"{n} ⭐", str(n)) for n in range(1, 6)]
BACK = [("Volver al asistente", BACK_TO_BOT)]


async def _with(client: aioredis.Redis, owner: str) -> None:
    """tg:7's handoff h1, owned as `owner`: resolved a minute ago with its rating asked, or open."""
    await client.set(keys.conversation_owner(TG), owner)
    await client.set(keys.conversation_handoff(TG), "h1")
    await client.hset(keys.conversation(TG), "language", "es")
    await client.hset(
        keys.handoff("h1"),
        mapping={
            "state": "closed" if owner == "closed" else "queued",
            "conversation": TG,
            "rating_asked": "1" if owner == "closed" else "",
            "record": json.dumps({"language": "es"}),
            "resolved_epoch": str(time.time() - 60),
        },
    )


async def _outbox(client: aioredis.Redis) -> list[str]:
    return [fields["text"] for _, fields in await client.xrange(keys.OUTBOX)]


async def _relayed(client: aioredis.Redis) -> list[dict[str, str]]:
    return [fields for _, fields in await client.xrange(keys.DESK_RELAY)]


async def _for_rasa(client: aioredis.Redis) -> list[str]:
    return [fields["text"] for _, fields in await client.xrange(keys.INBOUND)]


@pytest.mark.parametrize(
    ("inbound", "answered", "gesture"),
    [
        (_pressed(PICK, OFFER), False, Gesture.PRESS),
        (_pressed("/deny", HELPED), False, Gesture.PRESS),
        (_pressed("4", RATING), False, Gesture.PRESS),
        (_pressed("/ask_human", OFFER), False, Gesture.PERSON),
        (Inbound(Channel.TELEGRAM, TG, "m", Customer("7"), "/help"), True, Gesture.COMMAND),
        (
            Inbound(Channel.TELEGRAM, TG, "m", Customer("7"), "/greet", display="/start"),
            False,
            Gesture.COMMAND,
        ),
        (
            Inbound(Channel.TELEGRAM, TG, "m", Customer("7"), "/ask_human", display="/agent"),
            False,
            Gesture.PERSON,
        ),
        (
            Inbound(Channel.WEBCHAT, "wc-1", "m", Customer("1"), PICK, display="Mascotas"),
            False,
            Gesture.PRESS,
        ),
        (Inbound(Channel.WEBCHAT, "wc-1", "m", Customer("1"), "/ask_human"), False, Gesture.TYPED),
        (_pressed(BACK_TO_BOT, BACK), False, Gesture.BOT),
        (
            Inbound(Channel.WEBCHAT, "wc-1", "m", Customer("1"), BACK_TO_BOT, display="Volver"),
            False,
            Gesture.BOT,
        ),
        (Inbound(Channel.WEBCHAT, "wc-1", "m", Customer("1"), BACK_TO_BOT), False, Gesture.TYPED),
        (Inbound(Channel.TELEGRAM, TG, "m", Customer("7"), "hola"), False, Gesture.TYPED),
        # The button's words typed (QA s24 C1), in either language, however written.
        (
            Inbound(Channel.WEBCHAT, "wc-1", "m", Customer("1"), "volver al asistente"),
            False,
            Gesture.BOT,
        ),
        (
            Inbound(Channel.TELEGRAM, TG, "m", Customer("7"), "Back to the assistant!"),
            False,
            Gesture.BOT,
        ),
        (
            Inbound(Channel.WEBCHAT, "wc-1", "m", Customer("1"), "quiero volver al asistente"),
            False,
            Gesture.TYPED,
        ),
    ],
)
def test_what_a_message_is_beyond_its_words(
    inbound: Inbound, answered: bool, gesture: Gesture
) -> None:
    assert gesture_of(inbound, answered=answered) is gesture


@pytest.mark.parametrize(
    ("data", "buttons"), [(PICK, OFFER), ("/affirm", HELPED), ("/deny", HELPED)]
)
async def test_an_old_button_after_a_resolution_goes_to_the_assistant_not_the_person(
    aclient: aioredis.Redis, data: str, buttons: list[tuple[str, str]]
) -> None:
    await _with(aclient, "closed")
    accepted = await InboundPipeline(aclient, Settings()).accept(_pressed(data, buttons))
    assert accepted.route is Route.BOT
    assert await _for_rasa(aclient) == [data]  # the article is answered; a stale yes/no politely
    assert await aclient.get(keys.conversation_owner(TG)) == "bot"
    assert await aclient.hget(keys.handoff("h1"), "state") == "closed"
    assert await aclient.xlen(keys.handoff("h1") + ":events") == 0  # no reopening
    assert await _relayed(aclient) == [] and await _outbox(aclient) == []


async def test_an_old_button_in_the_web_chat_after_a_resolution_goes_to_the_assistant(
    aclient: aioredis.Redis,
) -> None:
    await aclient.set(keys.conversation_owner("wc-12345678"), "closed")
    await aclient.set(keys.conversation_handoff("wc-12345678"), "h2")
    await aclient.hset(
        keys.handoff("h2"),
        mapping={"state": "closed", "rating_asked": "1", "resolved_epoch": str(time.time() - 60)},
    )
    tapped = Inbound(Channel.WEBCHAT, "wc-12345678", "w1", Customer("wc"), PICK, display="Pets")
    assert (await InboundPipeline(aclient, Settings()).accept(tapped)).route is Route.BOT
    assert await aclient.get(keys.conversation_owner("wc-12345678")) == "bot"


async def test_asking_for_a_person_after_a_resolution_still_reopens(
    aclient: aioredis.Redis,
) -> None:
    await _with(aclient, "closed")
    accepted = await InboundPipeline(aclient, Settings()).accept(_pressed("/ask_human", OFFER))
    assert accepted.route is Route.RELAY
    assert await aclient.get(keys.conversation_owner(TG)) == "queued"
    assert (
        await aclient.hget(keys.handoff("h1"), "reopened_by") == "Ninguno: hablar con una persona"
    )


async def test_a_rating_pressed_once_the_assistant_has_it_again_is_the_rating(
    aclient: aioredis.Redis,
) -> None:
    pipeline = InboundPipeline(aclient, Settings())
    await _with(aclient, "closed")
    assert (await pipeline.accept(_pressed(PICK, OFFER))).route is Route.BOT
    assert (await pipeline.accept(_pressed("4", RATING))).route is Route.RATING
    assert await aclient.hget(keys.handoff("h1"), "rating") == "4"
    assert (await pipeline.accept(_pressed("2", RATING))).route is Route.RATED_AGAIN
    assert await aclient.hget(keys.handoff("h1"), "rating") == "4"  # the first one stands
    typed = Inbound(Channel.TELEGRAM, TG, "typed-4", Customer("7"), "4")
    assert (await pipeline.accept(typed)).route is Route.BOT  # typed, it may answer the bot
    assert await _for_rasa(aclient) == [PICK, "4"]
    assert [r["kind"] for r in await _relayed(aclient)] == ["rating", "rating"]
    assert await aclient.get(keys.conversation_owner(TG)) == "bot"


async def test_help_and_start_after_a_resolution_are_the_assistants_again(
    aclient: aioredis.Redis,
) -> None:
    channel = _channel(aclient)
    await _with(aclient, "closed")
    await channel.handle(_command(channel, "/help"))
    assert await aclient.get(keys.conversation_owner(TG)) == "bot"
    [helped] = await _outbox(aclient)
    assert helped.startswith("Soy el asistente de Brisa Air")
    await channel.handle(_command(channel, "/start"))
    assert await _for_rasa(aclient) == ['/greet{"language":"es"}']
    assert await aclient.xlen(keys.handoff("h1") + ":events") == 0  # never reopened
    assert await _relayed(aclient) == []


async def test_agent_after_a_resolution_reopens_the_case(aclient: aioredis.Redis) -> None:
    channel = _channel(aclient)
    await _with(aclient, "closed")
    await channel.handle(_command(channel, "/agent"))
    assert await aclient.get(keys.conversation_owner(TG)) == "queued"
    [relayed] = await _relayed(aclient)
    assert relayed_line(relayed) == "👤 /agent"
    assert await _for_rasa(aclient) == []


HELP_WITH_A_PERSON = "Una persona de nuestro equipo tiene esta conversación"
ALREADY = "Ya estás con nuestro equipo"


@pytest.mark.parametrize("owner", ["queued", "agent:U1"])
@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("/help", HELP_WITH_A_PERSON),
        ("/start", HELP_WITH_A_PERSON),
        ("/foo", HELP_WITH_A_PERSON),
        ("/agent", ALREADY),
    ],
)
async def test_a_command_while_a_person_has_it_is_answered_and_shown_marked(
    aclient: aioredis.Redis, owner: str, command: str, answer: str
) -> None:
    channel = _channel(aclient)
    await _with(aclient, owner)
    await channel.handle(_command(channel, command))
    [said] = await _outbox(aclient)
    assert said.startswith(answer)
    [relayed] = await _relayed(aclient)
    assert relayed["kind"] == "command" and relayed["owner"] == owner
    assert relayed_line(relayed) == (
        f'🤖 "{command}" (answered by Relevo: a person has this conversation)'
    )
    assert await _for_rasa(aclient) == []  # /agent makes no second handoff
    assert await aclient.get(keys.conversation_owner(TG)) == owner
    assert await aclient.exists(keys.conversation_waiting_notice(TG)) == 0  # no "Got it" too


async def test_a_person_tap_while_queued_is_told_a_person_has_it(aclient: aioredis.Redis) -> None:
    await _with(aclient, "queued")
    accepted = await InboundPipeline(aclient, Settings()).accept(_pressed("/ask_human", OFFER))
    assert accepted.route is Route.COMMAND and accepted.waiting is None
    [said] = await _outbox(aclient)
    assert said.startswith(ALREADY)


async def test_words_while_queued_are_still_relayed_as_the_customers(
    aclient: aioredis.Redis,
) -> None:
    await _with(aclient, "queued")
    words = Inbound(Channel.TELEGRAM, TG, "w1", Customer("7"), "¿hay alguien?")
    accepted = await InboundPipeline(aclient, Settings()).accept(words)
    assert accepted.route is Route.RELAY and accepted.waiting is not None
    [relayed] = await _relayed(aclient)
    assert relayed_line(relayed) == "👤 ¿hay alguien?"


@pytest.mark.parametrize("owner", ["bot", "closed"])
async def test_back_to_the_assistant_when_it_has_the_conversation_is_a_greeting(
    aclient: aioredis.Redis, owner: str
) -> None:
    """An old "back to the assistant" button: a hello again, never a reopening (QA s22 W3)."""
    await _with(aclient, owner)
    accepted = await InboundPipeline(aclient, Settings()).accept(_pressed(BACK_TO_BOT, BACK))
    assert accepted.route is Route.BOT
    assert await _for_rasa(aclient) == ['/greet{"language":"es"}']  # greeted in Spanish
    assert await aclient.get(keys.conversation_owner(TG)) == "bot"
    assert await aclient.xlen(keys.handoff("h1") + ":events") == 0
    assert await _relayed(aclient) == []


@pytest.mark.parametrize("owner", ["bot", "closed"])
async def test_the_buttons_words_typed_to_the_assistant_are_a_greeting_not_a_handoff(
    aclient: aioredis.Redis, owner: str
) -> None:
    """QA s24 C1: "volver al asistente" typed to the assistant was read as asking for a person."""
    await _with(aclient, owner)
    typed = Inbound(Channel.WEBCHAT, TG, "w2", Customer("7"), "Volver al asistente")
    accepted = await InboundPipeline(aclient, Settings()).accept(typed)
    assert accepted.route is Route.BOT
    assert await _for_rasa(aclient) == ['/greet{"language":"es"}']


async def test_back_to_the_assistant_while_queued_goes_to_the_desk_to_return_it(
    aclient: aioredis.Redis,
) -> None:
    await _with(aclient, "queued")
    accepted = await InboundPipeline(aclient, Settings()).accept(_pressed(BACK_TO_BOT, BACK))
    assert accepted.route is Route.BACK
    [relayed] = await _relayed(aclient)
    assert relayed["kind"] == "back" and relayed["handoff"] == "h1"
    assert "went back to the assistant" in relayed_line(relayed)
    assert await _for_rasa(aclient) == [] and await _outbox(aclient) == []

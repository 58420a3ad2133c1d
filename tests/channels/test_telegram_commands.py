"""Telegram's /start and /help through the real pipeline and Redis.

One greeting when an invitation is followed, and both in the conversation's language.
"""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis
from pydantic import SecretStr
from telegram import Update

from bot.channels.telegram import TelegramChannel
from bot.customers import Customers
from bot.inbound import Channel, Customer, Inbound
from bot.invitations import Invitations
from bot.pipeline import InboundPipeline
from relevo import keys
from relevo.settings import Settings

CHAT = 7


def _channel(client: aioredis.Redis) -> TelegramChannel:
    settings = Settings(telegram_token=SecretStr("1234:token"))
    return TelegramChannel(
        settings, InboundPipeline(client, settings), Invitations(client, settings)
    )


def _update(channel: TelegramChannel, update_id: int, text: str, app_language: str) -> Update:
    user = {"id": CHAT, "is_bot": False, "first_name": "Ana", "language_code": app_language}
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": 1_700_000_000,
        "chat": {"id": CHAT, "type": "private"},
        "from": user,
        "text": text,
    }
    if text.startswith("/"):
        length = len(text.split()[0])
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    update = Update.de_json({"update_id": update_id, "message": message}, channel.bot)
    assert update is not None
    return update


async def _public_conversation(client: aioredis.Redis) -> str:
    """A public question about a booking, and the token of its invitation to private."""
    settings = Settings()
    await InboundPipeline(client, settings).accept(
        Inbound(
            Channel.SOCIAL,
            "social:x:t1:u1",
            "p1",
            Customer("u1", handle="ana_travels"),
            "quiero cambiar la fecha de mi reserva",
            public=True,
            route={"handle": "ana_travels", "reply_to": "p1"},
        )
    )
    await client.delete(keys.INBOUND, keys.OUTBOX)  # the public turn is not under test
    return await Customers(client).invite_token("social:x:t1:u1")


async def _queued(client: aioredis.Redis, stream: str) -> list[dict[str, str]]:
    return [fields for _, fields in await client.xrange(stream)]


async def test_a_followed_invitation_is_greeted_once_and_its_question_carried_over(
    aclient: aioredis.Redis,
) -> None:
    """The welcome quotes the public question, which goes to the assistant in private (not a
    /greet): the customer does not write it again."""
    token = await _public_conversation(aclient)
    channel = _channel(aclient)
    await channel.handle(_update(channel, 1, f"/start {token}", "en"))
    await channel.handle(_update(channel, 1, f"/start {token}", "en"))  # Telegram sends it again
    [welcome] = await _queued(aclient, keys.OUTBOX)
    assert welcome["text"].startswith("¡Hola @ana_travels!")
    assert "«quiero cambiar la fecha de mi reserva»" in welcome["text"]
    [carried] = await _queued(aclient, keys.INBOUND)
    assert carried["text"] == "quiero cambiar la fecha de mi reserva"
    assert carried["conversation_id"].startswith("tg:")  # the private chat


async def test_a_refused_invitation_is_told_so_and_gets_the_normal_greeting(
    aclient: aioredis.Redis,
) -> None:
    channel = _channel(aclient)
    await channel.handle(_update(channel, 1, "/start not-a-token", "es"))
    [told] = await _queued(aclient, keys.OUTBOX)
    assert told["text"].startswith("Este enlace ha caducado o no es válido")
    [greet] = await _queued(aclient, keys.INBOUND)
    assert greet["text"] == '/greet{"language":"es"}'


async def test_start_in_a_fresh_chat_greets_in_the_app_language(aclient: aioredis.Redis) -> None:
    """Rasa reads no metadata for a "/intent" message: the language goes in the payload."""
    channel = _channel(aclient)
    await channel.handle(_update(channel, 1, "/start", "es"))
    [greet] = await _queued(aclient, keys.INBOUND)
    assert greet["text"] == '/greet{"language":"es"}'
    assert json.loads(greet["metadata"])["language"] == "es"


async def test_start_and_help_follow_the_conversation_not_the_app_language(
    aclient: aioredis.Redis,
) -> None:
    channel = _channel(aclient)
    await channel.handle(
        _update(channel, 1, "hola, ¿cuánto equipaje puedo llevar en cabina?", "en")
    )
    assert await aclient.hget(keys.conversation(f"tg:{CHAT}"), "language") == "es"
    await channel.handle(_update(channel, 2, "/help", "en"))
    [help_] = await _queued(aclient, keys.OUTBOX)
    assert help_["text"].startswith("Soy el asistente de Brisa Air")
    await channel.handle(_update(channel, 3, "/start", "en"))
    *_, greet = await _queued(aclient, keys.INBOUND)
    assert greet["text"] == '/greet{"language":"es"}'


async def test_help_in_a_fresh_chat_is_in_the_app_language(aclient: aioredis.Redis) -> None:
    channel = _channel(aclient)
    await channel.handle(_update(channel, 1, "/help", "es"))
    [help_] = await _queued(aclient, keys.OUTBOX)
    assert help_["text"].startswith("Soy el asistente de Brisa Air")


async def test_agent_in_a_fresh_chat_hands_over_in_the_app_language(
    aclient: aioredis.Redis,
) -> None:
    """QA s21: /agent as a Spanish chat's first message got "I'm passing you to a person" in
    English: Rasa reads a "/intent" message itself and drops the language of the metadata."""
    channel = _channel(aclient)
    await channel.handle(_update(channel, 1, "/agent", "es"))
    [ask] = await _queued(aclient, keys.INBOUND)
    assert ask["text"] == '/ask_human{"language":"es"}'
    assert json.loads(ask["metadata"])["language"] == "es"
    [logged] = [f for _, f in await aclient.xrange(keys.conversation_log(f"tg:{CHAT}"))]
    assert logged["display"] == "/agent"  # the desk and the history show what was typed


async def test_agent_follows_the_conversation_not_the_app_language(
    aclient: aioredis.Redis,
) -> None:
    channel = _channel(aclient)
    await channel.handle(_update(channel, 1, "hola, ¿hay wifi a bordo del avión?", "en"))
    await channel.handle(_update(channel, 2, "/agent", "en"))
    *_, ask = await _queued(aclient, keys.INBOUND)
    assert ask["text"] == '/ask_human{"language":"es"}'

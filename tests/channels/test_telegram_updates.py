"""Telegram updates in: one that fails every time is dropped, a dead Redis is waited out."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from telegram import Update

from bot.channels.telegram import TelegramChannel
from bot.channels.telegram_split import PART_UNITS, telegram_length
from bot.channels.telegram_updates import received
from bot.inbound import Inbound, Kind
from bot.invitations import Invitations
from bot.pipeline import InboundPipeline
from relevo import keys
from relevo.settings import Settings
from tests.conftest import free_port

POISON = "this message breaks the pipeline"


class BrokenOnOneText(InboundPipeline):
    """The real pipeline, with a bug that one message text sets off."""

    async def accept(self, inbound: Inbound, **options: Any) -> Any:  # type: ignore[override]
        if inbound.text == POISON:
            raise ValueError("a bug in the pipeline")
        return await super().accept(inbound, **options)


def _settings(**changes: Any) -> Settings:
    return Settings(telegram_token=SecretStr("1234:token"), **changes)


def _update(
    update_id: int, text: str, channel: TelegramChannel, *, edited_at: int | None = None
) -> Update:
    """Message `update_id` in Ana's private chat; with `edited_at`, its edit to `text`."""
    user = {"id": 7, "is_bot": False, "first_name": "Ana", "language_code": "es"}
    message = {
        "message_id": update_id,
        "date": 1_700_000_000,
        "chat": {"id": 7, "type": "private"},
        "from": user,
        "text": text,
    }
    if edited_at is None:
        raw = {"update_id": update_id, "message": message}
    else:
        raw = {"update_id": update_id + 1000, "edited_message": {**message, "edit_date": edited_at}}
    update = Update.de_json(raw, channel.bot)
    assert update is not None
    return update


def _channel(client: aioredis.Redis, pipeline_class: type[InboundPipeline]) -> TelegramChannel:
    settings = _settings()
    return TelegramChannel(
        settings, pipeline_class(client, settings), Invitations(client, settings)
    )


async def test_an_update_that_always_fails_is_logged_and_dropped_and_the_next_one_goes_on(
    aclient: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    channel = _channel(aclient, BrokenOnOneText)
    with caplog.at_level(logging.ERROR, logger="bot.channels.telegram"):
        await channel.handle_or_reject(_update(1, POISON, channel))
        await channel.handle_or_reject(_update(2, "hola, una pregunta", channel))
    assert [r.update_id for r in caplog.records] == [1]  # type: ignore[attr-defined]
    assert "rejected" in caplog.records[0].getMessage()
    texts = [f["text"] for _, f in await aclient.xrange(keys.conversation_log("tg:7"))]
    assert texts == ["hola, una pregunta"]


async def test_an_update_is_kept_for_another_try_while_redis_is_down() -> None:
    dead = aioredis.Redis(port=free_port(), socket_connect_timeout=0.5)
    channel = _channel(dead, InboundPipeline)
    with pytest.raises(RedisConnectionError):
        await channel.handle_or_reject(_update(3, "hola", channel))
    await dead.aclose()


async def test_an_update_is_kept_for_another_try_while_redis_is_full(
    aclient: aioredis.Redis,
) -> None:
    """Out of memory (a real Redis at its limit) is Redis's state, not the update's: not dropped."""
    channel = _channel(aclient, InboundPipeline)
    await aclient.config_set("maxmemory", "1")
    try:
        with pytest.raises(ResponseError, match="OOM"):
            await channel.handle_or_reject(_update(4, "hola", channel))
    finally:
        await aclient.config_set("maxmemory", "0")
    await channel.handle_or_reject(_update(4, "hola", channel))  # once there is room
    texts = [f["text"] for _, f in await aclient.xrange(keys.conversation_log("tg:7"))]
    assert texts == ["hola"]


@pytest.mark.parametrize("secret", [None, "", "has spaces", "x" * 257])
async def test_webhook_mode_needs_a_usable_secret_before_it_calls_telegram(
    secret: str | None, aclient: aioredis.Redis
) -> None:
    settings = _settings(
        telegram_mode="webhook",
        telegram_webhook_url="https://relevo.example/channels/telegram/webhook",
        telegram_webhook_secret=SecretStr(secret) if secret is not None else None,
        telegram_api_url="http://127.0.0.1:9/bot",  # nothing listens: a call would fail otherwise
    )
    channel = TelegramChannel(
        settings, InboundPipeline(aclient, settings), Invitations(aclient, settings)
    )
    with pytest.raises(ValueError, match="RELEVO_TELEGRAM_WEBHOOK_SECRET"):
        await channel.start()


async def test_an_edit_reaches_the_person_on_the_case_and_is_only_logged_while_the_bot_has_it(
    aclient: aioredis.Redis,
) -> None:
    channel = _channel(aclient, InboundPipeline)
    await channel.handle_or_reject(_update(5, "mi código es ABC124", channel))
    await channel.handle_or_reject(_update(5, "mi código es ABC125", channel, edited_at=1))
    assert await aclient.xlen(keys.INBOUND) == 1  # the assistant never reads the edit
    assert await aclient.xlen(keys.DESK_RELAY) == 0
    await aclient.set(keys.conversation_owner("tg:7"), "agent:U1")
    await channel.handle_or_reject(_update(5, "mi código es ABC126", channel, edited_at=2))
    await channel.handle_or_reject(_update(5, "mi código es ABC126", channel, edited_at=2))
    logged = [f for _, f in await aclient.xrange(keys.conversation_log("tg:7"))]
    assert [(f["kind"], f["text"], f.get("display")) for f in logged] == [
        ("text", "mi código es ABC124", None),
        ("edit", "mi código es ABC125", "[edited] mi código es ABC125"),
        ("edit", "mi código es ABC126", "[edited] mi código es ABC126"),  # the repeat: dropped
    ]
    [(_, relayed)] = await aclient.xrange(keys.DESK_RELAY)
    assert (relayed["owner"], relayed["log_id"]) == ("agent:U1", (await _last_log_id(aclient)))
    assert await aclient.xlen(keys.INBOUND) == 1
    assert await aclient.xlen(keys.EVENTS) == 1  # an edit is not a new message in the reports


PASTE = "Os escribo porque el vuelo de ayer fue un desastre de principio a fin, y quiero "
PASTE_START = (PASTE * 60)[:4096]  # Telegram's app sends the first 4096 characters...
PASTE_REST = "...y por eso os pido que me devolváis el dinero del billete."  # ... then the rest


async def test_the_rest_of_a_paste_telegram_split_is_not_answered_on_its_own(
    aclient: aioredis.Redis,
) -> None:
    """QA s21 D12: the rest, read without its start, was answered out of context."""
    channel = _channel(aclient, InboundPipeline)
    await channel.handle_or_reject(_update(20, PASTE_START, channel))
    await channel.handle_or_reject(_update(21, PASTE_REST, channel))
    await channel.handle_or_reject(_update(22, "¿puedo llevar a mi perro en cabina?", channel))
    logged = [f for _, f in await aclient.xrange(keys.conversation_log("tg:7"))]
    assert [f["kind"] for f in logged if f["author"] == "customer"] == [
        "text",
        "continued",  # kept for whoever reads the conversation
        "text",  # the short rest closed the window: the next message is a new one
    ]
    [(_, notice)] = await aclient.xrange(keys.OUTBOX)  # the start: too long; the rest: nothing
    assert "largo" in notice["text"]
    questions = [f["text"] for _, f in await aclient.xrange(keys.INBOUND)]
    assert questions == ["¿puedo llevar a mi perro en cabina?"]
    assert await aclient.xlen(keys.EVENTS) == 2  # one paste is one message in the reports


async def test_a_question_right_after_a_long_text_within_the_limit_is_answered(
    aclient: aioredis.Redis,
) -> None:
    """QA s25 H5: it was kept unanswered as the rest of a split paste."""
    channel = _channel(aclient, InboundPipeline)
    long_text = PASTE_START[:3600]  # answered: under RELEVO_MAX_MESSAGE_CHARS (4000)
    await channel.handle_or_reject(_update(25, long_text, channel))
    await channel.handle_or_reject(_update(26, "can I get a refund for this?", channel))
    questions = [f["text"] for _, f in await aclient.xrange(keys.INBOUND)]
    assert [q[:30] for q in questions] == [long_text[:30], "can I get a refund for this?"]


async def test_the_rest_of_a_split_paste_reaches_the_person_on_the_case(
    aclient: aioredis.Redis,
) -> None:
    channel = _channel(aclient, InboundPipeline)
    await aclient.set(keys.conversation_owner("tg:7"), "agent:U1")
    await aclient.set(keys.conversation_handoff("tg:7"), "h1")
    await channel.handle_or_reject(_update(23, PASTE_START, channel))
    await channel.handle_or_reject(_update(24, PASTE_REST, channel))
    relayed = [f["text"] for _, f in await aclient.xrange(keys.DESK_RELAY)]
    assert relayed[-1] == PASTE_REST and len(relayed) == 2
    assert await aclient.xlen(keys.INBOUND) == 0


def test_telegram_counts_an_emoji_as_two() -> None:
    assert (telegram_length("🧳 maleta"), len("🧳 maleta")) == (9, 8)
    assert telegram_length("a" * PART_UNITS) >= PART_UNITS


async def _last_log_id(client: aioredis.Redis) -> str:
    [(entry_id, _)] = await client.xrevrange(keys.conversation_log("tg:7"), count=1)
    return str(entry_id)


def _group_update(text: str, channel: TelegramChannel, update_id: int = 30) -> Update:
    """Ana writes `text` in a group, without mentioning the bot (its name is TestNameBot)."""
    user = {"id": 7, "is_bot": False, "first_name": "Ana", "language_code": "en"}
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": 1_700_000_000,
        "chat": {"id": -100900, "type": "supergroup", "title": "Viajeros"},
        "from": user,
        "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
    }
    update = Update.de_json({"update_id": update_id, "message": message}, channel.bot)
    assert update is not None
    return update


@pytest.mark.parametrize(
    ("text", "taken"),
    [
        ("/agent@TestNameBot", "/ask_human"),
        ("/AGENT@testnamebot", "/ask_human"),
        ("/help@TestNameBot", "help"),
        ("/start@TestNameBot", "/greet"),
        ("/agent", "/ask_human"),  # privacy mode: Telegram sends a bot only commands for it
        ("/help@OtherBot", None),  # another bot's
        ("/weather", None),  # not one of its commands, and not addressed to it
        ("/help@TestNameBot2", None),
    ],
)
def test_in_a_group_a_command_for_the_bot_is_taken_without_a_mention(
    text: str, taken: str | None, aclient: aioredis.Redis
) -> None:
    """QA s21: "/agent@TestNameBot" in a group was dropped: the @ after "agent" is not a
    mention (it follows a word character), so the bot stayed silent to its own command."""
    channel = _channel(aclient, InboundPipeline)
    got = received(_group_update(text, channel), "TestNameBot")
    if taken is None:
        assert got is None
    else:
        assert got is not None
        assert taken == ("help" if got.command == "help" else got.inbound.text)
        assert got.inbound.conversation_id == "tg:-100900:7" and got.inbound.public


def _private_message(fields: dict[str, Any], channel: TelegramChannel) -> Update:
    message = {
        "message_id": 40,
        "date": 1_700_000_000,
        "chat": {"id": 7, "type": "private"},
        "from": {"id": 7, "is_bot": False, "first_name": "Ana", "language_code": "en"},
        **fields,
    }
    update = Update.de_json({"update_id": 40, "message": message}, channel.bot)
    assert update is not None
    return update


@pytest.mark.parametrize(
    "service",
    [
        {
            "pinned_message": {
                "message_id": 5,
                "date": 1_700_000_000,
                "chat": {"id": 7, "type": "private"},
                "text": "¿puedo llevar a mi perro?",
            }
        },
        {"message_auto_delete_timer_changed": {"message_auto_delete_time": 86400}},
        {},  # no content at all
    ],
)
async def test_a_service_message_in_a_private_chat_gets_no_answer(
    service: dict[str, Any], aclient: aioredis.Redis
) -> None:
    """QA s21: pinning a message in the chat with the bot (or setting its auto-delete timer)
    got "I couldn't open that attachment": the customer had sent nothing."""
    channel = _channel(aclient, InboundPipeline)
    update = _private_message(service, channel)
    assert received(update, "TestNameBot") is None
    await channel.handle_or_reject(update)
    assert await aclient.xlen(keys.OUTBOX) == 0
    assert await aclient.xlen(keys.INBOUND) == 0
    assert not await aclient.exists(keys.conversation_log("tg:7"))


@pytest.mark.parametrize(
    ("content", "attachment"),
    [
        ({"location": {"latitude": 40.4, "longitude": -3.7}}, "location"),
        ({"contact": {"phone_number": "+34600111222", "first_name": "Ana"}}, "contact"),
        ({"story": {"chat": {"id": 1, "type": "private"}, "id": 5}}, "attachment"),
    ],
)
def test_what_a_customer_sends_without_text_is_still_answered_as_unreadable(
    content: dict[str, Any], attachment: str, aclient: aioredis.Redis
) -> None:
    channel = _channel(aclient, InboundPipeline)
    got = received(_private_message(content, channel), "TestNameBot")
    assert got is not None and got.inbound.kind is Kind.UNSUPPORTED
    assert got.inbound.route["attachment"] == attachment

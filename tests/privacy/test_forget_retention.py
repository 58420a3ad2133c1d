"""Erasure, retention, redaction of logs, and the 360 history, on a real Redis.

A customer writes on the web chat and on a public post, the two profiles are linked into one
person (as followed invitations linked them before they had to be proven), a handoff is opened,
replies are queued and dead-lettered, Rasa keeps a tracker; `relevo forget` must leave no key and
no value that mentions them, and must not touch another customer.
"""

from __future__ import annotations

import logging

import pytest
import redis
import redis.asyncio as aioredis
from typer.testing import CliRunner

from bot.channels.social import remember_reply
from bot.cli import app
from bot.forget import Forgetter
from bot.inbound import Channel, Customer, Inbound
from bot.pipeline import InboundPipeline
from handoff.history import customer_history, history_text
from handoff.requests import HandoffRequest, Priority, Reason, TranscriptLine, request_handoff
from relevo import keys
from relevo.logs import KeyValueFormatter
from relevo.messages import Outgoing
from relevo.settings import Settings, get_settings

SECRET_TEXT = "mi tarjeta 4111 1111 1111 1111 y mi email ana.lopez@example.com"
RETENTION_DAYS = 30


def inbound(channel: Channel, conversation: str, customer: str, text: str, n: int) -> Inbound:
    return Inbound(
        channel=channel,
        conversation_id=conversation,
        message_id=f"{conversation}-{n}",
        customer=Customer(id=customer, handle="ana_lopez" if channel is Channel.SOCIAL else None),
        text=text,
        public=channel is Channel.SOCIAL,
    )


async def populate(client: aioredis.Redis, redis_client: redis.Redis) -> None:
    """Ana on two channels (linked), a handoff, replies and a dead letter; Bruno beside her."""
    pipeline = InboundPipeline(client, Settings(retention_days=RETENTION_DAYS))
    await pipeline.accept(inbound(Channel.SOCIAL, "social:x:1:ana", "x:ana", "hola @brisa", 1))
    await pipeline.accept(inbound(Channel.WEBCHAT, "wc-ana", "wc-ana", SECRET_TEXT, 1))
    await pipeline.accept(inbound(Channel.WEBCHAT, "wc-bruno", "wc-bruno", "hola, soy Bruno", 1))
    linked = (keys.customer("social", "x:ana"), keys.customer("webchat", "wc-ana"))
    await client.sadd(keys.person("p-ana"), *linked)
    for profile in linked:
        await client.hset(profile, "person", "p-ana")
    request = HandoffRequest(
        conversation_id="wc-ana",
        channel="webchat",
        language="es",
        reason=Reason.ASKED_FOR_PERSON,
        priority=Priority.NORMAL,
        transcript=[TranscriptLine("customer", SECRET_TEXT, "2026-11-30T10:00:00+00:00")],
        hits=[],
        draft=None,
        customer={"id": "wc-ana"},
    )
    assert request_handoff(redis_client, request, RETENTION_DAYS * 86400)
    await client.xadd(
        keys.OUTBOX,
        Outgoing(out_id="o-ana", conversation_id="wc-ana", author="bot", text="hola").to_fields(),
    )
    await client.lpush(keys.OUTBOX_DEAD, '{"conversation_id": "wc-ana", "text": "hola Ana"}')
    await client.set("relevorasa:tracker:wc-ana", '{"events": ["' + SECRET_TEXT + '"]}')
    await client.zadd(keys.SLA_TIMERS, {f"{request.id}|first_warn": 1.0})
    # the brand answered her public post: a later answer to that reply finds her thread (D19)
    reply = keys.social_reply("x", "brand-reply-to-ana")
    await remember_reply(client, reply, "ana-post-1", "social:x:1:ana", 86400)


async def everything(client: aioredis.Redis) -> str:
    """Every key and every value in the database, as one text."""
    parts = []
    async for key in client.scan_iter(count=1000):
        kind = await client.type(key)
        parts.append(key)
        if kind == "string":
            parts.append(await client.get(key) or "")
        elif kind == "hash":
            parts.append(str(await client.hgetall(key)))
        elif kind == "list":
            parts.append(str(await client.lrange(key, 0, -1)))
        elif kind == "set":
            parts.append(str(await client.smembers(key)))
        elif kind == "zset":
            parts.append(str(await client.zrange(key, 0, -1)))
        elif kind == "stream":
            parts.append(str(await client.xrange(key)))
    return "\n".join(parts)


async def test_forget_leaves_nothing_of_the_customer_and_keeps_the_others(
    aclient: aioredis.Redis, redis_client: redis.Redis
) -> None:
    await populate(aclient, redis_client)
    before = await everything(aclient)
    assert "wc-ana" in before and "4111" in before and "ana_lopez" in before
    erased = await Forgetter(aclient).forget("@Ana_Lopez")  # a handle finds the linked web chat
    assert erased.profiles == [keys.customer("social", "x:ana"), keys.customer("webchat", "wc-ana")]
    assert len(erased.handoffs) == 1 and erased.stream_entries >= 4
    after = await everything(aclient)
    for trace in (
        "wc-ana",
        "x:ana",
        "ana_lopez",
        "4111",
        "ana.lopez@example.com",
        *erased.handoffs,
    ):
        assert trace not in after, trace
    assert "brand-reply-to-ana" not in after and "ana-post-1" not in after
    assert "wc-bruno" in after and "soy Bruno" in after
    assert (await Forgetter(aclient).forget("@ana_lopez")).profiles == []


def test_the_forget_command_says_what_it_erased(
    redis_client: redis.Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis_client.hset(keys.customer("telegram", "777"), mapping={"channel": "telegram"})
    monkeypatch.setenv("REDIS_URL", redis_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        done = runner.invoke(app, ["forget", "telegram:777", "--yes"])
        assert done.exit_code == 0, done.output
        assert "Erased" in done.output and "1 profile(s)" in done.output
        unknown = runner.invoke(app, ["forget", "telegram:777", "--yes"])
        assert unknown.exit_code == 1 and "nothing erased" in unknown.output
    finally:
        get_settings.cache_clear()
    assert not redis_client.exists(keys.customer("telegram", "777"))


async def test_records_expire_after_the_retention_and_each_message_renews_them(
    aclient: aioredis.Redis, redis_client: redis.Redis
) -> None:
    await populate(aclient, redis_client)
    limit = RETENTION_DAYS * 86400
    handoff_id = await aclient.get(keys.conversation_handoff("wc-ana"))
    for key in (
        keys.conversation("wc-ana"),
        keys.conversation_log("wc-ana"),
        keys.conversation_owner("wc-ana"),
        keys.customer("webchat", "wc-ana"),
        keys.customer_conversations(keys.customer("webchat", "wc-ana")),
        keys.handoff(handoff_id),
        keys.conversation_handoffs("wc-ana"),
    ):
        assert 0 < await aclient.ttl(key) <= limit, key
    await aclient.expire(keys.conversation_log("wc-ana"), 10)
    pipeline = InboundPipeline(aclient, Settings(retention_days=RETENTION_DAYS))
    await pipeline.accept(inbound(Channel.WEBCHAT, "wc-ana", "wc-ana", "¿hay alguien?", 2))
    assert await aclient.ttl(keys.conversation_log("wc-ana")) > limit - 60
    assert await aclient.ttl(keys.handoff(handoff_id)) > limit - 60


def test_log_lines_never_carry_personal_data() -> None:
    record = logging.LogRecord("t", logging.ERROR, "", 0, "bad payload %s", (SECRET_TEXT,), None)
    record.customer_email = "ana.lopez@example.com"
    line = KeyValueFormatter("%(message)s").format(record)
    assert "4111 1111" not in line and "ana.lopez@example.com" not in line
    assert "1111" in line  # the card's last four stay, so a line can still be matched up


async def test_the_history_spans_linked_channels_most_recent_first(
    aclient: aioredis.Redis, redis_client: redis.Redis
) -> None:
    await populate(aclient, redis_client)
    history = await customer_history(aclient, "wc-ana")
    assert [c.conversation_id for c in history] == ["wc-ana", "social:x:1:ana"]
    assert history[0].handoffs[0].reason == "asked_for_person"
    assert "4111 1111" not in history[0].last_customer_message  # redacted
    text = history_text(history, "wc-ana")
    assert "1 earlier conversation(s) on social" in text and "hola @brisa" in text
    assert await customer_history(aclient, "wc-bruno") != []
    assert "first conversation" in history_text(
        await customer_history(aclient, "wc-bruno"), "wc-bruno"
    )

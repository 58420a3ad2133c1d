"""A public post's open handoff follows the customer into the private chat of the invitation."""

from __future__ import annotations

import redis
import redis.asyncio as aioredis

from bot.conversations import Route
from bot.customers import Customers
from bot.inbound import Channel, Customer, Inbound
from bot.invitations import Invitations
from bot.pipeline import InboundPipeline
from handoff.history import customer_history
from handoff.ownership import Action, Ownership
from handoff.requests import (
    HandoffRequest,
    Priority,
    Reason,
    TranscriptLine,
    current_handoff,
    owner,
    request_handoff,
)
from relevo import keys
from relevo.events import EventType
from relevo.settings import Settings

PUBLIC, PRIVATE = "social:x:t1:u1", "tg:77"


async def _post_handed_to_a_person(
    aclient: aioredis.Redis, sync: redis.Redis, post_id: str, text: str
) -> HandoffRequest:
    """A public post, handed to a person; the handoff's request."""
    await InboundPipeline(aclient, Settings()).accept(
        Inbound(
            Channel.SOCIAL,
            PUBLIC,
            post_id,
            Customer("u1", handle="ana_travels"),
            text,
            public=True,
            route={"handle": "ana_travels", "reply_to": post_id},
        )
    )
    request = HandoffRequest(
        conversation_id=PUBLIC,
        channel="social",
        language="es",
        reason=Reason.COMPLAINT,
        priority=Priority.HIGH,
        transcript=[TranscriptLine("customer", text, "2026-11-27")],
        hits=[],
        draft=None,
    )
    assert request_handoff(sync, request, retention_seconds=3600)
    await aclient.delete(keys.INBOUND, keys.OUTBOX)
    return request


async def _public_post_with_a_person(aclient: aioredis.Redis, sync: redis.Redis) -> str:
    """A public post about a refund, handed to a person; the token of its invitation."""
    await _post_handed_to_a_person(aclient, sync, "p1", "donde esta mi reembolso???")
    return await Customers(aclient).invite_token(PUBLIC)


async def _follow(aclient: aioredis.Redis, token: str) -> object:
    return await Invitations(aclient, Settings()).accept(
        token,
        conversation_id=PRIVATE,
        channel=Channel.TELEGRAM,
        route={"chat_id": 77},
        profile_key=keys.customer("telegram", "77"),
        fallback_language="es",
    )


async def test_an_open_handoff_moves_with_the_customer_and_the_desk_is_told(
    aclient: aioredis.Redis, redis_client: redis.Redis
) -> None:
    token = await _public_post_with_a_person(aclient, redis_client)
    continued = await _follow(aclient, token)
    assert continued is not None and continued.question == ""  # the person answers, not the bot
    request = current_handoff(redis_client, PRIVATE)
    assert request is not None and (request.conversation_id, request.channel) == (
        PRIVATE,
        "telegram",
    )
    assert request.transcript[0].text == "donde esta mi reembolso???"  # the context stays
    assert owner(redis_client, PRIVATE) == "queued" and owner(redis_client, PUBLIC) == "bot"
    assert 0 < redis_client.ttl(keys.conversation_owner(PRIVATE)) <= 3600
    [(_, welcome)] = await aclient.xrange(keys.OUTBOX)
    assert "Una persona de nuestro equipo tiene tu mensaje" in welcome["text"]
    [(_, note)] = await aclient.xrange(keys.DESK_RELAY)
    assert note["kind"] == "moved" and "Telegram" in note["text"]
    said = Inbound(Channel.TELEGRAM, PRIVATE, "m2", Customer("77"), "es XK42PL, gracias")
    accepted = await InboundPipeline(aclient, Settings()).accept(said)
    assert accepted.route is Route.RELAY  # the person reads it in the same thread
    claimed = await Ownership(aclient).apply(
        request.id, Action.CLAIM, actor="U1", actor_name="Laura"
    )
    assert claimed.state == "agent" and owner(redis_client, PRIVATE) == "agent:U1"
    history = {c.conversation_id: c for c in await customer_history(aclient, PRIVATE)}
    assert [h.id for h in history[PRIVATE].handoffs] == [request.id]
    assert PUBLIC not in history  # a public link proves nothing: the profiles stay apart


async def test_a_handoff_resolved_before_the_customer_follows_stays_where_it_was(
    aclient: aioredis.Redis, redis_client: redis.Redis
) -> None:
    token = await _public_post_with_a_person(aclient, redis_client)
    handoff = current_handoff(redis_client, PUBLIC)
    assert handoff is not None
    ownership = Ownership(aclient)
    await ownership.apply(handoff.id, Action.CLAIM, actor="U1", actor_name="Laura")
    await ownership.apply(handoff.id, Action.RESOLVE, actor="U1", actor_name="Laura")
    await aclient.delete(keys.OUTBOX)
    continued = await _follow(aclient, token)
    assert continued is not None and "reembolso" in continued.question  # the assistant has it
    assert current_handoff(redis_client, PRIVATE) is None
    assert owner(redis_client, PUBLIC) == "closed"
    assert await aclient.xlen(keys.DESK_RELAY) == 0


async def test_a_second_public_handoff_closes_into_the_one_open_in_private(
    aclient: aioredis.Redis, redis_client: redis.Redis
) -> None:
    """QA s25 H4: a chat waiting for a person that followed a later invitation had two open
    handoffs, and its messages reached only the second's thread."""
    token = await _public_post_with_a_person(aclient, redis_client)
    await _follow(aclient, token)
    first = current_handoff(redis_client, PRIVATE)
    assert first is not None
    second = await _post_handed_to_a_person(
        aclient, redis_client, "p2", "y encima me cobrasteis dos veces la maleta"
    )
    pipeline = InboundPipeline(aclient, Settings())
    asked = await pipeline.store.last_said_entry(PUBLIC)
    assert await Customers(aclient).invite_token(PUBLIC, asked) == token
    await aclient.delete(keys.DESK_RELAY, keys.OUTBOX)

    continued = await _follow(aclient, token)

    assert continued is not None and continued.question == ""  # the person has it
    open_now = current_handoff(redis_client, PRIVATE)
    assert open_now is not None and open_now.id == first.id
    assert owner(redis_client, PRIVATE) == "queued" and owner(redis_client, PUBLIC) == "bot"
    closed = await aclient.hgetall(keys.handoff(second.id))
    assert (closed["state"], closed["merged_into"]) == ("closed", first.id)
    assert "rating_asked" not in closed
    merges = [e for _, e in await aclient.xrange(keys.EVENTS) if e["type"] == EventType.MERGED]
    assert merges == [
        {
            "type": "merged",
            "at": merges[0]["at"],
            "handoff": second.id,
            "conversation": PUBLIC,
            "channel": "social",
            "into": first.id,
        }
    ]
    notes = {note["handoff"]: note for _, note in await aclient.xrange(keys.DESK_RELAY)}
    assert notes[second.id]["kind"] == "merged"
    assert notes[first.id]["kind"] == "moved"
    assert "“y encima me cobrasteis dos veces la maleta”" in notes[first.id]["text"]
    [(_, welcome)] = await aclient.xrange(keys.OUTBOX)
    assert "Una persona de nuestro equipo tiene tu mensaje" in welcome["text"]

    await aclient.delete(keys.DESK_RELAY)
    said = Inbound(Channel.TELEGRAM, PRIVATE, "m3", Customer("77"), "son dos cargos de 40 EUR")
    assert (await pipeline.accept(said)).route is Route.RELAY
    [(_, relayed)] = await aclient.xrange(keys.DESK_RELAY)
    assert relayed["handoff"] == first.id  # one thread for the customer

"""Who may take up an invitation to private, and what the private chat is shown (QA s21 D1).

A Telegram group's invitation is bound to the member who was invited; a social post's cannot
be, so its personal data never reaches the private chat. Through the real Telegram adapter,
pipeline and Redis.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from pydantic import SecretStr
from telegram import Update

from bot.channels.telegram import TelegramChannel
from bot.customers import Customers
from bot.inbound import Channel, Customer, Inbound
from bot.invitations import Follower, Invitations, follower
from bot.pipeline import InboundPipeline
from handoff.history import profiles_of
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
from relevo.settings import Settings

BEA, MALLORY = 511, 512
GROUP = f"tg:-100501:{BEA}"
SAID = "mi localizador es QW3RT7 y mi correo bea.lopez@gmail.com, me han cancelado el vuelo"
PERSONAL = ("QW3RT7", "bea.lopez@gmail.com")


def _channel(client: aioredis.Redis) -> TelegramChannel:
    settings = Settings(telegram_token=SecretStr("1234:token"))
    return TelegramChannel(
        settings, InboundPipeline(client, settings), Invitations(client, settings)
    )


def _start(
    channel: TelegramChannel, user: int, token: str, app_language: str, message_id: int = 1
) -> Update:
    """`/start <token>` in `user`'s private chat with the bot (what the deep link sends)."""
    text = f"/start {token}"
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": 1_700_000_000,
        "chat": {"id": user, "type": "private"},
        "from": {"id": user, "is_bot": False, "first_name": "X", "language_code": app_language},
        "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len("/start")}],
    }
    update = Update.de_json({"update_id": user, "message": message}, channel.bot)
    assert update is not None
    return update


async def _public(client: aioredis.Redis, sync: redis.Redis, inbound: Inbound) -> str:
    """The customer's public message, handed to a person; the token of its invitation."""
    await InboundPipeline(client, Settings()).accept(inbound)
    request = HandoffRequest(
        conversation_id=inbound.conversation_id,
        channel=inbound.channel.value,
        language="es",
        reason=Reason.COMPLAINT,
        priority=Priority.HIGH,
        transcript=[TranscriptLine("customer", inbound.text, "2026-11-28")],
        hits=[],
        draft=None,
    )
    assert request_handoff(sync, request, retention_seconds=3600)
    await client.delete(keys.INBOUND, keys.OUTBOX)  # the public turn is not under test
    return await Customers(client).invite_token(inbound.conversation_id)


def _in_group(text: str, message_id: str = "-100501:9") -> Inbound:
    return Inbound(
        Channel.TELEGRAM,
        GROUP,
        message_id,
        Customer(str(BEA), name="Bea"),
        text,
        public=True,
        route={"chat_id": -100501, "reply_to": 9},
    )


def _on_social(text: str) -> Inbound:
    return Inbound(
        Channel.SOCIAL,
        "social:x:t1:u1",
        "p1",
        Customer("u1", handle="bea_travels"),
        text,
        public=True,
        route={"handle": "bea_travels", "reply_to": "p1"},
    )


async def _queued(client: aioredis.Redis, stream: str, conversation: str) -> list[dict[str, str]]:
    return [f for _, f in await client.xrange(stream) if f["conversation_id"] == conversation]


@pytest.mark.parametrize(
    ("public", "channel", "profile", "expected"),
    [
        ({"channel": "telegram", "customer": "c:telegram:511"}, Channel.TELEGRAM, "c:telegram:511",
         Follower.INVITED),
        ({"channel": "telegram", "customer": "c:telegram:511"}, Channel.TELEGRAM, "c:telegram:512",
         Follower.OTHER),
        ({"channel": "telegram", "customer": "c:telegram:511"}, Channel.WEBCHAT, "c:webchat:511",
         Follower.OTHER),  # a group's link is Telegram's: the web chat cannot show who it is
        ({"channel": "social", "customer": "c:social:u1"}, Channel.TELEGRAM, "c:telegram:511",
         Follower.UNCHECKED),
        ({"channel": "social", "customer": "c:social:u1"}, Channel.WEBCHAT, "c:webchat:w",
         Follower.UNCHECKED),
    ],
)  # fmt: skip
def test_who_may_take_up_an_invitation(
    public: dict[str, str], channel: Channel, profile: str, expected: Follower
) -> None:
    assert follower(public, channel, profile) is expected


async def test_another_group_member_gets_nothing_and_the_invited_one_still_can(
    aclient: aioredis.Redis, redis_client: redis.Redis
) -> None:
    """QA s21 D1: Mallory followed Bea's link first, was shown Bea's booking code and e-mail,
    took her handoff, and Bea's own follow was refused."""
    token = await _public(aclient, redis_client, _in_group(SAID))
    handoff = current_handoff(redis_client, GROUP)
    assert handoff is not None
    channel = _channel(aclient)
    await channel.handle(_start(channel, MALLORY, token, "en"))
    mallory = f"tg:{MALLORY}"
    [told] = await _queued(aclient, keys.OUTBOX, mallory)
    assert (
        told["text"] == "This link is for someone else, so I can't continue that conversation here."
    )
    [greet] = await _queued(aclient, keys.INBOUND, mallory)  # then the usual greeting
    assert greet["text"] == '/greet{"language":"en"}'
    assert "continued_from" not in await aclient.hgetall(keys.conversation(mallory))
    assert owner(redis_client, GROUP) == "queued" and current_handoff(redis_client, mallory) is None
    assert await aclient.xlen(keys.DESK_RELAY) == 0  # the desk is not told of a move

    await channel.handle(_start(channel, BEA, token, "es"))
    bea = f"tg:{BEA}"
    [welcome] = await _queued(aclient, keys.OUTBOX, bea)
    assert "Una persona de nuestro equipo tiene tu mensaje" in welcome["text"]
    moved = current_handoff(redis_client, bea)
    assert moved is not None and moved.id == handoff.id
    [(_, note)] = await aclient.xrange(keys.DESK_RELAY)
    assert note["text"].startswith("The customer continued in private (Telegram)")


async def test_the_invited_member_is_quoted_without_personal_data_and_asked_nothing_again(
    aclient: aioredis.Redis,
) -> None:
    await InboundPipeline(aclient, Settings()).accept(_in_group(SAID))
    await aclient.delete(keys.INBOUND, keys.OUTBOX)
    token = await Customers(aclient).invite_token(GROUP)
    channel = _channel(aclient)
    await channel.handle(_start(channel, BEA, token, "es"))
    [welcome] = await _queued(aclient, keys.OUTBOX, f"tg:{BEA}")
    assert "«mi localizador es [booking code] y mi correo [e-mail]" in welcome["text"]
    [carried] = await _queued(aclient, keys.INBOUND, f"tg:{BEA}")
    assert carried["text"] == SAID  # her own words, for the assistant: it never echoes them


@pytest.mark.parametrize(
    ("channel", "conversation", "route"),
    [(Channel.TELEGRAM, "tg:777", {"chat_id": 777}), (Channel.WEBCHAT, "wc-777", {})],
)
async def test_a_social_post_is_continued_without_its_personal_data(
    aclient: aioredis.Redis, channel: Channel, conversation: str, route: dict[str, Any]
) -> None:
    """Anyone who read the post can follow its link: the welcome and the question carried to
    the assistant (which the web chat shows as the customer's line) are redacted, and the
    follower is not linked to the post's author."""
    await InboundPipeline(aclient, Settings()).accept(_on_social(SAID))
    await aclient.delete(keys.INBOUND, keys.OUTBOX)
    token = await Customers(aclient).invite_token("social:x:t1:u1")
    profile = keys.customer(channel.value, conversation)
    continued = await Invitations(aclient, Settings()).accept(
        token,
        conversation_id=conversation,
        channel=channel,
        route=route,
        profile_key=profile,
        fallback_language="es",
    )
    assert continued is not None
    assert continued.question == (
        "mi localizador es [booking code] y mi correo [e-mail], me han cancelado el vuelo"
    )
    [welcome] = await _queued(aclient, keys.OUTBOX, conversation)
    assert welcome["text"].startswith("¡Hola @bea_travels!")
    assert "[booking code]" in welcome["text"]
    assert not any(p in welcome["text"] or p in continued.question for p in PERSONAL)
    assert await profiles_of(aclient, profile) == [profile]  # not linked: nothing is proven
    assert await profiles_of(aclient, keys.customer("social", "u1")) == [
        keys.customer("social", "u1")
    ]


async def test_a_social_posts_handoff_moves_and_the_desk_is_told_to_check_who_it_is(
    aclient: aioredis.Redis, redis_client: redis.Redis
) -> None:
    token = await _public(aclient, redis_client, _on_social(SAID))
    continued = await Invitations(aclient, Settings()).accept(
        token,
        conversation_id="tg:777",
        channel=Channel.TELEGRAM,
        route={"chat_id": 777},
        profile_key=keys.customer("telegram", "777"),
        fallback_language="es",
    )
    assert continued is not None and continued.question == ""  # the person answers there
    assert owner(redis_client, "tg:777") == "queued"
    [(_, note)] = await aclient.xrange(keys.DESK_RELAY)
    assert note["text"].startswith("Someone continued in private (Telegram)")
    assert "make sure it is the customer" in note["text"]


@pytest.mark.parametrize(("language", "said"), [("es", "ha caducado"), ("en", "has expired")])
async def test_a_link_that_no_longer_works_is_told_so_once(
    aclient: aioredis.Redis, language: str, said: str
) -> None:
    """QA s22 W5: a bogus or expired `?continue=` token got no word at all in the web chat."""
    invitations = Invitations(aclient, Settings())
    for _ in range(2):  # a second follow (a reconnect) is not told twice
        continued = await invitations.accept(
            "no-such-token",
            conversation_id="wc-late",
            channel=Channel.WEBCHAT,
            route={},
            profile_key=keys.customer("webchat", "wc-late"),
            fallback_language=language,
        )
        assert continued is None
    told = await _queued(aclient, keys.OUTBOX, "wc-late")
    assert len({m["out_id"] for m in told}) == 1 and said in told[0]["text"]
    assert (await aclient.hgetall(keys.conversation("wc-late")))["channel"] == "webchat"


async def _invited(client: aioredis.Redis, said: str) -> str:
    """Bea writes `said` in the group, and the assistant's reply invites her: the token."""
    await InboundPipeline(client, Settings()).accept(_in_group(said, f"-100501:{said}"))
    [link] = await Invitations(client, Settings()).links_for(GROUP)
    return link.split("continue=")[1]


async def test_the_question_the_invitation_answered_is_carried_not_the_last_words(
    aclient: aioredis.Redis,
) -> None:
    """QA s25 H1: "ok, thanks!" posted after the invitation was carried in the question's place."""
    token = await _invited(aclient, "me han cancelado el vuelo BR1422, ¿me devolvéis el dinero?")
    await InboundPipeline(aclient, Settings()).accept(_in_group("vale, gracias", "-100501:10"))
    await aclient.delete(keys.INBOUND, keys.OUTBOX)
    channel = _channel(aclient)
    await channel.handle(_start(channel, BEA, token, "es"))
    [carried] = await _queued(aclient, keys.INBOUND, f"tg:{BEA}")
    assert carried["text"] == "me han cancelado el vuelo BR1422, ¿me devolvéis el dinero?"


async def test_a_second_invitation_carries_its_question_and_a_link_tapped_again_is_answered(
    aclient: aioredis.Redis,
) -> None:
    """QA s25 H2: the second invitation (the same link) did nothing, and a tap got silence."""
    channel = _channel(aclient)
    first = await _invited(aclient, "me han cancelado el vuelo, ¿me devolvéis el dinero?")
    await channel.handle(_start(channel, BEA, first, "es", message_id=1))
    second = await _invited(aclient, "y me habéis cobrado dos veces la maleta")
    assert second == first  # one link per public conversation
    await aclient.delete(keys.INBOUND, keys.OUTBOX)
    await channel.handle(_start(channel, BEA, second, "es", message_id=2))
    [carried] = await _queued(aclient, keys.INBOUND, f"tg:{BEA}")
    assert carried["text"] == "y me habéis cobrado dos veces la maleta"
    [welcome] = await _queued(aclient, keys.OUTBOX, f"tg:{BEA}")
    assert "«y me habéis cobrado dos veces la maleta»" in welcome["text"]

    await aclient.delete(keys.INBOUND, keys.OUTBOX)
    await channel.handle(_start(channel, BEA, second, "es", message_id=3))  # nothing new
    assert await _queued(aclient, keys.INBOUND, f"tg:{BEA}") == []
    [again] = await _queued(aclient, keys.OUTBOX, f"tg:{BEA}")
    assert again["text"] == "Ya seguimos aquí, en privado 🙂 Escríbeme aquí lo que necesites."


async def test_a_link_taken_up_in_another_chat_is_told_so_once(aclient: aioredis.Redis) -> None:
    """QA s25 L3: the web chat opened with such a link stayed empty, with no word why."""
    await InboundPipeline(aclient, Settings()).accept(_on_social(SAID))
    token = await Customers(aclient).invite_token("social:x:t1:u1")
    invitations = Invitations(aclient, Settings())

    async def follow(conversation: str, channel: Channel) -> object:
        return await invitations.accept(
            token,
            conversation_id=conversation,
            channel=channel,
            route={},
            profile_key=keys.customer(channel.value, conversation),
            fallback_language="es",
        )

    assert await follow("tg:777", Channel.TELEGRAM) is not None
    for _ in range(2):  # a reload of the page is not told twice
        assert await follow("wc-late", Channel.WEBCHAT) is None
    told = await _queued(aclient, keys.OUTBOX, "wc-late")
    assert len({m["out_id"] for m in told}) == 1  # delivered once: the same out_id
    assert told[0]["text"].startswith("Este enlace ya se usó para seguir en otro chat")

"""The inbound pipeline and the outbox on a real Redis, with real HTTP for public replies."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from inspect import isawaitable

import httpx
import pytest
import redis
import redis.asyncio as aioredis

from bot.channels.social import SocialSender
from bot.channels.webchat import WebchatSender
from bot.conversations import Route
from bot.customers import Customers
from bot.delivery import DeliveryWorker, RetryPolicy, dead_letters
from bot.inbound import Channel, Customer, Inbound, Kind
from bot.invitations import Invitations
from bot.pipeline import InboundPipeline
from handoff.history import customer_history, profiles_of
from relevo import keys
from relevo.messages import Outgoing
from relevo.settings import Settings
from relevo.stream_trim import TRIMMED_STREAMS
from tests.channels.connector import Connector, running_connector

SECRET = "connector-secret"


@pytest.fixture
def connector() -> Iterator[Connector]:
    with running_connector(SECRET) as running:
        yield running


def _settings(connector: Connector | None = None) -> Settings:
    return Settings(
        social_secret=SECRET,
        social_outbound_url=connector.url if connector else None,
        max_message_chars=100,
        public_reply_chars=60,
        outbox_backoff_seconds=0.05,
        outbox_max_attempts=3,
    )


def _inbound(text: str, message_id: str = "m1", **extra: object) -> Inbound:
    return Inbound(
        channel=Channel.SOCIAL if extra.get("public") else Channel.WEBCHAT,
        conversation_id="c1",
        message_id=message_id,
        customer=Customer(id="u1", handle="ana", followers=10),
        text=text,
        **extra,  # type: ignore[arg-type]
    )


async def test_the_same_message_three_times_reaches_the_assistant_once(
    aclient: aioredis.Redis,
) -> None:
    pipeline = InboundPipeline(aclient, _settings())
    routes = [(await pipeline.accept(_inbound("hola"))).route for _ in range(3)]
    assert routes == [Route.BOT, Route.DUPLICATE, Route.DUPLICATE]
    assert await aclient.xlen(keys.INBOUND) == 1
    assert await aclient.xlen(keys.conversation_log("c1")) == 1
    profile = await aclient.hgetall(keys.customer("webchat", "u1"))
    assert profile["handle"] == "ana" and profile["followers"] == "10"
    assert await aclient.zrange(
        keys.customer_conversations(keys.customer("webchat", "u1")), 0, -1
    ) == ["c1"]
    [(_, event)] = await aclient.xrange(keys.EVENTS)  # one message_in, not one per delivery
    assert event["type"] == "message_in" and event["conversation"] == "c1"
    assert event["customer"] == keys.customer("webchat", "u1") and event["followers"] == "10"


@pytest.mark.parametrize(
    ("text", "display"),
    [
        ('/pick_article{"article":"baggage-cabin-en"}', "Cabin baggage"),  # a web chat button
        ("/deny", None),  # a Telegram button's payload
    ],
)
async def test_a_button_press_adds_no_trending_words(
    aclient: aioredis.Redis, text: str, display: str | None
) -> None:
    """Payloads made "article", "pick" and "deny" the trending keywords (QA s20)."""
    pipeline = InboundPipeline(aclient, _settings())
    await pipeline.accept(_inbound("lost my #luggage in Madrid", "m1"))
    await pipeline.accept(_inbound(text, "m2", display=display))
    typed, pressed = [event for _, event in await aclient.xrange(keys.EVENTS)]
    assert typed["keywords"] == "lost madrid" and typed["hashtags"] == "#luggage"
    assert pressed["type"] == "message_in"
    assert not pressed.get("keywords") and not pressed.get("hashtags")


@pytest.mark.parametrize(
    ("inbound", "language"),
    [
        (_inbound("hola, ¿puedo llevar a mi perro en cabina?"), "es"),
        (_inbound("can I bring my dog in the cabin?", language="es"), "en"),
        (_inbound("/affirm", language="es"), "es"),  # a button: the channel's hint
        (_inbound("/ask_human"), None),  # a command without a hint: no words to detect
        (_inbound("si", language="es"), "es"),  # words both languages write: the hint
        (_inbound("si"), None),  # too little evidence: the slot keeps its value
        (_inbound("hello", language="es"), "en"),  # the customer's own words before the hint
    ],
)
async def test_a_first_message_tells_rasa_its_language_when_it_or_the_channel_shows_one(
    aclient: aioredis.Redis, inbound: Inbound, language: str | None
) -> None:
    await InboundPipeline(aclient, _settings()).accept(inbound)
    [(_, queued)] = await aclient.xrange(keys.INBOUND)
    assert json.loads(queued["metadata"]).get("language") == language
    stored = await aclient.hget(keys.conversation("c1"), "language")
    assert stored == language


async def test_a_conversation_keeps_its_language_until_a_message_clearly_shows_the_other(
    aclient: aioredis.Redis,
) -> None:
    """A place name or a loanword does not switch; a sentence does, and then holds."""
    pipeline = InboundPipeline(
        aclient,
        _settings(),
    )
    said = [
        "hola, ¿puedo llevar a mi perro en cabina?",
        "check-in",
        "Dublin",
        "/affirm",
        "how do I choose my seat on the plane?",
        "gracias",
        "muchas gracias",
    ]
    for number, message in enumerate(said):
        await pipeline.accept(_inbound(message, message_id=f"m{number}", language="en"))
    sent = [json.loads(f["metadata"])["language"] for _, f in await aclient.xrange(keys.INBOUND)]
    assert sent == ["es", "es", "es", "es", "en", "en", "es"]
    assert await aclient.hget(keys.conversation("c1"), "language") == "es"


async def test_a_sticker_is_declined_in_the_conversations_language(
    aclient: aioredis.Redis,
) -> None:
    pipeline = InboundPipeline(aclient, _settings())
    await pipeline.accept(_inbound("¿puedo llevar a mi perro en cabina?", language="en"))
    sticker = _inbound(
        "", message_id="m2", kind=Kind.UNSUPPORTED, language="en", route={"attachment": "sticker"}
    )
    assert (await pipeline.accept(sticker)).route is Route.NOTICE
    [(_, notice)] = await aclient.xrange(keys.OUTBOX)
    assert "ese sticker" in notice["text"]


async def test_a_long_message_takes_the_language_of_its_start(aclient: aioredis.Redis) -> None:
    """Only the start is read (a whole long message would hold the event loop)."""
    start = "hi, I have a problem with my suitcase and nobody answers me at the airport. " * 8
    rest = "esta parte está en español y es mucho más larga que el principio. " * 40
    await InboundPipeline(aclient, _settings()).accept(_inbound(start + rest, language="es"))
    [(_, event)] = await aclient.xrange(keys.EVENTS)
    assert event["language"] == "en"  # the whole text reads as undecided: the hint, "es"
    [(_, notice)] = await aclient.xrange(keys.OUTBOX)
    assert "fewer than 100" in notice["text"]


async def test_a_long_message_keeps_its_end_and_only_a_private_one_is_asked_to_sum_up(
    aclient: aioredis.Redis,
) -> None:
    """The question (or a card number) at the end of a long message was cut off (QA s22 D4)."""
    end = "so, can I bring my cat in the cabin?"
    said = "Let me tell you my story. " * 10 + end
    pipeline = InboundPipeline(aclient, _settings())
    private = await pipeline.accept(_inbound(said, "m1"))
    public = await pipeline.accept(replace(_inbound(said, "m2", public=True), conversation_id="c2"))
    assert (private.route, public.route) == (Route.NOTICE, Route.BOT)
    [(_, notice)] = await aclient.xrange(keys.OUTBOX)  # "sum it up" only in private
    assert notice["conversation_id"] == "c1" and "fewer than 100" in notice["text"]
    [(_, queued)] = await aclient.xrange(keys.INBOUND)
    logged = [
        f["text"] for c in ("c1", "c2") for _, f in await aclient.xrange(keys.conversation_log(c))
    ]
    for kept in [queued["text"], *logged]:
        assert len(kept) == 100 and kept.startswith("Let me tell") and kept.endswith(end)


async def test_a_person_owns_the_thread_so_the_assistant_never_sees_it(
    aclient: aioredis.Redis,
) -> None:
    pipeline = InboundPipeline(aclient, _settings())
    await aclient.set(keys.conversation_owner("c1"), "agent:U1")
    await aclient.set(keys.conversation_handoff("c1"), "h1")
    accepted = await pipeline.accept(_inbound("¿sigues ahí?"))
    assert accepted.route is Route.RELAY
    assert await aclient.xlen(keys.INBOUND) == 0
    [(_, relayed)] = await aclient.xrange(keys.DESK_RELAY)
    assert relayed["handoff"] == "h1" and relayed["text"] == "¿sigues ahí?"
    assert relayed["owner"] == "agent:U1"


async def test_a_closed_thread_starts_over_with_the_assistant(aclient: aioredis.Redis) -> None:
    pipeline = InboundPipeline(aclient, _settings())
    await aclient.set(keys.conversation_owner("c1"), "closed")
    assert (await pipeline.accept(_inbound("hello again"))).route is Route.BOT
    assert await aclient.get(keys.conversation_owner("c1")) == "bot"
    events = [f.get("event") for _, f in await aclient.xrange(keys.conversation_log("c1"))]
    assert events[0] == "new_conversation"


@pytest.mark.parametrize(
    ("inbound", "expected"),
    [
        (_inbound("   "), "What can I help you with"),
        (_inbound("please help me with my luggage " * 4), "fewer than 100"),
        (
            _inbound("", kind=Kind.UNSUPPORTED, language="es", route={"attachment": "sticker"}),
            "ese sticker",
        ),
        (  # "ese foto" before: the Spanish noun's gender
            _inbound("", kind=Kind.UNSUPPORTED, language="es", route={"attachment": "photo"}),
            "no he podido abrir esa foto",
        ),
        (
            _inbound("", kind=Kind.UNSUPPORTED, language="en", route={"attachment": "poll"}),
            "couldn't open that poll",
        ),
        (  # a place is asked in words, not "couldn't open that attachment"
            _inbound("", kind=Kind.UNSUPPORTED, language="es", route={"attachment": "location"}),
            "en qué aeropuerto estás",
        ),
        (  # no contact details are asked for
            _inbound("", kind=Kind.UNSUPPORTED, language="en", route={"attachment": "contact"}),
            "there's no need to send contact details here",
        ),
    ],
)
async def test_what_the_assistant_cannot_read_gets_a_friendly_notice(
    aclient: aioredis.Redis, inbound: Inbound, expected: str
) -> None:
    pipeline = InboundPipeline(aclient, _settings())
    assert (await pipeline.accept(inbound)).route is Route.NOTICE
    assert await aclient.xlen(keys.INBOUND) == 0
    [(_, notice)] = await aclient.xrange(keys.OUTBOX)
    assert expected in notice["text"]
    [(_, logged)] = await aclient.xrange(keys.conversation_log("c1"))
    assert len(logged["text"]) <= 100 + 1  # the log keeps a readable prefix


async def outbox_settled(client: aioredis.Redis) -> bool:
    """Every outbox entry read and acknowledged."""
    groups = await client.xinfo_groups(keys.OUTBOX)
    [(last, _)] = await client.xrevrange(keys.OUTBOX, count=1)
    return bool(groups) and groups[0]["last-delivered-id"] == last and groups[0]["pending"] == 0


async def _deliver_all(worker: DeliveryWorker, client: aioredis.Redis, timeout: float = 20) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(timeout):
            while True:
                await asyncio.sleep(0.05)
                if await outbox_settled(client):
                    break
    finally:
        stop.set()
        await task


def _worker(
    client: aioredis.Redis, settings: Settings, http: httpx.AsyncClient, concurrency: int = 64
) -> DeliveryWorker:
    return DeliveryWorker(
        client=client,
        senders={"social": SocialSender(settings, http, client), "webchat": WebchatSender()},
        invites=Invitations(client, settings),
        policy=RetryPolicy(settings.outbox_max_attempts, settings.outbox_backoff_seconds, 1.0),
        consumer="test",
        concurrency=concurrency,
    )


async def test_public_replies_are_signed_split_addressed_and_retried_through_429_and_500(
    aclient: aioredis.Redis, connector: Connector, redis_client: redis.Redis
) -> None:
    settings = _settings(connector)
    pipeline = InboundPipeline(aclient, settings)
    await pipeline.accept(_inbound("hola", public=True, route={"handle": "ana", "reply_to": "p1"}))
    connector.script.extend([(429, {"Retry-After": "0.2"}), (503, {})])
    long_text = "Primera frase de la respuesta. " * 4
    await pipeline.store.enqueue(Outgoing("o1", "c1", "bot", long_text.strip()))
    await pipeline.store.enqueue(Outgoing("o1", "c1", "bot", long_text.strip()))  # a duplicate
    async with httpx.AsyncClient() as http:
        await _deliver_all(_worker(aclient, settings, http), aclient)
    replies = connector.replies
    assert connector.attempts == len(replies) + 2
    assert [r["delivery_id"] for r in replies] == ["o1:0", "o1:1", "o1:2", "o1:3"]
    assert all(r["text"].startswith("@ana ") and len(r["text"]) <= 60 for r in replies)
    assert all(r["in_reply_to"] == "p1" for r in replies)
    logged = [f for _, f in await aclient.xrange(keys.conversation_log("c1")) if f.get("out_id")]
    assert len(logged) == 1  # delivered once, logged once
    assert dead_letters(redis_client) == []
    delivered = [f for _, f in await aclient.xrange(keys.EVENTS) if f["type"] == "delivered"]
    assert len(delivered) == 1  # counted once, although the message came twice
    assert delivered[0]["channel"] == "social" and delivered[0]["author"] == "bot"
    assert (await aclient.xpending(keys.OUTBOX, keys.OUTBOX_GROUP))["pending"] == 0


async def test_a_worker_that_died_half_way_through_a_message_is_followed_without_repeats(
    aclient: aioredis.Redis, connector: Connector
) -> None:
    """A worker sent two of four parts, then died: the next one sends the last two, logs once."""
    settings = _settings(connector)
    pipeline = InboundPipeline(aclient, settings)
    await pipeline.accept(_inbound("hola", public=True, route={"handle": "ana", "reply_to": "p1"}))
    await aclient.hset(keys.outbox_sent("o1"), "parts", 2)  # what the dead worker recorded
    await pipeline.store.enqueue(
        Outgoing("o1", "c1", "bot", ("Primera frase de la respuesta. " * 4).strip())
    )
    async with httpx.AsyncClient() as http:
        await _deliver_all(_worker(aclient, settings, http), aclient)
    assert [r["delivery_id"] for r in connector.replies] == ["o1:2", "o1:3"]
    assert await aclient.hget(keys.outbox_sent("o1"), "parts") == "4"
    logged = [f for _, f in await aclient.xrange(keys.conversation_log("c1")) if f.get("out_id")]
    assert len(logged) == 1


async def test_a_refusal_or_too_many_failures_end_in_the_dead_letter_list(
    aclient: aioredis.Redis, connector: Connector, redis_client: redis.Redis
) -> None:
    settings = _settings(connector)
    pipeline = InboundPipeline(aclient, settings)
    await pipeline.accept(_inbound("hola", public=True, route={"handle": "ana"}))
    connector.script.extend([(400, {}), (500, {}), (500, {}), (500, {})])
    await pipeline.store.enqueue(Outgoing("refused", "c1", "bot", "one"))
    await pipeline.store.enqueue(Outgoing("failing", "c1", "bot", "two"))
    await pipeline.store.enqueue(Outgoing("unknown", "nobody", "bot", "three"))
    async with httpx.AsyncClient() as http:
        await _deliver_all(_worker(aclient, settings, http), aclient)
    dead = {d["out_id"]: d for d in dead_letters(redis_client)}
    assert "HTTP 400" in dead["refused"]["reason"] and dead["refused"]["attempts"] == 1
    assert dead["failing"]["attempts"] == 3
    assert dead["unknown"]["reason"] == "unknown conversation"
    assert connector.replies == []
    failed = [f for _, f in await aclient.xrange(keys.EVENTS) if f["type"] == "delivery_failed"]
    assert sorted(f["channel"] for f in failed) == ["social", "social", "unknown"]
    assert (await aclient.xpending(keys.OUTBOX, keys.OUTBOX_GROUP))["pending"] == 0


async def test_a_private_invitation_is_taken_up_once_and_links_no_profiles(
    aclient: aioredis.Redis, connector: Connector
) -> None:
    settings = _settings(connector).model_copy(update={"public_reply_chars": 280})
    pipeline = InboundPipeline(aclient, settings)
    await pipeline.accept(
        _inbound(
            "¿dónde está mi reembolso?", public=True, route={"handle": "ana", "reply_to": "p1"}
        )
    )
    await pipeline.store.enqueue(
        Outgoing(
            "o1", "c1", "bot", "Cuidemos tus datos: escríbenos por privado.", invite_private=True
        )
    )
    async with httpx.AsyncClient() as http:
        await _deliver_all(_worker(aclient, settings, http), aclient)
    [reply] = connector.replies
    link = reply["text"].split("Sigue en privado: ")[1]
    token = link.split("continue=")[1]
    invitations = Invitations(aclient, settings)
    private = keys.customer("webchat", "wc-private")

    async def follow(link_token: str, conversation: str, profile: str) -> bool:
        return await invitations.accept(
            link_token,
            conversation_id=conversation,
            channel=Channel.WEBCHAT,
            route={},
            profile_key=profile,
            fallback_language=None,
        )

    assert await follow(token, "wc-private", private)
    assert await follow(token, "wc-private", private)  # again in the same chat: no 2nd welcome
    lurker = keys.customer("webchat", "wc-lurker")
    assert not await follow("forged", "wc-lurker", private)
    assert not await follow(token, "wc-lurker", lurker)  # someone else who read the thread
    # Following a public link proves nothing: the profiles stay apart, and the desk's History
    # of the private chat does not show the author's conversations.
    assert await profiles_of(aclient, private) == [private]
    assert await profiles_of(aclient, lurker) == [lurker]
    assert "c1" not in {h.conversation_id for h in await customer_history(aclient, "wc-private")}
    [(_, welcome)] = [
        e for e in await aclient.xrange(keys.OUTBOX) if e[1]["conversation_id"] == "wc-private"
    ]
    assert welcome["text"].startswith("¡Hola @ana!")
    assert json.loads(welcome["buttons"]) == []


async def test_following_an_invitation_without_writing_keeps_nothing_past_the_retention(
    aclient: aioredis.Redis,
) -> None:
    """The private conversation, its log with the welcome, the profile and the person expire."""
    settings = _settings()
    pipeline = InboundPipeline(aclient, settings)
    await pipeline.accept(_inbound("¿y mi reembolso?", public=True, route={"handle": "ana"}))
    token = await Customers(aclient).invite_token("c1")
    before = {key async for key in aclient.scan_iter()}
    continued = await Invitations(aclient, settings).accept(
        token,
        conversation_id="wc-private",
        channel=Channel.WEBCHAT,
        route={},
        profile_key=keys.customer("webchat", "wc-private"),
        fallback_language=None,
    )
    assert continued is not None and continued.question == "¿y mi reembolso?"  # carried over
    async with httpx.AsyncClient() as http:
        await _deliver_all(_worker(aclient, settings, http), aclient)  # writes the welcome
    [(_, welcome)] = await aclient.xrange(keys.conversation_log("wc-private"))
    assert welcome["text"].startswith("¡Hola @ana!")
    written = {key async for key in aclient.scan_iter()} - before - set(TRIMMED_STREAMS)
    assert {keys.conversation("wc-private"), keys.conversation_log("wc-private")} <= written
    limit = settings.retention_days * 86400
    for key in written | {keys.customer("social", "u1")}:
        assert 0 < await aclient.ttl(key) <= limit, key


async def test_an_invitation_to_a_conversation_past_its_retention_is_refused(
    aclient: aioredis.Redis,
) -> None:
    token = await Customers(aclient).invite_token("c-expired")  # its conversation is gone
    accepted = await Invitations(aclient, _settings()).accept(
        token,
        conversation_id="tg-1",
        channel=Channel.TELEGRAM,
        route={},
        profile_key=keys.customer("telegram", "1"),
        fallback_language="es",
    )
    assert not accepted
    [(_, told)] = await aclient.xrange(keys.OUTBOX)  # told the link no longer works, no more
    assert told["conversation_id"] == "tg-1" and "ha caducado" in told["text"]
    assert "c-expired" not in told["text"]


async def _closed_handoff(aclient: aioredis.Redis, resolved_seconds_ago: float) -> str:
    await aclient.set(keys.conversation_owner("c1"), "closed")
    await aclient.set(keys.conversation_handoff("c1"), "h1")
    await aclient.hset(
        keys.handoff("h1"),
        mapping={
            "state": "closed",
            "conversation": "c1",
            "rating_asked": "1",
            "record": json.dumps({"language": "es"}),
            "resolved_epoch": str(time.time() - resolved_seconds_ago),
        },
    )
    return "h1"


async def test_a_rating_after_the_resolution_is_stored_once_and_thanked(
    aclient: aioredis.Redis,
) -> None:
    pipeline = InboundPipeline(aclient, _settings())
    await _closed_handoff(aclient, resolved_seconds_ago=10)
    rated = await pipeline.accept(_inbound("4/5"))
    assert rated.route is Route.RATING
    assert await aclient.hget(keys.handoff("h1"), "rating") == "4"
    [(_, thanks)] = await aclient.xrange(keys.OUTBOX)
    assert "Gracias por tu valoración" in thanks["text"]
    [(_, relayed)] = await aclient.xrange(keys.DESK_RELAY)
    assert relayed["kind"] == "rating" and relayed["rating"] == "4"
    again = await pipeline.accept(_inbound("5", message_id="m2"))  # rated already
    assert again.route is Route.RATED_AGAIN  # thanked and shown; no reopening (QA s20 desk #10)
    assert await aclient.hget(keys.handoff("h1"), "rating") == "4"
    assert await aclient.get(keys.conversation_owner("c1")) == "closed"


async def test_writing_soon_after_a_resolution_reopens_later_starts_anew(
    aclient: aioredis.Redis,
) -> None:
    settings = _settings().model_copy(update={"handoff_reopen_minutes": 60})
    pipeline = InboundPipeline(aclient, settings)
    await _closed_handoff(aclient, resolved_seconds_ago=600)
    assert (await pipeline.accept(_inbound("una cosa más"))).route is Route.RELAY
    assert await aclient.get(keys.conversation_owner("c1")) == "queued"
    assert await aclient.hget(keys.handoff("h1"), "state") == "queued"
    events = [f["action"] for _, f in await aclient.xrange(keys.handoff("h1") + ":events")]
    assert events == ["reopen"]
    logged = [
        f.get("text") or f["event"] for _, f in await aclient.xrange(keys.conversation_log("c1"))
    ]
    assert logged[-2:] == ["una cosa más", "queued"]  # the page draws "waiting" below it

    await _closed_handoff(aclient, resolved_seconds_ago=2 * 3600)
    assert (await pipeline.accept(_inbound("hola otra vez", message_id="m3"))).route is Route.BOT
    assert await aclient.get(keys.conversation_owner("c1")) == "bot"


async def test_a_flood_is_kept_in_the_log_but_only_the_first_messages_are_answered(
    aclient: aioredis.Redis,
) -> None:
    pipeline = InboundPipeline(aclient, Settings(customer_messages_per_minute=5))
    routes = [
        (await pipeline.accept(_inbound(f"spam {n}", message_id=f"f{n}"))).route for n in range(9)
    ]
    assert routes == [Route.BOT] * 5 + [Route.NOTICE] + [Route.THROTTLED] * 3
    assert await aclient.xlen(keys.INBOUND) == 5
    assert await aclient.xlen(keys.conversation_log("c1")) == 9  # nothing is lost
    [(_, notice)] = await aclient.xrange(keys.OUTBOX)
    assert "faster than I can read" in notice["text"]
    other = Inbound(
        channel=Channel.WEBCHAT,
        conversation_id="c2",
        message_id="o1",
        customer=Customer(id="u2"),
        text="hola",
    )
    assert (await pipeline.accept(other)).route is Route.BOT  # others are not slowed down


@asynccontextmanager
async def _running(worker: DeliveryWorker) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield
    finally:
        stop.set()
        await task


async def _until(check: Callable[[], bool | Awaitable[bool]], timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while not (await done if isawaitable(done := check()) else done):
            await asyncio.sleep(0.01)


async def _logged(client: aioredis.Redis, conversation: str, out_id: str) -> bool:
    entries = await client.xrange(keys.conversation_log(conversation))
    return any(fields.get("out_id") == out_id for _, fields in entries)


async def _public_backlog(pipeline: InboundPipeline, conversations: int, quiet: int = 0) -> None:
    """Public posts in c0, c1, ...; the first `conversations` get a two-part bot answer queued."""
    answer = ("Primera frase de la respuesta. " * 2).strip()  # two parts of 60 characters
    for n in range(conversations + quiet):
        post = _inbound("hola", message_id=f"m{n}", public=True, route={"reply_to": f"p{n}"})
        customer = Customer(id=f"u{n}", handle=f"ana{n}", followers=10)
        await pipeline.accept(replace(post, conversation_id=f"c{n}", customer=customer))
    for n in range(conversations):
        await pipeline.store.enqueue(Outgoing(f"bot{n}", f"c{n}", "bot", answer))


async def test_an_agents_reply_goes_out_ahead_of_the_bots_queued_public_replies(
    aclient: aioredis.Redis, connector: Connector
) -> None:
    settings = _settings(connector).model_copy(update={"social_rate_per_second": 10.0})
    pipeline = InboundPipeline(aclient, settings)
    conversations = 30
    await _public_backlog(pipeline, conversations, quiet=1)
    async with httpx.AsyncClient() as http, _running(_worker(aclient, settings, http)):
        await _until(lambda: len(connector.replies) >= 20)  # the burst is spent; lanes wait
        sent_before = len(connector.replies)
        await pipeline.store.enqueue(Outgoing("desk:1", f"c{conversations}", "agent", "Hola"))
        await _until(lambda: outbox_settled(aclient))
    order = [r["delivery_id"] for r in connector.replies]
    assert len(order) == conversations * 2 + 1
    # 10 parts a second: in turn, the reply would wait some 3 s behind a part of each of the
    # 30 conversations still sending; ahead of them it goes out within a few tenths of a second.
    assert order.index("desk:1:0") - sent_before <= 8
    for n in range(conversations):  # the bot's parts keep their order in each conversation
        assert [i for i in order if i.startswith(f"bot{n}:")] == [f"bot{n}:0", f"bot{n}:1"]


async def test_a_channel_waiting_on_its_rate_limit_does_not_hold_back_another_channel(
    aclient: aioredis.Redis, connector: Connector
) -> None:
    settings = _settings(connector).model_copy(update={"social_rate_per_second": 4.0})
    pipeline = InboundPipeline(aclient, settings)
    public = 12
    await _public_backlog(pipeline, public)
    chat = replace(_inbound("hola", message_id="w"), conversation_id="web1")
    await pipeline.accept(chat)
    # Two sends in flight per channel; 24 public parts at 4 a second take some 6 s.
    async with httpx.AsyncClient() as http, _running(_worker(aclient, settings, http, 2)):
        await _until(lambda: len(connector.replies) >= 8)  # the burst is spent; lanes wait
        await pipeline.store.enqueue(Outgoing("web:1", "web1", "bot", "Hola"))
        await _until(lambda: _logged(aclient, "web1", "web:1"))
        public_sent_by_then = len(connector.replies)
        await _until(lambda: outbox_settled(aclient))
    # The web chat reply was delivered while the public replies were still waiting on their
    # rate limit, not after them.
    assert public_sent_by_then < public * 2 - 6
    assert len(connector.replies) == public * 2

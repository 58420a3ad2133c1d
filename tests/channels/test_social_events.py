"""The social events API on a real Redis: which posts are taken, and what the assistant gets.

The router is the gateway's own (`social_router`) on the real pipeline; requests go in through
ASGI, and nothing consumes what they write, so the inbound stream and the outbox show it. The
last tests run the assistant worker too, against a stand-in for Rasa's webhook over real HTTP.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from fastapi import FastAPI

from bot.assistant import AssistantWorker
from bot.channels.social import social_router
from bot.pipeline import BRAND_POST_CHARS, InboundPipeline
from bot.rasa_client import RasaClient
from bot.signing import signed_headers
from bot.texts import text
from relevo import keys
from relevo.settings import Settings
from tests.bot.test_rasa_client import free_port

SECRET = "events-secret"
SETTINGS = Settings(social_secret=SECRET)


@pytest.fixture
def pipeline(aclient: aioredis.Redis) -> InboundPipeline:
    return InboundPipeline(aclient, SETTINGS)


@pytest.fixture
async def http(
    aclient: aioredis.Redis, pipeline: InboundPipeline
) -> AsyncIterator[httpx.AsyncClient]:
    """The events API of a gateway on the test Redis."""
    app = FastAPI()
    app.include_router(social_router(pipeline, SETTINGS, aclient))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


async def post(http: httpx.AsyncClient, **event: Any) -> httpx.Response:
    """POST one signed event (network "x", author ana) with `event`'s fields."""
    body = json.dumps({"network": "x", "author": {"id": "u1", "handle": "ana"}, **event}).encode()
    return await http.post(
        "/channels/social/events", content=body, headers=signed_headers(SECRET, body)
    )


async def queued_metadata(client: aioredis.Redis) -> list[dict[str, Any]]:
    """The metadata of each message handed to the assistant."""
    return [json.loads(fields["metadata"]) for _, fields in await client.xrange(keys.INBOUND)]


async def test_an_answer_to_the_brands_reply_named_by_its_id_alone_is_taken_in_its_thread(
    http: httpx.AsyncClient, aclient: aioredis.Redis
) -> None:
    """Relevo keeps the ids of the posts it made; an answer to one is for the brand (QA s22 D7)."""
    await aclient.set(keys.social_reply("x", "brand-reply-34"), "m2")
    answer = await post(
        http,
        post_id="m2b",
        text="and how much does it cost?",
        in_reply_to={"post_id": "brand-reply-34"},
    )
    assert answer.status_code == 202, answer.json()
    assert answer.json()["because"] == "reply"
    assert answer.json()["conversation_id"] == "social:x:m2:u1"
    assert await aclient.xlen(keys.INBOUND) == 1


async def test_an_answer_to_a_post_relevo_did_not_make_is_still_ignored(
    http: httpx.AsyncClient, aclient: aioredis.Redis
) -> None:
    answer = await post(
        http, post_id="m3", text="and how much?", in_reply_to={"post_id": "someone-elses"}
    )
    assert answer.json() == {"status": "ignored", "reason": "not addressed to the brand"}
    assert await aclient.xlen(keys.INBOUND) == 0


async def test_the_assistant_reads_the_brands_post_a_reply_answers_and_no_one_elses(
    http: httpx.AsyncClient, aclient: aioredis.Redis
) -> None:
    """ "how much is it?" under the brand's post asks about the post (QA M5)."""
    promo = "🐶 From December\nyour dog can fly with you in the cabin. " + "Book now! " * 80
    await aclient.set(keys.social_reply("x", "brand-reply-9"), "t9")
    events = [
        {"in_reply_to": {"post_id": "b1", "author_handle": "@BrisaAir", "text": promo}},
        {"in_reply_to": {"post_id": "brand-reply-9", "text": "Here's what I found…"}},
        {"in_reply_to": {"post_id": "b2", "author_handle": "brisaair"}},  # no text sent
        {"in_reply_to": {"post_id": "o1", "author_handle": "bob", "text": "my dog flew"}},
    ]
    for number, event in enumerate(events):
        answer = await post(http, post_id=f"r{number}", text="@brisaair how much is it?", **event)
        assert answer.status_code == 202, answer.json()
    posts = [m.get("brand_post") for m in await queued_metadata(aclient)]
    assert posts[0] is not None and len(posts[0]) == BRAND_POST_CHARS
    assert posts[0].startswith("🐶 From December\nyour dog can fly with you in the cabin. Book")
    assert posts[1:] == ["Here's what I found…", None, None]


@pytest.mark.parametrize("network", ["x:y", "mastodon social", "x\ny"])
async def test_a_network_name_that_would_break_ids_and_keys_is_refused(
    http: httpx.AsyncClient, aclient: aioredis.Redis, network: str
) -> None:
    """`x:y` made `social:x:y:<post>:<author>`: network x, thread y:<post> (QA s22 D18)."""
    answer = await post(http, network=network, post_id="n1", text="@brisaair hola")
    assert answer.status_code == 422
    assert answer.json()["problems"] == [
        "network: a network's name has no ':' or spaces (letters, digits and . _ - @ / only)"
    ]
    assert await aclient.keys("*") == []


async def test_a_network_name_with_dots_is_taken(
    http: httpx.AsyncClient, aclient: aioredis.Redis
) -> None:
    answer = await post(http, network="mastodon.social", post_id="n2", text="@brisaair hola")
    assert answer.json()["conversation_id"] == "social:mastodon.social:n2:u1"


@pytest.mark.parametrize(
    "said",
    [
        "@brisaair https://x.example/photo/123",
        "@BrisaAir @ana_friend #travel 😍✈️ www.example.com/p",
        "@brisaair",
        "@brisaair 👎",  # a first post: not a no to anything
    ],
)
async def test_a_mention_with_only_links_tags_or_emoji_gets_the_public_hello(
    http: httpx.AsyncClient, aclient: aioredis.Redis, said: str
) -> None:
    """A link-only post got the contact-hours article (QA s22 D17)."""
    answer = await post(http, post_id="l4", text=said)
    assert answer.json()["route"] == "notice"
    [(_, notice)] = await aclient.xrange(keys.OUTBOX)
    assert notice["text"] == text("empty_public", "en")
    assert await aclient.xlen(keys.INBOUND) == 0


async def test_an_angry_emoji_and_a_thumbs_down_under_an_answer_go_to_the_assistant(
    http: httpx.AsyncClient, aclient: aioredis.Redis
) -> None:
    """QA s25 M2: "@brisaair 😡😡😡" and a 👎 under the assistant's answer got the hello."""
    angry = await post(http, post_id="e1", text="@brisaair 😡😡😡")
    assert angry.json()["route"] == "bot"
    conversation = "social:x:e2:u1"
    await aclient.xadd(keys.conversation_log(conversation), {"author": "bot", "text": "Puedes…"})
    thumbs = await post(http, post_id="e2", text="@brisaair 👎")
    assert thumbs.json() == {**thumbs.json(), "conversation_id": conversation, "route": "bot"}
    assert await aclient.xlen(keys.OUTBOX) == 0
    assert [f["text"] for _, f in await aclient.xrange(keys.INBOUND)] == ["😡😡😡", "👎"]


async def test_an_overheard_post_is_marked_so_and_gets_no_hello(
    http: httpx.AsyncClient, aclient: aioredis.Redis
) -> None:
    """Listening detects: a post nobody addressed to the brand is not greeted (QA s22 D2)."""
    overheard = await post(http, post_id="k4", text="Aquí con Brisa Air en Madrid, qué bien")
    tagged = await post(
        http, post_id="k5", text="#BrisaAir 😍✈️", author={"id": "u2", "handle": "b"}
    )
    mention = await post(http, post_id="k6", text="@brisaair ¿hay wifi?")
    assert [a.json()["because"] for a in (overheard, tagged, mention)] == [
        "listening:brisa air",
        "listening:#brisaair",
        "mention",
    ]
    assert [a.json()["route"] for a in (overheard, tagged, mention)] == ["bot", "bot", "bot"]
    assert await aclient.xlen(keys.OUTBOX) == 0  # the hashtag alone: no "how can we help?"
    assert [m.get("overheard") for m in await queued_metadata(aclient)] == [
        "brisa air",
        "#brisaair",
        None,
    ]


DECLINE = "That's something I can't answer here, sorry."
HANDOFF = "A person from our team will reply to you here."


async def rasa_webhook(request: web.Request) -> web.Response:
    """What Rasa and the action server answer: a person for a complaint, else a decline."""
    said = (await request.json())["message"]
    if "shame" in said:  # a complaint: empathy, then the handoff with its public line
        replies = [
            {"text": "I'm really sorry."},
            {"text": HANDOFF},
            {"custom": {"relevo": {"decision": "handoff", "reason": "complaint"}}},
        ]
    else:
        replies = [{"text": DECLINE}, {"custom": {"relevo": {"decision": "decline"}}}]
    return web.json_response([{"recipient_id": "c", **r} for r in replies])


@pytest.fixture
async def rasa_url() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", rasa_webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def answered(
    http: httpx.AsyncClient,
    aclient: aioredis.Redis,
    pipeline: InboundPipeline,
    rasa_url: str,
    posts: dict[str, str],
) -> dict[str, list[str]]:
    """Post `posts` (post id: text) and let the assistant answer; each post's outbox texts."""
    worker = AssistantWorker(client=aclient, rasa=RasaClient(url=rasa_url, timeout=5))
    pipeline.hand_to(worker.lanes)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        for number, (post_id, said) in enumerate(posts.items()):
            author = {"id": f"u{number}", "handle": f"customer{number}"}
            assert (await post(http, post_id=post_id, text=said, author=author)).status_code == 202
        async with asyncio.timeout(20):
            while not all([await aclient.exists(keys.inbound_done(f"x:{p}")) for p in posts]):
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await running
    out: dict[str, list[str]] = {post_id: [] for post_id in posts}
    for _, fields in await aclient.xrange(keys.OUTBOX):
        out[fields["out_id"].split(":")[1]].append(fields.get("event") or fields["text"])
    return out


async def test_an_overheard_post_gets_a_public_reply_only_when_there_is_something_useful_to_say(
    http: httpx.AsyncClient,
    aclient: aioredis.Redis,
    pipeline: InboundPipeline,
    rasa_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A happy post with the brand's name got "I can't answer that" in public (QA s22 D2)."""
    with caplog.at_level(logging.INFO, logger="bot.turns"):
        out = await answered(
            http,
            aclient,
            pipeline,
            rasa_url,
            {
                "happy": "Loving my flight with #BrisaAir today",
                "angry": "Brisa Air, what a shame, 3 hours waiting at the gate",
                "asked": "@brisaair do you fly to Tenerife?",
            },
        )
    assert out == {
        "happy": [],  # overheard, nothing useful to say: silence
        "angry": ["I'm really sorry.\n" + HANDOFF, "queued"],  # a complaint goes to a person
        "asked": [DECLINE],  # addressed to the brand: it is answered, whatever the answer
    }
    decisions = [f["decision"] for _, f in await aclient.xrange(keys.EVENTS) if "decision" in f]
    assert sorted(decisions) == ["decline", "decline", "handoff"]  # all three counted
    logged = await aclient.xrange(keys.conversation_log("social:x:happy:u0"))
    assert [f["text"] for _, f in logged] == ["Loving my flight with #BrisaAir today"]
    [silence] = [r for r in caplog.records if "nothing useful to say" in r.getMessage()]
    assert getattr(silence, "conversation", None) == "social:x:happy:u0"

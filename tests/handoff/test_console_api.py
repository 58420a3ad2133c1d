"""The agent console's API in process, on a real Redis, with the real desk consuming handoffs."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import stat
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import redis.asyncio as aioredis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from starlette.websockets import WebSocketDisconnect

from bot.channels.webchat import WebchatSender
from bot.console_routes import COOKIE, install_console, sla_state, thread
from bot.conversations import ConversationStore, Route
from bot.dashboard_routes import sla_bucket
from bot.delivery import DeliveryWorker, RetryPolicy
from bot.gestures import Gesture
from bot.inbound import Channel, Customer, Inbound
from bot.invitations import Invitations
from bot.log_entries import customer_log_fields
from bot.pipeline import InboundPipeline
from handoff.announcements import Announcements
from handoff.console import ConsoleDesk, queue_order
from handoff.console_login import Agent, ConsoleLogin, agent_for, console_token
from handoff.desk import AlertLevel, HandoffView
from handoff.follow import Followed, follow_to_private
from handoff.replies import ReplyOutcome, hint
from handoff.requests import HandoffRequest, Priority, Reason, TranscriptLine, request_handoff
from handoff.texts import text as desk_text
from relevo import keys
from relevo.settings import Settings

TOKEN = "console-test-token"
CARE_PHONE = Settings().care_phone  # the demo brand's, which the off-shift notice gives
HEADER = {"X-Relevo-Console": "1"}


@pytest.fixture
async def console(aclient: aioredis.Redis) -> AsyncIterator[ConsoleDesk]:
    """The console's desk, running (it consumes handoff requests, relays and receipts)."""
    desk = ConsoleDesk(aclient)
    stop = asyncio.Event()
    task = asyncio.create_task(desk.desk.run(stop))
    yield desk
    stop.set()
    await task


def console_app(console: ConsoleDesk, client: aioredis.Redis, tmp_path: Path) -> FastAPI:
    app = FastAPI()
    settings = Settings(data_dir=tmp_path, console_token=SecretStr(TOKEN))
    install_console(app, console, ConversationStore(client), settings)
    return app


@pytest.fixture
def app(console: ConsoleDesk, aclient: aioredis.Redis, tmp_path: Path) -> FastAPI:
    return console_app(console, aclient, tmp_path)


def http(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console")


async def logged_in(app: FastAPI, name: str) -> httpx.AsyncClient:
    agent = http(app)
    answer = await agent.post("/console/login", json={"name": name, "token": TOKEN}, headers=HEADER)
    assert answer.status_code == 200, answer.text
    return agent


def queue(
    redis_client: redis.Redis,
    conversation: str = "wc-console-1",
    channel: str = "webchat",
    reason: Reason = Reason.ASKED_FOR_PERSON,
) -> str:
    request = HandoffRequest(
        conversation_id=conversation,
        channel=channel,
        language="es",
        reason=reason,
        priority=Priority.NORMAL,
        transcript=[TranscriptLine("customer", "quiero hablar con una persona", "2025-01-01")],
        hits=[],
        draft=None,
        customer={"id": conversation},
    )
    assert request_handoff(redis_client, request)
    return request.id


async def listed(agent: httpx.AsyncClient, handoff: str, where: str = "open") -> dict[str, Any]:
    """The handoff once the desk has put it in the console's `where` list."""
    async with asyncio.timeout(10):
        while True:
            found = [h for h in (await agent.get("/console/api/handoffs")).json()[where]]
            for item in found:
                if item["id"] == handoff:
                    return item
            await asyncio.sleep(0.05)


def outbox(redis_client: redis.Redis) -> list[dict[str, str]]:
    return [fields for _, fields in redis_client.xrange(keys.OUTBOX)]


async def test_login_takes_the_token_and_a_name_and_everything_needs_it(
    app: FastAPI, redis_client: redis.Redis
) -> None:
    async with http(app) as anonymous:
        page = await anonymous.get("/console")
        assert page.status_code == 200 and "Agent console" in page.text
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        for path in ("/console/api/me", "/console/api/handoffs", "/console/api/handoffs/x"):
            answer = await anonymous.get(path)
            assert (answer.status_code, answer.json()) == (401, {"error": "log in first"})
        wrong = await anonymous.post(
            "/console/login", json={"name": "Laura", "token": "nope"}, headers=HEADER
        )
        assert (wrong.status_code, wrong.json()) == (401, {"error": "wrong token"})
        no_header = await anonymous.post("/console/login", json={"name": "Laura", "token": TOKEN})
        assert no_header.status_code == 403
        blank = await anonymous.post(
            "/console/login", json={"name": " \u200b\n", "token": TOKEN}, headers=HEADER
        )
        assert blank.status_code == 422
        forged = httpx.Cookies({COOKIE: ConsoleLogin("another token").issue(Agent("web:x", "X"))})
        anonymous.cookies = forged
        assert (await anonymous.get("/console/api/me")).status_code == 401

    laura = await logged_in(app, "  Laura   Gómez ")
    cookie = next(c for c in laura.cookies.jar if c.name == COOKIE)
    assert cookie.path == "/console" and cookie.has_nonstandard_attr("HttpOnly")
    me = (await laura.get("/console/api/me")).json()
    assert me == {"id": "web:laura-gomez", "name": "Laura Gómez"}
    agents = (await laura.get("/console/api/agents")).json()
    assert agents == [me]
    assert (await laura.post("/console/logout", headers=HEADER)).status_code == 204
    assert (await laura.get("/console/api/me")).status_code == 401
    await laura.aclose()


async def test_posts_without_the_console_header_are_refused(
    app: FastAPI, redis_client: redis.Redis
) -> None:
    handoff = queue(redis_client)
    laura = await logged_in(app, "Laura")
    await listed(laura, handoff)
    refused = await laura.post(f"/console/api/handoffs/{handoff}/claim")
    assert refused.status_code == 403 and "X-Relevo-Console" in refused.json()["error"]
    reply = await laura.post(
        f"/console/api/handoffs/{handoff}/reply", json={"text": "hola", "client_id": "c" * 10}
    )
    assert reply.status_code == 403
    assert redis_client.hget(keys.handoff(handoff), "state") == "queued"
    await laura.aclose()


async def test_simultaneous_claims_have_one_winner_and_the_others_learn_who(
    app: FastAPI, redis_client: redis.Redis
) -> None:
    handoff = queue(redis_client)
    agents = [await logged_in(app, f"Agent {i}") for i in range(12)]
    await listed(agents[0], handoff)
    answers = await asyncio.gather(
        *(a.post(f"/console/api/handoffs/{handoff}/claim", headers=HEADER) for a in agents)
    )
    assert sorted(a.status_code for a in answers) == [200] + [409] * 11
    winner = next(a.json() for a in answers if a.status_code == 200)
    assert winner["state"] == "agent" and winner["owner_name"].startswith("Agent ")
    for lost in (a.json() for a in answers if a.status_code == 409):
        assert lost["owner_name"] == winner["owner_name"]
        assert lost["error"] == f"{winner['owner_name']} already owns this handoff."
    item = await listed(agents[0], handoff)
    assert (item["state"], item["owner"]) == ("agent", winner["owner"])
    for agent in agents:
        await agent.aclose()


async def test_notes_stay_internal_and_the_owners_reply_goes_out_once_with_its_receipt(
    app: FastAPI, redis_client: redis.Redis
) -> None:
    handoff = queue(redis_client)
    laura, marc = await logged_in(app, "Laura"), await logged_in(app, "Marc")
    await listed(laura, handoff)
    url = f"/console/api/handoffs/{handoff}"

    async def write(agent: httpx.AsyncClient, text: str, note: bool, ref: str) -> httpx.Response:
        return await agent.post(
            f"{url}/reply", json={"text": text, "note": note, "client_id": ref}, headers=HEADER
        )

    early = await write(laura, "Hola", False, "ref-early-1")  # not claimed yet
    assert early.status_code == 409 and "claim it first" in early.json()["error"]
    assert (await write(marc, "cliente VIP, ojo", True, "ref-note-01")).json() == {
        "outcome": "note"
    }
    assert (await laura.post(f"{url}/claim", headers=HEADER)).status_code == 200
    assert (await write(marc, "Yo le contesto", False, "ref-marc-01")).status_code == 409
    assert (await write(laura, "Hola, soy Laura.", False, "ref-reply-1")).json() == {
        "outcome": "sent"
    }
    resent = await write(laura, "Hola, soy Laura.", False, "ref-reply-1")  # a retried request
    assert resent.json() == {"outcome": "duplicate"}

    sent = [m for m in outbox(redis_client) if m["author"] == "agent"]
    assert [(m["text"], m["agent"]) for m in sent] == [("Hola, soy Laura.", "Laura")]
    assert sent[0]["receipt"] == f"console:{handoff}:ref-reply-1"
    assert not any("VIP" in m["text"] or "contesto" in m["text"] for m in outbox(redis_client))

    def written() -> list[dict[str, Any]]:
        return [i for i in detail["thread"] if i["kind"] in ("note", "reply")]

    detail = (await laura.get(url)).json()
    assert [(i["kind"], i["agent"], i["text"], i["delivery"]) for i in written()] == [
        ("note", "Marc", "cliente VIP, ojo", ""),
        ("reply", "Laura", "Hola, soy Laura.", "pending"),
    ]
    assert detail["handoff"]["notes"] == 1 and detail["handoff"]["first_response_at"]

    redis_client.xadd(keys.DESK_RECEIPTS, {"receipt": sent[0]["receipt"], "ok": "1"})
    async with asyncio.timeout(10):
        while written()[-1]["delivery"] != "ok":
            await asyncio.sleep(0.05)
            detail = (await laura.get(url)).json()

    assert (await write(laura, "¿Sigues ahí?", False, "ref-reply-2")).status_code == 200
    redis_client.xadd(
        keys.DESK_RECEIPTS,
        {"receipt": f"console:{handoff}:ref-reply-2", "ok": "", "reason": "chat not found"},
    )
    async with asyncio.timeout(10):
        while written()[-1]["delivery"] != "failed":
            await asyncio.sleep(0.05)
            detail = (await laura.get(url)).json()
    assert written()[-1]["reason"] == "chat not found"
    await laura.aclose()
    await marc.aclose()


async def test_the_switch_decides_and_a_reply_that_starts_like_a_note_is_confirmed_first(
    app: FastAPI, redis_client: redis.Redis
) -> None:
    """QA s24 #1: "Note: your claim is registered" with the switch off was kept as a note."""
    handoff = queue(redis_client)
    laura = await logged_in(app, "Laura")
    await listed(laura, handoff)
    url = f"/console/api/handoffs/{handoff}"
    assert (await laura.post(f"{url}/claim", headers=HEADER)).status_code == 200
    typed = "Note: your claim is registered, 250 EUR within 7 days."

    async def write(text: str, ref: str, **extra: bool) -> httpx.Response:
        said = {"text": text, "note": False, "client_id": ref, **extra}
        return await laura.post(f"{url}/reply", json=said, headers=HEADER)

    asked = await write(typed, "ref-looks-1")
    assert asked.status_code == 409
    assert asked.json() == {
        "error": hint(ReplyOutcome.LOOKS_LIKE_NOTE),
        "outcome": "looks_like_note",
    }
    assert not [m for m in outbox(redis_client) if m["author"] == "agent"]
    assert (await write(typed, "ref-looks-1", as_typed=True)).json() == {"outcome": "sent"}
    assert [m["text"] for m in outbox(redis_client) if m["author"] == "agent"] == [typed]
    # The switch on: a note, whatever its first words; nothing more reaches the customer.
    noted = {"text": "llamar mañana", "note": True, "client_id": "ref-note-02"}
    assert (await laura.post(f"{url}/reply", json=noted, headers=HEADER)).json() == {
        "outcome": "note"
    }
    assert len([m for m in outbox(redis_client) if m["author"] == "agent"]) == 1
    detail = (await laura.get(url)).json()
    assert [(i["kind"], i["text"]) for i in detail["thread"] if i["kind"] in ("note", "reply")] == [
        ("reply", typed),
        ("note", "llamar mañana"),
    ]
    await laura.aclose()


async def test_a_notice_withdrawn_after_the_filing_is_shown_as_withdrawn(
    app: FastAPI, redis_client: redis.Redis
) -> None:
    """QA s24 A4: a withdrawn delay stayed on the handoff as if it were current."""
    notices = Announcements(redis_client)
    delay = notices.publish(
        {"es": "El BA777 sale con 2 h de retraso."}, ["persona"], dt.timedelta(hours=1), "ops"
    )
    handoff = queue(redis_client)
    laura = await logged_in(app, "Laura")
    await listed(laura, handoff)
    url = f"/console/api/handoffs/{handoff}"
    shown = (await laura.get(url)).json()["handoff"]
    assert (shown["notices"], shown["withdrawn_notices"]) == (
        ["El BA777 sale con 2 h de retraso."],
        [],
    )
    notices.withdraw(delay.id)
    shown = (await laura.get(url)).json()["handoff"]
    assert (shown["notices"], shown["withdrawn_notices"]) == (
        [],
        ["El BA777 sale con 2 h de retraso."],
    )
    await laura.aclose()


async def test_a_reply_to_an_unknown_handoff_is_not_found(app: FastAPI) -> None:
    laura = await logged_in(app, "Laura")
    said = {"text": "hola", "note": False, "client_id": "ref-unknown-1"}
    missing = await laura.post("/console/api/handoffs/h-nosuch/reply", json=said, headers=HEADER)
    assert missing.status_code == 404 and missing.json()["error"] == "no such handoff"
    await laura.aclose()


async def test_a_public_reply_longer_than_two_posts_is_refused_with_a_hint(
    app: FastAPI, redis_client: redis.Redis
) -> None:
    """QA s22 D11: 1,400 characters went out as six public posts; private keeps 4000."""
    public = queue(redis_client, "social:x:t-long:u1", channel="social")
    private = queue(redis_client, "wc-console-long")
    laura = await logged_in(app, "Laura")

    async def reply(handoff: str, ref: str) -> httpx.Response:
        url = f"/console/api/handoffs/{handoff}"
        await listed(laura, handoff)
        assert (await laura.post(f"{url}/claim", headers=HEADER)).is_success
        said = {"text": "Sorry. " * 200, "note": False, "client_id": ref}
        return await laura.post(f"{url}/reply", json=said, headers=HEADER)

    refused = await reply(public, "ref-long-public")
    assert refused.status_code == 422  # what it says, not where the handoff stands (409)
    assert refused.json() == {
        "error": hint(ReplyOutcome.PUBLIC_TOO_LONG),
        "outcome": "public_too_long",
    }
    assert "Invite to private" in refused.json()["error"]
    assert (await reply(private, "ref-long-private")).is_success
    assert [m["conversation_id"] for m in outbox(redis_client) if m["author"] == "agent"] == [
        "wc-console-long"
    ]
    await laura.aclose()


async def test_the_owner_invites_a_public_customer_to_private_once_with_its_receipt(
    app: FastAPI, redis_client: redis.Redis
) -> None:
    """On a public post the desk refused personal data and said to move the customer to a
    private message, with no way to do it: its owner invites them, once, as a reply."""
    conversation = "social:x:t-invite:u1"
    public = queue(redis_client, conversation, channel="social")
    private = queue(redis_client, "wc-console-invite")
    laura, marc = await logged_in(app, "Laura"), await logged_in(app, "Marc")
    assert (await listed(laura, public))["public"] is True
    assert (await listed(laura, private))["public"] is False
    url = f"/console/api/handoffs/{public}"

    early = await laura.post(f"{url}/invite", headers=HEADER)  # not claimed yet
    assert (early.status_code, early.json()["outcome"]) == (409, "not_owner")
    assert "claim it first" in early.json()["error"]
    assert (await laura.post(f"{url}/claim", headers=HEADER)).status_code == 200
    assert (await marc.post(f"{url}/invite", headers=HEADER)).json()["outcome"] == "not_owner"
    invited = await laura.post(f"{url}/invite", headers=HEADER)
    assert invited.json() == {"outcome": "sent", "notice": ""}
    again = await laura.post(f"{url}/invite", headers=HEADER)  # a double click
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert "already on the public thread" in again.json()["notice"]

    [sent] = [m for m in outbox(redis_client) if m["invite_private"]]
    assert (sent["author"], sent["agent"], sent["conversation_id"]) == (
        "agent",
        "Laura",
        conversation,
    )
    assert sent["text"].startswith("Sigamos por privado")
    assert sent["receipt"].startswith(f"console:{public}:")
    assert sent["out_id"] == f"desk:{sent['receipt']}"
    redis_client.xadd(  # delivered: the log has it too, and the thread shows it once
        keys.conversation_log(conversation),
        {"type": "message", "author": "agent", "text": sent["text"], "out_id": sent["out_id"]},
    )
    redis_client.xadd(keys.DESK_RECEIPTS, {"receipt": sent["receipt"], "ok": "1"})

    def invitations() -> list[tuple[str, str, str]]:
        thread = [i for i in detail["thread"] if i.get("text") == sent["text"]]
        return [(i["kind"], i["agent"], i["delivery"]) for i in thread]

    detail = (await laura.get(url)).json()
    async with asyncio.timeout(10):
        while invitations() != [("invite", "Laura", "ok")]:
            await asyncio.sleep(0.05)
            detail = (await laura.get(url)).json()
    assert detail["handoff"]["first_response_at"]

    assert (await laura.post(f"/console/api/handoffs/{private}/claim", headers=HEADER)).is_success
    refused = await laura.post(f"/console/api/handoffs/{private}/invite", headers=HEADER)
    assert (refused.status_code, refused.json()["outcome"]) == (409, "not_public")
    assert (await laura.post(f"{url}/resolve", headers=HEADER)).status_code == 200
    closed = await laura.post(f"{url}/invite", headers=HEADER)
    assert (closed.status_code, closed.json()["outcome"]) == (409, "closed")
    assert len([m for m in outbox(redis_client) if m["invite_private"]]) == 1
    await laura.aclose()
    await marc.aclose()


async def test_reassign_return_and_resolve(app: FastAPI, redis_client: redis.Redis) -> None:
    first, second = queue(redis_client, "wc-console-a"), queue(redis_client, "wc-console-b")
    laura, marc = await logged_in(app, "Laura"), await logged_in(app, "Marc")
    await listed(laura, second)
    unknown = await laura.post(
        f"/console/api/handoffs/{first}/reassign", json={"to_id": "web:nobody"}, headers=HEADER
    )
    assert unknown.status_code == 422
    moved = await laura.post(
        f"/console/api/handoffs/{first}/reassign", json={"to_id": "web:marc"}, headers=HEADER
    )
    assert (moved.status_code, moved.json()["owner_name"]) == (200, "Marc")
    assert redis_client.get(keys.conversation_owner("wc-console-a")) == "agent:web:marc"

    assert (await marc.post(f"/console/api/handoffs/{first}/return", headers=HEADER)).json()[
        "state"
    ] == "returned"
    assert (await laura.post(f"/console/api/handoffs/{second}/resolve", headers=HEADER)).json()[
        "state"
    ] == "closed"
    again = await laura.post(f"/console/api/handoffs/{second}/return", headers=HEADER)
    assert again.status_code == 409 and again.json()["error"].startswith(
        "This handoff was resolved, so it cannot be returned"
    )
    missing = await laura.post("/console/api/handoffs/nope/claim", headers=HEADER)
    assert missing.status_code == 404

    closed = [h["id"] for h in (await laura.get("/console/api/handoffs")).json()["closed"]]
    assert set(closed) == {first, second}
    assert (await laura.get("/console/api/handoffs")).json()["open"] == []
    rating = [m for m in outbox(redis_client) if m["out_id"] == f"desk:{second}:rating"]
    assert len(rating) == 1 and "1 (mala) a 5 (excelente)" in rating[0]["text"]
    history = (await laura.get(f"/console/api/handoffs/{first}")).json()["history"]
    assert [(e["action"], e["by_name"]) for e in history] == [
        ("reassign", "Laura"),
        ("return", "Marc"),
    ]
    await laura.aclose()
    await marc.aclose()


async def test_the_change_feed_follows_every_handoff_and_the_open_conversation(
    console: ConsoleDesk, aclient: aioredis.Redis, redis_client: redis.Redis
) -> None:
    handoff = queue(redis_client, "wc-feed")
    feed = console.feed()
    await feed.start()
    assert await feed.next(block_ms=5_000) == [handoff]  # the desk listed it
    while await feed.next(block_ms=300):  # and posted the transcript
        pass
    await feed.watch(handoff)
    redis_client.xadd(keys.conversation_log("wc-feed"), {"type": "message", "author": "bot"})
    assert await feed.next(block_ms=2_000) == [handoff]
    assert await feed.next(block_ms=100) == []
    await feed.watch("unknown")  # no conversation: back to the handoffs' changes only
    redis_client.xadd(keys.conversation_log("wc-feed"), {"type": "message", "author": "bot"})
    assert await feed.next(block_ms=100) == []


def test_the_socket_needs_a_session_from_this_site_and_pushes_changes(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    app = console_app(ConsoleDesk(client), client, tmp_path)
    with TestClient(app) as browser:  # its sockets come from http://testserver
        with pytest.raises(WebSocketDisconnect), browser.websocket_connect("/console/ws"):
            pass
        login = browser.post(
            "/console/login", json={"name": "Laura", "token": TOKEN}, headers=HEADER
        )
        session = {"cookie": f"{COOKIE}={login.cookies[COOKIE]}"}
        evil = {**session, "origin": "http://evil.example"}
        with (
            pytest.raises(WebSocketDisconnect),
            browser.websocket_connect("/console/ws", headers=evil),
        ):
            pass
        ours = {**session, "origin": "http://testserver"}
        with browser.websocket_connect("/console/ws", headers=ours) as ws:
            redis_client.xadd(keys.CONSOLE_EVENTS, {"handoff": "h-1"})
            assert ws.receive_json() == {"type": "changed", "handoff": "h-1"}


def test_sessions_expire_and_end_when_the_token_changes() -> None:
    login = ConsoleLogin("t1", lifetime=60)
    cookie = login.issue(Agent("web:ana", "Ana"), now=1000)
    assert login.read(cookie, now=1030) == Agent("web:ana", "Ana")
    assert login.read(cookie, now=1061) is None
    assert ConsoleLogin("t2").read(cookie, now=1030) is None
    payload, signature = cookie.split(".")
    assert login.read(f"{payload}x.{signature}", now=1030) is None
    assert login.read("garbage", now=1030) is None
    assert login.token_matches("t1") and not login.token_matches("t1 ")


def test_agent_ids_are_slugs_of_names() -> None:
    assert agent_for("Laura Gómez") == Agent("web:laura-gomez", "Laura Gómez")
    assert agent_for("  MARC\t") == Agent("web:marc", "MARC")
    assert agent_for("李明").id.startswith("web:") and agent_for("李明").id == agent_for("李明").id
    with pytest.raises(ValueError):
        agent_for(" \x00 ")


def test_without_a_token_setting_one_is_generated_once_and_kept_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RELEVO_CONSOLE_TOKEN", raising=False)
    settings = Settings(data_dir=tmp_path / "data")
    token = console_token(settings)
    assert len(token) >= 24 and console_token(settings) == token
    mode = stat.S_IMODE(os.stat(tmp_path / "data" / "console-token").st_mode)
    assert mode == 0o600
    assert console_token(Settings(data_dir=tmp_path / "data", console_token="set")) == "set"


def triaged(
    redis_client: redis.Redis,
    conversation: str,
    *,
    priority: Priority = Priority.NORMAL,
    score: int = 0,
    created_at: str = "2026-03-02T09:00:00+00:00",
    said: str = "quiero hablar con una persona",
    draft: str | None = None,
    **fields: Any,
) -> str:
    """A handoff as the escalation files it: priority, score and reasons, department, SLA."""
    request = HandoffRequest(
        conversation_id=conversation,
        channel="webchat",
        language="es",
        reason=Reason.COMPLAINT,
        priority=priority,
        transcript=[TranscriptLine("customer", said, created_at)],
        hits=[],
        draft=draft,
        customer={"id": conversation},
        created_at=created_at,
        score=score,
        **fields,
    )
    assert request_handoff(redis_client, request)
    return request.id


async def test_the_queue_is_most_urgent_first_then_oldest_with_the_triage_for_each(
    app: FastAPI, redis_client: redis.Redis
) -> None:
    newer = triaged(redis_client, "wc-normal-new", created_at="2026-03-02T09:30:00+00:00")
    older = triaged(redis_client, "wc-normal-old", created_at="2026-03-02T09:00:00+00:00")
    low = triaged(redis_client, "wc-low", priority=Priority.LOW, created_at="2026-03-02T08:00:00")
    high_40 = triaged(redis_client, "wc-high-40", priority=Priority.HIGH, score=40)
    urgent = triaged(
        redis_client,
        "wc-urgent",
        priority=Priority.URGENT,
        score=10,
        created_at="2026-03-02T09:59:00+00:00",
        priority_reasons=["complaint +25", "12,400 followers +20"],
        department="baggage",
        routing_reasons=["keyword: maleta"],
    )
    high_60 = triaged(redis_client, "wc-high-60", priority=Priority.HIGH, score=60)
    raised = triaged(redis_client, "wc-raised", created_at="2026-03-02T10:30:00+00:00")
    redis_client.hset(keys.handoff(raised), "priority", "high")  # an SLA breach raised it
    laura = await logged_in(app, "Laura")
    for handoff in (newer, older, low, high_40, urgent, high_60, raised):
        await listed(laura, handoff)

    waiting = (await laura.get("/console/api/handoffs")).json()["open"]
    assert [h["id"] for h in waiting] == [urgent, high_60, high_40, raised, older, newer, low]
    top = waiting[0]
    assert (top["priority"], top["score"], top["department"], top["department_name"]) == (
        "urgent",
        10,
        "baggage",
        "Baggage",
    )
    assert top["priority_reasons"] == ["complaint +25", "12,400 followers +20"]
    assert top["routing_reasons"] == ["keyword: maleta"]
    assert next(h for h in waiting if h["id"] == raised)["priority"] == "high"  # not "normal"
    await laura.aclose()


def test_a_reopened_handoff_waits_in_the_queue_since_its_reopening() -> None:
    """It was placed by its first escalation, ahead of customers waiting for hours."""
    waiting = HandoffView(
        request=replace(_complaint(), id="h-waiting", created_at="2026-03-03T07:00:00+00:00"),
        state="queued",
    )
    reopened = HandoffView(
        request=replace(_complaint(), id="h-reopened", created_at="2026-03-02T08:00:00+00:00"),
        state="queued",
        reopened_at="2026-03-03T09:00:00+00:00",
    )
    ordered = sorted([reopened, waiting], key=queue_order)
    assert [v.request.id for v in ordered] == ["h-waiting", "h-reopened"]


async def test_personal_data_is_redacted_everywhere_but_in_what_agents_write(
    app: FastAPI, redis_client: redis.Redis, aclient: aioredis.Redis
) -> None:
    card, email = "4242 4242 4242 4242", "ana.garcia@example.com"
    handoff = triaged(
        redis_client,
        "wc-pii",
        said=f"me cobraron dos veces en la tarjeta {card}, escribidme a {email}",
        draft=f"Hola, te escribimos a {email}",
    )
    laura = await logged_in(app, "Laura")
    item = await listed(laura, handoff)
    assert item["preview"] == (
        "me cobraron dos veces en la tarjeta [card ••••4242], escribidme a [e-mail]"
    )
    assert item["has_personal_data"] is True

    pipeline = InboundPipeline(aclient, Settings())
    await pipeline.accept(customer_says("wc-pii", "m1", f"la tarjeta es {card}, mail {email}"))
    for bot_said in (f"¿La tarjeta {card}?", f"Si no puede esperar, llámanos al {CARE_PHONE}."):
        redis_client.xadd(
            keys.conversation_log("wc-pii"),
            {"type": "message", "author": "bot", "text": bot_said, "time": ""},
        )
    await pipeline.accept(customer_says("wc-pii", "m2", "mi móvil es el 612 345 678"))
    url = f"/console/api/handoffs/{handoff}"
    assert (await laura.post(f"{url}/claim", headers=HEADER)).status_code == 200
    reply = {"text": f"Te escribo a {email}", "client_id": "reply-pii-1"}
    assert (await laura.post(f"{url}/reply", json=reply, headers=HEADER)).status_code == 200

    detail = (await laura.get(url)).json()
    said = [(i["author"], i["text"]) for i in detail["thread"] if i["kind"] == "message"]
    assert said == [
        ("customer", "la tarjeta es [card ••••4242], mail [e-mail]"),
        ("bot", "¿La tarjeta [card ••••4242]?"),
        ("bot", f"Si no puede esperar, llámanos al {CARE_PHONE}."),  # the brand's: not redacted
        ("customer", "mi móvil es el [phone]"),
    ]
    texts = {(i["kind"], i["author"]): i["text"] for i in detail["thread"] if "text" in i}
    assert texts[("reply", "agent")] == f"Te escribo a {email}"  # as the agent wrote it
    assert detail["draft"] == "Hola, te escribimos a [e-mail]"
    assert card not in detail["handoff"]["preview"]
    served = (await laura.get(url)).text + (await laura.get("/console/api/handoffs")).text
    assert card not in served and "ana.garcia@" not in served.replace(f"Te escribo a {email}", "")
    await laura.aclose()


def customer_says(
    conversation: str, message_id: str, text: str, customer: str = "ana", at: float = 0
) -> Inbound:
    extra = {"received_at": dt.datetime.fromtimestamp(at, dt.UTC)} if at else {}
    return Inbound(
        channel=Channel.WEBCHAT,
        conversation_id=conversation,
        message_id=message_id,
        customer=Customer(id=customer),
        text=text,
        **extra,  # type: ignore[arg-type]
    )


async def test_a_reveal_shows_the_customers_words_to_one_agent_and_is_recorded(
    app: FastAPI, redis_client: redis.Redis, aclient: aioredis.Redis
) -> None:
    handoff = triaged(redis_client, "wc-reveal")
    await InboundPipeline(aclient, Settings()).accept(
        customer_says("wc-reveal", "m1", "mi localizador es QWE123 y la tarjeta 4242424242424242")
    )
    laura = await logged_in(app, "Laura")
    await listed(laura, handoff)
    url = f"/console/api/handoffs/{handoff}"
    detail = (await laura.get(url)).json()
    assert detail["handoff"]["has_personal_data"] is True  # said after the handoff: still hidden
    assert "4242424242424242" not in str(detail["thread"])

    assert (await laura.post(f"{url}/reveal")).status_code == 403  # no console header
    assert redis_client.xlen(keys.handoff_reveals(handoff)) == 0
    revealed = await laura.post(f"{url}/reveal", headers=HEADER)
    assert revealed.status_code == 200 and revealed.headers["cache-control"] == "no-store"
    assert "mi localizador es QWE123 y la tarjeta 4242424242424242" in revealed.json()["text"]
    [(_, entry)] = redis_client.xrange(keys.handoff_reveals(handoff))
    assert (entry["by"], entry["by_name"]) == ("web:laura", "Laura") and entry["at"]

    unknown = await laura.post("/console/api/handoffs/nope/reveal", headers=HEADER)
    assert (unknown.status_code, unknown.json()) == (404, {"error": "no such handoff"})
    await laura.aclose()
    async with http(app) as anonymous:
        assert (await anonymous.post(f"{url}/reveal", headers=HEADER)).status_code == 401
    assert redis_client.xlen(keys.handoff_reveals(handoff)) == 1


async def test_the_history_lists_the_customers_earlier_conversations_with_their_handoffs(
    app: FastAPI, redis_client: redis.Redis, aclient: aioredis.Redis
) -> None:
    pipeline = InboundPipeline(aclient, Settings())
    await pipeline.accept(
        customer_says("wc-ana-1", "m1", "mi maleta no llegó, ana@example.com", at=1_772_000_000)
    )
    await pipeline.accept(customer_says("wc-ana-1", "m2", "sigo esperando", at=1_772_000_060))
    earlier = triaged(redis_client, "wc-ana-1", department="baggage")
    await pipeline.accept(customer_says("wc-ana-2", "m3", "hola otra vez", at=1_772_090_000))
    await pipeline.accept(customer_says("wc-bob", "m4", "soy otro", customer="bob"))
    current = triaged(redis_client, "wc-ana-2")
    laura = await logged_in(app, "Laura")
    await listed(laura, current)
    assert (await laura.post(f"/console/api/handoffs/{earlier}/claim", headers=HEADER)).is_success
    assert (await laura.post(f"/console/api/handoffs/{earlier}/resolve", headers=HEADER)).is_success

    answer = await laura.get(f"/console/api/handoffs/{current}/history")
    assert answer.status_code == 200
    history = answer.json()
    assert [c["conversation_id"] for c in history] == ["wc-ana-2", "wc-ana-1"]
    past = history[1]
    assert (past["channel"], past["profile"]) == ("webchat", keys.customer("webchat", "ana"))
    assert past["messages"] >= 2  # the customer's two, and the claim's and resolution's events
    assert past["last_customer_message"] == "sigo esperando"
    [handoff] = past["handoffs"]
    assert (handoff["id"], handoff["state"], handoff["agent"], handoff["department_name"]) == (
        earlier,
        "closed",
        "Laura",
        "Baggage",
    )
    assert history[0]["handoffs"][0]["id"] == current

    unknown = await laura.get("/console/api/handoffs/nope/history")
    assert (unknown.status_code, unknown.json()) == (404, {"error": "no such handoff"})
    await laura.aclose()


async def test_the_sla_state_is_computed_for_display(
    app: FastAPI, redis_client: redis.Redis
) -> None:
    past, future = "2026-01-01T10:00:00+00:00", "2999-01-01T10:00:00+00:00"
    overdue = triaged(redis_client, "wc-overdue", sla_due_at=past)
    on_time = triaged(
        redis_client, "wc-on-time", sla_due_at=future, opens_at=future, overheard="brisa air"
    )
    promo = "Wi-Fi on every flight from today!"
    warned = triaged(redis_client, "wc-warned", sla_due_at=future, brand_post=promo)
    redis_client.hset(keys.handoff(warned), "sla_state", "warning")
    laura = await logged_in(app, "Laura")
    states = {}
    for handoff in (overdue, on_time, warned):
        states[handoff] = (await listed(laura, handoff))["sla_state"]
    assert states == {overdue: "breached", on_time: "on_time", warned: "warning"}
    assert (await listed(laura, on_time))["opens_at"] == future
    assert [(await listed(laura, h))["overheard"] for h in (on_time, warned)] == ["brisa air", ""]
    assert [(await listed(laura, h))["brand_post"] for h in (on_time, warned)] == ["", promo]

    url = f"/console/api/handoffs/{overdue}"
    assert (await laura.post(f"{url}/claim", headers=HEADER)).status_code == 200
    reply = {"text": "Perdona la espera", "client_id": "late-reply-1"}
    assert (await laura.post(f"{url}/reply", json=reply, headers=HEADER)).status_code == 200
    assert (await laura.get(url)).json()["handoff"]["sla_state"] == "late"
    await laura.aclose()


def _complaint() -> HandoffRequest:
    """A bare complaint's request, for the SLA rules (the tests set its times)."""
    return HandoffRequest(
        conversation_id="c",
        channel="webchat",
        language="es",
        reason=Reason.COMPLAINT,
        priority=Priority.NORMAL,
        transcript=[],
        hits=[],
        draft=None,
    )


def test_sla_states_answered_in_time_or_late_due_soon_or_overdue() -> None:
    due = "2026-03-02T10:00:00+00:00"
    request = replace(_complaint(), sla_due_at=due)
    before = dt.datetime(2026, 3, 2, 9, 50, tzinfo=dt.UTC)
    after = dt.datetime(2026, 3, 2, 10, 1, tzinfo=dt.UTC)
    view = HandoffView(request=request, state="agent")
    assert sla_state(view, before) == "on_time"
    assert sla_state(replace(view, sla_state="warning"), before) == "warning"
    assert sla_state(replace(view, sla_state="warning"), after) == "breached"
    assert sla_state(replace(view, first_response_at="2026-03-02T09:59:00+00:00"), after) == "met"
    assert sla_state(replace(view, first_response_at="2026-03-02T10:00:01+00:00"), after) == "late"
    no_target = replace(view, request=replace(request, sla_due_at=""))
    assert sla_state(no_target, after) == "on_time"


def test_a_reopened_handoffs_sla_is_its_new_cycles_on_the_console_and_the_dashboard() -> None:
    """QA D3: the first cycle's target (answered, or long past) judged the new message."""
    request = replace(
        _complaint(),
        created_at="2026-03-02T08:00:00+00:00",
        sla_due_at="2026-03-02T10:00:00+00:00",
    )
    reopened = HandoffView(
        request=request,
        state="queued",
        reopened_at="2026-03-03T09:00:00+00:00",
        cycle_sla_due_at="2026-03-03T11:00:00+00:00",
    )
    soon = dt.datetime(2026, 3, 3, 9, 30, tzinfo=dt.UTC)
    assert (sla_state(reopened, soon), sla_bucket(reopened, soon, 0.2)) == ("on_time", "on_time")
    late = dt.datetime(2026, 3, 3, 11, 1, tzinfo=dt.UTC)
    assert (sla_state(reopened, late), sla_bucket(reopened, late, 0.2)) == ("breached", "overdue")
    unset = replace(reopened, cycle_sla_due_at="")  # the desk has not set the new target yet
    assert sla_state(unset, late) == "on_time"


async def test_the_desks_alerts_are_alerts_in_the_thread_not_an_agents_notes(
    app: FastAPI, console: ConsoleDesk, redis_client: redis.Redis
) -> None:
    handoff = triaged(redis_client, "wc-alert")
    laura = await logged_in(app, "Laura")
    await listed(laura, handoff)
    view = await console.handoff(handoff)
    assert view is not None
    await console.alert(
        view,
        "SLA breached: the first response is overdue.",
        level=AlertLevel.BREACH,
        mention="S0BAGGAGE",
    )
    detail = (await laura.get(f"/console/api/handoffs/{handoff}")).json()
    [alert] = [i for i in detail["thread"] if i["kind"] == "alert"]
    assert (alert["author"], alert["agent"]) == ("relevo", "Relevo")
    assert alert["text"] == "SLA breached: the first response is overdue."
    assert alert["level"] == "breach"  # the console has no user groups to mention
    assert not [i for i in detail["thread"] if i["kind"] == "note"]
    assert detail["handoff"]["notes"] == 0
    await laura.aclose()


async def test_a_customer_who_turns_angry_in_the_queue_moves_up_once(
    app: FastAPI, redis_client: redis.Redis, aclient: aioredis.Redis
) -> None:
    """QA s19 M7: the angry message left the card at normal, below every calm high one.

    A complaint was filed for its anger: more of it does not count twice.
    """
    handoff = queue(redis_client, "wc-upset")  # asked for a person, normal
    complaint = triaged(redis_client, "wc-complaint", priority=Priority.HIGH)
    laura = await logged_in(app, "Laura")
    await listed(laura, handoff)
    await listed(laura, complaint)
    pipeline = InboundPipeline(aclient, Settings())
    said = [
        ("wc-upset", "m1", "¿sigue ahí alguien?"),
        ("wc-upset", "m2", "tercera vez que me retrasáis el vuelo, ¡es una vergüenza!"),
        ("wc-complaint", "m3", "¡es una vergüenza!"),
        ("wc-upset", "m4", "inaceptable, de verdad"),
    ]
    for conversation, message_id, text in said:
        await pipeline.accept(customer_says(conversation, message_id, text))
    [(_, last)] = redis_client.xrevrange(keys.DESK_RELAY, count=1)
    async with asyncio.timeout(10):  # until the desk has handled (and acknowledged) all three
        while (
            not redis_client.exists(keys.desk_seen(f"relay:{last['log_id']}"))
            or (redis_client.xpending(keys.DESK_RELAY, keys.DESK_GROUP)["pending"])
        ):
            await asyncio.sleep(0.05)
    detail = (await laura.get(f"/console/api/handoffs/{handoff}")).json()
    alerts = [(i["level"], i["text"]) for i in detail["thread"] if i["kind"] == "alert"]
    assert alerts == [
        ("priority", "The customer sounds upset while waiting. Priority raised to high.")
    ]
    assert (await listed(laura, handoff))["priority"] == "high"  # once: not urgent after m4
    assert (await listed(laura, complaint))["priority"] == "high"  # a complaint: not raised
    await laura.aclose()


async def _reopened_by_the_customer(
    laura: httpx.AsyncClient, aclient: aioredis.Redis, handoff: str, conversation: str, said: str
) -> dict[str, Any]:
    """Laura claims, answers and resolves `handoff`; the customer writes `said`: reopened."""
    url = f"/console/api/handoffs/{handoff}"
    assert (await laura.post(f"{url}/claim", headers=HEADER)).status_code == 200
    reply = {"text": "Hola, soy Laura: ya está.", "client_id": f"{handoff}-first"}
    assert (await laura.post(f"{url}/reply", json=reply, headers=HEADER)).status_code == 200
    assert (await laura.post(f"{url}/resolve", headers=HEADER)).status_code == 200
    accepted = await InboundPipeline(aclient, Settings()).accept(
        customer_says(conversation, "again-1", said)
    )
    assert accepted.route is Route.RELAY
    return await listed(laura, handoff)


async def test_a_reopened_handoffs_card_shows_the_new_message_and_the_new_cycles_sla(
    app: FastAPI, redis_client: redis.Redis, aclient: aioredis.Redis
) -> None:
    """QA D3: the preview said "quiero hablar con una persona" and the chip "✓ Met"."""
    handoff = triaged(redis_client, "wc-cycle", sla_due_at="2999-01-01T10:00:00+00:00")
    laura = await logged_in(app, "Laura")
    await listed(laura, handoff)
    item = await _reopened_by_the_customer(
        laura, aclient, handoff, "wc-cycle", "sigue sin llegar el reembolso"
    )
    assert item["preview"] == "sigue sin llegar el reembolso"
    assert item["sla_state"] == "on_time" and not item["first_response_at"]
    async with asyncio.timeout(10):  # the desk sets the new cycle's targets from the reopening
        while not (item := await listed(laura, handoff))["sla_due_at"]:
            await asyncio.sleep(0.05)
    due = dt.datetime.fromisoformat(item["sla_due_at"])
    assert dt.datetime.now(dt.UTC) < due < dt.datetime(2999, 1, 1, tzinfo=dt.UTC)
    assert item["waiting_since"] > item["created_at"]

    url = f"/console/api/handoffs/{handoff}"
    assert (await laura.post(f"{url}/claim", headers=HEADER)).status_code == 200
    assert (await listed(laura, handoff))["sla_state"] == "on_time"  # not answered yet
    reply = {"text": "Lo miro ahora mismo.", "client_id": f"{handoff}-again"}
    assert (await laura.post(f"{url}/reply", json=reply, headers=HEADER)).status_code == 200
    assert (await listed(laura, handoff))["sla_state"] == "met"
    await laura.aclose()


async def test_every_resolution_tells_the_customer_and_each_cycle_is_rated(
    app: FastAPI, redis_client: redis.Redis, aclient: aioredis.Redis
) -> None:
    """QA D4a: after the second resolution of a reopened handoff the customer got nothing."""
    handoff = queue(redis_client, "wc-twice")
    laura = await logged_in(app, "Laura")
    await listed(laura, handoff)
    pipeline = InboundPipeline(aclient, Settings())
    url = f"/console/api/handoffs/{handoff}"
    assert (await laura.post(f"{url}/claim", headers=HEADER)).status_code == 200
    assert (await laura.post(f"{url}/resolve", headers=HEADER)).status_code == 200
    assert (await pipeline.accept(customer_says("wc-twice", "m1", "5"))).route is Route.RATING
    said = customer_says("wc-twice", "m2", "una cosa más: ¿y mi maleta?")
    assert (await pipeline.accept(said)).route is Route.RELAY  # reopened
    assert (await laura.post(f"{url}/claim", headers=HEADER)).status_code == 200
    assert (await laura.post(f"{url}/resolve", headers=HEADER)).status_code == 200

    assert await delivered(aclient, "wc-twice", desk_text("resolved", "es"), count=2) == 2
    assert (await pipeline.accept(customer_says("wc-twice", "m3", "2"))).route is Route.RATING
    assert (await listed(laura, handoff, "closed"))["rating"] == "2"  # this cycle's rating
    await laura.aclose()


async def test_a_sensitive_topic_is_told_it_is_resolved_and_not_asked_for_a_rating(
    app: FastAPI, redis_client: redis.Redis, aclient: aioredis.Redis
) -> None:
    """QA s22 D6: a bereaved customer was asked in public to rate the help from 1 to 5."""
    handoff = queue(redis_client, "social:x:grief:u1", "social", Reason.SENSITIVE_TOPIC)
    laura = await logged_in(app, "Laura")
    await listed(laura, handoff)
    url = f"/console/api/handoffs/{handoff}"
    assert (await laura.post(f"{url}/claim", headers=HEADER)).status_code == 200
    assert (await laura.post(f"{url}/resolve", headers=HEADER)).status_code == 200
    desk = {m["out_id"]: m for m in outbox(redis_client) if m["out_id"].startswith("desk:")}
    assert f"desk:{handoff}:rating" not in desk
    told = desk[f"desk:{handoff}:resolved"]
    assert told["text"] == desk_text("resolved_sensitive", "es") and told["buttons"] == "[]"
    assert not redis_client.hget(keys.handoff(handoff), "rating_asked")
    await laura.aclose()


async def delivered(client: aioredis.Redis, conversation: str, said: str, *, count: int) -> int:
    """How often `said` was delivered to the conversation: once `count` times, or in 5 seconds."""
    worker = DeliveryWorker(
        client=client,
        senders={"webchat": WebchatSender()},
        invites=Invitations(client, Settings()),
        policy=RetryPolicy(3, 0.05, 1.0),
        consumer="test",
    )
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    times = 0
    try:
        for _ in range(100):
            log = await client.xrange(keys.conversation_log(conversation))
            times = sum(1 for _, fields in log if fields.get("text") == said)
            if times >= count:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
    return times


async def test_after_a_move_to_private_the_console_shows_the_note_and_the_public_part(
    app: FastAPI, aclient: aioredis.Redis, redis_client: redis.Redis
) -> None:
    """QA s25 H3: the desk's "make sure it is the customer" note never reached the console, and
    the public complaint vanished from the conversation once the handoff moved."""
    public, private = "social:x:t-move:u1", "tg:7700"
    handoff = queue(redis_client, public, channel="social")
    redis_client.xadd(
        keys.conversation_log(public),
        {"type": "message", "author": "customer", "kind": "text", "time": "2026-11-28T10:00:00",
         "text": "me habéis cobrado dos veces, mi localizador es QW3RT7"},
    )  # fmt: skip
    laura = await logged_in(app, "Laura")
    await listed(laura, handoff)
    store = ConversationStore(aclient, 3600)
    await store.start(
        private, channel="telegram", route={}, customer="c:telegram:7700", continued_from=public
    )
    assert await follow_to_private(aclient, public, private, "telegram", checked=False)
    redis_client.xadd(
        keys.conversation_log(private),
        {"type": "message", "author": "customer", "kind": "text", "text": "hola, soy yo",
         "time": "2026-11-28T10:01:00"},
    )  # fmt: skip
    url = f"/console/api/handoffs/{handoff}"

    def moved_alerts() -> list[str]:
        return [i["text"] for i in detail["thread"] if i.get("level") == AlertLevel.MOVED.value]

    detail = (await laura.get(url)).json()
    async with asyncio.timeout(10):
        while not moved_alerts():
            await asyncio.sleep(0.05)
            detail = (await laura.get(url)).json()
    [note] = moved_alerts()
    assert note.startswith("Someone continued in private (Telegram)")
    assert "make sure it is the customer" in note
    said = [(i["text"], i["public"]) for i in detail["thread"] if i.get("author") == "customer"]
    assert said == [
        ("me habéis cobrado dos veces, mi localizador es [booking code]", True),
        ("hola, soy yo", False),
    ]
    await laura.aclose()


async def test_a_public_handoff_closed_into_the_open_private_one_says_so_in_both(
    app: FastAPI, aclient: aioredis.Redis, redis_client: redis.Redis
) -> None:
    """QA s25 H4: a chat waiting for a person followed a later invitation: two open handoffs."""
    public, private = "social:x:t-merge:u1", "tg:7701"
    waiting = queue(redis_client, private, channel="telegram")
    later = queue(redis_client, public, channel="social")
    laura = await logged_in(app, "Laura")
    for handoff in (waiting, later):
        await listed(laura, handoff)
    followed = await follow_to_private(
        aclient, public, private, "telegram", checked=True, said="y encima la maleta rota"
    )
    assert followed is Followed.MERGED

    async def alert_of(handoff: str) -> str:
        async with asyncio.timeout(10):
            while True:
                detail = (await laura.get(f"/console/api/handoffs/{handoff}")).json()
                found = [i["text"] for i in detail["thread"] if i.get("level") == "moved"]
                if found:
                    return str(found[0])
                await asyncio.sleep(0.05)

    assert (await alert_of(later)).startswith(
        "The customer continued in private (Telegram), where their earlier handoff is still open"
    )
    assert "“y encima la maleta rota”" in await alert_of(waiting)
    closed = await listed(laura, later, "closed")
    assert (closed["state"], closed["merged_into"]) == ("closed", waiting)
    assert (await listed(laura, waiting))["state"] == "queued"
    history = (await laura.get(f"/console/api/handoffs/{later}")).json()["history"]
    assert [(e["action"], e["by_name"], e["into"]) for e in history] == [
        ("merge", "Relevo", waiting)
    ]
    await laura.aclose()


def test_a_command_is_marked_in_the_console_thread() -> None:
    """Typed /help and /agent showed as the customer's plain words (QA s25)."""
    typed = Inbound(Channel.TELEGRAM, "tg:1", "1:5", Customer("1"), "/help")
    entries = [
        ("1-0", customer_log_fields(typed, None, Gesture.COMMAND)),
        ("2-0", customer_log_fields(replace(typed, message_id="1:6", text="hola"), None)),
    ]
    items = thread(entries, [], published=())
    assert [(i["text"], i["command"]) for i in items] == [("/help", True), ("hola", False)]

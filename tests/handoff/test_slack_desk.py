"""The Slack desk in process: signed events and clicks to its Bolt endpoints, Slack's Web API
emulated, a real Redis, and customers' messages through the real inbound pipeline.

Each test is a defect of the QA pass of the agent side (s20): what agents type in Slack as Slack
sends it (mrkdwn, subtypes, files, edits), and what the desk makes of it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
import redis
import redis.asyncio as aioredis
from fastapi import FastAPI
from pydantic import SecretStr

from bot.conversations import Route
from bot.inbound import Inbound
from bot.pipeline import InboundPipeline
from bot.texts import text
from handoff.desk_view import load
from handoff.invites import INVITE_HINTS
from handoff.ownership import Action
from handoff.replies import ReplyOutcome, hint, is_internal_note, public_reply_limit
from handoff.requests import HandoffRequest, Priority, Reason, TranscriptLine, request_handoff
from handoff.routing import default_routing_path, load_routing
from handoff.sla import Fired, SlaMonitor
from handoff.slack import CHANGES_NOT_SENT, FILES_NOT_SENT, FILES_ONLY, SlackDesk, slack_router
from handoff.slack_text import plain_text, slack_date, slack_escaped
from handoff.timers import Timer, Timers
from relevo import keys
from relevo.messages import BACK_TO_BOT, Outgoing
from relevo.settings import Settings
from tests.emulators.slack_emulator import SlackEmulator
from tests.emulators.slack_requests import (
    block_action,
    event_request,
    interaction_request,
    message_event,
)
from tests.handoff.test_console_api import customer_says, queue

SECRET = "slack-desk-secret"
ROUTING = load_routing(default_routing_path())


@dataclass
class Slack:
    """The desk in Slack, and what the test does as agents."""

    emulator: SlackEmulator
    desk: SlackDesk
    http: httpx.AsyncClient
    redis: redis.Redis

    async def card(self, handoff: str) -> str:
        """The card's ts, once posted (with its transcript in the thread)."""
        async with asyncio.timeout(10):
            while not (view := await load(self.desk.desk.client, handoff)) or not view.card_ts:
                await asyncio.sleep(0.02)
        await until(lambda: len(self.emulator.messages(view.card_channel, view.card_ts)) > 1)
        return view.card_ts

    async def click(self, action: str, handoff: str, user: str, card: str, **extra: Any) -> None:
        payload = block_action(
            action, handoff, user=user, message_ts=card, block_id=f"handoff:{handoff}", **extra
        )
        await self.post("/slack/interactions", interaction_request(SECRET, payload))

    async def write(self, user: str, text: str, card: str, **fields: Any) -> str:
        """An agent's thread message, stored in Slack and sent as its event; its ts."""
        event = self.emulator.add_message("C1", text, user=user, thread_ts=card, **fields)
        await self.post("/slack/events", event_request(SECRET, event))
        return str(event["ts"])

    async def post(self, path: str, signed: tuple[bytes, dict[str, str]]) -> httpx.Response:
        body, headers = signed
        answer = await self.http.post(path, content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        await asyncio.sleep(0.2)  # Bolt runs listeners after its ack
        return answer

    def told(self, user: str) -> list[str]:
        """The ephemeral lines `user` got."""
        return [e["text"] for e in self.emulator.ephemerals("C1") if e["user"] == user]

    def thread(self, card: str) -> list[str]:
        return [m.get("text", "") for m in self.emulator.messages("C1", card)[1:]]

    def customer_got(self, conversation: str) -> list[str]:
        """The agents' replies queued for the customer."""
        sent = [Outgoing.from_fields(f) for _, f in self.redis.xrange(keys.OUTBOX)]
        return [m.text for m in sent if m.conversation_id == conversation and m.author == "agent"]


async def until(predicate: Callable[[], object], seconds: float = 10) -> None:
    async with asyncio.timeout(seconds):
        while not predicate():
            await asyncio.sleep(0.05)


@pytest.fixture
async def slack(redis_client: redis.Redis, aclient: aioredis.Redis) -> AsyncIterator[Slack]:
    with SlackEmulator(channels={"C1": "relevo-desk"}) as emulator:
        settings = Settings(
            slack_bot_token=SecretStr(emulator.bot_token),
            slack_signing_secret=SecretStr(SECRET),
            slack_channel="C1",
            slack_api_url=emulator.api_url,
        )
        desk = SlackDesk(settings, aclient, ROUTING)
        app = FastAPI()
        app.include_router(slack_router(desk))
        stop = asyncio.Event()
        task = asyncio.create_task(desk.desk.run(stop))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield Slack(emulator, desk, http, redis_client)
        stop.set()
        await task


async def claimed(slack: Slack, conversation: str, user: str = "U1") -> tuple[str, str]:
    """A web chat handoff claimed by `user`: its id and its card."""
    handoff = queue(slack.redis, conversation)
    card = await slack.card(handoff)
    await slack.click("claim", handoff, user, card)
    await until(lambda: slack.redis.hget(keys.handoff(handoff), "owner") == user)
    return handoff, card


async def customer(aclient: aioredis.Redis, conversation: str, message_id: str, text: str) -> Route:
    accepted = await InboundPipeline(aclient, Settings()).accept(
        customer_says(conversation, message_id, text)
    )
    return accepted.route


def test_words_for_slack_are_escaped_but_the_desks_own_dates() -> None:
    """An alert's due time is Slack's date token; the customer's "<" and "&" are shown."""
    due = slack_date("2026-11-26T10:30:00+00:00")
    escaped = slack_escaped(f"due {due}: 3 < 4 & <!here>")
    assert escaped == f"due {due}: 3 &lt; 4 &amp; &lt;!here&gt;"
    assert plain_text(escaped, {}) == "due 2026-11-26T10:30:00+00:00: 3 < 4 & <!here>"


def test_notes_are_recognised_however_the_agent_words_them() -> None:
    """QA #1: only a literal `note:` was a note; the rest reached the customer."""
    notes = [
        "Nota interna: el cliente ya reclamó 3 veces, ojo",
        "interno: no ofrecer compensación",
        "internal note: agent Marc handles refunds",
        "note - escalate to tier 2",
        "*note:* price override 40€",
        "_nota:_ ver historial",
        "📝 note: customer seems to be lying",
        "&gt; note: quoted note",
        "(note) priority P1 internally",
        "NOTE : spaced colon",
        "// internal: comment style",
        "note:\nmulti-line",
    ]
    replies = ["Note that your flight leaves at 5", "Notable: todo bien", "internally checked", ""]
    assert [n for n in notes if not is_internal_note(n)] == []
    assert [r for r in replies if is_internal_note(r)] == []


async def test_a_note_in_mrkdwn_stays_in_slack_and_a_broadcast_reply_goes_out(
    slack: Slack,
) -> None:
    """QA #1 and #3: `*Nota interna:*` as Slack sends bold; "Also send to #channel"."""
    _, card = await claimed(slack, "wc-notes")
    note = await slack.write("U1", "*Nota interna:* cliente VIP", card)
    await slack.write("U1", "Tu reembolso está aprobado.", card, subtype="thread_broadcast")
    await until(lambda: "memo" in slack.emulator.reactions("C1", note))
    assert slack.customer_got("wc-notes") == ["Tu reembolso está aprobado."]


async def test_slack_markup_reaches_the_customer_as_plain_text(slack: Slack) -> None:
    """QA #6: `&amp;`, `<url|label>` and an internal user id reached the customer."""
    _, card = await claimed(slack, "wc-markup")
    await slack.write(
        "U1",
        "see <https://brisa.example/refunds|our refund page> and ask <@U2> &amp; "
        "<@UGONE> <!here> &lt;3",
        card,
    )
    await until(lambda: slack.customer_got("wc-markup"))
    assert slack.customer_got("wc-markup") == [
        "see our refund page (https://brisa.example/refunds) and ask Marc & <3"
    ]


async def test_a_customers_slack_markup_is_shown_as_written_and_pings_no_one(
    slack: Slack, aclient: aioredis.Redis
) -> None:
    """ "<!channel>" in a customer's words pinged the whole desk, and a `<url|label>` hid a link."""
    handoff, card = await claimed(slack, "wc-markup-in")
    said = "<!channel> see <https://evil.example|your refund> & co"
    assert await customer(aclient, "wc-markup-in", "m1", said) is Route.RELAY
    shown = "&lt;!channel&gt; see &lt;https://evil.example|your refund&gt; &amp; co"
    await until(lambda: any(shown in line for line in slack.thread(card)))
    await slack.click("resolve", handoff, "U1", card)
    await until(lambda: slack.redis.hget(keys.handoff(handoff), "rating_asked") == "1")
    assert await customer(aclient, "wc-markup-in", "m2", "1/5 <!here>") is Route.RATING
    await until(lambda: any("👎" in line for line in slack.thread(card)))
    [alert] = [line for line in slack.thread(card) if "👎" in line]
    assert alert.startswith("<@U1> 👎") and '"1/5 &lt;!here&gt;"' in alert  # the desk's own ping
    posted = "\n".join(slack.thread(card))
    assert "<!channel>" not in posted and "<!here>" not in posted and "<https://evil" not in posted
    assert plain_text(shown, {}) == said  # an agent who quotes it gives the customer their words


async def test_files_never_travel_and_the_agent_is_told_and_blank_is_never_sent(
    slack: Slack,
) -> None:
    """QA #4 and #19: a file went silently, a file alone or blanks became an empty bubble."""
    _, card = await claimed(slack, "wc-files")
    receipt = [{"id": "F1", "name": "receipt.png"}]
    await slack.write("U1", "attached the receipt", card, files=receipt)
    await slack.write("U1", "", card, files=receipt)
    await slack.write("U1", "", card, subtype="file_share", files=receipt)
    await slack.write("U1", "   ", card)
    await until(lambda: len(slack.told("U1")) == 3)
    assert slack.customer_got("wc-files") == ["attached the receipt"]
    assert slack.told("U1") == [FILES_NOT_SENT, FILES_ONLY, FILES_ONLY]


async def test_personal_data_is_never_posted_on_a_public_thread(
    slack: Slack, aclient: aioredis.Redis
) -> None:
    """QA #5: the agent's booking code, e-mail and DNI went to the public post."""
    request = HandoffRequest(
        conversation_id="social:p100",
        channel="social",
        language="es",
        reason=Reason.COMPLAINT,
        priority=Priority.URGENT,
        transcript=[TranscriptLine("customer", "¡una vergüenza!", "2026-11-28T04:00:00+00:00")],
        hits=[],
        draft=None,
        customer={"id": "marta", "handle": "marta_viaja", "followers": "95000"},
    )
    assert request_handoff(slack.redis, request)
    card = await slack.card(request.id)
    await slack.click("claim", request.id, "U3", card)
    await until(lambda: slack.redis.hget(keys.handoff(request.id), "owner") == "U3")
    await slack.write("U3", "confírmame tu email marta.lopez@example.com y el DNI 12345678Z", card)
    await slack.write("U3", "Te escribimos por privado.", card)
    await until(lambda: slack.customer_got("social:p100"))
    assert slack.customer_got("social:p100") == ["Te escribimos por privado."]
    assert any("public post" in said for said in slack.told("U3"))


async def test_a_reply_longer_than_two_public_posts_is_not_posted_on_a_public_thread(
    slack: Slack,
) -> None:
    """QA s22 D11: a 1,400-character reply went out as six public posts in a row."""
    conversation = "social:x:long:u1"
    handoff = queue(slack.redis, conversation, channel="social")
    card = await slack.card(handoff)
    await slack.click("claim", handoff, "U1", card)
    await until(lambda: slack.redis.hget(keys.handoff(handoff), "owner") == "U1")
    limit = public_reply_limit()
    await slack.write("U1", "Sorry. " * (limit // 7 + 1), card)
    fits = ("Sorry. " * (limit // 7)).strip()
    await slack.write("U1", fits, card)
    await until(lambda: slack.customer_got(conversation))
    assert slack.customer_got(conversation) == [fits]
    assert slack.told("U1") == [hint(ReplyOutcome.PUBLIC_TOO_LONG)]
    assert f"longer than {limit} characters" in slack.told("U1")[0]


async def test_only_the_owner_invites_a_public_customer_to_private_and_only_once(
    slack: Slack,
) -> None:
    """The desk told the agent to move the customer to a private message, with no way to."""
    conversation = "social:x:t-p300:u1"
    handoff = queue(slack.redis, conversation, channel="social")
    card = await slack.card(handoff)
    await slack.click("invite_private", handoff, "U1", card)  # nobody has claimed it
    await slack.click("claim", handoff, "U1", card)
    await until(lambda: slack.redis.hget(keys.handoff(handoff), "owner") == "U1")
    await slack.click("invite_private", handoff, "U2", card)  # not the owner
    await slack.click("invite_private", handoff, "U1", card)
    await slack.click("invite_private", handoff, "U1", card)  # a double click
    await until(lambda: len(slack.told("U1")) == 2 and slack.told("U2"))
    assert slack.told("U1") == [
        INVITE_HINTS[ReplyOutcome.NOT_OWNER],
        INVITE_HINTS[ReplyOutcome.DUPLICATE],
    ]
    assert slack.told("U2") == [INVITE_HINTS[ReplyOutcome.NOT_OWNER]]

    sent = invitations(slack)
    assert [(m.conversation_id, m.author, m.agent) for m in sent] == [
        (conversation, "agent", "Laura")
    ]
    [line] = [m for m in slack.emulator.messages("C1", card) if "invited" in m.get("text", "")]
    assert line["text"].startswith("🔒 Laura invited the customer to continue in private")
    assert sent[0].receipt == f"slack:C1:{card}:{line['ts']}"
    slack.redis.xadd(keys.DESK_RECEIPTS, {"receipt": sent[0].receipt, "ok": "1"})
    await until(lambda: "white_check_mark" in slack.emulator.reactions("C1", line["ts"]))


async def test_an_invitation_the_desk_could_not_show_is_not_sent_and_may_be_tried_again(
    slack: Slack,
) -> None:
    handoff = queue(slack.redis, "social:x:t-p301:u1", channel="social")
    card = await slack.card(handoff)
    await slack.click("claim", handoff, "U1", card)
    await until(lambda: slack.redis.hget(keys.handoff(handoff), "owner") == "U1")
    slack.emulator.fail_next("chat.postMessage", error="fatal_error", status=200)
    click = block_action("invite_private", handoff, user="U1", message_ts=card)
    body, headers = interaction_request(SECRET, click)
    await slack.http.post("/slack/interactions", content=body, headers=headers)  # Bolt's error
    assert invitations(slack) == []
    await slack.click("invite_private", handoff, "U1", card)
    await until(lambda: invitations(slack))
    assert len(invitations(slack)) == 1 and slack.told("U1") == []


def invitations(slack: Slack) -> list[Outgoing]:
    """The invitations to private queued for customers."""
    sent = [Outgoing.from_fields(fields) for _, fields in slack.redis.xrange(keys.OUTBOX)]
    return [message for message in sent if message.invite_private]


async def test_a_private_chat_needs_no_invitation_and_a_group_gets_one(slack: Slack) -> None:
    handoff, card = await claimed(slack, "wc-invite")
    await slack.click("invite_private", handoff, "U1", card)
    await until(lambda: slack.told("U1"))
    assert slack.told("U1") == [INVITE_HINTS[ReplyOutcome.NOT_PUBLIC]]
    assert "invite_private" not in str(slack.emulator.message("C1", card))
    assert invitations(slack) == []

    slack.redis.hset(keys.conversation("tg:-100200"), "public", "1")  # a Telegram group
    group = queue(slack.redis, "tg:-100200", channel="telegram")
    assert "invite_private" in str(slack.emulator.message("C1", await slack.card(group)))


async def test_an_edit_or_deletion_of_a_sent_reply_tells_the_agent(slack: Slack) -> None:
    """QA #7: the customer kept the first version and the agent never knew."""
    _, card = await claimed(slack, "wc-edit")
    ts = await slack.write("U1", "El reembolso tarda 3 días.", card)
    note = await slack.write("U1", "note: revisar", card)
    before = {"type": "message", "user": "U1", "ts": ts, "thread_ts": card}
    edited = message_event("C1", "U1", "", subtype="message_changed")
    edited.update(
        message={**before, "text": "El reembolso tarda 10 días."},
        previous_message={**before, "text": "El reembolso tarda 3 días."},
    )
    deleted = message_event("C1", "U1", "", subtype="message_deleted")
    deleted["previous_message"] = {**before, "ts": note, "text": "note: revisar"}
    await slack.post("/slack/events", event_request(SECRET, edited))
    await slack.post("/slack/events", event_request(SECRET, deleted))  # a note: nothing to say
    await until(lambda: slack.told("U1"))
    assert slack.told("U1") == [CHANGES_NOT_SENT]


async def test_a_reopened_handoff_is_waiting_again_and_its_agent_can_answer(
    slack: Slack, aclient: aioredis.Redis
) -> None:
    """QA #2: the card stayed "resolved" without buttons and the owner's replies were refused."""
    handoff, card = await claimed(slack, "wc-reopen")
    await slack.click("resolve", handoff, "U1", card)
    await until(lambda: slack.redis.hget(keys.handoff(handoff), "state") == "closed")
    assert await customer(aclient, "wc-reopen", "m1", "¿Cómo que resuelto? Nadie me ayudó") is (
        Route.RELAY
    )

    def redrawn() -> str:
        return str((slack.emulator.message("C1", card) or {}).get("blocks"))

    await until(lambda: "waiting for an agent" in redrawn())
    assert "'claim'" in redrawn() and "Laura had it" in redrawn()
    await until(
        lambda: any("<@U1>" in line and "open again" in line for line in slack.thread(card))
    )
    assert await Timers(aclient).due_at(handoff, Timer.RESOLUTION_BREACH) is not None
    await slack.write("U1", "Perdona, sigo aquí: ¿me das el localizador?", card)
    await until(lambda: slack.customer_got("wc-reopen"))
    assert slack.customer_got("wc-reopen") == ["Perdona, sigo aquí: ¿me das el localizador?"]
    view = await load(aclient, handoff)
    assert view is not None and (view.state, view.owner) == ("agent", "U1")


async def test_a_rating_shows_the_customers_words_alerts_when_poor_and_a_second_one_is_kept(
    slack: Slack, aclient: aioredis.Redis
) -> None:
    """QA #10 and #11: a second rating reopened the handoff; the words around one were lost."""
    handoff, card = await claimed(slack, "wc-rated")
    await slack.click("resolve", handoff, "U1", card)
    await until(lambda: slack.redis.hget(keys.handoff(handoff), "rating_asked") == "1")
    assert await customer(aclient, "wc-rated", "m1", "Le doy un 2, tardasteis mucho") is (
        Route.RATING
    )
    assert await customer(aclient, "wc-rated", "m2", "5") is Route.RATED_AGAIN
    await until(lambda: len([t for t in slack.thread(card) if "⭐" in t or "👎" in t]) == 3)
    said = "\n".join(slack.thread(card))
    assert '⭐ The customer rated this 2/5: "Le doy un 2, tardasteis mucho"' in said
    assert "<@U1> 👎 A poor rating, 2/5" in said
    assert "The first rating, 2/5, stands." in said
    view = await load(aclient, handoff)
    assert view is not None and (view.state, view.rating) == ("closed", "2")


async def test_a_poor_rating_with_words_shows_them_in_the_alert_and_invites_a_reply(
    slack: Slack, aclient: aioredis.Redis
) -> None:
    """QA s22 D6: "1/5, you did nothing" got a heart emoji, and the desk only a bare alert."""
    handoff, card = await claimed(slack, "wc-nothing")
    await slack.click("resolve", handoff, "U1", card)
    await until(lambda: slack.redis.hget(keys.handoff(handoff), "rating_asked") == "1")
    assert await customer(aclient, "wc-nothing", "m1", "1/5, you did nothing") is Route.RATING
    await until(lambda: any("👎" in line for line in slack.thread(card)))
    [alert] = [line for line in slack.thread(card) if "👎" in line]
    assert alert.startswith('<@U1> 👎 A poor rating, 1/5, with these words: "1/5, you did nothing"')
    sent = [Outgoing.from_fields(f) for _, f in slack.redis.xrange(keys.OUTBOX)]
    [thanks] = [m for m in sent if m.out_id == "m1:thanks"]  # one answer, not a 💙 then "sorry"
    assert thanks.text == text("rating_thanks_poor", "es")
    assert not any("💙" in m.text for m in sent)
    assert await customer(aclient, "wc-nothing", "m2", "my refund never came") is Route.RELAY
    view = await load(aclient, handoff)
    assert view is not None and view.state == "queued"  # the reply reopened it


async def test_someone_elses_resolve_is_allowed_and_its_owner_is_told(slack: Slack) -> None:
    """QA #8: Sofía resolved Laura's live conversation and Laura was never told."""
    handoff, card = await claimed(slack, "wc-taken")
    await slack.click("resolve", handoff, "U3", card)
    await until(lambda: slack.told("U3"))
    assert slack.told("U3") == ["Done. Laura had this handoff and has been told in its thread."]
    await until(
        lambda: any(line.startswith("<@U1> 👥 Sofía resolved") for line in slack.thread(card))
    )


async def test_a_handoff_is_never_reassigned_to_a_bot_or_an_unknown_user(slack: Slack) -> None:
    """QA #9: the customer read "UNOBODY has joined the conversation"."""
    handoff, card = await claimed(slack, "wc-reassign")
    slack.emulator.add_user("UGONE", {"real_name": "Gone", "deleted": True})
    for target in ("UBOT", "UNOBODY", "UGONE"):
        await slack.click("reassign", None, "U1", card, selected_user=target)  # type: ignore[arg-type]
    await until(lambda: len(slack.told("U1")) == 3)
    assert ["app, not a person" in t for t in slack.told("U1")] == [True, False, False]
    assert "not in this workspace" in slack.told("U1")[1]
    assert "deactivated" in slack.told("U1")[2]
    assert slack.redis.hget(keys.handoff(handoff), "owner") == "U1"


async def test_the_hint_says_where_a_returned_or_resolved_conversation_is(slack: Slack) -> None:
    """QA #12: "claim it first", with no way to claim."""
    returned, card = await claimed(slack, "wc-returned")
    await slack.click("return", returned, "U1", card)
    await until(lambda: slack.redis.hget(keys.handoff(returned), "state") == "returned")
    await slack.write("U1", "una cosa más", card)
    await until(lambda: slack.told("U1"))
    assert "back with the assistant" in slack.told("U1")[0]
    assert slack.customer_got("wc-returned") == []


async def test_urgent_words_while_queued_raise_the_priority_once(
    slack: Slack, aclient: aioredis.Redis
) -> None:
    """QA #13: only anger raised it; "es urgente" left the handoff at normal."""
    handoff = queue(slack.redis, "wc-urgent")
    card = await slack.card(handoff)
    await customer(aclient, "wc-urgent", "m1", "Es urgente, necesito mis medicinas de la maleta")
    await customer(aclient, "wc-urgent", "m2", "urgente por favor")
    await until(lambda: "👤 urgente por favor" in slack.thread(card))
    view = await load(aclient, handoff)
    assert view is not None and view.priority is Priority.HIGH
    assert len([t for t in slack.thread(card) if "urgent words" in t]) == 1


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


async def test_a_card_that_cannot_be_redrawn_alerts_once_and_stops_no_other_timer(
    slack: Slack, aclient: aioredis.Redis
) -> None:
    """QA #14, #16 and #20: alerts repeated; raw UTC times; the owner was not mentioned."""
    lost, claimed_one = queue(slack.redis, "wc-lost"), queue(slack.redis, "wc-sla-owner")
    due = dt.datetime.now(dt.UTC).isoformat()
    for handoff in (lost, claimed_one):  # `queue` files no due times: as the escalation does
        record = HandoffRequest.from_json(str(slack.redis.hget(keys.handoff(handoff), "record")))
        record_due = replace(record, sla_due_at=due, resolution_due_at=due)
        slack.redis.hset(keys.handoff(handoff), "record", record_due.to_json())
    await slack.card(lost)
    card = await slack.card(claimed_one)
    await slack.click("claim", claimed_one, "U2", card)
    await until(lambda: slack.redis.hget(keys.handoff(claimed_one), "owner") == "U2")
    slack.redis.hset(keys.handoff(lost), "card_ts", "1.000100")  # the card was deleted
    times = Timers(aclient)
    now = dt.datetime.now(dt.UTC)
    for handoff in (lost, claimed_one):
        await times.schedule(handoff, {Timer.FIRST_WARN: now, Timer.RESOLUTION_BREACH: now})
    monitor = SlaMonitor(aclient, slack.desk, ROUTING, Clock(now + dt.timedelta(seconds=1)))
    fired = {(h, t): f for h, t, f in await monitor.tick()}
    assert fired[(lost, Timer.FIRST_WARN)] is Fired.FAILED
    assert fired[(claimed_one, Timer.RESOLUTION_BREACH)] is Fired.BREACHED
    later = SlaMonitor(aclient, slack.desk, ROUTING, Clock(now + dt.timedelta(hours=1)))
    assert await later.tick() == []  # leased or not: nothing fires twice
    alerts = [t for t in slack.thread(card) if "⏰" in t or "⚠️" in t]
    assert "<!date^" in alerts[0] and "UTC" not in alerts[0]
    assert "<@U2>" in alerts[1] and "SLA breached" in alerts[1]


async def test_malformed_signed_requests_are_ignored_without_an_error(
    slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    """QA #15: a click with no handoff, a thread message with no user: tracebacks."""
    _, card = await claimed(slack, "wc-odd")
    odd = block_action("claim", None, user="U1", message_ts=card, block_id="elsewhere")
    event = message_event("C1", "U1", "hola", thread_ts=card)
    del event["user"]
    with caplog.at_level(logging.WARNING):
        await slack.post("/slack/interactions", interaction_request(SECRET, odd))
        await slack.post("/slack/events", event_request(SECRET, event))
        await asyncio.sleep(0.3)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert slack.customer_got("wc-odd") == []


async def test_the_console_takes_a_worded_note_as_a_note(slack: Slack) -> None:
    """QA #1 in the console: with the toggle off, "Nota interna:" reached the customer."""
    handoff, _ = await claimed(slack, "wc-console-note")
    outcome = await slack.desk.desk.reply(
        handoff, user="U1", name="Laura", body="Nota interna: VIP", message_ref="console:x:1"
    )
    assert outcome.value == "note" and slack.customer_got("wc-console-note") == []
    assert Action.CLAIM  # the desk is the console's too: one rule


def _back_to_the_assistant(conversation: str, message_id: str) -> Inbound:
    """The customer taps "back to the assistant" under the handoff message (web chat)."""
    tapped = customer_says(conversation, message_id, BACK_TO_BOT)
    return replace(tapped, display="Volver al asistente")


async def test_the_customer_can_go_back_to_the_assistant_before_a_claim(
    slack: Slack, aclient: aioredis.Redis
) -> None:
    """QA s22 W3: waiting for a person was a dead end, with no way back to the assistant."""
    handoff = queue(slack.redis, "wc-back")
    card = await slack.card(handoff)
    pipeline = InboundPipeline(aclient, Settings())
    assert (await pipeline.accept(_back_to_the_assistant("wc-back", "m1"))).route is Route.BACK
    await until(lambda: slack.redis.hget(keys.handoff(handoff), "state") == "returned")
    assert slack.redis.get(keys.conversation_owner("wc-back")) == "bot"
    await until(lambda: any("went back to the assistant" in t for t in slack.thread(card)))
    assert slack.redis.xrange(keys.handoff(handoff) + ":events")[-1][1]["by"] == "customer"
    logged = [f.get("event") for _, f in slack.redis.xrange(keys.conversation_log("wc-back"))]
    assert logged[-1] == "bot_back"  # the web chat shows the assistant is back
    assert await customer(aclient, "wc-back", "m2", "¿cuánto pesa la maleta de mano?") is Route.BOT


async def test_going_back_once_a_person_has_claimed_it_leaves_it_with_them(
    slack: Slack, aclient: aioredis.Redis
) -> None:
    handoff, card = await claimed(slack, "wc-back-claimed")
    slack.redis.hset(keys.conversation("wc-back-claimed"), "language", "es")
    pipeline = InboundPipeline(aclient, Settings())
    tapped = _back_to_the_assistant("wc-back-claimed", "m1")
    assert (await pipeline.accept(tapped)).route is Route.COMMAND
    await until(lambda: any("Volver al asistente" in t for t in slack.thread(card)))
    assert slack.redis.hget(keys.handoff(handoff), "state") == "agent"
    sent = [Outgoing.from_fields(f) for _, f in slack.redis.xrange(keys.OUTBOX)]
    told = [m.text for m in sent if m.conversation_id == "wc-back-claimed"]
    assert told[-1] == text("person_on_it", "es")

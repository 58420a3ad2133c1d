"""The handoff desk end to end: a Telegram customer, Rasa, the gateway, and agents in Slack.

Slack is the emulator of its Web API; agents' clicks and thread replies are signed Events and
Interactivity requests posted to the gateway's real Bolt endpoints.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
import redis

from handoff.desk import load
from tests.e2e.conftest import SLACK_SECRET, Stack
from tests.e2e.test_channels import mention, post_event
from tests.e2e.webchat_client import WebchatCustomer
from tests.emulators.slack_requests import (
    block_action,
    event_request,
    interaction_request,
    message_event,
    new_ts,
)

pytestmark = pytest.mark.slow


async def card_for(stack: Stack, name: str, seen: int = 0) -> dict[str, Any]:
    """The desk card of the customer called `name` (the `seen`-th one: 0 is the first)."""
    async with asyncio.timeout(60):
        while True:
            cards = [
                m
                for m in stack.slack.messages("C1")
                if name in m.get("text", "") and m.get("thread_ts") in (None, m["ts"])
            ]
            if len(cards) > seen:
                return cards[seen]
            await asyncio.sleep(0.1)


def click(
    stack: Stack, action: str, handoff: str, user: str, card_ts: str, **extra: Any
) -> httpx.Response:
    payload = block_action(
        action,
        handoff,
        user=user,
        channel="C1",
        message_ts=card_ts,
        block_id=f"handoff:{handoff}",
        **extra,
    )
    body, headers = interaction_request(SLACK_SECRET, payload)
    return httpx.post(f"{stack.base_url}/slack/interactions", content=body, headers=headers)


def write_in_thread(
    stack: Stack,
    user: str,
    text: str,
    card_ts: str,
    *,
    ts: str | None = None,
    retry: int | None = None,
    event_id: str | None = None,
) -> str:
    ts = ts or new_ts()
    if retry is None:  # the person's message exists in Slack, as it would
        event = stack.slack.add_message("C1", text, user=user, ts=ts, thread_ts=card_ts)
    else:
        event = message_event("C1", user, text, ts=ts, thread_ts=card_ts)
    body, headers = event_request(
        SLACK_SECRET,
        event,
        event_id=event_id,
        retry_num=retry,
        retry_reason="http_timeout" if retry else None,
    )
    answer = httpx.post(f"{stack.base_url}/slack/events", content=body, headers=headers)
    assert answer.status_code == 200
    return ts


def handoff_of(card: dict[str, Any]) -> str:
    actions = next(b for b in card["blocks"] if b["type"] == "actions")
    return str(actions["block_id"].split(":", 1)[1])


def state_of(card_message: dict[str, Any]) -> str:
    fields = next(b for b in card_message["blocks"] if b.get("fields"))["fields"]
    return str(next(f["text"] for f in fields if f["text"].startswith("*State*")))


async def telegram_texts(stack: Stack, chat: int, count: int) -> list[str]:
    found = await stack.telegram.await_bot_messages(stack.telegram_token, chat, count, 60)
    return [m["message"]["text"] for m in found]


def _thread_posts(stack: Stack, card_ts: str) -> list[str]:
    return [m.get("text", "") for m in stack.slack.messages("C1", card_ts)[1:]]


async def _wait(predicate: Any, seconds: float = 30) -> None:
    async with asyncio.timeout(seconds):
        while not predicate():
            await asyncio.sleep(0.1)


async def test_the_whole_loop_from_telegram_to_slack_and_back(stack: Stack) -> None:
    emu, token, slack = stack.telegram, stack.telegram_token, stack.slack
    chat, name = 910001, f"Zoe{uuid.uuid4().hex[:6]}"

    emu.send_message(token, chat, "quiero hablar con una persona, por favor", first_name=name)
    handoff_said, _ = await stack.handed_over(chat)
    assert "persona" in handoff_said["message"]["text"]
    card = await card_for(stack, name)
    handoff = handoff_of(card)
    assert "waiting" in state_of(card)
    await _wait(lambda: any("quiero hablar" in t for t in _thread_posts(stack, card["ts"])))

    assert click(stack, "claim", handoff, "U1", card["ts"]).status_code == 200
    await _wait(lambda: "Laura" in state_of(slack.message("C1", card["ts"]) or card))

    emu.send_message(token, chat, "¿hola? ¿hay alguien?", first_name=name)
    await _wait(lambda: any("hay alguien" in t for t in _thread_posts(stack, card["ts"])))

    reply_ts = write_in_thread(stack, "U1", "Hola, soy Laura. Te ayudo con tu reserva.", card["ts"])
    write_in_thread(
        stack, "U1", "Hola, soy Laura. Te ayudo con tu reserva.", card["ts"], ts=reply_ts, retry=1
    )  # Slack retried the event
    assert await telegram_texts(stack, chat, 2) == [
        "Laura, de nuestro equipo, se ha unido a la conversación.",
        "Hola, soy Laura. Te ayudo con tu reserva.",
    ]
    await _wait(lambda: "white_check_mark" in slack.reactions("C1", reply_ts))

    note_ts = write_in_thread(stack, "U1", "note: cliente VIP, ojo", card["ts"])
    write_in_thread(stack, "U2", "¿Te echo una mano?", card["ts"])  # not the owner
    await _wait(lambda: "memo" in slack.reactions("C1", note_ts))
    await _wait(lambda: any(e["user"] == "U2" for e in slack.ephemerals("C1")))

    assert click(stack, "return", handoff, "U1", card["ts"]).status_code == 200
    await _wait(lambda: "assistant" in state_of(slack.message("C1", card["ts"]) or card))
    emu.send_message(token, chat, "¿hay wifi a bordo?", first_name=name)
    texts = await telegram_texts(stack, chat, 3)
    assert texts[0].startswith("Vuelves a hablar con el asistente")  # told of the hand-back
    assert "wi-fi" in texts[1].lower()  # the bot answers again; the note never reached anyone
    assert not any("VIP" in t or "mano" in t for t in texts)
    tracker = json.loads(
        redis.Redis.from_url(stack.engine.env["REDIS_URL"]).get(f"relevorasa:tracker:tg:{chat}")
    )
    said = [e for e in tracker["events"] if e.get("event") == "user"]
    assert said[-1]["metadata"]["handoff_returned"] == handoff  # Rasa learns of the handoff
    assert not any("hay alguien" in (e.get("text") or "") for e in said)  # and no replay

    emu.send_message(token, chat, "/agent", first_name=name)
    await stack.handed_over(chat)
    second = await card_for(stack, name, seen=1)
    second_id = handoff_of(second)
    click(stack, "claim", second_id, "U2", second["ts"])
    await _wait(lambda: "Marc" in state_of(slack.message("C1", second["ts"]) or second))
    click(stack, "resolve", second_id, "U2", second["ts"])
    joined, rating_question = await telegram_texts(stack, chat, 2)
    assert joined == "Marc, de nuestro equipo, se ha unido a la conversación."
    assert "de 1 (mala) a 5 (excelente)" in rating_question
    emu.send_message(token, chat, "5", first_name=name)
    [thanks] = await telegram_texts(stack, chat, 1)
    assert "Gracias por tu valoración" in thanks
    view = await _load(stack, second_id)
    assert view.rating == "5" and view.state == "closed"
    resolved = slack.message("C1", second["ts"])
    assert resolved is not None and "rated 5/5" in json.dumps(resolved["blocks"])
    buttons = {
        e.get("action_id")
        for b in resolved["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }
    assert buttons == {"history"}  # no more transitions

    store = redis.Redis.from_url(stack.engine.env["REDIS_URL"], decode_responses=True)
    mine = [
        fields
        for _, fields in store.xrange("relevo:events")
        if fields.get("conversation") == f"tg:{chat}"
    ]
    kinds = [e["type"] for e in mine]  # the operations events of the whole story, in order
    assert kinds.count("handoff") == 2 and kinds.count("rating") == 1
    assert {"message_in", "bot_reply", "claimed", "returned", "resolved", "delivered"} <= set(kinds)
    assert kinds.index("handoff") < kinds.index("claimed") < kinds.index("agent_reply")
    assert [e.get("first") for e in mine if e["type"] == "agent_reply"] == ["1"]
    assert next(e for e in mine if e["type"] == "rating")["rating"] == "5"
    assert all(e["channel"] == "telegram" for e in mine if "channel" in e)
    assert not any("hay alguien" in json.dumps(e, ensure_ascii=False) for e in mine)  # no words


async def _load(stack: Stack, handoff: str):  # type: ignore[no-untyped-def]
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(stack.engine.env["REDIS_URL"], decode_responses=True)
    try:
        view = await load(client, handoff)
        assert view is not None
        return view
    finally:
        await client.aclose()


async def test_a_hundred_agents_click_claim_at_once_and_one_wins(stack: Stack) -> None:
    chat, name = 910002, f"Yves{uuid.uuid4().hex[:6]}"
    stack.telegram.send_message(stack.telegram_token, chat, "/agent", first_name=name)
    card = await card_for(stack, name)
    handoff = handoff_of(card)
    users = [f"UX{i}" for i in range(100)]
    for user in users:
        stack.slack.add_user(user, f"Agent {user}")

    async def one(user: str) -> int:
        payload = block_action(
            "claim",
            handoff,
            user=user,
            channel="C1",
            message_ts=card["ts"],
            block_id=f"handoff:{handoff}",
        )
        body, headers = interaction_request(SLACK_SECRET, payload)
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                f"{stack.base_url}/slack/interactions", content=body, headers=headers, timeout=30
            )
        return answer.status_code

    assert set(await asyncio.gather(*(one(u) for u in users))) == {200}

    def refused() -> list[str]:
        return [
            e["user"]
            for e in stack.slack.ephemerals("C1")
            if "already owns this handoff" in e["text"] and e["user"] in users
        ]

    try:
        await _wait(lambda: len(refused()) == 99, 60)
    except TimeoutError:
        raise AssertionError(f"{len(refused())} refusals") from None
    view = await _load(stack, handoff)
    assert view.state == "agent" and view.owner in users


async def test_forged_and_stale_slack_requests_are_refused_and_nothing_is_relayed(
    stack: Stack,
) -> None:
    chat, name = 910003, f"Xan{uuid.uuid4().hex[:6]}"
    stack.telegram.send_message(stack.telegram_token, chat, "/agent", first_name=name)
    await stack.handed_over(chat)
    card = await card_for(stack, name)
    handoff = handoff_of(card)
    payload = block_action(
        "claim",
        handoff,
        user="U1",
        channel="C1",
        message_ts=card["ts"],
        block_id=f"handoff:{handoff}",
    )
    body, headers = interaction_request("wrong-secret", payload)
    forged = httpx.post(f"{stack.base_url}/slack/interactions", content=body, headers=headers)
    body, headers = interaction_request(SLACK_SECRET, payload, timestamp=1_000_000_000)
    stale = httpx.post(f"{stack.base_url}/slack/interactions", content=body, headers=headers)
    event = message_event("C1", "U1", "reply that must not go out", thread_ts=card["ts"])
    body, headers = event_request("wrong-secret", event)
    forged_event = httpx.post(f"{stack.base_url}/slack/events", content=body, headers=headers)
    assert (forged.status_code, stale.status_code, forged_event.status_code) == (401, 401, 401)
    await asyncio.sleep(2)
    assert (await _load(stack, handoff)).state == "queued"
    assert stack.telegram.bot_messages(stack.telegram_token, chat) == []


async def claimed_from_the_web_chat(
    stack: Stack, customer: WebchatCustomer
) -> tuple[dict[str, Any], str]:
    """The customer asks for a person and U1 claims the card: the card and its handoff, once
    the chat shows that the agent joined."""
    await customer.say("quiero hablar con una persona")
    card = await card_for(stack, customer.conversation)
    handoff = handoff_of(card)
    click(stack, "claim", handoff, "U1", card["ts"])
    async with asyncio.timeout(30):
        while not any(f.get("event") == "agent_joined" for f in customer.frames):
            await asyncio.sleep(0.1)
    return card, handoff


async def test_the_loop_from_the_web_chat_with_slack_rate_limiting(stack: Stack) -> None:
    async with WebchatCustomer(stack.ws_url) as customer:
        card, _ = await claimed_from_the_web_chat(stack, customer)
        joined = next(f for f in customer.frames if f.get("event") == "agent_joined")
        assert joined["agent"] == "Laura"

        stack.slack.fail_next("chat.postMessage", times=1)  # Slack answers 429 once
        await customer.say("tengo una duda con mi maleta")
        await _wait(
            lambda: _thread_posts(stack, card["ts"]).count("👤 tengo una duda con mi maleta") == 1
        )
        write_in_thread(stack, "U1", "note: revisar equipaje", card["ts"])
        write_in_thread(stack, "U1", "Hola, soy Laura: ¿qué le pasa a tu maleta?", card["ts"])
        [agent] = await customer.wait_for("agent", 1)
        assert agent["agent"] == "Laura" and "¿qué le pasa" in agent["text"]
        await asyncio.sleep(1)
        assert len(_thread_posts(stack, card["ts"])) == len(set(_thread_posts(stack, card["ts"])))
        assert not any("revisar" in f.get("text", "") for f in customer.messages("agent"))


async def test_a_handoff_of_an_overheard_post_tells_the_agent_nobody_wrote_to_the_brand(
    stack: Stack,
) -> None:
    handle = f"nuria{uuid.uuid4().hex[:6]}"
    event = mention("#BrisaAir quiero hablar con una persona ya", type="post")
    event["author"] = {"id": handle, "handle": handle, "followers": 900}
    accepted = post_event(stack, event)
    assert accepted.json()["because"] == "listening:#brisaair"
    card = await card_for(stack, handle)
    assert "overheard: the post matched “#brisaair”, nobody wrote to us" in json.dumps(
        card["blocks"], ensure_ascii=False
    )


async def test_a_handoff_of_a_reply_under_the_brands_post_shows_the_agent_that_post(
    stack: Stack,
) -> None:
    """ "quiero hablar con una persona" says nothing of what it is about without the post."""
    handle = f"rosa{uuid.uuid4().hex[:6]}"
    promo = "🐶✈️ Desde el 1 de diciembre tu perro o gato viaja contigo en cabina."
    event = mention(
        "quiero hablar con una persona",
        type="reply",
        in_reply_to={"post_id": "promo-1", "author_handle": "brisaair", "text": promo},
    )
    event["author"] = {"id": handle, "handle": handle, "followers": 300}
    accepted = post_event(stack, event)
    assert accepted.json()["because"] == "reply"
    card = await card_for(stack, handle)
    blocks = json.dumps(card["blocks"], ensure_ascii=False)
    assert f"*In reply to our post*\\n>{promo}" in blocks


async def test_the_loop_from_a_public_mention(stack: Stack) -> None:
    handle = f"pablo{uuid.uuid4().hex[:6]}"
    event = mention("@brisaair quiero hablar con una persona")
    event["author"] = {"id": handle, "handle": handle, "followers": 48000}
    assert post_event(stack, event).status_code == 202
    card = await card_for(stack, handle)
    blocks = json.dumps(card["blocks"])
    assert "48,000 followers" in blocks and "original post" in blocks
    handoff = handoff_of(card)
    click(stack, "claim", handoff, "U3", card["ts"])
    write_in_thread(stack, "U3", "Te escribimos por privado ahora mismo.", card["ts"])
    async with asyncio.timeout(30):
        while not any(
            r["text"] == f"@{handle} Te escribimos por privado ahora mismo."
            for r in stack.connector.replies
        ):
            await asyncio.sleep(0.1)
    reply = next(r for r in stack.connector.replies if "por privado ahora" in r["text"])
    assert reply["author"] == "agent" and reply["in_reply_to"] == event["post_id"]


async def test_a_public_handoff_follows_the_customer_into_telegram(stack: Stack) -> None:
    """A public post about a refund with a booking code goes to a person, with an invitation
    to private. Followed, the handoff moves: the thread is told, the agent's reply reaches the
    customer on Telegram, and nothing more is posted in public."""
    handle = f"marta{uuid.uuid4().hex[:6]}"
    event = mention("@brisaair quiero hablar con una persona, es por mi reserva XK42PL")
    event["author"] = {"id": handle, "handle": handle, "followers": 120}
    assert post_event(stack, event).status_code == 202
    card = await card_for(stack, handle)
    async with asyncio.timeout(30):
        while not (invitation := _invitation_to(stack, handle)):
            await asyncio.sleep(0.1)
    token = invitation.rsplit("start=", 1)[-1].split()[0]
    posted = len(stack.connector.replies)
    chat = 777555
    stack.telegram.send_command(stack.telegram_token, chat, "start", token)
    [welcome] = await telegram_texts(stack, chat, 1)
    assert "Una persona de nuestro equipo tiene tu mensaje" in welcome
    # Anyone who read the post could have followed the link: the agent is asked to check.
    await _wait(
        lambda: any("make sure it is the customer" in p for p in _thread_posts(stack, card["ts"]))
    )
    click(stack, "claim", handoff_of(card), "U4", card["ts"])
    write_in_thread(stack, "U4", "Hola Marta, miro tu reserva ahora.", card["ts"])
    texts = await telegram_texts(stack, chat, 2)
    assert texts[-1] == "Hola Marta, miro tu reserva ahora."
    assert len(stack.connector.replies) == posted  # nothing more in public


def _invitation_to(stack: Stack, handle: str) -> str | None:
    """The public reply to `handle` that carries an invitation to private, once posted."""
    return next(
        (
            r["text"]
            for r in stack.connector.replies
            if r["text"].startswith(f"@{handle} ") and "start=" in r["text"]
        ),
        None,
    )


async def test_the_owner_invites_a_public_customer_to_private_and_the_handoff_follows(
    stack: Stack,
) -> None:
    """The desk refused personal data on a public post and told the agent to move the customer
    to a private message, with no way to do it. Invite to private: the invitation reaches the
    public thread once (a double click, a retried interaction), as the agent's, with its link
    and a ✅ on the desk's line; taken up, the handoff moves to the private chat."""
    handle = f"nuria{uuid.uuid4().hex[:6]}"
    event = mention("@brisaair quiero hablar con una persona")
    event["author"] = {"id": handle, "handle": handle, "followers": 300}
    assert post_event(stack, event).status_code == 202
    card = await card_for(stack, handle)
    handoff = handoff_of(card)
    assert "invite_private" in json.dumps(card["blocks"])
    click(stack, "invite_private", handoff, "U2", card["ts"])  # nobody has claimed it
    click(stack, "claim", handoff, "U1", card["ts"])
    await _wait(lambda: "Laura" in state_of(stack.slack.message("C1", card["ts"]) or card))
    click(stack, "invite_private", handoff, "U1", card["ts"])
    click(stack, "invite_private", handoff, "U1", card["ts"])  # a double click
    retried = block_action(
        "invite_private", handoff, user="U1", channel="C1", message_ts=card["ts"]
    )
    for _ in range(2):  # the same interaction twice, as a retry sends it
        body, headers = interaction_request(SLACK_SECRET, retried)
        httpx.post(f"{stack.base_url}/slack/interactions", content=body, headers=headers)

    async with asyncio.timeout(30):
        while not (invitation := _invitation_to(stack, handle)):
            await asyncio.sleep(0.1)
    assert invitation.startswith(f"@{handle} Sigamos por privado")
    assert "\nSigue en privado: https://t.me/" in invitation
    reply = next(r for r in stack.connector.replies if r["text"] == invitation)
    assert reply["author"] == "agent" and reply["in_reply_to"] == event["post_id"]
    [line] = [m for m in stack.slack.messages("C1", card["ts"]) if "invited" in m.get("text", "")]
    assert line["text"].startswith("🔒 Laura invited the customer to continue in private")
    await _wait(lambda: "white_check_mark" in stack.slack.reactions("C1", line["ts"]))
    told = [(e["user"], e["text"]) for e in stack.slack.ephemerals("C1")]
    assert any(u == "U2" and "only the agent who owns" in t for u, t in told)
    assert any(u == "U1" and "already on the public thread" in t for u, t in told)
    await asyncio.sleep(1)
    invitations = [r for r in stack.connector.replies if r["text"].startswith(f"@{handle} ")]
    assert [r["text"] for r in invitations if "start=" in r["text"]] == [invitation]

    posted = len(stack.connector.replies)
    chat = 777556
    token = invitation.rsplit("start=", 1)[-1].split()[0]
    stack.telegram.send_command(stack.telegram_token, chat, "start", token)
    [welcome] = await telegram_texts(stack, chat, 1)
    assert "Una persona de nuestro equipo tiene tu mensaje" in welcome
    await _wait(lambda: any("continued in private" in p for p in _thread_posts(stack, card["ts"])))
    write_in_thread(stack, "U1", "Hola, soy Laura: dime tu localizador por aquí.", card["ts"])
    assert await telegram_texts(stack, chat, 1) == [
        "Hola, soy Laura: dime tu localizador por aquí."
    ]
    assert len(stack.connector.replies) == posted  # nothing more in public

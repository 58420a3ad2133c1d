"""Telegram (emulator), web chat (WebSocket) and public mentions (signed API) end to end.

A real gateway process, Rasa, the action server and Redis: customers write on each channel
and read the assistant's replies where a customer would.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis

from bot.signing import signed_headers
from handoff.requests import current_handoff
from relevo.health import wait_until_healthy
from tests.conftest import BIN, free_port
from tests.e2e.conftest import Stack
from tests.e2e.webchat_client import WebchatCustomer

pytestmark = pytest.mark.slow


# --- web chat ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected", "helpful"),
    [
        ("¿Puedo llevar a mi perro en cabina?", "mascota", "¿Te ha servido?"),
        ("Is there wifi on board?", "wi-fi", "Did this help?"),
    ],
)
async def test_web_chat_answers_in_the_customers_language(
    stack: Stack, question: str, expected: str, helpful: str
) -> None:
    async with WebchatCustomer(stack.ws_url) as customer:
        client_id = await customer.say(question)
        bot = await customer.wait_for("bot", 2)
        assert expected in bot[0]["text"].lower()
        assert bot[1]["text"] == helpful and len(bot[1]["buttons"]) == 2
        acks = [f for f in customer.frames if f["type"] == "ack"]
        assert acks == [{"type": "ack", "client_id": client_id, "duplicate": False, "typing": True}]
        assert bot[-1]["ends_turn"] is True and not bot[0].get("ends_turn")


async def test_web_chat_resend_after_reconnect_is_answered_once_and_history_restored(
    stack: Stack,
) -> None:
    async with WebchatCustomer(stack.ws_url) as customer:
        client_id = await customer.say("is there wifi on the plane?")
        await customer.wait_for("bot", 2)
        conversation = customer.conversation
    async with WebchatCustomer(stack.ws_url, conversation) as again:  # a reload: after=0
        await again.wait_for("bot", 2)
        await again.say("is there wifi on the plane?", client_id)  # resent
        await asyncio.sleep(2)
        assert [f["duplicate"] for f in again.frames if f["type"] == "ack"] == [True]
        assert len(again.messages("customer")) == 1
        assert len(again.messages("bot")) == 2
        last = (
            again.frames[-1]["id"]
            if again.frames[-1].get("id")
            else again.messages("bot")[-1]["id"]
        )
    async with WebchatCustomer(stack.ws_url, conversation, after=last) as resumed:
        await resumed.say("thanks!")
        await resumed.wait_for("bot", 1)
        assert len(resumed.messages("customer")) == 1  # only what came after `after`


async def test_web_chat_bad_frames_get_errors_and_the_socket_keeps_working(stack: Stack) -> None:
    async with WebchatCustomer(stack.ws_url) as customer:
        await customer.send_raw("not json")
        await customer.send_raw(b"\x00\xff binary")
        await customer.send_raw(json.dumps({"type": "message", "text": "no client id"}))
        await customer.say("")
        await customer.say("hola " * 2000)
        await customer.say("hello")
        bot = await customer.wait_for("bot", 3)
        errors = [f for f in customer.frames if f["type"] == "error"]
        assert [e["reason"] for e in errors] == [
            "invalid JSON",
            "binary frames are not supported",
            "expected {type: message, client_id, text}",
        ]
        assert "What can I help you with" in bot[0]["text"]
        assert "4000" in bot[1]["text"]


# --- public mentions -----------------------------------------------------------------------


def post_event(
    stack: Stack, event: dict[str, object], *, secret: str | None = None, age: float = 0.0
) -> httpx.Response:
    body = json.dumps(event).encode()
    headers = signed_headers(secret or stack.social_secret, body, now=time.time() - age)
    return httpx.post(
        f"{stack.base_url}/channels/social/events",
        content=body,
        headers={**headers, "Content-Type": "application/json"},
        timeout=10,
    )


def mention(text: str, **extra: object) -> dict[str, object]:
    post = uuid.uuid4().hex[:10]
    return {
        "network": "x",
        "type": "mention",
        "post_id": post,
        "thread_id": f"t-{post}",
        "author": {"id": f"u-{post}", "handle": "ana_travels", "followers": 12000},
        "text": text,
        "url": f"https://social.example/ana_travels/{post}",
        **extra,
    }


async def test_a_mention_is_answered_publicly_once_even_when_delivered_three_times(
    stack: Stack,
) -> None:
    event = mention("@brisaair how much does an extra checked bag cost?")
    answers = [post_event(stack, event) for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 200, 200]
    assert [a.json()["status"] for a in answers] == ["accepted", "duplicate", "duplicate"]
    conversation = answers[0].json()["conversation_id"]
    replies = await _public_replies(stack, conversation, 1)
    await asyncio.sleep(2)
    again = await _public_replies(stack, conversation, 1)
    assert len(again) == len(replies) == 1  # the answer and its link; no "Did this help?" post
    [reply] = replies
    assert reply["text"].startswith("@ana_travels ") and len(reply["text"]) <= 280
    assert reply["in_reply_to"] == event["post_id"]
    assert "EUR" in reply["text"] and "/baggage-checked-en" in reply["text"]


async def test_a_public_complaint_gets_one_reply_that_says_a_person_will_answer_there(
    stack: Stack,
) -> None:
    """Empathy and the handoff, said as one post (they were two to five before)."""
    event = mention("@brisaair your customer service is a disgrace, nobody answers the phone 😡")
    conversation = post_event(stack, event).json()["conversation_id"]
    replies = await _public_replies(stack, conversation, 1)
    await asyncio.sleep(2)
    replies = await _public_replies(stack, conversation, 1)
    assert len(replies) == 1, [r["text"] for r in replies]
    said = replies[0]["text"]
    assert "sorry" in said.lower() and "will reply to you here" in said
    assert "right away" not in said and len(said) <= 280


async def test_an_answer_to_the_brands_reply_stays_in_its_conversation_without_a_thread_id(
    stack: Stack,
) -> None:
    """Networks whose events carry no thread: the connector returns the id of each reply."""
    first = mention("@brisaair how much does an extra checked bag cost?")
    del first["thread_id"]
    conversation = post_event(stack, first).json()["conversation_id"]
    [brand_reply, *_] = await _public_replies(stack, conversation, 1)
    answer = {
        **mention("and a second one?"),
        "type": "reply",
        "author": first["author"],
        "in_reply_to": {"post_id": brand_reply["post_id"], "author_handle": "brisaair"},
    }
    del answer["thread_id"]
    accepted = post_event(stack, answer).json()
    assert accepted["status"] == "accepted"
    assert accepted["conversation_id"] == conversation
    stranger = {**answer, "post_id": "other-post", "author": {"id": "u-other", "handle": "bob"}}
    other = post_event(stack, stranger).json()["conversation_id"]
    assert other != conversation and other.endswith(":u-other")  # their own, in that thread


async def test_forged_stale_and_malformed_events_are_refused_and_nothing_is_processed(
    stack: Stack,
) -> None:
    event = mention("@brisaair hello")
    forged = post_event(stack, event, secret="not-the-secret")
    stale = post_event(stack, event, age=3600)
    assert forged.status_code == 401 and "does not match" in forged.json()["error"]
    assert stale.status_code == 401 and "stale" in stale.json()["error"]
    malformed = post_event(stack, {"post_id": "x", "text": 3})
    assert malformed.status_code == 422
    assert any("author" in p for p in malformed.json()["problems"])
    ignored = post_event(stack, mention("lovely weather today", type="post"))
    assert ignored.json() == {"status": "ignored", "reason": "not addressed to the brand"}
    assert post_event(stack, event).status_code == 202  # the genuine one is still new


async def test_a_public_question_about_a_booking_invites_to_private_and_carries_over(
    stack: Stack,
) -> None:
    answer = post_event(stack, mention("@brisaair quiero cambiar la fecha de mi reserva XK42PL"))
    conversation = answer.json()["conversation_id"]
    replies = await _public_replies(stack, conversation, 1)
    joined = " ".join(r["text"] for r in replies)
    assert "XK42PL" not in joined  # personal data is never echoed in public
    invitation = next(
        r["text"] for r in replies if "?start=" in r["text"] or "continue=" in r["text"]
    )
    token = invitation.rsplit("start=", 1)[-1].rsplit("continue=", 1)[-1].split()[0]
    chat_id = 777001
    stack.telegram.send_command(stack.telegram_token, chat_id, "start", token)
    welcome, *answer = await stack.telegram.await_bot_messages(stack.telegram_token, chat_id, 2)
    assert welcome["message"]["text"].startswith("¡Hola @ana_travels!")
    # Anyone who read the post could have followed its link: its booking code is not shown.
    assert "quiero cambiar la fecha de mi reserva [booking code]" in welcome["message"]["text"]
    # The public question is answered here, in private, without asking it again, and no
    # second greeting comes.
    await asyncio.sleep(3)
    answer += stack.telegram.bot_messages(stack.telegram_token, chat_id)
    buttons = [
        b["text"]
        for m in answer
        for row in (m["message"].get("reply_markup") or {}).get("inline_keyboard", [])
        for b in row
    ]
    said = " ".join([m["message"]["text"] for m in answer] + buttons)
    assert "cambi" in said.lower() and "privado" not in said  # the flight-change article
    assert not any(m["message"]["text"].startswith("¡Hola!") for m in answer)


async def test_a_public_question_continued_in_the_web_chat_is_answered_there(
    stack: Stack,
) -> None:
    """The web chat's `?continue=<token>`: the welcome quotes the post without its personal
    data, and the assistant answers the post's question in the chat, without the customer
    writing it again."""
    event = mention("@brisaair how do i change the date of my booking XK42PL?")
    event["author"] = {"id": "u-wc", "handle": "leo_wc", "followers": 3}
    conversation = post_event(stack, event).json()["conversation_id"]
    replies = await _public_replies(stack, conversation, 1)
    invitation = next(r["text"] for r in replies if "start=" in r["text"])
    token = invitation.rsplit("start=", 1)[-1].split()[0]  # the web chat's link takes it too
    async with WebchatCustomer(stack.ws_url, **{"continue": token}) as customer:
        [welcome, *_] = await customer.wait_for("bot", 2)
        assert welcome["text"].startswith("Hi @leo_wc!")
        assert "how do i change the date of my booking [booking code]?" in welcome["text"]
        [asked] = customer.messages("customer")  # the post's question, carried over, redacted
        assert asked["text"] == "how do i change the date of my booking [booking code]?"


async def _public_replies(stack: Stack, conversation: str, count: int) -> list[dict[str, object]]:
    async with asyncio.timeout(60):
        while True:
            found = [r for r in stack.connector.replies if r["conversation_id"] == conversation]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.1)


# --- Telegram ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chat_id", "question", "expected", "helpful"),
    [
        (900001, "hola, ¿hay wifi a bordo?", "wi-fi", "¿Te ha servido?"),
        (900002, "can I bring my cat in the cabin?", "pet", "Did this help?"),
    ],
)
async def test_telegram_private_chat_in_both_languages(
    stack: Stack, chat_id: int, question: str, expected: str, helpful: str
) -> None:
    stack.telegram.send_message(stack.telegram_token, chat_id, question)
    answer, ask = await stack.telegram.await_bot_messages(stack.telegram_token, chat_id, 2)
    assert expected in answer["message"]["text"].lower()
    assert ask["message"]["text"] == helpful
    keyboard = ask["message"]["reply_markup"]["inline_keyboard"][0]
    assert [b["callback_data"] for b in keyboard] == ["/affirm", "/deny"]


async def test_telegram_offers_articles_as_buttons_and_a_tap_answers(stack: Stack) -> None:
    chat_id = 900003
    stack.telegram.send_message(stack.telegram_token, chat_id, "no me deja pagar con la tarjeta")
    (offer,) = await stack.telegram.await_bot_messages(stack.telegram_token, chat_id, 1)
    assert "alguno" in offer["message"]["text"]
    rows = offer["message"]["reply_markup"]["inline_keyboard"]
    assert all(len(row) == 1 for row in rows)  # one article a row: titles cut short otherwise
    keyboard = [button for row in rows for button in row]
    data = [b["callback_data"] for b in keyboard]
    assert data[-1] == "/deny" and keyboard[-1]["text"].startswith("Ninguno")  # a no to the offer
    pick = '/pick_article{"article":"payment-problems-es"}'
    assert pick in data
    stack.telegram.send_callback(stack.telegram_token, chat_id, pick, offer["messageId"])
    answer, ask = await stack.telegram.await_bot_messages(stack.telegram_token, chat_id, 2)
    assert "/payment-problems-es" in answer["message"]["text"]
    assert ask["message"]["text"] == "¿Te ha servido?"
    stack.telegram.send_callback(stack.telegram_token, chat_id, "/deny", ask["messageId"])
    (handed_over,) = await stack.telegram.await_bot_messages(stack.telegram_token, chat_id, 1)
    assert "persona" in handed_over["message"]["text"]
    store = redis.Redis.from_url(stack.engine.env["REDIS_URL"], decode_responses=True)
    request = current_handoff(store, f"tg:{chat_id}")
    assert request is not None
    said = [(line.text, line.tapped) for line in request.transcript if line.role == "customer"]
    title = keyboard[data.index(pick)]["text"]
    no = ask["message"]["reply_markup"]["inline_keyboard"][0][1]["text"]
    assert said == [("no me deja pagar con la tarjeta", False), (title, True), (no, True)]


@pytest.mark.parametrize(
    ("chat_id", "app", "hello"), [(900020, "es", "¡Hola!"), (900021, "en", "Hi")]
)
async def test_telegram_start_greets_a_fresh_chat_in_the_app_language(
    stack: Stack, chat_id: int, app: str, hello: str
) -> None:
    emu, token = stack.telegram, stack.telegram_token
    customer = {"id": chat_id, "is_bot": False, "first_name": "Ana", "language_code": app}
    command = {"type": "bot_command", "offset": 0, "length": 6}
    emu.send_raw_message(
        token, chat_id, {"text": "/start", "entities": [command], "from": customer}, command=True
    )
    [greeting] = await emu.await_bot_messages(token, chat_id, 1)
    assert greeting["message"]["text"].startswith(hello)


async def test_telegram_commands_stickers_and_groups(stack: Stack) -> None:
    emu, token = stack.telegram, stack.telegram_token
    emu.send_command(token, 900010, "help")
    [help_] = await emu.await_bot_messages(token, 900010, 1)
    assert "/agent" in help_["message"]["text"]
    emu.send_sticker(token, 900011)
    [sticker] = await emu.await_bot_messages(token, 900011, 1)
    assert "sticker" in sticker["message"]["text"]
    emu.send_command(token, 900012, "agent")
    handoff, _ = await stack.handed_over(900012)
    assert "person" in handoff["message"]["text"]
    group = -100900
    emu.send_message(token, group, "anyone flying tomorrow?", chat_type="supergroup", user_id=5)
    emu.send_message(
        token, group, "@TestNameBot is there wifi on board?", chat_type="supergroup", user_id=5
    )
    [answer] = await emu.await_bot_messages(token, group, 1)  # a group reads it: no buttons
    assert "wi-fi" in answer["message"]["text"].lower()
    assert not answer["message"].get("reply_markup")
    await asyncio.sleep(2)
    assert emu.bot_messages(token, group) == []  # nothing for the message without a mention


async def test_personal_data_in_a_telegram_group_gets_a_link_to_a_private_chat(
    stack: Stack,
) -> None:
    """A group is public to its members: the booking code is not repeated there, and the
    customer is invited to a private chat with the bot."""
    emu, token, group = stack.telegram, stack.telegram_token, -100901
    emu.send_message(
        token,
        group,
        "@TestNameBot mi localizador es XK7Q2P, me devolveis el dinero??",
        chat_type="supergroup",
        user_id=6,
    )
    replies = await emu.await_bot_messages(token, group, 1)
    said = " ".join(r["message"]["text"] for r in replies)
    assert "XK7Q2P" not in said and "privado" in said
    assert "https://t.me/" in said and "?start=" in said


async def test_a_telegram_group_invitation_is_only_for_the_member_invited(stack: Stack) -> None:
    """QA s21 D1: another member who followed the link was shown the customer's booking code
    and e-mail, and the customer's own follow was refused."""
    emu, token, group, bea, mallory = stack.telegram, stack.telegram_token, -100902, 511, 512
    emu.send_message(
        token,
        group,
        "@TestNameBot mi localizador es QW3RT7 y mi correo bea.lopez@gmail.com, me han "
        "cancelado el vuelo",
        chat_type="supergroup",
        user_id=bea,
    )
    [invitation] = await emu.await_bot_messages(token, group, 1)
    link = invitation["message"]["text"].rsplit("start=", 1)[-1].split()[0]
    start = f"/start {link}"  # what the link sends from Mallory's own private chat
    emu.send_raw_message(
        token,
        mallory,
        {
            "text": start,
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            "from": {"id": mallory, "is_bot": False, "first_name": "M", "language_code": "en"},
        },
        command=True,
    )
    told, greeting = await emu.await_bot_messages(token, mallory, 2)
    assert told["message"]["text"].startswith("This link is for someone else")  # her language
    assert greeting["message"]["text"].startswith("Hi")
    await asyncio.sleep(2)
    seen = " ".join(
        m["message"]["text"] for m in [told, greeting, *emu.bot_messages(token, mallory)]
    )
    assert "QW3RT7" not in seen and "bea.lopez" not in seen and "cancelado" not in seen
    emu.send_command(token, bea, "start", link)
    welcome, *_ = await emu.await_bot_messages(token, bea, 1)
    assert "«mi localizador es [booking code] y mi correo [e-mail]" in welcome["message"]["text"]


@pytest.fixture
def webhook_gateway(stack: Stack) -> Iterator[tuple[str, str]]:
    """A second gateway with Telegram in webhook mode, on another bot token.

    It has a Redis database of its own: gateways sharing one deliver each other's outbox, which
    is right for replicas of one bot and wrong for two different bots.
    """
    port, token = free_port(), "5151:relevo-webhook"
    env = {
        **stack.engine.env,
        "REDIS_URL": stack.engine.env["REDIS_URL"].rsplit("/", 1)[0] + "/2",
        "RELEVO_PORT": str(port),
        "RELEVO_RASA_URL": stack.engine.rasa_url,
        "RELEVO_TELEGRAM_TOKEN": token,
        "RELEVO_TELEGRAM_API_URL": stack.telegram.bot_base_url,
        "RELEVO_TELEGRAM_MODE": "webhook",
        "RELEVO_TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/channels/telegram/webhook",
        "RELEVO_TELEGRAM_WEBHOOK_SECRET": "hook-secret-2",
    }
    process = subprocess.Popen([str(BIN / "relevo"), "serve"], env=env)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}/healthz", process, 120)
        yield f"http://127.0.0.1:{port}", token
    finally:
        process.terminate()
        process.wait(30)


async def test_telegram_webhook_mode_registers_checks_its_secret_and_dedupes(
    stack: Stack, webhook_gateway: tuple[str, str]
) -> None:
    base, token = webhook_gateway
    emu = stack.telegram
    emu.send_message(token, 900030, "is there wifi on board?")  # the emulator calls the webhook
    answer, _ = await emu.await_bot_messages(token, 900030, 2)
    assert "wi-fi" in answer["message"]["text"].lower()

    update = {
        "update_id": 99,
        "message": {
            "message_id": 9001,
            "date": int(time.time()),
            "text": "hello",
            "from": {"id": 900030, "is_bot": False, "first_name": "Ana"},
            "chat": {"id": 900030, "type": "private"},
        },
    }
    url = f"{base}/channels/telegram/webhook"
    wrong = httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"})
    assert wrong.status_code == 403
    missing = httpx.post(url, json=update)
    assert missing.status_code == 403
    header = {"X-Telegram-Bot-Api-Secret-Token": "hook-secret-2"}
    assert [httpx.post(url, json=update, headers=header).status_code for _ in range(3)] == [200] * 3
    assert httpx.post(url, content=b"{", headers=header).status_code == 400
    replies = await emu.await_bot_messages(token, 900030, 1)
    await asyncio.sleep(3)
    replies += emu.bot_messages(token, 900030)
    assert len(replies) == 1  # three deliveries of one update, one reply

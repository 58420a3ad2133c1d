"""python-telegram-bot 22 against the local Telegram Bot API emulator (telegram-test-api)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import Conflict
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.emulators.telegram_emulator import TelegramEmulator

pytestmark = pytest.mark.timeout(30)

_tokens = itertools.count(1)


def new_token() -> str:
    return f"{100000 + next(_tokens)}:test-token-{time.monotonic_ns()}"


@pytest.fixture(scope="module")
def emu() -> Iterator[TelegramEmulator]:
    with TelegramEmulator() as emulator:  # `make setup` installs it; missing it is an error
        yield emulator


def build_app(
    emu: TelegramEmulator, token: str, handlers: list[BaseHandler[Any, Any, Any]]
) -> Application[Any, Any, Any, Any, Any, Any]:
    app = (
        ApplicationBuilder()
        .token(token)
        .base_url(emu.bot_base_url)
        .base_file_url(emu.bot_file_url)
        .build()
    )
    for handler in handlers:
        app.add_handler(handler)
    return app


@contextlib.asynccontextmanager
async def polling_bot(
    emu: TelegramEmulator, token: str, handlers: list[BaseHandler[Any, Any, Any]]
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    app = build_app(emu, token, handlers)
    await app.initialize()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0)
    await app.start()
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None and update.effective_message.text is not None
    await update.effective_message.reply_text(update.effective_message.text)


def echo_handler() -> MessageHandler[Any, Any]:
    return MessageHandler(filters.TEXT & ~filters.COMMAND, echo)


def texts(records: list[dict[str, Any]]) -> list[str]:
    return [r["message"]["text"] for r in records]


async def test_echo_bot_polls_and_replies(emu: TelegramEmulator) -> None:
    token = new_token()
    async with polling_bot(emu, token, [echo_handler()]) as app:
        assert app.bot.username == "TestNameBot"
        assert app.bot.id == int(token.split(":")[0])
        update = emu.send_message(token, 4201, "hola, tengo un problema con mi reserva")
        assert update["message"]["text"] == "hola, tengo un problema con mi reserva"
        replies = await emu.await_bot_messages(token, 4201, timeout=8)
    assert texts(replies) == ["hola, tengo un problema con mi reserva"]
    assert replies[0]["message"]["chat_id"] == "4201"
    # Read means read: nothing left, and nothing sent to another chat.
    assert emu.bot_messages(token, 4201) == []
    assert emu.bot_messages(token, 4202) == []


async def test_bot_side_answers_fit_ptb(emu: TelegramEmulator) -> None:
    token = new_token()
    async with Bot(token, base_url=emu.bot_base_url, base_file_url=emu.bot_file_url) as bot:
        me = await bot.get_me()
        assert me.is_bot
        sent = await bot.send_message(4301, "¿Le ayudo con algo más?")
        # date in seconds, not milliseconds
        assert abs(sent.date.timestamp() - time.time()) < 60
        assert sent.chat.id == 4301
        assert sent.from_user is not None and sent.from_user.is_bot
        assert await bot.send_chat_action(4301, "typing") is True
        edited = await bot.edit_message_text("¿Algo más?", chat_id=4301, message_id=sent.message_id)
        assert not isinstance(edited, bool) and edited.text == "¿Algo más?"
        assert await bot.delete_webhook() is True
        info = await bot.get_webhook_info()
        assert info.url == ""
        # getUpdates really long-polls (it used to answer at once) and honours the timeout.
        started = time.monotonic()
        assert await bot.get_updates(timeout=1) == ()
        assert 0.9 <= time.monotonic() - started < 5
    records = emu.bot_messages(token, 4301)
    assert texts(records) == ["¿Algo más?"]


async def test_unicode_and_longest_text_round_trip(emu: TelegramEmulator) -> None:
    token = new_token()
    unicode_text = "¡Hola! 👋🏽 Reserva nº 42 — ñandú, 你好, مرحبا, 🇪🇸🧳✈️"
    pattern = "Çà va? 😀 "
    long_text = (pattern * (4096 // len(pattern) + 1))[:4096]
    assert len(long_text) == 4096
    async with polling_bot(emu, token, [echo_handler()]):
        emu.send_message(token, 4401, unicode_text)
        assert texts(await emu.await_bot_messages(token, 4401, timeout=8)) == [unicode_text]
        emu.send_message(token, 4401, long_text)
        assert texts(await emu.await_bot_messages(token, 4401, timeout=8)) == [long_text]


async def test_command_with_payload_reaches_command_handler(emu: TelegramEmulator) -> None:
    token = new_token()
    seen: list[list[str]] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        seen.append(list(context.args or []))
        await update.effective_message.reply_text(f"start:{' '.join(context.args or [])}")

    async with polling_bot(emu, token, [CommandHandler("start", start), echo_handler()]):
        emu.send_command(token, 4501, "start", "payload")
        replies = await emu.await_bot_messages(token, 4501, timeout=8)
    assert seen == [["payload"]]
    assert texts(replies) == ["start:payload"]


async def test_callback_query_and_non_text_message(emu: TelegramEmulator) -> None:
    token = new_token()
    answered: list[bool] = []
    stickers: list[str] = []

    async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        keyboard = [[InlineKeyboardButton("Hablar con una persona", callback_data="handoff")]]
        await update.effective_message.reply_text(
            "¿Qué necesita?", reply_markup=InlineKeyboardMarkup(keyboard)
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.data == "handoff" and query.chat_instance
        answered.append(await query.answer("Un momento"))
        await query.edit_message_text("Le paso con una persona")

    async def sticker(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_message.sticker
        stickers.append(update.effective_message.sticker.emoji or "")
        await update.effective_message.reply_text("Gracias por el sticker")

    handlers: list[BaseHandler[Any, Any, Any]] = [
        CommandHandler("menu", menu),
        CallbackQueryHandler(pressed),
        MessageHandler(filters.Sticker.ALL, sticker),
    ]
    async with polling_bot(emu, token, handlers):
        emu.send_command(token, 4601, "menu")
        [keyboard_message] = await emu.await_bot_messages(token, 4601, timeout=8)
        markup = keyboard_message["message"]["reply_markup"]
        assert markup["inline_keyboard"][0][0]["callback_data"] == "handoff"
        emu.send_callback(token, 4601, "handoff", keyboard_message["messageId"])
        emu.send_sticker(token, 4601, emoji="🙏")
        [thanks] = await emu.await_bot_messages(token, 4601, timeout=8)
        for _ in range(100):
            if answered:
                break
            await asyncio.sleep(0.05)
    assert answered == [True]
    assert stickers == ["🙏"]
    assert thanks["message"]["text"] == "Gracias por el sticker"
    edited = [r for r in emu.history(token) if r.get("messageId") == keyboard_message["messageId"]]
    assert edited and edited[0]["message"]["text"] == "Le paso con una persona"


class WebhookTarget:
    """A tiny HTTP server in a thread that records webhook posts and answers a chosen status."""

    def __init__(self) -> None:
        self.status = 200
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.posted = threading.Condition()
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(target.status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with target.posted:
                    target.received.append((dict(self.headers.items()), json.loads(body)))
                    target.posted.notify_all()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/telegram/webhook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(
        self, count: int, timeout: float = 5.0
    ) -> list[tuple[dict[str, str], dict[str, Any]]]:
        with self.posted:
            assert self.posted.wait_for(lambda: len(self.received) >= count, timeout), (
                f"the webhook got {len(self.received)} of {count} posts"
            )
            return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_webhook_gets_secret_header_and_survives_403(emu: TelegramEmulator) -> None:
    token = new_token()
    target = WebhookTarget()
    try:
        async with Bot(token, base_url=emu.bot_base_url, base_file_url=emu.bot_file_url) as bot:
            assert await bot.set_webhook(target.url, secret_token="s3cret") is True
            assert (await bot.get_webhook_info()).url == target.url
            with pytest.raises(Conflict):
                await bot.get_updates(timeout=0)

            emu.send_message(token, 4701, "hola por webhook")
            [(headers, body)] = await asyncio.to_thread(target.wait_for, 1)
            assert headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cret"
            assert headers["Content-Type"].startswith("application/json")
            update = Update.de_json(body, bot)
            assert update.message is not None and update.message.text == "hola por webhook"
            assert update.message.chat.id == 4701

            target.status = 403
            emu.send_message(token, 4701, "rechazado")
            await asyncio.to_thread(target.wait_for, 2)
            await asyncio.sleep(0.2)
            assert emu.is_running
            info = await bot.get_webhook_info()
            assert info.last_error_message and "403" in info.last_error_message

            # Connection refused: logged, not fatal.
            await bot.set_webhook(f"http://127.0.0.1:{closed_port()}/hook", secret_token="s3cret")
            emu.send_message(token, 4701, "nadie escucha")
            for _ in range(100):
                info = await bot.get_webhook_info()
                if info.last_error_message == "Connection refused":
                    break
                await asyncio.sleep(0.05)
            assert info.last_error_message == "Connection refused"
            assert emu.is_running

            # Still serves: the next message reaches a healthy webhook.
            target.status = 200
            await bot.set_webhook(target.url, secret_token="s3cret")
            emu.send_message(token, 4701, "otra vez")
            received = await asyncio.to_thread(target.wait_for, 3)
            assert received[2][1]["message"]["text"] == "otra vez"
            assert received[2][0]["X-Telegram-Bot-Api-Secret-Token"] == "s3cret"
            assert await bot.delete_webhook() is True
        assert emu.is_running
        assert "403" in emu.log_text()
        response = httpx.post(f"{emu.bot_base_url}{token}/getMe", timeout=5)
        assert response.json()["result"]["is_bot"] is True
    finally:
        target.close()


async def test_restarted_bot_does_not_lose_messages(emu: TelegramEmulator) -> None:
    token = new_token()
    chat = 4801
    async with polling_bot(emu, token, [echo_handler()]):
        emu.send_message(token, chat, "uno")
        assert texts(await emu.await_bot_messages(token, chat, timeout=8)) == ["uno"]
        await asyncio.sleep(0.3)  # the bot is now waiting in a long poll
    # The stopped bot's long poll must not take this message.
    emu.send_message(token, chat, "dos")
    await asyncio.sleep(0.3)
    async with polling_bot(emu, token, [echo_handler()]):
        emu.send_message(token, chat, "tres")
        replies = await emu.await_bot_messages(token, chat, count=2, timeout=8)
        await asyncio.sleep(0.3)
        replies += emu.bot_messages(token, chat)
    # "uno" was confirmed by the first bot and is not delivered again.
    assert texts(replies) == ["dos", "tres"]


async def test_abandoned_long_poll_does_not_swallow_update(emu: TelegramEmulator) -> None:
    token = new_token()
    url = f"{emu.bot_base_url}{token}/getUpdates"
    async with httpx.AsyncClient(timeout=15) as client:
        poll = asyncio.create_task(client.post(url, data={"offset": "0", "timeout": "10"}))
        await asyncio.sleep(0.3)
        assert not poll.done()  # a real long poll: it waits
        poll.cancel()  # the poller goes away without another getUpdates (e.g. a killed bot)
        with contextlib.suppress(asyncio.CancelledError):
            await poll
    await asyncio.sleep(0.2)
    emu.send_message(token, 4901, "¿sigue ahí?")
    async with Bot(token, base_url=emu.bot_base_url, base_file_url=emu.bot_file_url) as bot:
        updates = await bot.get_updates(timeout=2)
        assert [u.message.text for u in updates if u.message] == ["¿sigue ahí?"]
        # Not confirmed yet: delivered again until a later offset confirms it.
        again = await bot.get_updates(offset=updates[0].update_id, timeout=0)
        assert [u.update_id for u in again] == [updates[0].update_id]
        assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()
        assert (await bot.get_webhook_info()).pending_update_count == 0

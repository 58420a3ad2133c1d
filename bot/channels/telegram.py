"""Telegram: updates in (long polling or a webhook), messages out, with python-telegram-bot.

Relevo drives `telegram.Bot` itself instead of PTB's `Application`: an update is confirmed to
Telegram (the polling offset moves, or the webhook answers 200) only after the inbound pipeline
has stored it, so a crash or a Redis outage never loses one, and the pipeline's dedupe drops
what Telegram sends again. Messages go out as plain text (nothing to escape, nothing to break),
split at Telegram's 4096 characters, paced by per-chat and bot-wide token buckets.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import re
from dataclasses import replace

import redis
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from bot.channels.telegram_split import with_split_marked
from bot.channels.telegram_updates import (
    ANSWERS_TO_THE_LATEST,
    Received,
    asking_for_a_person,
    conversation_of,
    greeting,
    is_button_payload,
    message_address,
    not_yours,
    received,
)
from bot.conversations import ConversationStore
from bot.delivery import DeliveryError, Target
from bot.inbound import Channel, Inbound
from bot.invitations import Continued, Invitations, with_invitation
from bot.pipeline import InboundPipeline
from bot.ratelimit import RateLimits
from bot.splitting import split_text
from bot.texts import text
from bot.unicode_safe import scrub
from relevo import keys
from relevo.messages import Outgoing
from relevo.redis_conn import REDIS_UNREACHABLE, redis_refusing
from relevo.settings import Settings

log = logging.getLogger(__name__)

MESSAGE_LIMIT = 4096
GROUP_RATE = 20 / 60
"""Messages a second a bot may send into one group."""
CALLBACK_DATA_LIMIT = 64
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
UPDATES = ["message", "edited_message", "callback_query"]
"""The updates the bot asks Telegram for (`telegram_updates.received` reads them)."""
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_TRANSIENT: tuple[type[Exception], ...] = (*REDIS_UNREACHABLE, OSError, TimeoutError)
"""Failures of a dependency, not of the update: it is tried again (and Redis's refusals,
`redis_refusing`: read-only after a failover, out of memory)."""


def _chat_of(update: Update) -> int | None:
    """The chat an update comes from, for the log."""
    chat = update.effective_chat
    return chat.id if chat else None


def _pressed_conversation(query: CallbackQuery) -> str:
    """The conversation of the member who pressed a button (the query has a message)."""
    assert query.message is not None
    chat = query.message.chat
    return conversation_of(chat.id, chat.type, query.from_user.id)


class TelegramChannel:
    """The Telegram bot: receives through polling or the webhook, sends through the outbox."""

    def __init__(self, settings: Settings, pipeline: InboundPipeline, invitations: Invitations):
        assert settings.telegram_token is not None
        self._settings = settings
        self._pipeline = pipeline
        self._invitations = invitations
        self.bot = Bot(
            settings.telegram_token.get_secret_value(),
            base_url=settings.telegram_api_url,
            base_file_url=settings.telegram_file_url,
            # A send that times out may have been posted; 15 s makes that rare (PTB: 5 s).
            request=HTTPXRequest(connection_pool_size=32, read_timeout=15.0),
            get_updates_request=HTTPXRequest(read_timeout=40),
        )
        self._limits = RateLimits(overall=settings.telegram_rate_per_second, per_chat=1.0)
        self.username: str | None = None

    async def start(self) -> None:
        """Log in (getMe) and, in webhook mode, register the webhook with its secret."""
        webhook = self._settings.telegram_mode == "webhook"
        url, secret = self._settings.telegram_webhook_url, self._settings.telegram_webhook_secret
        if webhook and not url:
            raise ValueError("webhook mode needs RELEVO_TELEGRAM_WEBHOOK_URL")
        if webhook and (secret is None or not _SECRET_TOKEN.fullmatch(secret.get_secret_value())):
            # Without one, the webhook would refuse every update it is sent.
            raise ValueError(
                "webhook mode needs RELEVO_TELEGRAM_WEBHOOK_SECRET: 1-256 characters of "
                "A-Z, a-z, 0-9, _ and - (Telegram sends it back with every update)"
            )
        await self.bot.initialize()
        self.username = self.bot.username
        if webhook and url and secret is not None:
            await self.bot.set_webhook(
                url,
                secret_token=secret.get_secret_value(),
                allowed_updates=UPDATES,
            )
        log.info("telegram on", extra={"bot": self.username, "mode": self._settings.telegram_mode})

    async def stop(self) -> None:
        """Close the HTTP clients."""
        await self.bot.shutdown()

    async def poll(self, stop: asyncio.Event) -> None:
        """Long polling; the offset moves past an update only once it is stored."""
        await self.bot.delete_webhook()
        offset: int | None = None
        backoff = 0.5
        while not stop.is_set():
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=20, allowed_updates=UPDATES
                )
                for update in updates:
                    await self.handle_or_reject(update)
                    offset = update.update_id + 1
                backoff = 0.5
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "telegram polling failed; retrying",
                    extra={"error": repr(exc), "retry_in_s": backoff},
                )
                await asyncio.sleep(backoff)
                backoff = min(30.0, backoff * 2)

    async def handle_or_reject(self, update: Update) -> None:
        """`handle`, except that an update failing for a reason of its own is logged and dropped.

        A dependency's failure (Redis down, the network) raises, so the update is tried again
        and not lost. Anything else would fail again on every try, and Telegram sends nothing
        newer until an update is confirmed: one such update would stop the channel.
        """
        try:
            await self.handle(update)
        except Exception as exc:
            if isinstance(exc, _TRANSIENT) or redis_refusing(exc):
                raise
            log.exception(
                "telegram update rejected: it fails every time, so it is dropped",
                extra={"update_id": update.update_id, "chat": _chat_of(update)},
            )

    async def handle(self, update: Update) -> None:
        """Hand one update to the pipeline (raises when it could not be stored)."""
        if update.callback_query and await self._press_refused(update.callback_query):
            return
        got = received(update, self.username or "")
        if got is None:
            return
        if got.invitation and not await self._pipeline.store.first_delivery(got.inbound, "follow"):
            return  # Telegram delivered this /start <token> before
        continued = await self._continue_privately(got) if got.invitation else None
        if continued is not None:  # its welcome is the one greeting: no /greet for the assistant
            if continued.question:  # answered here, in private
                await self._pipeline.accept(continued.carried(got.inbound))
            elif continued.again:  # a link tapped again: not silence
                language = await self._language_of(got.inbound)
                again = got.inbound.answer("again", text("continued_again", language or "en"))
                await self._pipeline.store.enqueue(again)
            return
        if got.command is None:
            limit = self._settings.max_message_chars
            inbound = await with_split_marked(self._pipeline.store, got.inbound, limit)
            await self._pipeline.accept(inbound)
            if update.callback_query is not None:
                await self._close_keyboard(update.callback_query)
            return
        language = await self._language_of(got.inbound)
        if got.command == "help":
            await self._pipeline.accept(got.inbound, notice_text=text("help", language))
        elif got.command == "agent":
            await self._pipeline.accept(replace(got.inbound, text=asking_for_a_person(language)))
        else:
            await self._pipeline.accept(replace(got.inbound, text=greeting(language)))

    async def _continue_privately(self, got: Received) -> Continued | None:
        """Follow a /start <token> invitation; None when it is refused."""
        assert got.invitation is not None
        return await self._invitations.accept(
            got.invitation,
            conversation_id=got.inbound.conversation_id,
            channel=Channel.TELEGRAM,
            route=got.inbound.route,
            profile_key=keys.customer(Channel.TELEGRAM.value, got.inbound.customer.id),
            fallback_language=got.inbound.language,
        )

    async def _language_of(self, inbound: Inbound) -> str | None:
        """The conversation's language; before it has one, the user's app language."""
        return await self._pipeline.store.language(inbound.conversation_id) or inbound.language

    async def _press_refused(self, query: CallbackQuery) -> bool:
        """Stop the button's spinner, telling a member pressing another's buttons whose they are.

        True for a "yes" or "no" under an older question: it is told so and that keyboard
        closes. QA s25: a 👎 under an earlier "Did this help?" counted against the newest answer.
        """
        if not is_button_payload(query.data or ""):
            log.warning(
                "telegram button press ignored: data the bot's buttons never carry",
                extra={"chat": query.message.chat.id if query.message else None},
            )
        refusal = not_yours(query)
        stale = refusal is None and await self._answers_an_older_question(query)
        if stale:
            conversation = _pressed_conversation(query)
            language = await self._pipeline.store.language(conversation)
            refusal = text("buttons_stale", language or "en")
        try:
            await self.bot.answer_callback_query(query.id, text=refusal)
        except TelegramError as exc:  # the button stops spinning a bit later: not worth failing
            log.info("callback not answered", extra={"error": repr(exc)})
        if stale:
            await self._close_keyboard(query)
        return stale

    async def _answers_an_older_question(self, query: CallbackQuery) -> bool:
        """A yes or no pressed under a message that is not the bot's latest with buttons."""
        message = query.message
        if not isinstance(message, Message) or query.data not in ANSWERS_TO_THE_LATEST:
            return False
        conversation = _pressed_conversation(query)
        latest = await self._pipeline.store.latest_keyboard(conversation)
        if latest is None or latest == message_address(message):
            return False
        log.info(
            "telegram button press refused: a yes or no under an older question",
            extra={"conversation": conversation, "pressed": message.message_id},
        )
        return True

    async def _close_keyboard(self, query: CallbackQuery) -> None:
        """Take the keyboard off the bot's message once a press on it was taken.

        A question is answered once, as the web chat's buttons are disabled once used: left in
        place, a "No 👎" pressed under an answered "Did this help?" said goodbye ("Take care and
        have a great flight!"), and a second "Yes" started over. Pressing a button of an older
        message (after "hold on") still counts, and then closes that one.
        """
        message = query.message
        if message is None:
            return
        try:
            await self.bot.edit_message_reply_markup(
                chat_id=message.chat.id, message_id=message.message_id, reply_markup=None
            )
        except TelegramError as exc:  # gone, too old, or already closed: the press still counts
            log.info("keyboard not closed", extra={"chat": message.chat.id, "error": repr(exc)})

    def router(self) -> APIRouter:
        """`POST /channels/telegram/webhook`, checked against the secret token."""
        router = APIRouter()
        secret = self._settings.telegram_webhook_secret

        @router.post("/channels/telegram/webhook")
        async def webhook(request: Request) -> JSONResponse:
            """One update from Telegram."""
            given = request.headers.get(SECRET_HEADER, "")
            if secret is None or not hmac.compare_digest(
                given.encode(), secret.get_secret_value().encode()
            ):
                log.warning(
                    "telegram webhook refused: wrong secret token",
                    extra={"client": request.client.host if request.client else None},
                )
                return JSONResponse(status_code=403, content={"error": "wrong secret token"})
            try:
                update = Update.de_json(scrub(await request.json()), self.bot)
            except Exception as exc:
                log.warning("telegram webhook: unreadable update", extra={"error": repr(exc)})
                return JSONResponse(status_code=400, content={"error": "unreadable update"})
            if update is not None:
                await self.handle_or_reject(update)
            return JSONResponse({"ok": True})

        return router

    def sender(self) -> TelegramSender:
        """The outbox's way to Telegram."""
        return TelegramSender(self.bot, self._limits, self._pipeline.store)


ROW_CHARS = 24
"""Titles this long together still read whole on one row of a phone's inline keyboard."""


def keyboard(buttons: list[dict[str, str]]) -> InlineKeyboardMarkup:
    """The buttons as an inline keyboard: one row for short titles, else one button a row.

    "Yes 👍" and "No 👎", or the ratings, share a row. Telegram gives each button of a row an
    equal share of the width and cuts its title: four offered articles on one row showed
    "Cabin bag…", "Checked…", and no way to tell them apart.
    """
    row = [
        InlineKeyboardButton(b["title"], callback_data=b["payload"][:CALLBACK_DATA_LIMIT])
        for b in buttons
    ]
    if sum(len(b.text) for b in row) <= ROW_CHARS:
        return InlineKeyboardMarkup([row])
    return InlineKeyboardMarkup([[b] for b in row])


class TelegramSender:
    """Sends plain-text messages, buttons as an inline keyboard under the last part."""

    def __init__(self, bot: Bot, limits: RateLimits, store: ConversationStore) -> None:
        self._bot = bot
        self._limits = limits
        self._store = store

    def parts(self, message: Outgoing, target: Target) -> list[str]:
        """Split at 4096 characters; in a group, with the link to continue in private."""
        return split_text(with_invitation(message.text, target.invite_links), MESSAGE_LIMIT)

    async def pace(self, target: Target, *, first: bool = False) -> None:
        """One message a second per chat, 20 a minute per group, 25 a second per bot.

        Telegram's limits; a group's chat id is negative.
        """
        chat = str(target.route.get("chat_id"))
        group = chat.startswith("-")
        await self._limits.wait(chat, first=first, rate=GROUP_RATE if group else None)

    async def send(self, message: Outgoing, part: str, index: int, target: Target) -> None:
        """One sendMessage."""
        last = index == len(self.parts(message, target)) - 1
        markup = keyboard(message.buttons) if last and message.buttons else None
        # In a group the keyboard's part replies too: a press is taken from that member only.
        reply_to = target.route.get("reply_to") if index == 0 or markup else None
        chat_id = target.route["chat_id"]
        try:
            try:
                sent = await self._send(chat_id, part, markup, reply_to)
            except ChatMigrated as moved:  # the group became a supergroup: its new id
                log.info("telegram group moved", extra={"chat": chat_id, "to": moved.new_chat_id})
                sent = await self._send(moved.new_chat_id, part, markup, reply_to)
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, dt.timedelta) else float(wait)
            raise DeliveryError(
                f"telegram rate limit: retry after {seconds} s", retry_after=seconds
            ) from exc
        except (Forbidden, BadRequest, InvalidToken) as exc:
            raise DeliveryError(f"telegram refused: {exc}", permanent=True) from exc
        except TimedOut as exc:  # Telegram may have posted it: a retry may show it twice
            log.warning(
                "telegram send timed out; retrying, it may show twice",
                extra={"conversation": target.conversation_id, "out_id": message.out_id},
            )
            raise DeliveryError(f"telegram timed out: {exc!r}") from exc
        except TelegramError as exc:  # NetworkError and server errors
            raise DeliveryError(f"telegram error: {exc!r}") from exc
        if markup is not None:
            await self._record_keyboard(target.conversation_id, sent)

    async def _record_keyboard(self, conversation_id: str, sent: Message) -> None:
        """Remember the latest keyboard; a failure costs only the check of stale presses.

        The message is out: raising here would send it again.
        """
        try:
            await self._store.keyboard_shown(conversation_id, message_address(sent))
        except redis.RedisError as exc:
            log.warning(
                "latest keyboard not recorded: an older yes or no will count",
                extra={"conversation": conversation_id, "error": repr(exc)},
            )

    async def _send(
        self,
        chat_id: int | str,
        part: str,
        markup: InlineKeyboardMarkup | None,
        reply_to: int | None,
    ) -> Message:
        return await self._bot.send_message(
            chat_id=chat_id,
            text=part,
            reply_markup=markup,
            reply_to_message_id=reply_to,
            allow_sending_without_reply=True,
        )

"""Reading Telegram updates: which are for the bot, and what each means for the pipeline. Pure.

A private message, a group message that mentions the bot or replies to it, a command (/start,
/help, /agent; in a group `/agent@bot` too), a button press or the edit of a text becomes one
`Inbound`; other updates (channel posts, other bots, service messages such as a pinned message,
presses on another member's buttons, callback data the bot never sends) are not for it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

from telegram import CallbackQuery, Message, Update, User

from bot.gestures import ASK_HUMAN, GREET, with_language
from bot.inbound import Channel, Customer, Inbound, Kind, tidy_spacing
from bot.texts import text
from relevo.messages import BACK_TO_BOT

_BUTTON_PAYLOADS = frozenset({"/affirm", "/deny", ASK_HUMAN, BACK_TO_BOT, "1", "2", "3", "4", "5"})
"""The payloads of the bot's own fixed buttons: "did this help?" and "a person" (nlu/domain.yml,
actions/answer.py's "none of these"), "back to the assistant" (actions/escalate.py) and the
rating (handoff/texts.py)."""
ANSWERS_TO_THE_LATEST = frozenset({"/affirm", "/deny"})
"""Payloads that answer whatever the bot asked last ("Did this help?", "Anything else?", "none
of these"): taken only from the bot's latest message with buttons. An offered article, a person,
the way back and a rating say what they mean wherever they are pressed."""
_PICK_ARTICLE = "/pick_article"
"""An offered article's button: `/pick_article{"article":"<id>"}` (actions/answer.py)."""
_COMMANDS = frozenset({"start", "help", "agent"})
"""The bot's own commands: in a group, one of them without a bot's name is for the bot too."""
_ATTACHMENTS = (
    "sticker",
    "photo",
    "voice",
    "video",
    "video_note",
    "animation",
    "audio",
    "document",
    "location",
    "contact",
    "poll",
    "dice",
)


@dataclass(frozen=True)
class Received:
    """What an update means: a message for the pipeline, and what the gateway does with it."""

    inbound: Inbound
    command: str | None = None  # "start", "help" or "agent": in the conversation's language
    invitation: str | None = None  # /start <token> in a private chat: continue a public one


def _language(code: str | None) -> str | None:
    short = (code or "")[:2].lower()
    return short if short in ("es", "en") else None


def _addressed(message: Message, username: str) -> bool:
    """In a group: mentioned by @username, a reply to one of the bot's messages, or a command.

    A command counts when it names the bot (`/agent@bot`), or is one of its commands without a
    bot's name: with privacy mode on, Telegram sends a bot only the commands meant for it.
    """
    if message.chat.type == "private":
        return True
    replied = message.reply_to_message
    if replied and replied.from_user and (replied.from_user.username or "").lower() == username:
        return True
    if _command_for(message.text or "", username):
        return True
    return _mention(username).search(message.text or message.caption or "") is not None


def _command_for(body: str, username: str) -> bool:
    """Whether `body` is a command for this bot: "/help@bot", or "/help" without a name.

    "/help@bot" has no mention to find: the @ follows a word character.
    """
    if not body.startswith("/"):
        return False
    name, _, target = body.split(maxsplit=1)[0][1:].partition("@")
    return target.lower() == username if target else name.lower() in _COMMANDS


def _mention(username: str) -> re.Pattern[str]:
    """The bot's @mention, in any case, found in the text itself.

    Not inside an address ("support@brisabot.com"): no word, @ or dot just before it, no
    ".com" or "@host" just after. Slicing the text at indexes found in `text.lower()` garbles
    it when lowering changes its length ("İ" becomes two code points).
    """
    return re.compile(rf"(?<![\w@.])@{re.escape(username)}\b(?![.@]\w)", re.IGNORECASE)


def received(update: Update, username: str) -> Received | None:
    """Turn an update into a customer message, or None when it is not for the bot."""
    username = username.lower()
    if update.callback_query is not None:
        return _pressed(update.callback_query)
    if update.edited_message is not None:
        return _edited(update.edited_message, username)
    inbound = _written(update.message, username)
    if inbound is None or inbound.kind is Kind.UNSUPPORTED:
        return Received(inbound) if inbound else None
    if inbound.text.startswith("/"):
        return _command(inbound, username)
    return Received(inbound)


def _edited(message: Message, username: str) -> Received | None:
    """A message's new text, which reaches only the person on the case (`Kind.EDIT`).

    Edited commands and attachments without text are not taken again. The message id names
    the edit's time: a repeat of one edit is a duplicate, a second edit is news.
    """
    inbound = _written(message, username)
    if inbound is None or inbound.kind is not Kind.TEXT or inbound.text.startswith("/"):
        return None
    edited_at = int(message.edit_date.timestamp()) if message.edit_date else 0
    return Received(
        replace(inbound, kind=Kind.EDIT, message_id=f"{inbound.message_id}:edit:{edited_at}")
    )


def _written(message: Message | None, username: str) -> Inbound | None:
    """What a customer wrote or sent; None when the message is not for the bot."""
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None  # channel posts, service messages and other bots
    if not (message.text or message.caption) and message.effective_attachment is None:
        # A service message (a pinned message, an auto-delete timer, members joining): the
        # customer sent nothing to read, and must not be told their "attachment" is unreadable.
        return None
    if not _addressed(message, username):
        return None
    chat, user = message.chat, message.from_user
    route: dict[str, Any] = {"chat_id": chat.id}
    if chat.type != "private":
        route["reply_to"] = message.message_id
    attached = next((a for a in _ATTACHMENTS if getattr(message, a, None)), None)
    if attached:  # the desk shows "[photo]" before a caption
        route["attachment"] = attached
    inbound = Inbound(
        channel=Channel.TELEGRAM,
        conversation_id=conversation_of(chat.id, chat.type, user.id),
        message_id=f"{chat.id}:{message.message_id}",
        customer=_customer(user),
        text=message.text or message.caption or "",
        language=_language(user.language_code),
        public=chat.type != "private",  # a group reads every reply
        route=route,
    )
    if not inbound.text:
        what = attached or "attachment"
        return replace(inbound, kind=Kind.UNSUPPORTED, route={**route, "attachment": what})
    return replace(inbound, text=_strip_mention(inbound.text, username))


def _pressed(query: CallbackQuery) -> Received | None:
    """A button press as the customer's message; None when it is not taken.

    Not taken: data the bot's buttons never carry (the client sends it, anyone can forge it),
    and, in a group, a press on buttons that answered another member.
    """
    message = query.message
    data = query.data or ""
    if message is None or not is_button_payload(data) or not_yours(query) is not None:
        return None
    chat = message.chat
    route: dict[str, Any] = {"chat_id": chat.id}
    owner_message = getattr(message, "reply_to_message", None)
    if chat.type != "private" and owner_message is not None:
        route["reply_to"] = owner_message.message_id  # the answer goes under their question
    return Received(
        Inbound(
            channel=Channel.TELEGRAM,
            conversation_id=conversation_of(chat.id, chat.type, query.from_user.id),
            message_id=f"callback:{query.id}",
            customer=_customer(query.from_user),
            text=data,
            display=_button_title(message, data),
            language=_language(query.from_user.language_code),
            public=chat.type != "private",
            route=route,
        )
    )


def is_button_payload(data: str) -> bool:
    """Whether `data` has the shape of a payload the bot's own buttons carry."""
    if data in _BUTTON_PAYLOADS:
        return True
    entities = data.removeprefix(_PICK_ARTICLE)
    if entities == data:
        return False
    try:
        parsed = json.loads(entities)
    except ValueError:
        return False
    return (
        isinstance(parsed, dict)
        and list(parsed) == ["article"]
        and isinstance(parsed["article"], str)
        and json.dumps(parsed, separators=(",", ":")) == entities
    )


def not_yours(query: CallbackQuery) -> str | None:
    """In a group, what a member who pressed buttons that answered someone else is told.

    The bot's message with the buttons replies to the message of the member it answers (the
    sender puts the reply on the part with the keyboard). Whose it is cannot be told without
    that reply (their message was deleted): nobody may press then. None when the press is
    the owner's, and in private chats.
    """
    message = query.message
    if message is None or message.chat.type == "private":
        return None
    owner = _buttons_owner(message)
    if owner is not None and owner.id == query.from_user.id:
        return None
    language = _language(query.from_user.language_code)
    if owner is None:
        return text("buttons_unknown", language)
    return text(
        "buttons_for", language, who=f"@{owner.username}" if owner.username else owner.first_name
    )


def message_address(message: Message) -> str:
    """A message's place in Telegram: "<chat id>:<message id>"."""
    return f"{message.chat.id}:{message.message_id}"


def _buttons_owner(message: Any) -> User | None:
    """The member whose message the bot's message replies to."""
    replied = getattr(message, "reply_to_message", None)
    return replied.from_user if replied is not None else None


def greeting(language: str | None) -> str:
    """The /greet payload for /start, with the language (`bot.gestures.with_language`).

    Without it a fresh Spanish chat was greeted in English.
    """
    return with_language(GREET, language)


def asking_for_a_person(language: str | None) -> str:
    """The /ask_human payload for /agent, with the language, as `greeting` for /start.

    Without it, /agent as a Spanish chat's first message was handed over in English.
    """
    return with_language(ASK_HUMAN, language)


def _strip_mention(body: str, username: str) -> str:
    if not body.startswith("/"):
        body = _mention(username).sub(" ", body)
    return tidy_spacing(body)


def _command(inbound: Inbound, username: str) -> Received | None:
    body = inbound.text
    word, _, rest = body.partition(" ")
    name, _, target = word[1:].partition("@")
    if target and target.lower() != username:
        return None  # a command for another bot in the group
    name, rest = name.lower(), rest.strip()
    if name == "start":  # a deep link's payload; a link never opens a group, so none there
        invitation = None if inbound.public else rest or None
        return Received(
            replace(inbound, text="/greet", display=body), command="start", invitation=invitation
        )
    if name == "agent":
        return Received(replace(inbound, text="/ask_human", display=body), command="agent")
    return Received(inbound, command="help")


def conversation_of(chat_id: int, chat_type: str, user_id: int) -> str:
    """Private chats are one conversation; in a group, each member has their own."""
    return f"tg:{chat_id}" if chat_type == "private" else f"tg:{chat_id}:{user_id}"


def _customer(user: Any) -> Customer:
    return Customer(id=str(user.id), name=user.full_name, handle=user.username)


def _button_title(message: Any, data: str) -> str | None:
    markup = getattr(message, "reply_markup", None)
    for row in getattr(markup, "inline_keyboard", None) or ():
        for button in row:
            if button.callback_data == data:
                return str(button.text)
    return None

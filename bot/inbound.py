"""The one value every channel turns what arrives into, and what goes back out."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    """Where a conversation happens."""

    TELEGRAM = "telegram"
    WEBCHAT = "webchat"
    SOCIAL = "social"


class Kind(StrEnum):
    """What a customer sent."""

    TEXT = "text"
    UNSUPPORTED = "unsupported"  # a sticker, photo, voice note...


@dataclass(frozen=True)
class Customer:
    """Who wrote, as the channel knows them."""

    id: str
    name: str | None = None
    handle: str | None = None
    followers: int | None = None
    url: str | None = None


@dataclass(frozen=True)
class Inbound:
    """A customer message from any channel.

    `message_id` is the channel's own id (the dedupe key); `route` is what the channel needs to
    answer on the same thread (a Telegram chat id, the post to reply to); `language` is a hint
    for messages without words (commands, buttons).
    """

    channel: Channel
    conversation_id: str
    message_id: str
    customer: Customer
    text: str
    public: bool = False
    kind: Kind = Kind.TEXT
    display: str | None = None  # what the customer saw (a button's title), when not `text`
    language: str | None = None
    route: dict[str, Any] = field(default_factory=dict)
    received_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def profile(self) -> dict[str, str]:
        """The customer's profile fields that are known."""
        return {k: str(v) for k, v in asdict(self.customer).items() if v is not None}


@dataclass(frozen=True)
class Outgoing:
    """A message to a customer: the assistant's, an agent's or a notice of the gateway.

    `out_id` is unique and stable (the exactly-once key); `invite_private` asks the channel to
    add the links that move a public conversation to a private channel.
    """

    out_id: str
    conversation_id: str
    author: str  # bot, agent or system
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    agent: str | None = None
    invite_private: bool = False
    event: str | None = None  # an event for the log instead of a message (queued, ...)
    ends_turn: bool = False  # the assistant's last message for a customer message

    def to_fields(self) -> dict[str, str]:
        """For a Redis stream entry."""
        return {
            "out_id": self.out_id,
            "conversation_id": self.conversation_id,
            "author": self.author,
            "text": self.text,
            "buttons": json.dumps(self.buttons, ensure_ascii=False),
            "agent": self.agent or "",
            "invite_private": "1" if self.invite_private else "",
            "event": self.event or "",
            "ends_turn": "1" if self.ends_turn else "",
        }

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> Outgoing:
        """From a Redis stream entry."""
        return cls(
            out_id=fields["out_id"],
            conversation_id=fields["conversation_id"],
            author=fields.get("author") or "bot",
            text=fields.get("text") or "",
            buttons=json.loads(fields.get("buttons") or "[]"),
            agent=fields.get("agent") or None,
            invite_private=bool(fields.get("invite_private")),
            event=fields.get("event") or None,
            ends_turn=bool(fields.get("ends_turn")),
        )

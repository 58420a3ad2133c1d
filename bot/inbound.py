"""The one value every channel turns what arrives into, and what goes back out."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from relevo.messages import Outgoing


class Channel(StrEnum):
    """Where a conversation happens."""

    TELEGRAM = "telegram"
    WEBCHAT = "webchat"
    SOCIAL = "social"


class Kind(StrEnum):
    """What a customer sent."""

    TEXT = "text"
    UNSUPPORTED = "unsupported"  # a sticker, photo, voice note...
    EDIT = "edit"  # the new text of a message the customer sent before (Telegram's edits)
    CONTINUED = "continued"  # the rest of a long paste the customer's app split in parts


FOR_A_PERSON_ONLY = frozenset({Kind.EDIT, Kind.CONTINUED})
"""Kinds the assistant does not answer: a person reads them, else the log keeps them."""


@dataclass(frozen=True)
class Customer:
    """Who wrote, as the channel knows them."""

    id: str
    name: str | None = None
    handle: str | None = None
    followers: int | None = None
    url: str | None = None
    timezone: str | None = None  # IANA name, when the channel knows it (the web chat's browser)


def tidy_spacing(text: str) -> str:
    """Runs of spaces as one, and at most one empty line between lines; the lines are kept.

    A customer's list ("1. …", "2. …") reached the desk as one line (QA s25).
    """
    lines = [" ".join(line.split()) for line in text.splitlines()]
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept).strip()


@dataclass(frozen=True)
class Inbound:
    """A customer message from any channel.

    `message_id` is the channel's own id (the dedupe key); `route` is what the channel needs to
    answer on the same thread (a Telegram chat id, the post to reply to); `language` is a hint
    for messages without words (commands, buttons). `overheard`: the hashtag or keyword the brand
    listens for that a public post matched, when nobody addressed it to the brand. `brand_post`:
    the text of the brand's post that a public post answers, when the connector sent it.
    """

    channel: Channel
    conversation_id: str
    message_id: str
    customer: Customer
    text: str
    public: bool = False
    overheard: str | None = None  # the listening term of a post nobody addressed to the brand
    brand_post: str | None = None
    kind: Kind = Kind.TEXT
    display: str | None = None  # what the customer saw (a button's title), when not `text`
    language: str | None = None
    route: dict[str, Any] = field(default_factory=dict)
    received_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def profile(self) -> dict[str, str]:
        """The customer's profile fields that are known."""
        return {k: str(v) for k, v in asdict(self.customer).items() if v is not None}

    def answer(self, kind: str, body: str) -> Outgoing:
        """The gateway's own answer to this message (a notice), the turn's last word.

        Its id is the message's with `kind`, so a redelivered message is answered once.
        """
        return Outgoing(
            out_id=f"{self.message_id}:{kind}",
            conversation_id=self.conversation_id,
            author="bot",
            text=body,
            ends_turn=True,
        )

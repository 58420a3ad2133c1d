"""Messages to customers as they travel through the outbox stream (`relevo:outbox`).

Shared by everything that talks to customers: the assistant's worker and the channels (bot/),
and the handoff desk (handoff/), whose agents' replies take the same way out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

BACK_TO_BOT = "/back_to_bot"
"""The payload of the "back to the assistant" button under a handoff message (`bot.gestures`)."""


def mention(handle: str | None) -> str:
    """How a public reply opens, addressed to its author: "@ana " (nothing without a handle).

    The sender writes it before every part, so what is composed for a public post must leave
    room for it.
    """
    handle = (handle or "").lstrip("@")
    return f"@{handle} " if handle else ""


@dataclass(frozen=True)
class Outgoing:
    """A message to a customer: the assistant's, an agent's or a notice of the gateway.

    `out_id` is unique and stable (the exactly-once key); `invite_private` asks the channel to
    add the links that move a public conversation to a private channel; `pause` marks the bot's
    answer to "hold on", after which the question it asked before still stands (its buttons stay
    usable). `announces` names an
    event already in the conversation log (a person joined, the assistant is back) that the
    delivery worker puts in words for channels that cannot show events; its text is empty.
    """

    out_id: str
    conversation_id: str
    author: str  # bot, agent or system
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    agent: str | None = None
    invite_private: bool = False
    pause: bool = False
    event: str | None = None  # an event for the log instead of a message (queued, ...)
    ends_turn: bool = False  # the assistant's last message for a customer message
    receipt: str | None = None  # where to report the delivery (the agent's message in the desk)
    announces: str | None = None  # an event of the log to tell in words (agent_joined, bot_back)

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
            "pause": "1" if self.pause else "",
            "event": self.event or "",
            "ends_turn": "1" if self.ends_turn else "",
            "receipt": self.receipt or "",
            "announces": self.announces or "",
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
            pause=bool(fields.get("pause")),
            event=fields.get("event") or None,
            ends_turn=bool(fields.get("ends_turn")),
            receipt=fields.get("receipt") or None,
            announces=fields.get("announces") or None,
        )

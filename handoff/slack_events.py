"""A person's message in a Slack thread, read from a `message` event. Pure.

Slack tells the same thing in several shapes: a plain reply, a reply also sent to the channel
(`thread_broadcast`), a reply with files (`files`, or the older `file_share` subtype), an edit
(`message_changed`, the new message inside) and a deletion (`message_deleted`, the old one
inside). They all become one `ThreadMessage`; what is not a person's thread message (joins,
bots, ourselves, a malformed event) becomes None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REPLY_SUBTYPES = (None, "thread_broadcast", "file_share")


@dataclass(frozen=True)
class ThreadMessage:
    """What an agent wrote (or changed) in a thread."""

    channel: str
    thread_ts: str
    ts: str
    user: str
    text: str
    files: int = 0  # attachments: they never reach the customer
    change: str = ""  # "" for a new message, "edited" or "deleted"

    @property
    def ref(self) -> str:
        """The message's key on the desk (also its delivery receipt)."""
        return f"slack:{self.channel}:{self.thread_ts}:{self.ts}"


def thread_message(event: dict[str, Any]) -> ThreadMessage | None:
    """The person's thread message in `event`, or None."""
    subtype = event.get("subtype")
    channel = event.get("channel")
    if subtype == "message_changed":
        return _edited(event, channel)
    if subtype == "message_deleted":
        return _message(event.get("previous_message"), channel, "deleted")
    if subtype not in REPLY_SUBTYPES:
        return None
    return _message(event, channel)


def _edited(event: dict[str, Any], channel: Any) -> ThreadMessage | None:
    """An edit that changed the words (an unfurled link changes the message, not its words)."""
    before, after = event.get("previous_message"), event.get("message")
    if not isinstance(before, dict) or not isinstance(after, dict):
        return None
    if after.get("text") == before.get("text"):
        return None
    return _message({"thread_ts": before.get("thread_ts"), **after}, channel, "edited")


def _message(message: Any, channel: Any, change: str = "") -> ThreadMessage | None:
    if not isinstance(message, dict) or message.get("bot_id"):
        return None
    fields = (channel, message.get("thread_ts"), message.get("ts"), message.get("user"))
    if not all(isinstance(value, str) and value for value in fields):
        return None
    text = message.get("text")
    files = message.get("files")
    return ThreadMessage(
        channel=str(channel),
        thread_ts=str(message["thread_ts"]),
        ts=str(message["ts"]),
        user=str(message["user"]),
        text=text if isinstance(text, str) else "",
        files=len(files) if isinstance(files, list) else 0,
        change=change,
    )

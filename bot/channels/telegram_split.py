"""The rest of a long paste that a Telegram app split in parts, told from a new message.

Telegram's apps send a text longer than 4096 characters (UTF-16 code units) as several
messages, one right after the other. Each part was answered on its own: the assistant said the
start was too long, then answered the rest, read without its start, out of context. Now a long
message over the assistant's limit (`RELEVO_MAX_MESSAGE_CHARS`, which it is not read against)
opens a window of a few seconds in its conversation, and a message inside it is the rest
(`Kind.CONTINUED`): the assistant does not answer it; it reaches the person on the case, if any,
and the log keeps it. The last part, the short one, closes the window. A long message within the
limit is answered, and so is what follows it: a question sent right after a long text it was
about had been kept unanswered as its rest (QA s25).
"""

from __future__ import annotations

from dataclasses import replace

from bot.conversations import ConversationStore
from bot.inbound import Inbound, Kind

PART_UNITS = 3500
"""A message this long (in Telegram's units) may be a split paste's first part: the apps cut
near their 4096-unit limit, at a line or a word."""


def telegram_length(text: str) -> int:
    """The length Telegram counts: UTF-16 code units (an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


async def with_split_marked(store: ConversationStore, inbound: Inbound, max_chars: int) -> Inbound:
    """`inbound`, as `Kind.CONTINUED` when it is the rest of a split paste.

    Only typed text counts: a button's payload or a command is never a paste's rest. Only a
    part over `max_chars` opens the window.
    """
    if inbound.kind is not Kind.TEXT or inbound.display or inbound.text.startswith("/"):
        return inbound
    long = telegram_length(inbound.text) >= PART_UNITS and len(inbound.text) > max_chars
    if await store.split_part(inbound.conversation_id, long=long):
        return replace(inbound, kind=Kind.CONTINUED)
    return inbound

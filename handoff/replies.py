"""What becomes of what an agent writes in a handoff's thread, and what the agent is told.

Both desks (Slack, the console) hand an agent's words to `Desk.reply`, which decides with these
rules: an internal note stays among agents, the owner's reply goes to the customer, anything else
stays on the desk with a hint that says what to do instead.
"""

from __future__ import annotations

import html
import re
from enum import StrEnum

from relevo.settings import get_settings

MAX_REPLY_CHARS = 4000  # an agent's reply to a customer (the console's limit too)
PUBLIC_POSTS = 2  # the most public posts one reply may become (the channel splits it)


class ReplyOutcome(StrEnum):
    """What became of a message an agent wrote in a handoff's thread."""

    SENT = "sent"  # queued for the customer
    NOTE = "note"  # marked as an internal note
    NOT_OWNER = "not_owner"  # someone who does not own the handoff: stays internal
    RETURNED = "returned"  # the handoff went back to the assistant: stays internal
    CLOSED = "closed"  # the handoff was resolved (or is gone): stays internal
    DUPLICATE = "duplicate"  # the same message again (a retried event)
    TOO_LONG = "too_long"  # over MAX_REPLY_CHARS: not sent, the agent is told
    EMPTY = "empty"  # nothing but spaces: never an empty bubble for the customer
    PUBLIC_PERSONAL_DATA = "public_personal_data"  # personal data on a public post: not posted
    PUBLIC_TOO_LONG = "public_too_long"  # over `public_reply_limit` on a public post: not posted
    NOT_PUBLIC = "not_public"  # an invitation to private in a private conversation: not sent
    LOOKS_LIKE_NOTE = "looks_like_note"  # a console reply that starts like a note: asked first


# A note is marked by its first words, however the agent typed them: after any markup or emoji
# ("*note:*", "> note:", "📝 note:", "// internal:", "(note)"), in English or Spanish, with a
# colon, a closing bracket or a dash after the word ("NOTE :", "note - call back").
_NOTE = re.compile(
    r"^[\W_]*(?:internal\s+note|nota\s+interna|note|nota|internal|interno|interna)"
    r"[*_~`]*\s*(?::|\)|\]|[-–—](?=\s))",
    re.IGNORECASE,
)


def not_open(state: str) -> ReplyOutcome | None:
    """Why nothing goes to the customer of a handoff in `state` ("" for none); None if open."""
    if state in ("agent", "queued"):
        return None
    return ReplyOutcome.RETURNED if state == "returned" else ReplyOutcome.CLOSED


def public_reply_limit() -> int:
    """The longest reply to a public post: `PUBLIC_POSTS` posts of the public reply length.

    The channel posts a longer reply as a run of posts under the customer's, which everyone
    reads as a wall of text (a 4000-character reply is 15 of them). A reply and its
    continuation is the most a public answer should take; more belongs in a private chat.
    """
    return PUBLIC_POSTS * get_settings().public_reply_chars


def is_internal_note(body: str) -> bool:
    """Whether the agent marked `body` as an internal note (the same rule on both desks).

    Slack's escaping (`&gt; note:`) is read as the agent typed it.
    """
    return bool(_NOTE.match(html.unescape(body)))


NOTE_HOW = "Start with `note:` to keep a message internal."

HINTS = {
    ReplyOutcome.NOT_OWNER: "This stays on the desk: only the agent who owns the handoff reaches "
    "the customer, so claim it first if it is waiting, or ask its owner to reassign it to you. "
    + NOTE_HOW,
    ReplyOutcome.RETURNED: "This stays on the desk: the conversation is back with the assistant, "
    "which answers the customer now. If they ask for a person again, a new handoff comes in.",
    ReplyOutcome.CLOSED: "This stays on the desk: the handoff was resolved. If the customer writes "
    "again soon, it opens here again, ready to claim.",
    ReplyOutcome.TOO_LONG: f"Not sent: a reply to the customer must be under {MAX_REPLY_CHARS} "
    "characters. Split it into shorter messages.",
    ReplyOutcome.PUBLIC_PERSONAL_DATA: "Not posted: this conversation is a public post and your "
    "reply has personal data in it (a booking code, an e-mail, a phone or an id), which everyone "
    "would see. Use Invite to private to move the customer to a private chat and ask for the "
    "details there, or write the reply without them.",
    ReplyOutcome.LOOKS_LIKE_NOTE: 'Not sent yet: this starts like an internal note ("Note:"), '
    "which the customer would read. Turn on Internal note to keep it on the desk, or confirm "
    "to send it to the customer as typed.",
    ReplyOutcome.PUBLIC_TOO_LONG: "Not posted: this conversation is a public post and your "
    "reply is longer than {limit} characters ({posts} public posts), which everyone would read "
    "as a string of posts. Shorten it, or use Invite to private and write the rest there.",
}
"""What an agent is told when their message did not reach the customer, by outcome."""


def hint(outcome: ReplyOutcome) -> str | None:
    """What to tell the agent about `outcome`; None when there is nothing to say."""
    told = HINTS.get(outcome)
    if outcome is ReplyOutcome.PUBLIC_TOO_LONG and told is not None:
        return told.format(limit=public_reply_limit(), posts=PUBLIC_POSTS)
    return told

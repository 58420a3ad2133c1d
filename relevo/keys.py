"""Every Redis key Relevo uses, in one place, under the `relevo:` namespace.

| key | type | what |
|---|---|---|
| `relevo:kb:version` | string | version number of the published knowledge-base index |
| `relevo:kb:events` | stream | one entry per published index version (what changed) |
| `relevo:conv:<id>:owner` | string | bot (default), queued, agent:<user> or closed |
| `relevo:conv:<id>:handoff` | string | id of the conversation's latest handoff |
| `relevo:handoff:<id>` | hash | `record` (JSON HandoffRequest), `state`, `conversation` |
| `relevo:handoff:requests` | stream | one entry per new handoff, consumed by the desk |
| `relevo:inbound` | stream | messages waiting for the assistant (consumer group `assistant`) |
| `relevo:inbound:done:<message id>` | string | the assistant's replies to a message (TTL 7 days) |
| `relevo:replies` | stream | replies to deliver (the outbox of the channels issue) |
"""

PREFIX = "relevo"

KB_VERSION = f"{PREFIX}:kb:version"
KB_EVENTS = f"{PREFIX}:kb:events"

HANDOFF_REQUESTS = f"{PREFIX}:handoff:requests"
INBOUND = f"{PREFIX}:inbound"
INBOUND_GROUP = "assistant"
REPLIES = f"{PREFIX}:replies"
DONE_TTL_SECONDS = 7 * 24 * 3600


def conversation_owner(conversation_id: str) -> str:
    """Who owns a conversation."""
    return f"{PREFIX}:conv:{conversation_id}:owner"


def conversation_handoff(conversation_id: str) -> str:
    """The latest handoff of a conversation."""
    return f"{PREFIX}:conv:{conversation_id}:handoff"


def handoff(handoff_id: str) -> str:
    """One handoff record."""
    return f"{PREFIX}:handoff:{handoff_id}"


def inbound_done(message_id: str) -> str:
    """Marks a message the assistant has answered, with the replies."""
    return f"{PREFIX}:inbound:done:{message_id}"

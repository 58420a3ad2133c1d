"""Every Redis key Relevo uses, in one place, under the `relevo:` namespace.

| key | type | what |
|---|---|---|
| `relevo:kb:version` | string | version number of the published knowledge-base index |
| `relevo:kb:events` | stream | one entry per published index version (what changed) |
| `relevo:seen:<channel>:<message id>` | string | a channel message already accepted (TTL 7 days) |
| `relevo:conv:<id>` | hash | channel, public, route (where replies go), customer, language |
| `relevo:conv:<id>:log` | stream | the conversation: customer, bot and agent messages, events |
| `relevo:conv:<id>:owner` | string | bot (default), queued, agent:<user> or closed |
| `relevo:conv:<id>:handoff` | string | id of the conversation's latest handoff |
| `relevo:conv:<id>:handoffs` | list | ids of all the conversation's handoffs, oldest first |
| `relevo:conv:<id>:invite` | string | its invitation token to a private channel (TTL 7 days) |
| `relevo:conv:<id>:waiting-notice` | string | a queued customer was acknowledged (TTL 10 min) |
| `relevo:conv:<id>:split` | string | a long message came: maybe a split paste's start (TTL 5 s) |
| `relevo:invite:<token>` | string | the public conversation an invitation continues (TTL 7 days) |
| `relevo:customer:<channel>:<id>` | hash | a customer's profile on one channel (name, handle...) |
| `relevo:customer:<channel>:<id>:conversations` | sorted set | their conversations by time |
| `relevo:person:<id>` | set | profiles linked into one person (by invitations until 2026-11-28) |
| `relevo:handoff:<id>` | hash | `record` (JSON HandoffRequest), `state`, `conversation` |
| `relevo:handoff:requests` | stream | one entry per new handoff, consumed by the desk |
| `relevo:desk:relay` | stream | customer messages for the person who owns the conversation |
| `relevo:desk:receipts` | stream | delivered or failed agent replies, for the desk to mark |
| `relevo:desk:seen:<id>` | string | a desk event (Slack event id, message ts) already handled |
| `relevo:desk:thread:<channel>:<ts>` | string | the handoff whose card is that Slack message |
| `relevo:handoff:<id>:events` | stream | who did what to a handoff, and when |
| `relevo:console:open` | sorted set | the web console's open handoffs, by creation time |
| `relevo:console:closed` | sorted set | the last 50 returned or resolved ones, by closing time |
| `relevo:console:events` | stream | "a handoff changed", followed by console pages (~1000 kept) |
| `relevo:console:agents` | hash | agent id -> JSON name and last login, for reassigning |
| `relevo:console:thread:<handoff id>` | stream | agents' replies and notes in the console |
| `relevo:console:receipts:<handoff id>` | hash | reply ref -> JSON: did it reach the customer |
| `relevo:flood:<channel>:<customer>:<minute>` | string | messages a customer sent that minute |
| `relevo:console:login-failures:<address>` | string | wrong console tokens (TTL 5 min) |
| `relevo:events` | stream | the operations events, source of every KPI (no customer words) |
| `relevo:announcements` | hash | incident notices: id -> JSON (texts, keywords, expiry) |
| `relevo:sla:timers` | sorted set | `<handoff id>|<timer>` by due epoch (SLA, shifts, follow-up) |
| `relevo:handoff:<id>:reveals` | stream | who revealed the handoff's personal data, and when |
| `relevo:inbound` | stream | messages waiting for the assistant (consumer group `assistant`) |
| `relevo:inbound:done:<message id>` | string | the assistant's replies to a message (TTL 7 days) |
| `relevo:outbox` | stream | messages to deliver (consumer group `delivery`) |
| `relevo:outbox:sent:<out id>` | hash | parts of an outgoing message sent, logged (TTL 7 days) |
| `relevo:outbox:dead` | list | messages given up after the last attempt, with the reason |
"""

PREFIX = "relevo"

KB_VERSION = f"{PREFIX}:kb:version"
KB_EVENTS = f"{PREFIX}:kb:events"

HANDOFF_REQUESTS = f"{PREFIX}:handoff:requests"
DESK_RELAY = f"{PREFIX}:desk:relay"
DESK_RECEIPTS = f"{PREFIX}:desk:receipts"
DESK_GROUP = "desk"
CONSOLE_OPEN = f"{PREFIX}:console:open"
CONSOLE_CLOSED = f"{PREFIX}:console:closed"
CONSOLE_EVENTS = f"{PREFIX}:console:events"
CONSOLE_AGENTS = f"{PREFIX}:console:agents"
INBOUND = f"{PREFIX}:inbound"
INBOUND_GROUP = "assistant"
SLA_TIMERS = f"{PREFIX}:sla:timers"
EVENTS = f"{PREFIX}:events"
ANNOUNCEMENTS = f"{PREFIX}:announcements"
OUTBOX = f"{PREFIX}:outbox"
OUTBOX_GROUP = "delivery"
OUTBOX_DEAD = f"{PREFIX}:outbox:dead"
DONE_TTL_SECONDS = 7 * 24 * 3600
# A customer waiting for a person hears from us at most once in this long: the handoff's own
# notice starts the stretch, then one acknowledgement per stretch of their messages.
WAITING_NOTICE_SECONDS = 600
# ...but "is anyone there?" is answered once the last acknowledgement is this old.
PRESENCE_NOTICE_SECONDS = 20  # a minute of silence after "¿hay alguien?" felt like nobody (QA s22)


def seen(channel: str, message_id: str) -> str:
    """Marks a channel message as accepted (dedupe)."""
    return f"{PREFIX}:seen:{channel}:{message_id}"


def conversation(conversation_id: str) -> str:
    """A conversation's metadata."""
    return f"{PREFIX}:conv:{conversation_id}"


def conversation_log(conversation_id: str) -> str:
    """A conversation's messages and events."""
    return f"{PREFIX}:conv:{conversation_id}:log"


def conversation_owner(conversation_id: str) -> str:
    """Who owns a conversation."""
    return f"{PREFIX}:conv:{conversation_id}:owner"


def conversation_handoff(conversation_id: str) -> str:
    """The latest handoff of a conversation."""
    return f"{PREFIX}:conv:{conversation_id}:handoff"


def conversation_handoffs(conversation_id: str) -> str:
    """Every handoff of a conversation, oldest first (for the customer's history)."""
    return f"{PREFIX}:conv:{conversation_id}:handoffs"


def conversation_invite(conversation_id: str) -> str:
    """The token that invites a public conversation to a private channel."""
    return f"{PREFIX}:conv:{conversation_id}:invite"


def conversation_split(conversation_id: str) -> str:
    """Set for a few seconds after a message long enough to be the start of a split paste."""
    return f"{PREFIX}:conv:{conversation_id}:split"


def conversation_waiting_notice(conversation_id: str) -> str:
    """Set while a customer waiting for a person has just been told the team has their message."""
    return f"{PREFIX}:conv:{conversation_id}:waiting-notice"


def conversation_keyboard(conversation_id: str) -> str:
    """Where the bot's latest message with buttons in a conversation is ("<chat>:<message>")."""
    return f"{PREFIX}:conv:{conversation_id}:keyboard"


def conversation_social_replies(conversation_id: str) -> str:
    """The `social_reply` keys of the brand's replies in a conversation (a set, for erasure)."""
    return f"{PREFIX}:conv:{conversation_id}:social-replies"


def social_reply(network: str, post_id: str) -> str:
    """The thread a public reply of the brand was posted in (a customer may answer it)."""
    return f"{PREFIX}:social:{network}:reply:{post_id}"


def invite(token: str) -> str:
    """The public conversation an invitation token continues."""
    return f"{PREFIX}:invite:{token}"


def invite_asked(token: str) -> str:
    """The public log entry of the question the latest invitation with `token` answered."""
    return f"{PREFIX}:invite:{token}:asked"


def invite_carried(token: str) -> str:
    """The public log entry whose question was last carried into the private conversation."""
    return f"{PREFIX}:invite:{token}:carried"


def invite_claim(token: str) -> str:
    """The private conversation that took an invitation up (the only one it continues)."""
    return f"{PREFIX}:invite:{token}:claimed"


def customer(channel: str, customer_id: str) -> str:
    """A customer's profile on one channel."""
    return f"{PREFIX}:customer:{channel}:{customer_id}"


def customer_conversations(profile_key: str) -> str:
    """The conversations of a profile (given by its key)."""
    return f"{profile_key}:conversations"


def person(person_id: str) -> str:
    """The profiles of one person."""
    return f"{PREFIX}:person:{person_id}"


def handoff(handoff_id: str) -> str:
    """One handoff record."""
    return f"{PREFIX}:handoff:{handoff_id}"


def inbound_done(message_id: str) -> str:
    """Marks a message the assistant has answered, with the replies."""
    return f"{PREFIX}:inbound:done:{message_id}"


def outbox_sent(out_id: str) -> str:
    """How many parts of an outgoing message were delivered."""
    return f"{PREFIX}:outbox:sent:{out_id}"


def desk_seen(event_id: str) -> str:
    """Marks a desk event as handled (Slack retries the same event)."""
    return f"{PREFIX}:desk:seen:{event_id}"


def desk_thread(channel: str, ts: str) -> str:
    """Maps a Slack card (channel, ts) to its handoff."""
    return f"{PREFIX}:desk:thread:{channel}:{ts}"


def console_login_failures(address: str) -> str:
    """Wrong console tokens from one address (TTL 5 minutes): the login throttle."""
    return f"{PREFIX}:console:login-failures:{address}"


def flood(channel: str, customer_id: str, minute: int) -> str:
    """How many messages a customer sent in one minute (TTL 2 minutes): the flood limit."""
    return f"{PREFIX}:flood:{channel}:{customer_id}:{minute}"


def handoff_reveals(handoff_id: str) -> str:
    """Who revealed a handoff's redacted personal data, and when."""
    return f"{PREFIX}:handoff:{handoff_id}:reveals"


def console_thread(handoff_id: str) -> str:
    """The replies and notes agents wrote about a handoff in the web console."""
    return f"{PREFIX}:console:thread:{handoff_id}"


def console_receipts(handoff_id: str) -> str:
    """Whether each console reply of a handoff reached the customer."""
    return f"{PREFIX}:console:receipts:{handoff_id}"

"""Conversations in Redis: accepting a customer message atomically, the log, the metadata.

`accept` is the heart of the inbound pipeline. One Lua script dedupes the channel's message id,
records the conversation's metadata and the customer's profile, appends the message to the
conversation log and routes it by ownership (to the assistant, to the person who owns the
conversation, or to a polite notice), so a message is never half accepted: a crash before the
script runs leaves it for the channel to redeliver, and after it nothing is lost or doubled.
The same script decides whether a customer waiting for a person is owed an acknowledgement
(`Waiting`), so a redelivered or concurrent message never earns a second one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import redis.asyncio as aioredis

from bot.accept_script import ACCEPT
from bot.gestures import Gesture
from bot.inbound import FOR_A_PERSON_ONLY, Inbound
from bot.log_entries import customer_log_fields, now_iso
from relevo import keys
from relevo.events import MAXLEN as EVENTS_MAXLEN
from relevo.lanes import Entry
from relevo.lua import FLAT, RELAY_TO_DESK
from relevo.messages import Outgoing
from relevo.redis_conn import text_of

SEEN_TTL_SECONDS = 7 * 24 * 3600
SPLIT_WINDOW_MS = 5000  # a split paste's parts arrive within a second or two of each other

# KEYS: the conversation's metadata and log. ARGV: the metadata as JSON, the time, the retention
# (0: kept). With a retention, an empty log is made now (MKSTREAM) so that what the delivery
# appends to it later (the welcome) expires with the rest.
_START = """
redis.call('HSET', KEYS[1], unpack(flat(cjson.decode(ARGV[1]))))
redis.call('HSETNX', KEYS[1], 'created_at', ARGV[2])
local keep = tonumber(ARGV[3])
if keep > 0 then
  if redis.call('EXISTS', KEYS[2]) == 0 then
    redis.call('XGROUP', 'CREATE', KEYS[2], 'start', '$', 'MKSTREAM')
    redis.call('XGROUP', 'DESTROY', KEYS[2], 'start')
  end
  redis.call('EXPIRE', KEYS[1], keep)
  redis.call('EXPIRE', KEYS[2], keep)
end
"""


class Route(StrEnum):
    """Where an accepted message went."""

    BOT = "bot"  # to the assistant (Rasa)
    RELAY = "relay"  # to the person who owns the conversation
    NOTICE = "notice"  # declined with a polite notice (empty, too long, a sticker...)
    RATING = "rating"  # the customer rated a resolved handoff
    RATED_AGAIN = "rated_again"  # a second rating: thanked and shown, the first one stands
    CLOSING = "closing"  # only thanks after a resolution: answered, the handoff stays closed
    THROTTLED = "throttled"  # over the customer's rate: kept in the log, not answered
    EDIT = "edit"  # an edit or a paste's rest, and no person has it: kept in the log, unanswered
    COMMAND = "command"  # a command while a person has it: answered, shown to the desk as one
    BACK = "back"  # "back to the assistant" before a claim: the desk returns the conversation
    DUPLICATE = "duplicate"  # already accepted once: dropped


@dataclass(frozen=True)
class Waiting:
    """A relayed message of a queued conversation that is owed an acknowledgement.

    What the accept script read for wording it: the conversation's language ("" before a
    message decided one), the record of its handoff (JSON, "" when there is none) and when an
    agent last replied in it ("" for never).
    """

    language: str
    handoff_record: str
    agent_replied_at: str = ""


@dataclass(frozen=True)
class Accepted:
    """The outcome of `accept`.

    `taken`: the assistant's inbound entries read for the consumer `accept` was told to hand
    them to (the new message's entry, and any other not yet read), with their fields.
    `waiting`: set when the message was relayed while nobody has claimed the conversation and
    the customer has not been acknowledged within the window (see `accept`).
    """

    route: Route
    log_id: str
    taken: tuple[Entry, ...] = ()
    waiting: Waiting | None = None


@dataclass(frozen=True)
class Flood:
    """The customer's message count in this minute: the key, the limit and the notice.

    The first message over `limit` gets `slow_down` (unless the channel gave its own notice);
    later ones in the minute are logged and relayed to a person, never answered.
    """

    key: str
    limit: int
    slow_down: Outgoing | None


def _json_or_empty(message: Outgoing | None) -> str:
    """A message's fields as the scripts read them; "" for none."""
    return json.dumps(message.to_fields(), ensure_ascii=False) if message else ""


def _pairs(flat: list[Any]) -> dict[str, str]:
    """A stream entry's fields as a script returns them (a flat list of names and values)."""
    return {text_of(flat[i]): text_of(flat[i + 1]) for i in range(0, len(flat), 2)}


def decode_meta(raw: Mapping[Any, Any]) -> dict[str, Any]:
    """A conversation's metadata hash as read from Redis, with `route` and `public` decoded."""
    meta: dict[str, Any] = {text_of(k): text_of(v) for k, v in raw.items()}
    meta["route"] = json.loads(meta.get("route") or "{}")
    meta["public"] = bool(meta.get("public"))
    return meta


class ConversationStore:
    """The conversations: accept messages, read logs and metadata, append what went out.

    With `retention_seconds` > 0, a conversation's records (log, metadata, profile, handoff)
    expire that long after its last message: the transcript retention.
    """

    def __init__(self, client: aioredis.Redis, retention_seconds: int = 0) -> None:
        self._client = client
        self._accept = client.register_script(RELAY_TO_DESK + ACCEPT)
        self._start = client.register_script(FLAT + _START)
        self._retention = retention_seconds

    async def accept(
        self,
        inbound: Inbound,
        *,
        assistant_fields: dict[str, str],
        notice: Outgoing | None = None,
        client_id: str | None = None,
        rating: int | None = None,
        thanks: Outgoing | None = None,
        welcome: Outgoing | None = None,
        relayed_notice: Outgoing | None = None,
        reopen_seconds: int = 0,
        flood: Flood | None = None,
        event: dict[str, str] | None = None,
        hand_to: str | None = None,
        language: str | None = None,
        waiting_notice_seconds: int = 0,
        presence_seconds: int = 0,
        gesture: Gesture = Gesture.TYPED,
        command_answer: Outgoing | None = None,
    ) -> Accepted:
        """Dedupe, log and route one customer message, atomically.

        In a closed conversation, `rating` (when the message is one) is stored on the handoff
        that asked for it and answered with `thanks` (a second rating of the same cycle is
        thanked and shown to the desk, and the first one stands: `Route.RATED_AGAIN`); a
        message given a `welcome` (only thanks, see `bot.pipeline.is_closing`) is answered with
        it (unless over the customer's rate) and shown to the desk, and the conversation stays
        closed; any other message within `reopen_seconds` of the resolution reopens the
        handoff for the person (queued again, the agent who had it recorded as `last_owner`:
        a new cycle, see `handoff.desk_view.HandoffView`); later ones start anew. A message
        relayed to a person gets `relayed_notice` when given (an attachment the desk cannot
        show), unless over the customer's rate. `flood` counts the message against the
        customer's rate (see `Flood`). `event` (its fields) is appended to the operations
        events unless the message is a repeat. With `hand_to` (a consumer of the inbound
        group), a message for the assistant is read for that consumer in the same round trip
        and returned in `taken`. `language`, when the message decided it, becomes the
        conversation's (see `language`). With `waiting_notice_seconds` (0: never), a message
        relayed to a queued conversation (a reopened one included) earns `waiting` once per
        that many seconds; a message over the customer's rate never does. With
        `presence_seconds`, the message (one that asks whether anyone is there) earns it once
        the last one is that many seconds old. An edit (`Kind.EDIT`) or the rest of a split
        paste (`Kind.CONTINUED`) reaches only a person: while the assistant has the
        conversation, or after its resolution, it is kept in the log and not answered
        (`Route.EDIT`). A press or a
        command (`gesture`, see `bot.gestures`) never reopens a resolved handoff: it starts a
        new conversation with the assistant; a pressed rating is the rating even once the
        assistant has the conversation again. While a person has the conversation, a message
        given a `command_answer` is answered with it (unless over the customer's rate) and
        relayed to the desk marked as a command (`Route.COMMAND`), except "back to the
        assistant" (`Gesture.BOT`) while the handoff waits for a claim: relayed for the desk to
        return the conversation to the assistant (`Route.BACK`).
        """
        profile_key = keys.customer(inbound.channel.value, inbound.customer.id)
        meta = {
            "channel": inbound.channel.value,
            "public": "1" if inbound.public else "",
            "route": json.dumps(inbound.route, ensure_ascii=False),
            "customer": profile_key,
            "last_message_at": now_iso(),
        }
        if language:
            meta["language"] = language
        profile = {"channel": inbound.channel.value, **inbound.profile()}
        result = await self._accept(
            keys=[
                keys.seen(inbound.channel.value, inbound.message_id),
                keys.conversation(inbound.conversation_id),
                keys.conversation_log(inbound.conversation_id),
                keys.conversation_owner(inbound.conversation_id),
                keys.INBOUND,
                keys.DESK_RELAY,
                keys.OUTBOX,
                keys.conversation_handoff(inbound.conversation_id),
                profile_key,
                keys.customer_conversations(profile_key),
                keys.EVENTS,
                flood.key if flood else "",
                keys.conversation_waiting_notice(inbound.conversation_id),
            ],
            args=[
                SEEN_TTL_SECONDS,
                json.dumps(meta, ensure_ascii=False),
                json.dumps(customer_log_fields(inbound, client_id, gesture), ensure_ascii=False),
                json.dumps(assistant_fields, ensure_ascii=False),
                _json_or_empty(notice),
                now_iso(),
                json.dumps(profile, ensure_ascii=False),
                inbound.received_at.timestamp(),
                inbound.conversation_id,
                keys.handoff(""),
                str(rating) if rating else "",
                _json_or_empty(thanks),
                reopen_seconds,
                self._retention,
                keys.person(""),
                keys.conversation_handoffs(inbound.conversation_id),
                flood.limit if flood else "",
                json.dumps(event, ensure_ascii=False) if event else "",
                EVENTS_MAXLEN,
                _json_or_empty(flood.slow_down if flood else None),
                hand_to or "",
                keys.INBOUND_GROUP,
                waiting_notice_seconds or "",
                _json_or_empty(welcome),
                _json_or_empty(relayed_notice),
                "1" if inbound.kind in FOR_A_PERSON_ONLY else "",
                gesture.value,
                _json_or_empty(command_answer),
                presence_seconds or "",
            ],
        )
        route, log_id, *rest = result
        taken = tuple(
            (text_of(entry_id), _pairs(fields)) for entry_id, fields in (rest[0] if rest else [])
        )
        waiting = Waiting(*(text_of(value) for value in rest[1:])) if len(rest) == 4 else None
        return Accepted(Route(text_of(route)), text_of(log_id), taken, waiting)

    async def start(
        self,
        conversation_id: str,
        *,
        channel: str,
        route: dict[str, Any],
        customer: str,
        **extra: str,
    ) -> None:
        """Record a conversation that the customer has not written in yet (an invitation).

        Its metadata and its log expire after the retention, as if the customer had written.
        """
        fields = {
            "channel": channel,
            "public": "",
            "customer": customer,
            "route": json.dumps(route, ensure_ascii=False),
            **extra,
        }
        await self._start(
            keys=[keys.conversation(conversation_id), keys.conversation_log(conversation_id)],
            args=[json.dumps(fields, ensure_ascii=False), now_iso(), self._retention],
        )

    async def enqueue(self, message: Outgoing) -> None:
        """Queue a message for delivery."""
        await self._client.xadd(keys.OUTBOX, message.to_fields())

    async def meta(self, conversation_id: str) -> dict[str, Any]:
        """The conversation's metadata (empty when unknown), with `route` decoded."""
        return decode_meta(await self._client.hgetall(keys.conversation(conversation_id)))

    async def language(self, conversation_id: str) -> str | None:
        """The language the conversation is held in, None before a message decided it."""
        code = await self._client.hget(keys.conversation(conversation_id), "language")
        return text_of(code) if code else None

    async def handoff_language(self, conversation_id: str) -> str | None:
        """The customer's language recorded by the conversation's latest handoff."""
        handoff_id = await self._client.get(keys.conversation_handoff(conversation_id))
        if handoff_id is None:
            return None
        record = await self._client.hget(keys.handoff(text_of(handoff_id)), "record")
        return str(json.loads(record).get("language")) if record else None

    async def first_delivery(self, inbound: Inbound, step: str) -> bool:
        """Mark a `step` of a message that `accept` does not dedupe done; False if it was."""
        seen = keys.seen(inbound.channel.value, f"{inbound.message_id}:{step}")
        return bool(await self._client.set(seen, "1", nx=True, ex=SEEN_TTL_SECONDS))

    async def split_part(self, conversation_id: str, *, long: bool) -> bool:
        """Whether a message follows a long one within seconds (`bot.channels.telegram_split`).

        A `long` message opens the window (or keeps it open); any other closes it.
        """
        key = keys.conversation_split(conversation_id)
        async with self._client.pipeline(transaction=False) as both:  # one round trip
            both.get(key)
            if long:
                both.set(key, "1", px=SPLIT_WINDOW_MS)
            else:
                both.delete(key)
            before, _ = await both.execute()
        return before is not None

    async def keyboard_shown(self, conversation_id: str, where: str) -> None:
        """Record that the bot's latest message with buttons is `where` (a channel's address)."""
        key = keys.conversation_keyboard(conversation_id)
        await self._client.set(key, where, ex=self._retention or None)

    async def latest_keyboard(self, conversation_id: str) -> str | None:
        """Where the bot's latest message with buttons is; None before the first."""
        where = await self._client.get(keys.conversation_keyboard(conversation_id))
        return text_of(where) if where else None

    async def owner(self, conversation_id: str) -> str:
        """bot, queued, agent:<user> or closed."""
        value = await self._client.get(keys.conversation_owner(conversation_id))
        return text_of(value) if value else "bot"

    async def last_said_entry(self, conversation_id: str, within: int = 50) -> str | None:
        """The log entry id of the customer's latest words in the last `within` entries."""
        said = await self._said(conversation_id, "customer", within)
        return said[0][0] if said else None

    async def said_at(self, conversation_id: str, entry_id: str) -> str:
        """The text of one entry of the conversation's log ("" when it is gone)."""
        entries = await self._client.xrange(
            keys.conversation_log(conversation_id), entry_id, entry_id
        )
        return next((text_of(f.get(b"text") or f.get("text") or "") for _, f in entries), "")

    async def last_said(self, conversation_id: str, within: int = 50) -> str:
        """The customer's latest words in the conversation's last `within` entries ("": none)."""
        return next(iter(await self.said_by(conversation_id, "customer", within)), "")

    async def said_by(self, conversation_id: str, author: str, within: int = 200) -> list[str]:
        """What `author` (customer, bot, agent) said in the last `within` entries, latest first."""
        return [said for _, said in await self._said(conversation_id, author, within)]

    async def _said(self, conversation_id: str, author: str, within: int) -> list[tuple[str, str]]:
        """(entry id, text) of what `author` said in the last `within` entries, latest first."""
        entries = await self._client.xrevrange(keys.conversation_log(conversation_id), count=within)
        found = []
        for entry_id, fields in entries:
            entry = {text_of(k): text_of(v) for k, v in fields.items()}
            if entry.get("author") == author and entry.get("text"):
                found.append((text_of(entry_id), entry["text"]))
        return found

    async def read(
        self, conversation_id: str, after: str = "0", count: int = 500
    ) -> list[tuple[str, dict[str, str]]]:
        """Log entries after `after`, oldest first."""
        start = f"({after}" if after not in ("0", "0-0", "-") else "-"
        entries = await self._client.xrange(
            keys.conversation_log(conversation_id), start, "+", count
        )
        return [(text_of(i), {text_of(k): text_of(v) for k, v in f.items()}) for i, f in entries]

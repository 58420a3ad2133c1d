"""`relevo forget`: erase a customer's data everywhere Relevo keeps it (the right to erasure).

A customer is named by a profile (`telegram:12345`, `social:x:987`, `webchat:<conversation>`)
or a public handle (`@laura_travels`). Every profile linked to the same person is erased too.
For each of their conversations this removes the log, metadata, owner, invitation, Rasa's
tracker and lock, the dedupe and reply markers of their messages, the thread markers of the
brand's public replies to them, every handoff (record, events, reveals, console thread and
receipts, timers, the console lists, the Slack card's mapping) and the entries that mention the
conversation in the work streams and the dead-letter list. The knowledge-base index holds
articles only, and logs carry ids, never messages (and redact personal data), so nothing remains
there. A Slack card is rewritten to say it was erased when a redrawer is given.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from relevo import keys
from relevo.redis_conn import text_of

log = logging.getLogger(__name__)

RASA_PREFIX = "relevorasa"
WORK_STREAMS = (
    keys.INBOUND,
    keys.OUTBOX,
    keys.DESK_RELAY,
    keys.DESK_RECEIPTS,
    keys.HANDOFF_REQUESTS,
    keys.CONSOLE_EVENTS,
    keys.EVENTS,
)
CONVERSATION_FIELDS = ("conversation_id", "conversation", "handoff", "handoff_id", "receipt")

EraseCard = Callable[[str, str], Awaitable[None]]  # (channel, ts) of a Slack card


@dataclass
class Erased:
    """What was erased, for the operator."""

    profiles: list[str] = field(default_factory=list)
    conversations: list[str] = field(default_factory=list)
    handoffs: list[str] = field(default_factory=list)
    keys_deleted: int = 0
    stream_entries: int = 0
    cards: int = 0


async def find_profiles(client: aioredis.Redis, who: str) -> list[str]:
    """The profile keys a name designates, with every profile linked to them."""
    found: list[str] = []
    if who.startswith("@"):
        handle = who[1:].lower()
        async for key in client.scan_iter(match=keys.customer("*", "*"), count=500):
            name = text_of(key)
            if name.endswith(":conversations"):
                continue
            stored = await client.hget(name, "handle")
            if stored and text_of(stored).lstrip("@").lower() == handle:
                found.append(name)
    else:
        channel, _, customer_id = who.partition(":")
        key = keys.customer(channel, customer_id)
        if customer_id and await client.exists(key):
            found.append(key)
    linked: set[str] = set(found)
    for profile in found:
        person = await client.hget(profile, "person")
        if person:
            linked |= {text_of(m) for m in await client.smembers(keys.person(text_of(person)))}
    return sorted(linked)


class Forgetter:
    """Erases customers."""

    def __init__(self, client: aioredis.Redis, erase_card: EraseCard | None = None) -> None:
        self._client = client
        self._erase_card = erase_card

    async def forget(self, who: str) -> Erased:
        """Erase everything about `who`; an unknown name erases nothing."""
        erased = Erased(profiles=await find_profiles(self._client, who))
        conversations: set[str] = set()
        persons: set[str] = set()
        for profile in erased.profiles:
            listed = await self._client.zrange(keys.customer_conversations(profile), 0, -1)
            conversations |= {text_of(c) for c in listed}
            person = await self._client.hget(profile, "person")
            if person:
                persons.add(keys.person(text_of(person)))
        erased.conversations = sorted(conversations)
        handoffs = await self._handoffs_of(conversations)
        erased.handoffs = sorted(handoffs)
        doomed: list[str] = [*erased.profiles, *persons]
        doomed += [keys.customer_conversations(p) for p in erased.profiles]
        for profile in erased.profiles:
            doomed += [text_of(k) async for k in self._client.scan_iter(match=_flood_keys(profile))]
        for conversation_id in conversations:
            doomed += await self._conversation_keys(conversation_id)
        for handoff_id in handoffs:
            doomed += await self._handoff_keys(handoff_id, erased)
        if handoffs:
            await self._client.zrem(keys.CONSOLE_OPEN, *handoffs)
            await self._client.zrem(keys.CONSOLE_CLOSED, *handoffs)
            timers = await self._client.zrange(keys.SLA_TIMERS, 0, -1)
            mine = [t for t in timers if text_of(t).partition("|")[0] in handoffs]
            if mine:
                await self._client.zrem(keys.SLA_TIMERS, *mine)
        erased.keys_deleted = await self._client.delete(*doomed) if doomed else 0
        names = conversations | handoffs
        erased.stream_entries = await self._purge_streams(names) + await self._purge_dead(names)
        log.info(
            "customer forgotten",
            extra={
                "profiles": len(erased.profiles),
                "conversations": len(conversations),
                "handoffs": len(handoffs),
                "keys": erased.keys_deleted,
                "entries": erased.stream_entries,
            },
        )
        return erased

    async def _handoffs_of(self, conversations: set[str]) -> set[str]:
        found: set[str] = set()
        if not conversations:
            return found
        async for key in self._client.scan_iter(match=keys.handoff("*"), count=500):
            name = text_of(key)
            if name.count(":") != 2 or name == keys.HANDOFF_REQUESTS:
                continue
            if await self._client.type(name) not in (b"hash", "hash"):
                continue
            owner = await self._client.hget(name, "conversation")
            if owner and text_of(owner) in conversations:
                found.add(name.rsplit(":", 1)[1])
        return found

    async def _conversation_keys(self, conversation_id: str) -> list[str]:
        found = [
            keys.conversation(conversation_id),
            keys.conversation_log(conversation_id),
            keys.conversation_owner(conversation_id),
            keys.conversation_handoff(conversation_id),
            keys.conversation_handoffs(conversation_id),
            keys.conversation_invite(conversation_id),
            keys.conversation_waiting_notice(conversation_id),
            keys.conversation_keyboard(conversation_id),
            f"{RASA_PREFIX}:tracker:{conversation_id}",
            f"{RASA_PREFIX}:lock:{conversation_id}",
            keys.conversation_social_replies(conversation_id),
        ]
        replies = await self._client.smembers(keys.conversation_social_replies(conversation_id))
        found += [text_of(reply) for reply in replies]
        token = await self._client.get(keys.conversation_invite(conversation_id))
        if token:
            found += [
                keys.invite(text_of(token)),
                keys.invite_claim(text_of(token)),
                keys.invite_asked(text_of(token)),
                keys.invite_carried(text_of(token)),
            ]
        channel = text_of(await self._client.hget(keys.conversation(conversation_id), "channel"))
        for _, entry in await self._client.xrange(keys.conversation_log(conversation_id)):
            message_id = text_of(entry.get(b"message_id") or entry.get("message_id") or "")
            out_id = text_of(entry.get(b"out_id") or entry.get("out_id") or "")
            if message_id:
                found += [keys.seen(channel, message_id), keys.inbound_done(message_id)]
            if out_id:
                found.append(keys.outbox_sent(out_id))
        return found

    async def _handoff_keys(self, handoff_id: str, erased: Erased) -> list[str]:
        record = keys.handoff(handoff_id)
        card = await self._client.hmget(record, "card_channel", "card_ts")
        channel, ts = (text_of(v) if v else "" for v in card)
        found = [
            record,
            f"{record}:events",
            keys.handoff_reveals(handoff_id),
            keys.console_thread(handoff_id),
            keys.console_receipts(handoff_id),
        ]
        if channel and ts:
            found.append(keys.desk_thread(channel, ts))
            if self._erase_card is not None:
                await self._erase_card(channel, ts)
                erased.cards += 1
        return found

    async def _purge_streams(self, names: set[str]) -> int:
        removed = 0
        for stream in WORK_STREAMS:
            doomed = []
            async for entry_id, fields in _entries(self._client, stream):
                decoded = {text_of(k): text_of(v) for k, v in fields.items()}
                mentioned = " ".join(decoded.get(f, "") for f in CONVERSATION_FIELDS)
                if any(name in mentioned for name in names):
                    doomed.append(entry_id)
            if doomed:
                removed += await self._client.xdel(stream, *doomed)
        return removed

    async def _purge_dead(self, names: set[str]) -> int:
        removed = 0
        for raw in await self._client.lrange(keys.OUTBOX_DEAD, 0, -1):
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if any(name in json.dumps(record) for name in names):
                removed += await self._client.lrem(keys.OUTBOX_DEAD, 0, raw)
        return removed


def _flood_keys(profile: str) -> str:
    """The pattern of a profile's flood counters (their names carry the customer's id)."""
    channel, _, customer_id = profile.removeprefix(f"{keys.PREFIX}:customer:").partition(":")
    return keys.flood(channel, customer_id, 0).rsplit(":", 1)[0] + ":*"


async def _entries(
    client: aioredis.Redis, stream: str, batch: int = 1000
) -> AsyncIterator[tuple[Any, dict[Any, Any]]]:
    """Every entry of a stream, page by page."""
    start = "-"
    while True:
        page = await client.xrange(stream, start, "+", batch)
        for entry_id, fields in page:
            yield entry_id, fields
        if len(page) < batch:
            return
        start = f"({text_of(page[-1][0])}"

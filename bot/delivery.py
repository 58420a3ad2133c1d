"""The outbox's delivery worker: every outgoing message reaches its channel once, in order.

Messages are laned by conversation (in order within one). A channel's `Sender` formats a message
into parts that fit the platform and sends them; a retryable failure (RetryAfter, HTTP 429 or
5xx, a network error) is retried with exponential backoff and jitter, honouring the platform's
own delay; after `max_attempts`, or at once for a permanent failure, the message goes to the
dead-letter list with the reason (`relevo doctor` shows it). A platform's request to wait is not
a failure: it is capped, and counted apart (`RetryPolicy`). Each delivered part is counted in
Redis, and in memory before any Redis call, so neither a restart nor a Redis blip after a send
sends a part twice, and the delivered message is appended to the conversation log exactly once.
An announcement of an event already in the log (a person joined, the assistant is back) is put in
words for the channels that cannot show events (`bot.event_words`), sent like any message, and
not logged again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

import redis
import redis.asyncio as aioredis

from bot.conversations import ConversationStore, decode_meta
from bot.event_words import event_words
from bot.log_entries import delivered_event, now_iso, outgoing_log_fields
from relevo import keys
from relevo.events import MAXLEN as EVENTS_MAXLEN
from relevo.events import EventType, emit
from relevo.lanes import StreamLanes
from relevo.lua import FLAT
from relevo.messages import Outgoing
from relevo.metrics import DELIVERIES, DELIVERY_SECONDS

log = logging.getLogger(__name__)

DEAD_LETTERS_KEPT = 1000

# One round trip per step of a message. KEYS: sent, log, events, outbox. ARGV: parts sent ('' to
# leave), log fields as JSON ('' for none), TTL, the event's fields as JSON ('' for none), the
# outbox entry to acknowledge ('' for none), the consumer group, the events' MAXLEN. The log entry
# and the event are written once per message (`logged`), however often the step runs again.
_STEP = """
if ARGV[1] ~= '' then
  redis.call('HSET', KEYS[1], 'parts', ARGV[1])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
if (ARGV[2] ~= '' or ARGV[4] ~= '') and redis.call('HSETNX', KEYS[1], 'logged', '1') == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  if ARGV[2] ~= '' then redis.call('XADD', KEYS[2], '*', unpack(flat(cjson.decode(ARGV[2])))) end
  if ARGV[4] ~= '' then
    local event = flat(cjson.decode(ARGV[4]))
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', unpack(event))
  end
end
if ARGV[5] ~= '' then redis.call('XACK', KEYS[4], ARGV[6], ARGV[5]) end
return 1
"""


class DeliveryError(Exception):
    """A send failed. `retry_after`: the platform's requested wait; `permanent`: do not retry."""

    def __init__(
        self, reason: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.permanent = permanent


@dataclass(frozen=True)
class Target:
    """Where a conversation's messages go: its channel's route and whether it is public."""

    conversation_id: str
    channel: str
    route: Mapping[str, Any]
    public: bool
    invite_links: tuple[str, ...] = ()


class Sender(Protocol):
    """One channel's way out."""

    def parts(self, message: Outgoing, target: Target) -> list[str]:
        """The texts to send, each within the platform's limit."""
        ...

    async def send(self, message: Outgoing, part: str, index: int, target: Target) -> None:
        """Send one part; raise DeliveryError on failure."""
        ...

    async def pace(self, target: Target, *, first: bool = False) -> None:
        """Wait for the channel's rate limits (`first`: ahead of what is only queued)."""
        ...


class InviteLinks(Protocol):
    """Makes the links that move a public conversation to a private channel."""

    async def links_for(self, conversation_id: str) -> tuple[str, ...]:
        """The invitation links of a conversation."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying one part.

    A failure (an error, a 5xx, a timeout) counts toward `max_attempts`. A platform's request to
    wait (RetryAfter, 429) is not a failure: the part is only early. Each such wait is capped at
    `max_wait_seconds`, and they are counted apart: `max_waits` of them still end in the dead
    letters, so a platform that only ever says "later" cannot hold a conversation forever.
    """

    max_attempts: int = 8
    base_seconds: float = 0.5
    max_seconds: float = 60.0
    max_waits: int = 32
    max_wait_seconds: float = 3600.0

    def delay(self, failures: int, requested: float | None) -> float:
        """The next wait: the platform's request (capped), else backoff after `failures`."""
        if requested is not None:
            return min(requested, self.max_wait_seconds)
        return min(self.max_seconds, self.base_seconds * 2 ** (failures - 1)) * random.uniform(
            0.5, 1.0
        )

    def exhausted(self, failures: int, waits: int) -> bool:
        """Whether a part is given up: it failed too often, or was told to wait too often."""
        return failures >= self.max_attempts or waits >= self.max_waits


class DeliveryWorker:
    """Consumes `relevo:outbox` and delivers through the channels' senders."""

    def __init__(
        self,
        *,
        client: aioredis.Redis,
        senders: Mapping[str, Sender],
        invites: InviteLinks,
        policy: RetryPolicy,
        consumer: str | None = None,
        concurrency: int = 64,
        lanes: int = 4096,
    ) -> None:
        """Deliver with at most `concurrency` sends in flight per channel.

        `lanes` bounds the conversations delivering at once, most of them waiting on a
        channel's rate limit. A wait holds no send slot, so a channel with a backlog never
        holds back another channel's replies, nor an agent's reply in its own channel.
        """
        self._client = client
        self._senders = senders
        self._invites = invites
        self._policy = policy
        self._script = client.register_script(FLAT + _STEP)
        self._store = ConversationStore(client)
        self._sent: dict[str, int] = {}  # out id -> parts sent, kept until the message is settled
        self._sending = {channel: asyncio.Semaphore(concurrency) for channel in senders}
        self.lanes = StreamLanes(
            client=client,
            stream=keys.OUTBOX,
            group=keys.OUTBOX_GROUP,
            key_field="conversation_id",
            handle=self._handle,
            on_poison=self._poison,
            concurrency=lanes,
            consumer=consumer,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set."""
        await self.lanes.run(stop)

    async def _handle(self, entry_id: str, fields: dict[str, str]) -> None:
        message = Outgoing.from_fields(fields)
        await self._settle(entry_id, message)
        self._sent.pop(message.out_id, None)  # recorded: Redis knows the count from now on

    async def _settle(self, entry_id: str, message: Outgoing) -> None:
        """Deliver, dead-letter or log the message, and acknowledge its entry.

        A Redis error after a send makes the lanes run this again: the parts sent then are
        known from memory (`_sent`) even when Redis never heard of them, so they are recorded,
        not sent again.
        """
        meta, recorded = await self._read(message)
        done = max(recorded, self._sent.get(message.out_id, 0))
        if message.event:
            await self._step(message, ack=entry_id, append_log=True)
            return
        if message.announces:
            words = await self._words(message, meta)
            if words is None:  # the channel shows the event itself, or nothing is said there
                await self._client.xack(keys.OUTBOX, keys.OUTBOX_GROUP, entry_id)
                return
            message = replace(message, text=words)
        if not meta.get("channel"):
            await self._dead(message, "unknown conversation", attempts=0, channel="")
        elif (sender := self._senders.get(meta["channel"])) is None:
            reason = f"channel {meta['channel']} is not enabled"
            await self._dead(message, reason, attempts=0, channel=meta["channel"])
        else:
            links = (
                await self._invites.links_for(message.conversation_id)
                if (message.invite_private and meta["public"])
                else ()
            )
            target = Target(
                message.conversation_id, meta["channel"], meta["route"], meta["public"], links
            )
            started = time.perf_counter()
            sent = await self._deliver(sender, message, target, done)
            if sent is not None:
                DELIVERY_SECONDS.labels(target.channel).observe(time.perf_counter() - started)
                DELIVERIES.labels(target.channel, "delivered").inc()
                await self._receipt(message, ok=True, reason="")
                delivered = delivered_event(message, target.channel)
                logged = not message.announces  # the log has the event it announces
                await self._step(
                    message, parts=sent, append_log=logged, event=delivered, ack=entry_id
                )
                return
        await self._client.xack(keys.OUTBOX, keys.OUTBOX_GROUP, entry_id)

    async def _words(self, message: Outgoing, meta: Mapping[str, Any]) -> str | None:
        """An announced event in the conversation's words (its language, else the handoff's)."""
        language = meta.get("language") or await self._store.handoff_language(
            message.conversation_id
        )
        return event_words(
            message.announces or "",
            message.agent,
            channel=meta.get("channel") or "",
            public=bool(meta.get("public")),
            language=language,
        )

    async def _read(self, message: Outgoing) -> tuple[dict[str, Any], int]:
        """The conversation's metadata and how many parts were sent already, in one trip."""
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.conversation(message.conversation_id))
            pipe.hget(keys.outbox_sent(message.out_id), "parts")
            raw, done = await pipe.execute()
        return decode_meta(raw), int(done or 0)

    async def _step(
        self,
        message: Outgoing,
        *,
        parts: int | None = None,
        append_log: bool = False,
        event: dict[str, str] | None = None,
        ack: str = "",
    ) -> None:
        """Record parts sent; log the message and its event once; acknowledge: one trip."""
        await self._script(
            keys=[
                keys.outbox_sent(message.out_id),
                keys.conversation_log(message.conversation_id),
                keys.EVENTS,
                keys.OUTBOX,
            ],
            args=[
                "" if parts is None else parts,
                json.dumps(outgoing_log_fields(message), ensure_ascii=False) if append_log else "",
                keys.DONE_TTL_SECONDS,
                json.dumps(event) if event else "",
                ack,
                keys.OUTBOX_GROUP,
                EVENTS_MAXLEN,
            ],
        )

    async def _receipt(self, message: Outgoing, *, ok: bool, reason: str) -> None:
        """Tell the desk whether an agent's reply reached the customer."""
        if message.receipt:
            await self._client.xadd(
                keys.DESK_RECEIPTS,
                {
                    "receipt": message.receipt,
                    "out_id": message.out_id,
                    "ok": "1" if ok else "",
                    "reason": reason,
                },
                maxlen=100_000,
            )

    async def _deliver(
        self, sender: Sender, message: Outgoing, target: Target, done: int
    ) -> int | None:
        """Send the parts after the first `done`; their count, or None when dead-lettered.

        The last part's progress is recorded with the log entry (`_step`).
        """
        parts = sender.parts(message, target)
        for index in range(done, len(parts)):
            failures = waits = 0
            while True:
                await sender.pace(target, first=message.author == "agent")
                try:
                    async with self._sending[target.channel]:
                        await sender.send(message, parts[index], index, target)
                    break
                except DeliveryError as exc:
                    if exc.retry_after is None:
                        failures += 1
                    else:
                        waits += 1
                    if exc.permanent or self._policy.exhausted(failures, waits):
                        await self._dead(
                            message, str(exc), attempts=failures + waits, channel=target.channel
                        )
                        return None
                    delay = self._policy.delay(failures, exc.retry_after)
                    DELIVERIES.labels(target.channel, "retried").inc()
                    log.warning(
                        "delivery failed; retrying",
                        extra={
                            "conversation": message.conversation_id,
                            "out": message.out_id,
                            "attempt": failures + waits,
                            "error": str(exc),
                            "retry_in_s": round(delay, 2),
                        },
                    )
                    await asyncio.sleep(delay)
            self._sent[message.out_id] = index + 1  # before any Redis call that could fail
            if index + 1 < len(parts):
                await self._step(message, parts=index + 1)
        log.info(
            "delivered",
            extra={
                "conversation": message.conversation_id,
                "out": message.out_id,
                "channel": target.channel,
                "parts": len(parts),
            },
        )
        return len(parts)

    async def _dead(self, message: Outgoing, reason: str, *, attempts: int, channel: str) -> None:
        DELIVERIES.labels(channel or "unknown", "dead").inc()
        await emit(
            self._client,
            EventType.DELIVERY_FAILED,
            conversation=message.conversation_id,
            channel=channel or "unknown",
            author=message.author,
        )
        await self._receipt(message, ok=False, reason=reason)
        record = {**message.to_fields(), "reason": reason, "attempts": attempts, "at": now_iso()}
        await self._client.lpush(keys.OUTBOX_DEAD, json.dumps(record, ensure_ascii=False))
        await self._client.ltrim(keys.OUTBOX_DEAD, 0, DEAD_LETTERS_KEPT - 1)
        log.error(
            "delivery given up; dead-lettered",
            extra={
                "conversation": message.conversation_id,
                "out": message.out_id,
                "reason": reason,
                "attempts": attempts,
            },
        )

    async def _poison(self, entry_id: str, fields: dict[str, str], exc: BaseException) -> None:
        self._sent.pop(fields.get("out_id", ""), None)
        record = {**fields, "reason": f"unreadable outbox entry: {exc!r}", "at": now_iso()}
        await self._client.lpush(keys.OUTBOX_DEAD, json.dumps(record, ensure_ascii=False))


def dead_letters(client: redis.Redis, count: int = 20) -> list[dict[str, Any]]:
    """The latest dead letters, newest first (`relevo doctor` lists them)."""
    return [json.loads(raw) for raw in client.lrange(keys.OUTBOX_DEAD, 0, count - 1)]

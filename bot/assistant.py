"""The assistant worker: accepted customer messages go to Rasa, durably, and replies to the outbox.

The inbound pipeline appends a message to `relevo:inbound`; it is acknowledged only when the
assistant's replies are in the outbox. While Rasa is down, messages stay pending and are retried
with backoff; a worker that dies leaves them pending for another to claim. Each message reaches
Rasa at most once (after an ambiguous failure the tracker store says whether Rasa already saw it)
and its replies enter the outbox exactly once (one Lua script marks the message done and queues
them). In the web chat, where delivery is the log entry itself, the same script appends the
replies to the conversation log instead: the outbox's hop would only add latency.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

import redis.asyncio as aioredis

from bot.handed_over import HandedOver
from bot.inbound import Channel
from bot.log_entries import delivered_event, outgoing_log_fields
from bot.rasa_client import TRACKER_PREFIX, BotReply, RasaClient, replies_in_tracker
from bot.texts import text
from bot.turns import AssistantMessage, outgoing_for_turn, turn_summary
from kb_index.language import detect_language
from relevo import keys
from relevo.errors import RasaUnavailableError
from relevo.events import MAXLEN as EVENTS_MAXLEN
from relevo.events import EventType, event_fields
from relevo.lanes import StreamLanes
from relevo.lua import FLAT
from relevo.messages import Outgoing
from relevo.metrics import DECISIONS, DELIVERIES, KB_SECONDS, RASA_ERRORS, RASA_SECONDS

log = logging.getLogger(__name__)

LOGGED_CHANNEL = Channel.WEBCHAT.value  # delivered by its log entry (the socket streams the log)

# A turn's record, once (one round trip): marks the message answered with Rasa's replies, queues
# the turn's messages in the outbox, or, in the web chat, whose delivery is the log entry itself,
# appends them to the conversation log with their `delivered` events; then the `bot_reply` event.
# A conversation whose metadata is gone (forgotten) goes through the outbox, which dead-letters it.
# Last, the inbound entry is acknowledged.
# KEYS: done, outbox, the conversation's hash, its log, events, inbound. ARGV: the replies, TTL,
# the channel delivered by its log, the events' MAXLEN, the bot_reply event, the messages as a
# JSON list of {outbox, log, delivered (not for events)} field maps, the inbound group, the entry
# id. Returns 0 (already recorded), 1 (queued) or 2 (logged). `flat` comes from relevo.lua.
_RECORD = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  redis.call('XACK', KEYS[6], ARGV[7], ARGV[8])
  return 0
end
local logged = redis.call('HGET', KEYS[3], 'channel') == ARGV[3]
for _, message in ipairs(cjson.decode(ARGV[6])) do
  if logged then
    redis.call('XADD', KEYS[4], '*', unpack(flat(message.log)))
    if message.delivered then
      redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[4], '*', unpack(flat(message.delivered)))
    end
  else
    redis.call('XADD', KEYS[2], '*', unpack(flat(message.outbox)))
  end
end
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[4], '*', unpack(flat(cjson.decode(ARGV[5]))))
redis.call('XACK', KEYS[6], ARGV[7], ARGV[8])
if logged then return 2 end
return 1
"""


MAX_SILENT_TURNS = 8  # silent turns (about 35 s of retries) before the customer gets an apology
# What a proxy in front of a Rasa that is down answers: the message waits until Rasa is back.
PROXY_AWAY_STATUSES = (502, 503, 504)


class AssistantWorker:
    """Consumes `relevo:inbound`, asks Rasa and queues the replies in the outbox."""

    def __init__(
        self,
        *,
        client: aioredis.Redis,
        rasa: RasaClient,
        consumer: str | None = None,
        concurrency: int = 32,
        claim_idle_ms: int = 30_000,
        silent_turns: int = MAX_SILENT_TURNS,
    ) -> None:
        self._client = client
        self._rasa = rasa
        self._silent_turns = silent_turns
        self._record_turn = client.register_script(FLAT + _RECORD)
        self._ambiguous: set[str] = set()
        self._silent: dict[str, int] = {}  # message id -> turns Rasa ended without a word
        self._unrecorded: dict[str, list[BotReply]] = {}  # answered, the record not yet written
        self._handed_over = HandedOver(client)
        self.lanes = StreamLanes(
            client=client,
            stream=keys.INBOUND,
            group=keys.INBOUND_GROUP,
            key_field="conversation_id",
            handle=self._handle,
            on_poison=self._poison,
            transient=(RasaUnavailableError,),
            concurrency=concurrency,
            consumer=consumer,
            claim_idle_ms=claim_idle_ms,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set."""
        await self.lanes.run(stop)

    async def _handle(self, entry_id: str, fields: dict[str, str]) -> None:
        message = AssistantMessage.from_fields(fields)
        redelivered = self.lanes.is_redelivery(entry_id)  # after a restart, or claimed
        if redelivered and await self._client.exists(keys.inbound_done(message.message_id)):
            await self._client.xack(keys.INBOUND, keys.INBOUND_GROUP, entry_id)
            return
        replies = self._unrecorded.get(message.message_id)
        if replies is None and await self._handed_over.relayed(
            message.conversation_id, message.log_id, message.desk_fields(), entry_id
        ):
            return  # it waited behind the turn that handed the conversation to a person
        if replies is None:  # not asked yet, or the attempt failed before Rasa answered
            retried = redelivered or message.message_id in self._ambiguous
            replies = await self._answer(message, retried=retried)
            if not replies:
                replies = self._after_silence(message)
            self._unrecorded[message.message_id] = replies  # a retry records, never asks again
        await self._record(message, replies, entry_id)
        self._unrecorded.pop(message.message_id, None)
        self._silent.pop(message.message_id, None)

    async def _poison(self, entry_id: str, fields: dict[str, str], exc: BaseException) -> None:
        self._unrecorded.pop(fields.get("message_id", ""), None)
        log.error(
            "inbound entry cannot be handled; dropped",
            extra={"entry": entry_id, "fields": sorted(fields), "error": repr(exc)},
        )

    async def _answer(self, message: AssistantMessage, *, retried: bool) -> list[BotReply]:
        """Rasa's replies; never sends a message twice to Rasa."""
        if retried:
            await self._wait_for_turn_lock(message.conversation_id)
            recorded = await replies_in_tracker(
                self._client, message.conversation_id, message.message_id
            )
            if recorded is not None:
                self._ambiguous.discard(message.message_id)
                return recorded
        metadata = {**message.metadata, "message_id": message.message_id}
        if message.returned_handoff:
            metadata["handoff_returned"] = message.returned_handoff
        started = time.perf_counter()
        try:
            replies = await self._rasa.send(message.conversation_id, message.text, metadata)
        except RasaUnavailableError as exc:
            RASA_ERRORS.inc()
            if exc.ambiguous:
                self._ambiguous.add(message.message_id)
            if exc.status is not None and exc.status not in PROXY_AWAY_STATUSES:
                return []  # Rasa is up and failed this turn: counted as a silent one
            raise
        RASA_SECONDS.observe(time.perf_counter() - started)
        self._ambiguous.discard(message.message_id)
        if message.returned_handoff:
            await self._client.hdel(keys.conversation(message.conversation_id), "returned_handoff")
        return replies

    def _after_silence(self, message: AssistantMessage) -> list[BotReply]:
        """A turn without a word: ask Rasa again a few times, then apologise.

        Rasa swallows a failed custom action (the action server down, or dying in the middle of
        a call) and ends the turn silently; or it fails on this one message (HTTP 500: a
        component that breaks on it), which would otherwise be retried for ever with the
        conversation's later messages waiting behind it. The customer must never be left
        waiting.
        """
        self._silent[message.message_id] = self._silent.get(message.message_id, 0) + 1
        if self._silent[message.message_id] < self._silent_turns:
            raise RasaUnavailableError(
                "Rasa answered nothing, or failed on this message", ambiguous=False
            )
        log.error("assistant silent; apologised", extra={"conversation": message.conversation_id})
        language = message.metadata.get("language") or detect_language(message.text).code
        return [BotReply(text=text("no_answer", str(language)))]

    async def _wait_for_turn_lock(self, conversation_id: str, seconds: float = 30.0) -> None:
        """Wait while Rasa still holds the conversation's lock (a turn in progress)."""
        lock = f"{TRACKER_PREFIX}:lock:{conversation_id}"
        for _ in range(int(seconds / 0.1)):
            if not await self._client.exists(lock):
                return
            await asyncio.sleep(0.1)

    async def _record(
        self, message: AssistantMessage, replies: list[BotReply], entry_id: str
    ) -> None:
        """Mark the message answered, queue or log its replies and acknowledge it, once."""
        outgoing = outgoing_for_turn(message, replies)
        turn = turn_summary(replies)
        channel = str(message.metadata.get("channel") or "")
        arrived_ms = int(entry_id.split("-", 1)[0])
        bot_reply = event_fields(
            EventType.BOT_REPLY,
            conversation=message.conversation_id,
            channel=channel,
            decision=turn.decision,
            article=turn.article,
            department=turn.department,
            public="1" if message.metadata.get("public") else None,
            latency_ms=max(0, int(time.time() * 1000) - arrived_ms),
        )
        messages = [self._delivery(o, channel) for o in outgoing]
        outcome = await self._record_turn(
            keys=[
                keys.inbound_done(message.message_id),
                keys.OUTBOX,
                keys.conversation(message.conversation_id),
                keys.conversation_log(message.conversation_id),
                keys.EVENTS,
                keys.INBOUND,
            ],
            args=[
                json.dumps([r.to_dict() for r in replies], ensure_ascii=False),
                keys.DONE_TTL_SECONDS,
                LOGGED_CHANNEL,
                EVENTS_MAXLEN,
                json.dumps(bot_reply, ensure_ascii=False),
                json.dumps(messages, ensure_ascii=False),
                keys.INBOUND_GROUP,
                entry_id,
            ],
        )
        log.info(
            "assistant replied",
            extra={
                "conversation": message.conversation_id,
                "message_id": message.message_id,
                "replies": len(outgoing),
                "first_time": bool(outcome),
                "delivered_to_log": outcome == 2,
            },
        )
        if turn.decision == "handoff":
            self._handed_over.remember(message.conversation_id)
        if outcome:
            DECISIONS.labels(turn.decision).inc()
            if turn.kb_ms is not None:
                KB_SECONDS.observe(turn.kb_ms / 1000)
        if outcome == 2:
            DELIVERIES.labels(channel, "delivered").inc(sum(1 for o in outgoing if not o.event))

    @staticmethod
    def _delivery(outgoing: Outgoing, channel: str) -> dict[str, dict[str, str]]:
        """One reply as the outbox entry, or as the log entry and its `delivered` event."""
        fields = {"outbox": outgoing.to_fields(), "log": outgoing_log_fields(outgoing)}
        if not outgoing.event:
            fields["delivered"] = delivered_event(outgoing, channel)
        return fields

"""The assistant worker: customer messages go to Rasa through a Redis stream, durably.

A message is appended to `relevo:inbound` and acknowledged only when the assistant's replies are
recorded. While Rasa is down, messages stay pending and are retried with backoff; a worker that
dies leaves them pending for another to claim. Each message reaches Rasa at most once (after an
ambiguous failure the tracker store says whether Rasa already saw it) and its replies are
published to `relevo:replies` exactly once (a `SET NX` marker per message id).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from dataclasses import asdict, dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from bot.rasa_client import TRACKER_PREFIX, BotReply, RasaClient, replies_in_tracker
from relevo import keys
from relevo.errors import RasaUnavailableError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AssistantMessage:
    """What the assistant needs of a customer message."""

    message_id: str
    conversation_id: str
    text: str
    metadata: dict[str, Any]


async def submit(client: aioredis.Redis, message: AssistantMessage) -> str:
    """Queue a message for the assistant; returns the stream entry id."""
    fields = {**asdict(message), "metadata": json.dumps(message.metadata, ensure_ascii=False)}
    return str(await client.xadd(keys.INBOUND, fields))


async def ensure_group(client: aioredis.Redis) -> None:
    """Create the consumer group (idempotent)."""
    try:
        await client.xgroup_create(keys.INBOUND, keys.INBOUND_GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


class AssistantWorker:
    """Consumes `relevo:inbound`, asks Rasa, records and publishes the replies."""

    def __init__(
        self,
        *,
        client: aioredis.Redis,
        rasa: RasaClient,
        consumer: str | None = None,
        claim_idle_ms: int = 30_000,
        max_backoff: float = 10.0,
    ) -> None:
        self._client = client
        self._rasa = rasa
        self._consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self._claim_idle_ms = claim_idle_ms
        self._max_backoff = max_backoff
        self._ambiguous: set[str] = set()
        self._group_ready = False

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set."""
        backoff = 0.5
        while not stop.is_set():
            try:
                done_all = await self.process_once(block_ms=1000)
                backoff = 0.5
                if not done_all:
                    await asyncio.sleep(0.2)
            except RasaUnavailableError as exc:
                log.warning(
                    "rasa unavailable; messages kept",
                    extra={"error": str(exc), "retry_in_s": backoff},
                )
                await asyncio.sleep(backoff)
                backoff = min(self._max_backoff, backoff * 2)

    async def process_once(self, *, block_ms: int = 0) -> bool:
        """Handle this consumer's pending messages, then new ones; True when none is left over."""
        if not self._group_ready:
            await ensure_group(self._client)
            self._group_ready = True
        await self._claim_abandoned()
        pending = await self._client.xreadgroup(
            keys.INBOUND_GROUP, self._consumer, {keys.INBOUND: "0"}, count=50
        )
        entries = pending[0][1] if pending else []
        if not entries:
            fresh = await self._client.xreadgroup(
                keys.INBOUND_GROUP,
                self._consumer,
                {keys.INBOUND: ">"},
                count=10,
                block=block_ms or None,  # BLOCK 0 would wait forever
            )
            entries = fresh[0][1] if fresh else []
        for entry_id, fields in entries:
            await self._handle(entry_id, fields)
        return True

    async def _claim_abandoned(self) -> None:
        """Take over messages another worker left pending for too long (it probably died)."""
        await self._client.xautoclaim(
            keys.INBOUND, keys.INBOUND_GROUP, self._consumer, self._claim_idle_ms, "0-0", count=50
        )

    async def _handle(self, entry_id: str, fields: dict[str, str]) -> None:
        message = AssistantMessage(
            message_id=fields["message_id"],
            conversation_id=fields["conversation_id"],
            text=fields["text"],
            metadata=json.loads(fields.get("metadata") or "{}"),
        )
        if await self._client.exists(keys.inbound_done(message.message_id)):
            await self._client.xack(keys.INBOUND, keys.INBOUND_GROUP, entry_id)
            return
        retried = message.message_id in self._ambiguous or await self._delivered(entry_id) > 1
        replies = await self._answer(message, retried=retried)
        await self._record(entry_id, message, replies)

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
        try:
            replies = await self._rasa.send(message.conversation_id, message.text, metadata)
        except RasaUnavailableError as exc:
            if exc.ambiguous:
                self._ambiguous.add(message.message_id)
            raise
        self._ambiguous.discard(message.message_id)
        return replies

    async def _delivered(self, entry_id: str) -> int:
        """How many times the entry was delivered (more than once: a retry or a claim)."""
        info = await self._client.xpending_range(
            keys.INBOUND, keys.INBOUND_GROUP, entry_id, entry_id, 1
        )
        return int(info[0]["times_delivered"]) if info else 1

    async def _wait_for_turn_lock(self, conversation_id: str, seconds: float = 30.0) -> None:
        """Wait while Rasa still holds the conversation's lock (a turn in progress)."""
        lock = f"{TRACKER_PREFIX}:lock:{conversation_id}"
        for _ in range(int(seconds / 0.1)):
            if not await self._client.exists(lock):
                return
            await asyncio.sleep(0.1)

    async def _record(
        self, entry_id: str, message: AssistantMessage, replies: list[BotReply]
    ) -> None:
        """Publish the replies once, then acknowledge the message."""
        payload = json.dumps([r.to_dict() for r in replies], ensure_ascii=False)
        first = await self._client.set(
            keys.inbound_done(message.message_id), payload, nx=True, ex=keys.DONE_TTL_SECONDS
        )
        if first:
            await self._client.xadd(
                keys.REPLIES,
                {
                    "message_id": message.message_id,
                    "conversation_id": message.conversation_id,
                    "channel": str(message.metadata.get("channel", "")),
                    "replies": payload,
                },
            )
        await self._client.xack(keys.INBOUND, keys.INBOUND_GROUP, entry_id)
        log.info(
            "assistant replied",
            extra={
                "conversation": message.conversation_id,
                "message": message.message_id,
                "replies": len(replies),
            },
        )

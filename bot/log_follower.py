"""One reader of the conversation logs for all the web chat sockets of a gateway process.

A socket that blocked on its own `XREAD` held one of the gateway's Redis connections for as long
as the tab stayed open: a few hundred open chats (or a script opening sockets) took the whole
pool, and every channel's messages then waited for a connection. Here one task blocks on every
followed log at once and hands each socket of a conversation the entries it read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from relevo import keys
from relevo.redis_conn import text_of

log = logging.getLogger(__name__)

BLOCK_MS = 500
"""How long one read waits; a conversation followed meanwhile joins the next read."""


Entry = tuple[str, dict[str, str]]


class LogFollower:
    """Hands the sockets of a conversation the entries its log gains."""

    def __init__(self, client: aioredis.Redis, *, block_ms: int = BLOCK_MS) -> None:
        self._client = client
        self._block_ms = block_ms
        # The same conversations in both, always: `_run` never reads with no stream to read.
        self._positions: dict[str, str] = {}  # conversation -> the last entry read
        self._listeners: dict[str, set[asyncio.Queue[list[Entry]]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def following(self) -> int:
        """Conversations with at least one open socket."""
        return len(self._listeners)

    async def follow(self, conversation: str) -> asyncio.Queue[list[Entry]]:
        """A queue of the entries the conversation's log gains from now on (`unfollow` it).

        What the log holds already, the caller reads itself after this returns; an entry may
        then come both ways (compare ids).
        """
        news: asyncio.Queue[list[Entry]] = asyncio.Queue()
        if conversation not in self._listeners:
            # Registered with its position once the read succeeds: a read that fails (a Redis
            # blip) or is cancelled leaves no listener set that nothing reads for.
            newest = await self._client.xrevrange(keys.conversation_log(conversation), count=1)
            if conversation not in self._listeners:  # else a second tab registered meanwhile
                self._listeners[conversation] = set()
                self._positions[conversation] = text_of(newest[0][0]) if newest else "0-0"
        self._listeners[conversation].add(news)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="web chat log follower")
        return news

    def unfollow(self, conversation: str, news: asyncio.Queue[list[Entry]]) -> None:
        """Stop handing entries to `news` (the socket closed)."""
        listeners = self._listeners.get(conversation)
        if listeners is None:
            return
        listeners.discard(news)
        if not listeners:
            del self._listeners[conversation]
            self._positions.pop(conversation, None)

    async def close(self) -> None:
        """Stop reading (the gateway shuts down) once the read in progress returns.

        Cancelling a blocked read would leave its connection half-read.
        """
        self._closing = True
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), self._block_ms / 1000 + 5)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        backoff = 0.5
        while self._listeners and not self._closing:
            conversations = {keys.conversation_log(c): c for c in self._positions}
            streams = {log_key: self._positions[c] for log_key, c in conversations.items()}
            try:
                found = await self._client.xread(streams, count=100, block=self._block_ms)
            except RedisError as exc:  # sockets still read their logs every few seconds
                log.warning("web chat log follower: redis unavailable", extra={"error": repr(exc)})
                await asyncio.sleep(backoff)
                backoff = min(10.0, backoff * 2)
                continue
            backoff = 0.5
            for stream, entries in found or []:
                conversation = conversations[text_of(stream)]
                if conversation not in self._positions or not entries:
                    continue  # unfollowed while reading
                read = [
                    (text_of(i), {text_of(k): text_of(v) for k, v in f.items()}) for i, f in entries
                ]
                self._positions[conversation] = read[-1][0]
                for news in self._listeners.get(conversation, ()):
                    news.put_nowait(read)

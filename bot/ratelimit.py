"""Token buckets that pace outgoing messages to what each platform allows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up; `take` waits for one.

    Waiters are served in order, except those that ask to go `first` (an agent's reply to a
    customer who has been waiting for a person): they take the next free token before anyone
    who is only queued.
    """

    def __init__(self, rate: float, burst: float) -> None:
        self._rate = rate
        self._burst = burst
        self._tokens = burst
        self._at = time.monotonic()
        self._lock = asyncio.Lock()
        self._first_waiting = 0

    async def take(self, *, first: bool = False) -> None:
        """Wait until a token is free and take it."""
        if not first:
            async with self._lock:
                await self._take_when(lambda: self._first_waiting == 0)
            return
        self._first_waiting += 1
        try:
            await self._take_when(lambda: True)
        finally:
            self._first_waiting -= 1

    async def _take_when(self, allowed: Callable[[], bool]) -> None:
        while True:
            now = time.monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
            self._at = now
            if self._tokens >= 1 and allowed():
                self._tokens -= 1
                return
            await asyncio.sleep(max((1 - self._tokens) / self._rate, 0.01))


class RateLimits:
    """A bucket for the whole channel and one per chat (thread, group) within it."""

    def __init__(self, overall: float, per_chat: float | None = None, burst: float = 3) -> None:
        self._overall = TokenBucket(overall, max(burst, overall))
        self._per_chat_rate = per_chat
        self._burst = burst
        self._chats: dict[str, TokenBucket] = {}

    async def wait(self, chat: str, *, first: bool = False, rate: float | None = None) -> None:
        """Wait until one more message into `chat` is allowed (`first`: ahead of the queue).

        `rate`: this chat's own rate, when it is not the channel's per-chat rate.
        """
        per_chat = rate or self._per_chat_rate
        if per_chat:
            bucket = self._chats.get(chat)
            if bucket is None:
                bucket = self._chats[chat] = TokenBucket(per_chat, self._burst)
                if len(self._chats) > 10_000:  # forget idle chats; their buckets are full anyway
                    self._chats = {chat: bucket}
            await bucket.take(first=first)
        await self._overall.take(first=first)

"""Pacing: a group on Telegram gets far fewer messages a minute than a private chat."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.telegram import GROUP_RATE
from bot.ratelimit import RateLimits


async def test_a_group_waits_for_its_own_slower_rate_and_a_private_chat_does_not() -> None:
    limits = RateLimits(overall=100, per_chat=1.0, burst=3)
    for _ in range(3):  # the burst
        await limits.wait("-100200", rate=GROUP_RATE)
        await limits.wait("4200")
    await asyncio.wait_for(limits.wait("4200"), timeout=2.0)  # a second later, at 1 a second
    with pytest.raises(TimeoutError):  # a group's next token comes 3 s later (20 a minute)
        await asyncio.wait_for(limits.wait("-100200", rate=GROUP_RATE), timeout=1.5)

"""One reader of the conversation logs for every open web chat: sockets do not hold the pool."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.log_follower import LogFollower
from relevo import keys


async def test_hundreds_of_followed_chats_share_a_small_pool_and_hear_of_their_news(
    redis_url: str, aclient: aioredis.Redis
) -> None:
    pool = aioredis.BlockingConnectionPool.from_url(redis_url, max_connections=4, timeout=2)
    client = aioredis.Redis(connection_pool=pool, decode_responses=True)
    follower = LogFollower(client, block_ms=200)
    chats = [f"wc-chat-{n:04d}" for n in range(300)]
    news = {chat: await follower.follow(chat) for chat in chats}
    await asyncio.sleep(0.3)  # the follower blocks on all 300 logs with one connection
    assert await client.set("relevo:test:other-work", "done")  # the rest still gets one
    for chat in chats[::2]:
        await aclient.xadd(keys.conversation_log(chat), {"text": "hola"})
    async with asyncio.timeout(5):
        for chat in chats[::2]:
            [(_, fields)] = await news[chat].get()
            assert fields == {"text": "hola"}
    assert all(news[chat].empty() for chat in chats[1::2])
    for chat in chats:
        follower.unfollow(chat, news[chat])
    assert follower.following == 0
    await follower.close()
    await client.aclose()


async def test_only_entries_after_following_are_news(aclient: aioredis.Redis) -> None:
    await aclient.xadd(keys.conversation_log("wc-old-news"), {"text": "before"})
    follower = LogFollower(aclient, block_ms=100)
    news = await follower.follow("wc-old-news")
    await asyncio.sleep(0.3)
    assert news.empty()  # the socket replays what was there itself
    await aclient.xadd(keys.conversation_log("wc-old-news"), {"text": "after"})
    [(_, fields)] = await asyncio.wait_for(news.get(), 3)
    assert fields == {"text": "after"}
    await follower.close()


async def test_a_redis_blip_while_following_leaves_no_orphan_and_the_reconnect_hears_news(
    aclient: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    follower = LogFollower(aclient, block_ms=100)
    real = aclient.xrevrange

    async def blip(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(aclient, "xrevrange", real)
        raise RedisConnectionError("blip")

    monkeypatch.setattr(aclient, "xrevrange", blip)
    with pytest.raises(RedisConnectionError):
        await follower.follow("wc-blip")  # the first socket closes with an error
    news = await follower.follow("wc-blip")  # the browser reconnects
    await aclient.xadd(keys.conversation_log("wc-blip"), {"text": "hola"})
    [(_, fields)] = await asyncio.wait_for(news.get(), 3)
    assert fields == {"text": "hola"}
    follower.unfollow("wc-blip", news)
    assert follower.following == 0
    await follower.close()


async def test_sockets_opening_and_closing_raise_no_false_redis_warning(
    aclient: aioredis.Redis, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    follower = LogFollower(aclient, block_ms=50)
    first = await follower.follow("wc-churn-1")
    await asyncio.sleep(0.1)  # the follower is blocked reading the first chat's log
    follower.unfollow("wc-churn-1", first)
    real = aclient.xrevrange

    async def slow(*args: Any, **kwargs: Any) -> Any:  # a second chat opens meanwhile, slowly
        await asyncio.sleep(0.3)
        return await real(*args, **kwargs)

    monkeypatch.setattr(aclient, "xrevrange", slow)
    with caplog.at_level(logging.WARNING, logger="bot.log_follower"):
        second = await follower.follow("wc-churn-2")
        await aclient.xadd(keys.conversation_log("wc-churn-2"), {"text": "hola"})
        [(_, fields)] = await asyncio.wait_for(second.get(), 3)
    assert fields == {"text": "hola"}
    assert not caplog.records  # Redis was fine all along
    await follower.close()


async def test_two_tabs_opening_the_same_chat_at_once_both_hear_its_news(
    aclient: aioredis.Redis,
) -> None:
    follower = LogFollower(aclient, block_ms=100)
    first, second = await asyncio.gather(
        follower.follow("wc-two-tabs"), follower.follow("wc-two-tabs")
    )
    await aclient.xadd(keys.conversation_log("wc-two-tabs"), {"text": "hola"})
    for news in (first, second):
        [(_, fields)] = await asyncio.wait_for(news.get(), 3)
        assert fields == {"text": "hola"}
    await follower.close()

"""One reader of the conversation logs for every open web chat: sockets do not hold the pool."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

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

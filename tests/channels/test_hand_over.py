"""The accept script hands the assistant's messages straight to a reader in the same process."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from bot.conversations import Route
from bot.inbound import Channel, Customer, Inbound
from bot.pipeline import InboundPipeline
from relevo import keys
from relevo.lanes import StreamLanes, ensure_group
from relevo.settings import Settings


def _inbound(text: str, message_id: str, conversation: str = "c1") -> Inbound:
    return Inbound(
        channel=Channel.WEBCHAT,
        conversation_id=conversation,
        message_id=message_id,
        customer=Customer(id=conversation),
        text=text,
    )


def _reader(client: aioredis.Redis, handled: list[tuple[str, bool]]) -> StreamLanes:
    """A reader of the inbound stream whose run loop is never started: only `take` feeds it."""

    async def handle(entry_id: str, fields: dict[str, str]) -> None:
        redelivered = lanes.is_redelivery(entry_id)
        await client.xack(keys.INBOUND, keys.INBOUND_GROUP, entry_id)
        handled.append((fields["text"], redelivered))  # once acknowledged: the test reads both

    async def poison(entry_id: str, fields: dict[str, str], exc: BaseException) -> None:
        raise AssertionError(f"{fields} rejected: {exc!r}")

    lanes = StreamLanes(
        client=client,
        stream=keys.INBOUND,
        group=keys.INBOUND_GROUP,
        key_field="conversation_id",
        handle=handle,
        on_poison=poison,
        consumer="here",
    )
    return lanes


async def test_an_accepted_message_is_handled_here_without_polling_the_stream(
    aclient: aioredis.Redis,
) -> None:
    await ensure_group(aclient, keys.INBOUND, keys.INBOUND_GROUP)
    await aclient.xadd(keys.INBOUND, {"conversation_id": "c0", "text": "left by a poll"})
    handled: list[tuple[str, bool]] = []
    pipeline = InboundPipeline(aclient, Settings())
    pipeline.hand_to(_reader(aclient, handled))

    accepted = await pipeline.accept(_inbound("hola", "m1"))
    assert accepted.route is Route.BOT
    assert [fields["text"] for _, fields in accepted.taken] == ["left by a poll", "hola"]
    async with asyncio.timeout(5):
        while len(handled) < 2:
            await asyncio.sleep(0.01)
    assert sorted(handled) == [("hola", False), ("left by a poll", False)]
    assert (await aclient.xpending(keys.INBOUND, keys.INBOUND_GROUP))["pending"] == 0

    repeat = await pipeline.accept(_inbound("hola", "m1"))
    assert repeat.route is Route.DUPLICATE and repeat.taken == ()


async def test_without_a_reader_or_a_group_the_message_waits_in_the_stream(
    aclient: aioredis.Redis,
) -> None:
    handled: list[tuple[str, bool]] = []
    pipeline = InboundPipeline(aclient, Settings())
    pipeline.hand_to(_reader(aclient, handled))  # the group does not exist yet
    accepted = await pipeline.accept(_inbound("hola", "m1"))
    assert accepted.route is Route.BOT and accepted.taken == ()

    pipeline.hand_to(None)  # the workers stopped
    await ensure_group(aclient, keys.INBOUND, keys.INBOUND_GROUP)
    assert (await pipeline.accept(_inbound("sigues?", "m2"))).taken == ()
    waiting = await aclient.xreadgroup(keys.INBOUND_GROUP, "poller", {keys.INBOUND: ">"})
    assert [fields["text"] for _, fields in waiting[0][1]] == ["hola", "sigues?"]
    assert handled == []

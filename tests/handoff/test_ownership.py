"""The ownership state machine on a real Redis: one winner, legal moves only, who and when."""

from __future__ import annotations

import asyncio

import redis
import redis.asyncio as aioredis

from handoff.ownership import Action, Outcome, Ownership, handoff_events
from handoff.requests import HandoffRequest, Priority, Reason, request_handoff
from relevo import keys


def queue(redis_client: redis.Redis, conversation: str = "c1") -> str:
    request = HandoffRequest(
        conversation_id=conversation,
        channel="webchat",
        language="es",
        reason=Reason.ASKED_FOR_PERSON,
        priority=Priority.NORMAL,
        transcript=[],
        hits=[],
        draft=None,
    )
    assert request_handoff(redis_client, request)
    return request.id


async def test_a_hundred_simultaneous_claims_have_exactly_one_winner(
    redis_client: redis.Redis, aclient: aioredis.Redis
) -> None:
    handoff = queue(redis_client)
    ownership = Ownership(aclient)
    results = await asyncio.gather(
        *(
            ownership.apply(handoff, Action.CLAIM, actor=f"U{i}", actor_name=f"Agent {i}")
            for i in range(100)
        )
    )
    winners = [r for r in results if r.outcome is Outcome.DONE]
    assert len(winners) == 1
    owner = winners[0].owner
    assert all(
        r.outcome is Outcome.TAKEN and r.owner == owner for r in results if r is not winners[0]
    )
    assert redis_client.get(keys.conversation_owner("c1")) == f"agent:{owner}"
    assert redis_client.xlen(handoff_events(handoff)) == 1


async def test_the_moves_and_their_history(
    redis_client: redis.Redis, aclient: aioredis.Redis
) -> None:
    handoff = queue(redis_client)
    ownership = Ownership(aclient)
    assert (
        await ownership.apply(handoff, Action.RESOLVE, actor="U1", actor_name="Laura")
    ).outcome is Outcome.DONE
    assert redis_client.get(keys.conversation_owner("c1")) == "closed"
    again = await ownership.apply(handoff, Action.CLAIM, actor="U2", actor_name="Marc")
    assert again.outcome is Outcome.INVALID and again.state == "closed"

    second = queue(redis_client)
    await ownership.apply(second, Action.CLAIM, actor="U1", actor_name="Laura")
    moved = await ownership.apply(
        second, Action.REASSIGN, actor="U1", actor_name="Laura", target="U2", target_name="Marc"
    )
    assert (moved.state, moved.owner, moved.owner_name) == ("agent", "U2", "Marc")
    assert redis_client.get(keys.conversation_owner("c1")) == "agent:U2"
    back = await ownership.apply(second, Action.RETURN, actor="U2", actor_name="Marc")
    assert back.state == "returned" and redis_client.get(keys.conversation_owner("c1")) == "bot"
    history = [
        (e["action"], e["by"], e["from"], e["to"])
        for _, e in redis_client.xrange(handoff_events(second))
    ]
    assert history == [
        ("claim", "U1", "queued", "agent"),
        ("reassign", "U1", "agent", "agent"),
        ("return", "U2", "agent", "returned"),
    ]
    log = [e.get("event") for _, e in redis_client.xrange(keys.conversation_log("c1"))]
    assert log[-3:] == ["agent_joined", "agent_joined", "bot_back"]
    unknown = await ownership.apply("nope", Action.CLAIM, actor="U1", actor_name="L")
    assert unknown.outcome is Outcome.UNKNOWN

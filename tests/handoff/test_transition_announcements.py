"""A claim, a reassignment and a return queue, in the same transition, what the customer is told.

On a real Redis: the announcement enters the outbox with the transition or not at all, names the
new owner as the desk shows them (never an internal id), and a lost claim or a resolution queues
nothing (resolving asks for a rating instead).
"""

from __future__ import annotations

import redis
import redis.asyncio as aioredis

from handoff.ownership import Action, Outcome, Ownership
from relevo import keys
from relevo.messages import Outgoing
from tests.handoff.test_ownership import queue


def announcements(redis_client: redis.Redis) -> list[tuple[str | None, str | None]]:
    """The outbox's announcements, oldest first: (event, agent's name)."""
    found = [Outgoing.from_fields(f) for _, f in redis_client.xrange(keys.OUTBOX)]
    return [(m.announces, m.agent) for m in found if m.announces]


async def test_claim_reassign_and_return_queue_their_announcements_once(
    redis_client: redis.Redis, aclient: aioredis.Redis
) -> None:
    handoff = queue(redis_client)
    ownership = Ownership(aclient)
    await ownership.apply(handoff, Action.CLAIM, actor="web:laura", actor_name="Laura Gómez")
    lost = await ownership.apply(handoff, Action.CLAIM, actor="web:marc", actor_name="Marc")
    assert lost.outcome is Outcome.TAKEN
    await ownership.apply(
        handoff,
        Action.REASSIGN,
        actor="web:laura",
        actor_name="Laura Gómez",
        target="web:marc",
        target_name="Marc",
    )
    await ownership.apply(handoff, Action.RETURN, actor="web:marc", actor_name="Marc")
    assert announcements(redis_client) == [
        ("agent_joined", "Laura Gómez"),
        ("agent_joined", "Marc"),
        ("bot_back", None),
    ]
    entries = [f for _, f in redis_client.xrange(keys.OUTBOX)]
    assert {f["conversation_id"] for f in entries} == {"c1"}
    assert len({f["out_id"] for f in entries}) == 3  # each its own exactly-once key


async def test_resolving_queues_no_announcement_and_an_unknown_name_is_never_an_id(
    redis_client: redis.Redis, aclient: aioredis.Redis
) -> None:
    ownership = Ownership(aclient)
    resolved = queue(redis_client)
    await ownership.apply(resolved, Action.RESOLVE, actor="U1", actor_name="Laura")
    assert announcements(redis_client) == []
    handoff = queue(redis_client)
    await ownership.apply(handoff, Action.CLAIM, actor="U07", actor_name="U07")  # Slack: no name
    assert announcements(redis_client) == [("agent_joined", None)]

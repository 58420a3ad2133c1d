"""Who owns a handed-over conversation: the state machine, atomic in Redis.

    bot ──escalate──► queued ──claim──► agent(user) ──reassign──► agent(other)
                        │                  │
                        └──────────────────┴──return──► bot     (it answers the next message)
                                           └──resolve──► closed  (asked for a rating)
    closed ──the customer writes within the reopen window──► queued (same handoff, done in accept)

Each transition is one Lua script: it checks the current state, moves the handoff record and the
conversation's owner together, appends who and when to the handoff's event stream and an event to
the conversation log (the web chat shows "Laura joined", "the bot is back"). Two agents clicking
Claim at once: exactly one wins, the other learns who owns it.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from enum import StrEnum

import redis.asyncio as aioredis

from relevo import keys
from relevo.redis_conn import text_of


class Action(StrEnum):
    """What an agent can do to a handoff."""

    CLAIM = "claim"
    REASSIGN = "reassign"
    RETURN = "return"
    RESOLVE = "resolve"


class Outcome(StrEnum):
    """How a transition went."""

    DONE = "done"
    TAKEN = "taken"  # a claim lost: someone else owns it
    INVALID = "invalid"  # not allowed from the current state (e.g. resolve a returned one)
    UNKNOWN = "unknown"  # no such handoff


@dataclass(frozen=True)
class Transition:
    """The result: the outcome, the state now and its owner (user id and name)."""

    outcome: Outcome
    state: str
    owner: str
    owner_name: str


_TRANSITION = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'unknown', '', '', ''} end
local owner = redis.call('HGET', KEYS[1], 'owner') or ''
local owner_name = redis.call('HGET', KEYS[1], 'owner_name') or ''
local action, actor, actor_name, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local target, target_name = ARGV[5], ARGV[6]
local open = state == 'queued' or state == 'agent'
local new_state, new_owner, new_name, conversation_owner, event
if action == 'claim' then
  if state == 'agent' then return {'taken', state, owner, owner_name} end
  if state ~= 'queued' then return {'invalid', state, owner, owner_name} end
  new_state, new_owner, new_name = 'agent', actor, actor_name
  conversation_owner, event = 'agent:' .. actor, 'agent_joined'
elseif action == 'reassign' then
  if not open then return {'invalid', state, owner, owner_name} end
  new_state, new_owner, new_name = 'agent', target, target_name
  conversation_owner, event = 'agent:' .. target, 'agent_joined'
elseif action == 'return' then
  if not open then return {'invalid', state, owner, owner_name} end
  new_state, new_owner, new_name = 'returned', '', ''
  conversation_owner, event = 'bot', 'bot_back'
  redis.call('HSET', KEYS[5], 'returned_handoff', ARGV[8])
elseif action == 'resolve' then
  if not open then return {'invalid', state, owner, owner_name} end
  new_state, new_owner, new_name = 'closed', owner, owner_name
  conversation_owner, event = 'closed', 'closed'
  redis.call('HSET', KEYS[1], 'resolved_at', now, 'resolved_epoch', ARGV[7], 'resolved_by', actor)
else
  return redis.error_reply('unknown action ' .. action)
end
if new_state == 'agent' then redis.call('HSETNX', KEYS[1], 'claimed_at', now) end
redis.call('HSET', KEYS[1], 'state', new_state, 'owner', new_owner, 'owner_name', new_name,
  'updated_at', now)
redis.call('SET', KEYS[2], conversation_owner, 'KEEPTTL')
redis.call('XADD', KEYS[3], '*', 'action', action, 'by', actor, 'by_name', actor_name,
  'from', state, 'to', new_state, 'owner', new_owner, 'at', now)
redis.call('XADD', KEYS[4], '*', 'type', 'event', 'event', event, 'agent', new_name, 'time', now)
return {'done', new_state, new_owner, new_name}
"""


def refusal(action: Action, result: Transition) -> str:
    """What to tell an agent whose action did not happen (a lost claim names the owner)."""
    if result.outcome is Outcome.TAKEN:
        return f"{result.owner_name or result.owner} already owns this handoff."
    if result.outcome is Outcome.UNKNOWN:
        return "There is no such handoff."
    return f"This handoff is {result.state} now; {action.value} is not possible."


def handoff_events(handoff_id: str) -> str:
    """The handoff's history of transitions."""
    return f"{keys.handoff(handoff_id)}:events"


class Ownership:
    """Moves handoffs between the bot, the queue and agents."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client
        self._script = client.register_script(_TRANSITION)

    async def apply(
        self,
        handoff_id: str,
        action: Action,
        *,
        actor: str,
        actor_name: str,
        target: str = "",
        target_name: str = "",
    ) -> Transition:
        """Try one transition on behalf of `actor`."""
        conversation = await self._client.hget(keys.handoff(handoff_id), "conversation")
        if conversation is None:
            return Transition(Outcome.UNKNOWN, "", "", "")
        conversation = text_of(conversation)
        result = await self._script(
            keys=[
                keys.handoff(handoff_id),
                keys.conversation_owner(conversation),
                handoff_events(handoff_id),
                keys.conversation_log(conversation),
                keys.conversation(conversation),
            ],
            args=[
                action.value,
                actor,
                actor_name,
                _now(),
                target,
                target_name,
                time.time(),
                handoff_id,
            ],
        )
        outcome, state, owner, name = (text_of(v) for v in result)
        return Transition(Outcome(outcome), state, owner, name)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")

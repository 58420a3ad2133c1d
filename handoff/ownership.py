"""Who owns a handed-over conversation: the state machine, atomic in Redis.

    bot ──escalate──► queued ──claim──► agent(user) ──reassign──► agent(other)
                        │                  │
                        └──────────────────┴──return──► bot     (it answers the next message)
                                           └──resolve──► closed  (asked for a rating)
    closed ──the customer writes within the reopen window──► queued (same handoff, done in accept)

Each transition is one Lua script: it checks the current state, moves the handoff record and the
conversation's owner together, appends who and when to the handoff's event stream and an event to
the conversation log (the web chat shows "Laura joined", "the bot is back"). A claim, a
reassignment and a return also queue, in the same script, an announcement of that event on the
outbox: the delivery worker puts it in words for channels that cannot show events (Telegram), in
order with the agent's replies. Two agents clicking Claim at once: exactly one wins, the other
learns who owns it.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum

import redis.asyncio as aioredis

from relevo import keys
from relevo.lua import FLAT
from relevo.messages import Outgoing
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
    previous_owner: str = ""  # who owned it before (a resolve or return by someone else)
    previous_owner_name: str = ""


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
local shown = new_name
if new_name == new_owner then shown = '' end  -- a name the desk could not learn: never an id
redis.call('XADD', KEYS[4], '*', 'type', 'event', 'event', event, 'agent', shown, 'time', now)
if ARGV[9] ~= '' then redis.call('XADD', KEYS[6], '*', unpack(flat(cjson.decode(ARGV[9])))) end
return {'done', new_state, new_owner, new_name, owner, owner_name}
"""

# The conversation log's event of each action that the customer is told of (resolve asks for a
# rating instead).
ANNOUNCED = {
    Action.CLAIM: "agent_joined",
    Action.REASSIGN: "agent_joined",
    Action.RETURN: "bot_back",
}


WHERE_NOW = {
    "returned": "This conversation is back with the assistant",
    "closed": "This handoff was resolved",
    "agent": "This handoff is with {owner}",
    "queued": "This handoff is waiting for a claim",
}
"""Where a handoff stands, in an agent's words."""


def refusal(action: Action, result: Transition) -> str:
    """What to tell an agent whose action did not happen (a lost claim names the owner)."""
    owner = result.owner_name or result.owner
    if result.outcome is Outcome.TAKEN:
        return f"{owner} already owns this handoff."
    if result.outcome is Outcome.UNKNOWN:
        return "There is no such handoff."
    where = WHERE_NOW.get(result.state, "This handoff has moved on").format(owner=owner)
    return f"{where}, so it cannot be {PAST[action]} now."


PAST = {
    Action.CLAIM: "claimed",
    Action.REASSIGN: "reassigned",
    Action.RETURN: "returned",
    Action.RESOLVE: "resolved",
}


def announcement(
    handoff_id: str, conversation_id: str, action: Action, *, agent: str, agent_name: str
) -> Outgoing | None:
    """What the customer is to be told of `action`, worded on delivery; None for no word.

    `agent` and `agent_name` are the new owner's id and display name. A name that is only the
    id (the desk could not learn the person's name) is left out: the customer never sees an
    internal id, only "a person from our team".
    """
    event = ANNOUNCED.get(action)
    if event is None:
        return None
    shown = agent_name if agent_name and agent_name != agent else ""
    return Outgoing(
        out_id=f"desk:{handoff_id}:{event}:{uuid.uuid4().hex}",
        conversation_id=conversation_id,
        author="system",
        text="",
        agent=shown if event == "agent_joined" else None,
        announces=event,
    )


def handoff_events(handoff_id: str) -> str:
    """The handoff's history of transitions."""
    return f"{keys.handoff(handoff_id)}:events"


class Ownership:
    """Moves handoffs between the bot, the queue and agents."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client
        self._script = client.register_script(FLAT + _TRANSITION)

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
        reassigned = action is Action.REASSIGN
        told = announcement(
            handoff_id,
            conversation,
            action,
            agent=target if reassigned else actor,
            agent_name=target_name if reassigned else actor_name,
        )
        result = await self._script(
            keys=[
                keys.handoff(handoff_id),
                keys.conversation_owner(conversation),
                handoff_events(handoff_id),
                keys.conversation_log(conversation),
                keys.conversation(conversation),
                keys.OUTBOX,
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
                json.dumps(told.to_fields(), ensure_ascii=False) if told else "",
            ],
        )
        outcome, state, owner, name, *previous = (text_of(v) for v in result)
        return Transition(Outcome(outcome), state, owner, name, *previous)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")

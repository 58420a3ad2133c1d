"""A handoff follows its customer from a public post to the private chat they continued in.

A public post about the customer's own booking is handed to a person and the customer is invited
to a private chat. When they follow the invitation while the handoff is still open (queued, or
with an agent), the handoff moves with them: its record names the private conversation, which
the person now owns, so the agent's replies go there and the customer's private messages reach
the same thread; the public post is the assistant's again. The desk's thread is told (a `moved`
entry on the relay stream). One script: the move happens whole, or not at all when the handoff
changed meanwhile (claimed, resolved).
"""

from __future__ import annotations

from dataclasses import replace

import redis.asyncio as aioredis

from handoff.requests import HandoffRequest
from relevo import keys
from relevo.lua import RELAY_TO_DESK
from relevo.redis_conn import text_of

# KEYS: the handoff, the public conversation's owner, the private one's owner, its current
# handoff, its handoffs, the desk's relay stream. ARGV: the record as read, the record moved, the
# handoff id, the private conversation, the desk's note. `relay` comes from relevo.lua.
_MOVE = """
local state = redis.call('HGET', KEYS[1], 'state')
if (state ~= 'queued' and state ~= 'agent') or redis.call('HGET', KEYS[1], 'record') ~= ARGV[1] then
  return 0
end
local owner = redis.call('GET', KEYS[2])
if not owner or owner == 'bot' or owner == 'closed' then return 0 end
local ttl = redis.call('PTTL', KEYS[2])
redis.call('HSET', KEYS[1], 'record', ARGV[2], 'conversation', ARGV[4])
redis.call('SET', KEYS[3], owner)
redis.call('SET', KEYS[4], ARGV[3])
redis.call('RPUSH', KEYS[5], ARGV[3])
if ttl > 0 then
  for i = 3, 5 do redis.call('PEXPIRE', KEYS[i], ttl) end
end
redis.call('SET', KEYS[2], 'bot', 'KEEPTTL')
relay(KEYS[6], ARGV[4], 'moved:' .. ARGV[4], owner, ARGV[3], {kind = 'moved', text = ARGV[5]})
return 1
"""

MOVED_NOTE = "The customer continued in private ({channel}): your replies go there now."
UNCHECKED_NOTE = (
    "Someone continued in private ({channel}) with the post's public link: your replies go there "
    "now. Anyone who read the post could have followed it, so make sure it is the customer (ask "
    "for something the post did not show) before you share anything about their booking."
)
_CHANNEL_NAMES = {"telegram": "Telegram", "webchat": "the web chat"}


async def follow_to_private(
    client: aioredis.Redis, public_id: str, private_id: str, channel: str, *, checked: bool
) -> bool:
    """Move the public conversation's open handoff to `private_id`; False when none is open.

    `checked`: the private chat is known to be the post's author (the same Telegram user);
    otherwise the desk is told to make sure before sharing anything.
    """
    handoff_id = await client.get(keys.conversation_handoff(public_id))
    if handoff_id is None:
        return False
    handoff_id = text_of(handoff_id)
    raw = await client.hget(keys.handoff(handoff_id), "record")
    if raw is None:
        return False
    record = text_of(raw)
    moved = replace(HandoffRequest.from_json(record), conversation_id=private_id, channel=channel)
    done = await client.eval(
        RELAY_TO_DESK + _MOVE,
        6,
        keys.handoff(handoff_id),
        keys.conversation_owner(public_id),
        keys.conversation_owner(private_id),
        keys.conversation_handoff(private_id),
        keys.conversation_handoffs(private_id),
        keys.DESK_RELAY,
        record,
        moved.to_json(),
        handoff_id,
        private_id,
        (MOVED_NOTE if checked else UNCHECKED_NOTE).format(
            channel=_CHANNEL_NAMES.get(channel, channel)
        ),
    )
    return bool(done)

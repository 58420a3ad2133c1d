"""A handoff follows its customer from a public post to the private chat they continued in.

A public post about the customer's own booking is handed to a person and the customer is invited
to a private chat. When they follow the invitation while the handoff is still open (queued, or
with an agent), the handoff moves with them: its record names the private conversation, which
the person now owns, so the agent's replies go there and the customer's private messages reach
the same thread; the public post is the assistant's again. The desk's thread is told (a `moved`
entry on the relay stream). One script: the move happens whole, or not at all when the handoff
changed meanwhile (claimed, resolved).

A private chat has one open handoff at most: when the customer follows a later invitation into a
chat whose own handoff is still open, the public one is closed into it (`merged_into`, no rating
asked) instead of moving. Its thread says where the customer is handled (a `merged` entry), and
the open one's thread gets what they posted (QA s25: two open handoffs, and the customer's words
reached only the second). The same script appends a `merged` operations event for the reports,
which judge the case in the handoff it joined.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from enum import StrEnum

import redis.asyncio as aioredis

from handoff.requests import HandoffRequest
from relevo import keys
from relevo.events import MAXLEN as EVENTS_MAXLEN
from relevo.events import EventType, event_fields
from relevo.lua import RELAY_TO_DESK
from relevo.redis_conn import text_of

# KEYS: the handoff, the public conversation's owner, the private one's owner, its current
# handoff, its handoffs, the desk's relay stream, the operations events. ARGV: the record as read,
# the record moved, the handoff id, the private conversation, the desk's note of a move, the
# handoff key prefix, the time, the note for a merged handoff's thread, the note for the open
# one's, the `merged` event (JSON, without the handoff it joined), the events' MAXLEN. Returns
# what happened: 'moved', 'merged' or ''. `relay` and `flat` come from relevo.lua.
_MOVE = """
local state = redis.call('HGET', KEYS[1], 'state')
if (state ~= 'queued' and state ~= 'agent') or redis.call('HGET', KEYS[1], 'record') ~= ARGV[1] then
  return ''
end
local owner = redis.call('GET', KEYS[2])
if not owner or owner == 'bot' or owner == 'closed' then return '' end
local open = redis.call('GET', KEYS[4])
if open and open ~= ARGV[3] then
  local open_state = redis.call('HGET', ARGV[6] .. open, 'state')
  if open_state == 'queued' or open_state == 'agent' then
    redis.call('HSET', KEYS[1], 'state', 'closed', 'merged_into', open, 'resolved_at', ARGV[7],
      'resolved_by', 'relevo', 'updated_at', ARGV[7])
    redis.call('XADD', KEYS[1] .. ':events', '*', 'action', 'merge', 'by', 'relevo',
      'by_name', 'Relevo', 'from', state, 'to', 'closed', 'into', open, 'at', ARGV[7])
    redis.call('SET', KEYS[2], 'bot', 'KEEPTTL')
    relay(KEYS[6], ARGV[4], 'merged:' .. ARGV[3], owner, ARGV[3],
      {kind = 'merged', text = ARGV[8]})
    relay(KEYS[6], ARGV[4], 'joined:' .. ARGV[3], redis.call('GET', KEYS[3]) or '', open,
      {kind = 'moved', text = ARGV[9]})
    local event = cjson.decode(ARGV[10])
    event.into = open
    redis.call('XADD', KEYS[7], 'MAXLEN', '~', ARGV[11], '*', unpack(flat(event)))
    return 'merged'
  end
end
local ttl = redis.call('PTTL', KEYS[2])
redis.call('HSET', KEYS[1], 'record', ARGV[2], 'conversation', ARGV[4])
redis.call('SET', KEYS[3], owner)
redis.call('SET', KEYS[4], ARGV[3])
redis.call('RPUSH', KEYS[5], ARGV[3])
if ttl > 0 then
  for i = 3, 5 do redis.call('PEXPIRE', KEYS[i], ttl) end
end
redis.call('SET', KEYS[2], 'bot', 'KEEPTTL')
relay(KEYS[6], ARGV[4], 'moved:' .. ARGV[3], owner, ARGV[3], {kind = 'moved', text = ARGV[5]})
return 'moved'
"""

MOVED_NOTE = "The customer continued in private ({channel}): your replies go there now."
UNCHECKED_NOTE = (
    "Someone continued in private ({channel}) with the post's public link: your replies go there "
    "now. Anyone who read the post could have followed it, so make sure it is the customer (ask "
    "for something the post did not show) before you share anything about their booking."
)
MERGED_NOTE = (
    "The customer continued in private ({channel}), where their earlier handoff is still open: "
    "this one is closed into it, without a rating. Reply in that handoff's thread."
)
JOINED_NOTE = (
    "The customer posted again in public and continued here ({channel}) with a new link: "
    "“{said}”. That post's handoff was closed into this one."
)
UNCHECKED_JOIN = (
    " Anyone who read the post could have followed its link: make sure this chat is the post's "
    "author before you share anything about it."
)
_CHANNEL_NAMES = {"telegram": "Telegram", "webchat": "the web chat"}


class Followed(StrEnum):
    """What became of a public conversation's open handoff when its customer went private."""

    NONE = ""  # none was open: the assistant answers in private
    MOVED = "moved"  # it moved to the private chat
    MERGED = "merged"  # the private chat had its own open handoff: closed into that one


async def follow_to_private(
    client: aioredis.Redis,
    public_id: str,
    private_id: str,
    channel: str,
    *,
    checked: bool,
    said: str = "",
) -> Followed:
    """Move the public conversation's open handoff to `private_id` (or into the one open there).

    `checked`: the private chat is known to be the post's author (the same Telegram user);
    otherwise the desk is told to make sure before sharing anything. `said`: the public words
    the invitation answered (redacted), for the thread of a handoff they join.
    """
    handoff_id = await client.get(keys.conversation_handoff(public_id))
    if handoff_id is None:
        return Followed.NONE
    handoff_id = text_of(handoff_id)
    raw = await client.hget(keys.handoff(handoff_id), "record")
    if raw is None:
        return Followed.NONE
    record = text_of(raw)
    request = HandoffRequest.from_json(record)
    moved = replace(request, conversation_id=private_id, channel=channel)
    merged = event_fields(
        EventType.MERGED, handoff=handoff_id, conversation=public_id, channel=request.channel
    )
    where = _CHANNEL_NAMES.get(channel, channel)
    joined = JOINED_NOTE.format(channel=where, said=said) + ("" if checked else UNCHECKED_JOIN)
    done = await client.eval(
        RELAY_TO_DESK + _MOVE,
        7,
        keys.handoff(handoff_id),
        keys.conversation_owner(public_id),
        keys.conversation_owner(private_id),
        keys.conversation_handoff(private_id),
        keys.conversation_handoffs(private_id),
        keys.DESK_RELAY,
        keys.EVENTS,
        record,
        moved.to_json(),
        handoff_id,
        private_id,
        (MOVED_NOTE if checked else UNCHECKED_NOTE).format(channel=where),
        keys.handoff(""),
        dt.datetime.now(dt.UTC).isoformat(),
        MERGED_NOTE.format(channel=where),
        joined,
        json.dumps(merged, ensure_ascii=False),
        EVENTS_MAXLEN,
    )
    return Followed(text_of(done))

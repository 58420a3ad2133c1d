"""Messages that waited behind the turn that handed their conversation to a person.

A customer often splits a request in two quick messages ("I want to talk to a person", "it's
about my broken bag"). Both are accepted for the assistant; the first one's turn hands the
conversation over, and the second would then reach Rasa, which answers after saying it steps
back. So the assistant worker remembers the conversations its turns handed over, and for a
later message of one of them asks Redis, in one step, whether a person now owns it: if so the
message goes to the desk (as the accept script relays what arrives after a handoff), and the
entry is acknowledged; the customer's words are already in the conversation log.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict

import redis.asyncio as aioredis

from relevo import keys
from relevo.lua import RELAY_TO_DESK

# How long a handover is remembered: the messages that waited behind its turn follow it in
# the same lane within seconds; later ones were relayed when they were accepted.
REMEMBER_SECONDS = 3600.0

# KEYS: the conversation's owner, its current handoff, the desk relay, the inbound stream.
# ARGV: the conversation id, the message's log id, its relay fields (JSON), the inbound group,
# the entry id. Returns 1 when relayed, 0 when the assistant still owns the conversation.
_RELAY_IF_OWNED = """
local owner = redis.call('GET', KEYS[1]) or 'bot'
if owner == 'bot' or owner == 'closed' then return 0 end
relay(KEYS[3], ARGV[1], ARGV[2], owner, redis.call('GET', KEYS[2]) or '', cjson.decode(ARGV[3]))
redis.call('XACK', KEYS[4], ARGV[4], ARGV[5])
return 1
"""


class HandedOver:
    """The conversations this worker's turns handed over, recently."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._relay = client.register_script(RELAY_TO_DESK + _RELAY_IF_OWNED)
        self._since: OrderedDict[str, float] = OrderedDict()

    def remember(self, conversation_id: str) -> None:
        """A turn of this conversation handed it to a person."""
        now = time.monotonic()
        self._since[conversation_id] = now
        self._since.move_to_end(conversation_id)
        while self._since and next(iter(self._since.values())) < now - REMEMBER_SECONDS:
            self._since.popitem(last=False)

    async def relayed(
        self, conversation_id: str, log_id: str, fields: dict[str, str], entry_id: str
    ) -> bool:
        """Relay the message to the desk if a person owns its conversation now.

        `fields` are the customer's message as the desk reads it (text, display, kind). Only
        the conversations remembered here cost a round trip.
        """
        if conversation_id not in self._since:
            return False
        relayed = await self._relay(
            keys=[
                keys.conversation_owner(conversation_id),
                keys.conversation_handoff(conversation_id),
                keys.DESK_RELAY,
                keys.INBOUND,
            ],
            args=[
                conversation_id,
                log_id,
                json.dumps(fields, ensure_ascii=False),
                keys.INBOUND_GROUP,
                entry_id,
            ],
        )
        if not relayed:  # the assistant has it again (handed back): ask no more
            self._since.pop(conversation_id, None)
        return bool(relayed)

"""Rasa's Redis lock store with each step in one atomic Lua script.

Rasa 3.6's `RedisLockStore` reads the conversation's ticket lock, changes it in Python and
writes it back: seven round trips on every turn (issue a ticket: GET, SET; check it is served:
GET; finish: GET, SET, GET, DEL), 7% of Rasa's CPU under load, and not atomic: two replicas
that take a ticket for the same conversation at the same moment can both read "no lock", both
get ticket 0 and run the two turns at once, which the lock exists to prevent. Here, taking a
ticket and learning whether it is served is one script, and finishing is one more; the key
expires with the last ticket's lifetime, so a replica that dies holding it leaves nothing
behind. The stored value keeps Rasa's format, so Rasa's own store and this one can share locks
during a rolling update.

Loaded by Rasa from nlu/endpoints.yml (`type: relevo_lock_store.RelevoLockStore`). Runs in
Rasa's environment (Python 3.10, redis-py 4.6).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cached_property

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from redis.commands.core import Script

# A lock is {"conversation_id": id, "tickets": ["{\"number\": 0, \"expires\": 1.7e9}", ...]}
# (Rasa's format: each ticket is itself JSON). Tickets that expired are dropped on the way.
_LIVE_TICKETS = """
local function live_tickets(raw, now, without)
  local kept, latest = {}, now
  if raw then
    for _, text in ipairs(cjson.decode(raw).tickets or {}) do
      local ticket = cjson.decode(text)
      if ticket.expires >= now and ticket.number ~= without then
        table.insert(kept, ticket)
        if ticket.expires > latest then latest = ticket.expires end
      end
    end
  end
  return kept, latest
end
local function store(key, conversation, tickets, now, latest)
  local texts = {}
  for i, ticket in ipairs(tickets) do
    texts[i] = cjson.encode({number = ticket.number, expires = ticket.expires})
  end
  local value = cjson.encode({conversation_id = conversation, tickets = texts})
  redis.call('SET', key, value, 'PX', math.ceil((latest - now) * 1000) + 1000)
  return value
end
"""
# KEYS: the lock. ARGV: conversation id, now, lifetime. Returns the ticket, the ticket being
# served and the lock as stored.
_ISSUE = (
    _LIVE_TICKETS
    + """
local now = tonumber(ARGV[2])
local tickets, latest = live_tickets(redis.call('GET', KEYS[1]), now, nil)
local number = 0
if #tickets > 0 then number = tickets[#tickets].number + 1 end
local expires = now + tonumber(ARGV[3])
table.insert(tickets, {number = number, expires = expires})
if expires > latest then latest = expires end
local value = store(KEYS[1], ARGV[1], tickets, now, latest)
return {number, tickets[1].number, value}
"""
)
# KEYS: the lock. ARGV: conversation id, now, the ticket to remove (-1: none). Deletes the lock
# when no live ticket is left; returns how many are.
_RELEASE = (
    _LIVE_TICKETS
    + """
local now = tonumber(ARGV[2])
local tickets, latest = live_tickets(redis.call('GET', KEYS[1]), now, tonumber(ARGV[3]))
if #tickets == 0 then
  redis.call('DEL', KEYS[1])
else
  store(KEYS[1], ARGV[1], tickets, now, latest)
end
return #tickets
"""
)
NO_TICKET = -1


class RelevoLockStore(RedisLockStore):
    """Rasa's RedisLockStore, each step one atomic script (see the module's docstring)."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        super().__init__(host=endpoint_config.url, **endpoint_config.kwargs)

    # Registered on first use, with the client a subclass may have set in its __init__.
    @cached_property
    def _issue_script(self) -> Script:
        return self.red.register_script(_ISSUE)

    @cached_property
    def _release_script(self) -> Script:
        return self.red.register_script(_RELEASE)

    def _issue(self, conversation_id: str, lifetime: float) -> tuple[int, int, str]:
        """Take a ticket: its number, the number being served, the lock as stored."""
        number, serving, value = self._issue_script(
            keys=[self.key_prefix + conversation_id],
            args=[conversation_id, repr(time.time()), repr(float(lifetime))],
        )
        return int(number), int(serving), value.decode() if isinstance(value, bytes) else value

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Rasa's `issue_ticket`, atomic."""
        return self._issue(conversation_id, lock_lifetime)[0]

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncIterator[TicketLock]:
        """Rasa's `lock`: a served ticket is known at once, a waiting one polls as Rasa does."""
        ticket, serving, value = self._issue(conversation_id, lock_lifetime)
        try:
            if ticket == serving:
                yield TicketLock.from_dict(json.loads(value))
            else:
                yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        finally:
            self.cleanup(conversation_id, ticket)

    def update_lock(self, conversation_id: str) -> None:
        """Drop expired tickets, atomically (Rasa writes back what it read)."""
        self._release(conversation_id, NO_TICKET)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Finish serving `ticket_number`; delete the lock when nobody waits. One script."""
        self._release(conversation_id, ticket_number)

    def _release(self, conversation_id: str, ticket_number: int) -> int:
        return int(
            self._release_script(
                keys=[self.key_prefix + conversation_id],
                args=[conversation_id, repr(time.time()), ticket_number],
            )
        )

"""Customers across channels: linking profiles into one person.

A customer has one profile per channel (written by the inbound pipeline). When they show they
are the same person on two channels (they are the first to follow the private link of a public
reply), the profiles are linked: both then belong to one `relevo:person:<id>` set, and the
history of that person (`handoff.history.customer_history`) covers every conversation of every
linked profile. Following a link is possession, not proof: docs/security.md says what it allows.
"""

from __future__ import annotations

import secrets
import uuid

import redis.asyncio as aioredis

from relevo import keys
from relevo.redis_conn import text_of

INVITE_TTL_SECONDS = 7 * 24 * 3600

# KEYS: the two profiles. ARGV: a new person id, the person key's prefix, the retention (0: kept):
# the two profiles and the person set then expire that long from now, as a message renews them.
_LINK = """
local prefix = ARGV[2]
local pa = redis.call('HGET', KEYS[1], 'person')
local pb = redis.call('HGET', KEYS[2], 'person')
if not pa then
  pa = pb or ARGV[1]
  redis.call('HSET', KEYS[1], 'person', pa)
  redis.call('SADD', prefix .. pa, KEYS[1])
end
if pb and pb ~= pa then
  for _, member in ipairs(redis.call('SMEMBERS', prefix .. pb)) do
    redis.call('HSET', member, 'person', pa)
    redis.call('SADD', prefix .. pa, member)
  end
  redis.call('DEL', prefix .. pb)
elseif not pb then
  redis.call('HSET', KEYS[2], 'person', pa)
  redis.call('SADD', prefix .. pa, KEYS[2])
end
local keep = tonumber(ARGV[3])
if keep > 0 then
  for _, key in ipairs({KEYS[1], KEYS[2], prefix .. pa}) do redis.call('EXPIRE', key, keep) end
end
return pa
"""


class Customers:
    """Profiles, links between them and invitations to private channels.

    The history of a person's conversations, for the desk, is `handoff.history.customer_history`.
    """

    def __init__(self, client: aioredis.Redis, retention_seconds: int = 0) -> None:
        self._client = client
        self._link = client.register_script(_LINK)
        self._retention = retention_seconds

    async def link(self, profile_a: str, profile_b: str) -> str:
        """Record that two profiles are one person; returns the person id.

        With `retention_seconds` > 0, both profiles and the person expire that long from now.
        """
        person = await self._link(
            keys=[profile_a, profile_b],
            args=[uuid.uuid4().hex, keys.person(""), self._retention],
        )
        return str(person.decode() if isinstance(person, bytes) else person)

    async def invite_token(self, conversation_id: str) -> str:
        """The token that continues a public conversation privately (one per conversation)."""
        key = keys.conversation_invite(conversation_id)
        await self._client.set(key, secrets.token_urlsafe(12), nx=True, ex=INVITE_TTL_SECONDS)
        token = text_of(await self._client.get(key))
        await self._client.set(keys.invite(token), conversation_id, ex=INVITE_TTL_SECONDS)
        return token

    async def claim_invitation(self, token: str, conversation_id: str) -> str | None:
        """The public conversation `token` continues, if valid and not followed elsewhere.

        The link is posted in public, so anyone who reads the thread can follow it: the first
        private conversation to follow it claims it, and only that one is linked (following it
        again there is fine; following it from another conversation is refused).
        """
        if not token or len(token) > 64:
            return None
        found = await self._client.get(keys.invite(token))
        if not found:
            return None
        claim = keys.invite_claim(token)
        first = await self._client.set(claim, conversation_id, nx=True, ex=INVITE_TTL_SECONDS)
        if not first and text_of(await self._client.get(claim)) != conversation_id:
            return None
        return text_of(found)

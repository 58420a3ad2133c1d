"""Invitations to private channels: the token of a public conversation, and who took it up.

A followed invitation does not link the public and the private profiles into one person: the link
is a token in a public post, possession and not proof, and a person's profiles share their history
at the desk and their erasure (`relevo forget`). docs/security.md says what following allows.
"""

from __future__ import annotations

import secrets

import redis.asyncio as aioredis

from relevo import keys
from relevo.redis_conn import text_of

INVITE_TTL_SECONDS = 7 * 24 * 3600


class Customers:
    """Invitation tokens to private channels, and the conversation that took each one up."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client

    async def invite_token(self, conversation_id: str, asked: str | None = None) -> str:
        """The token that continues a public conversation privately (one per conversation).

        `asked`: the public log entry of the question this invitation answers, which following
        the link carries into the private conversation (the latest invitation's wins).
        """
        key = keys.conversation_invite(conversation_id)
        await self._client.set(key, secrets.token_urlsafe(12), nx=True, ex=INVITE_TTL_SECONDS)
        token = text_of(await self._client.get(key))
        await self._client.set(keys.invite(token), conversation_id, ex=INVITE_TTL_SECONDS)
        if asked:
            await self._client.set(keys.invite_asked(token), asked, ex=INVITE_TTL_SECONDS)
        return token

    async def asked_and_carried(self, token: str) -> tuple[str | None, str | None]:
        """The entry the latest invitation answered, and the entry last carried to private."""
        asked, carried = await self._client.mget(
            keys.invite_asked(token), keys.invite_carried(token)
        )
        return (text_of(asked) if asked else None, text_of(carried) if carried else None)

    async def mark_carried(self, token: str, entry_id: str) -> None:
        """Remember that the question of public log entry `entry_id` was carried to private."""
        await self._client.set(keys.invite_carried(token), entry_id, ex=INVITE_TTL_SECONDS)

    async def invited(self, token: str) -> str | None:
        """The public conversation `token` continues; None when unknown or expired."""
        if not token or len(token) > 64:
            return None
        found = await self._client.get(keys.invite(token))
        return text_of(found) if found else None

    async def claim_invitation(self, token: str, conversation_id: str) -> bool:
        """Take `token` up in `conversation_id`; False when another conversation took it first.

        Only one private conversation continues a public one: following the link again there is
        fine, from anywhere else it is refused. Call it once the follower may take it up, so that
        someone refused leaves the link to the customer.
        """
        claim = keys.invite_claim(token)
        if await self._client.set(claim, conversation_id, nx=True, ex=INVITE_TTL_SECONDS):
            return True
        return text_of(await self._client.get(claim)) == conversation_id

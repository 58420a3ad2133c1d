"""Moving a public conversation to a private channel, and carrying the customer over.

A public reply that needs personal data invites the customer to continue in private with a link
(a Telegram deep link `t.me/<bot>?start=<token>` when Telegram is on, and the web chat's
`/?continue=<token>`). Following it links the customer's public profile to the private one and
opens the private conversation with a welcome that knows where it comes from. The link is seen
by everyone who reads the thread, so only the first private conversation to follow it is linked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import redis.asyncio as aioredis

from actions.compose import shorten
from bot.conversations import ConversationStore
from bot.customers import Customers
from bot.inbound import Channel, Inbound, Kind
from bot.texts import text
from handoff.follow import follow_to_private
from kb_index.language import detect_language
from relevo.messages import Outgoing
from relevo.settings import Settings

log = logging.getLogger(__name__)


def with_invitation(body: str, links: tuple[str, ...]) -> str:
    """A public reply with the line that invites to continue in private, when it has links."""
    if not links:
        return body
    language = detect_language(body).code
    return f"{body}\n{text('invite', language, link=links[0])}"


QUOTED_CHARS = 300
"""How much of the public message the private welcome quotes."""


@dataclass(frozen=True)
class Continued:
    """A followed invitation: the public conversation, and the customer's last words there.

    The channel hands `question` to the assistant in the private conversation, which answers it
    there: the customer does not have to write it again.
    """

    public_id: str
    question: str

    def carried(self, inbound: Inbound) -> Inbound:
        """The question as the private conversation's message (`inbound`: its channel's)."""
        return replace(
            inbound,
            message_id=f"{inbound.conversation_id}:carried:{self.public_id}",
            text=self.question,
            display=None,
            kind=Kind.TEXT,
        )


class Invitations:
    """Makes invitation links and accepts them."""

    def __init__(
        self,
        client: aioredis.Redis,
        settings: Settings,
        telegram_username: Callable[[], str | None] = lambda: None,
    ) -> None:
        retention = settings.retention_days * 24 * 3600
        self._client = client
        self._customers = Customers(client, retention)
        self._store = ConversationStore(client, retention)
        self._public_url = settings.public_url.rstrip("/")
        self._telegram_username = telegram_username

    async def links_for(self, conversation_id: str) -> tuple[str, ...]:
        """The links that continue `conversation_id` in private, the preferred first."""
        token = await self._customers.invite_token(conversation_id)
        links = []
        username = self._telegram_username()
        if username:
            links.append(f"https://t.me/{username}?start={token}")
        links.append(f"{self._public_url}/?continue={token}")
        return tuple(links)

    async def accept(
        self,
        token: str,
        *,
        conversation_id: str,
        channel: Channel,
        route: dict[str, Any],
        profile_key: str,
        fallback_language: str | None,
    ) -> Continued | None:
        """Continue the invited public conversation in `conversation_id`.

        None when the token is unknown or expired, when another conversation followed it
        first, or when the public conversation is gone (past its retention). A second follow
        from the same conversation (a redelivered /start) is accepted with nothing to carry.
        """
        public_id = await self._customers.claim_invitation(token, conversation_id)
        if public_id is None:
            log.warning(
                "invitation refused: unknown, expired or followed from another conversation",
                extra={"conversation": conversation_id},
            )
            return None
        if (await self._store.meta(conversation_id)).get("continued_from") == public_id:
            return Continued(public_id, question="")
        public = await self._store.meta(public_id)
        if "customer" not in public:
            log.warning(
                "invitation refused: the public conversation is gone",
                extra={"conversation": conversation_id, "from": public_id},
            )
            return None
        person = await self._customers.link(public["customer"], profile_key)
        await self._store.start(
            conversation_id,
            channel=channel.value,
            route=route,
            customer=profile_key,
            continued_from=public_id,
        )
        question = await self._store.last_said(public_id)
        language = detect_language(question, default=fallback_language or "en").code
        handle = public["route"].get("handle")
        name = f" @{handle}" if handle else ""
        with_person = await follow_to_private(
            self._client, public_id, conversation_id, channel.value
        )
        if with_person:  # the person answers here now: nothing for the assistant
            welcome = text("continued_person", language, name=name)
            question = ""
        else:
            welcome = text("continued", language, name=name, said=shorten(question, QUOTED_CHARS))
        await self._store.enqueue(
            Outgoing(
                out_id=f"{conversation_id}:continued:{public_id}",
                conversation_id=conversation_id,
                author="bot",
                text=welcome,
                ends_turn=not question,  # else the assistant's answer to it ends the turn
            )
        )
        log.info(
            "continued in private",
            extra={"conversation": conversation_id, "from": public_id, "person": person},
        )
        return Continued(public_id, question)

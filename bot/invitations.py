"""Moving a public conversation to a private channel, and carrying the customer over.

A public reply that needs personal data invites the customer to continue in private with a link
(a Telegram deep link `t.me/<bot>?start=<token>` when Telegram is on, and the web chat's
`/?continue=<token>`). Following it opens the private conversation with a welcome that knows where
it comes from, and moves an open handoff there. The link is seen by everyone who reads the
thread, so who follows it matters (`follower`): an invitation from a Telegram group is bound to
the member who was invited, and anyone else is told it is not theirs; from a social post, whose
author cannot be matched with a Telegram user or a web chat, the private chat is never shown the
post's personal data, and the desk is told to check who it is talking to.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import redis.asyncio as aioredis

from actions.compose import shorten
from bot.conversations import ConversationStore
from bot.customers import Customers
from bot.inbound import Channel, Inbound, Kind
from bot.texts import text
from handoff.follow import Followed, follow_to_private
from kb_index.language import detect_language
from relevo.messages import Outgoing
from relevo.pii import redact
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
DESK_QUOTED_CHARS = 1000
"""How much of a public post a desk note quotes when its handoff joins an open one."""

BOUND = frozenset({Channel.TELEGRAM.value})
"""Networks with private chats of their own: an invitation from one of their public
conversations (a Telegram group) is bound to its author there, whose id the follower's shows."""


class Follower(StrEnum):
    """Who follows an invitation, as far as the private channel can tell."""

    INVITED = "invited"  # the public conversation's author, on the same network
    UNCHECKED = "unchecked"  # another network: anyone who read the post could be following
    OTHER = "other"  # someone else than the author the invitation is bound to


def follower(public: Mapping[str, Any], channel: Channel, profile_key: str) -> Follower:
    """Whether `profile_key`, following on `channel`, may take up `public`'s invitation."""
    if public.get("channel") not in BOUND:
        return Follower.UNCHECKED
    same = public.get("channel") == channel.value and public.get("customer") == profile_key
    return Follower.INVITED if same else Follower.OTHER


@dataclass(frozen=True)
class Continued:
    """A followed invitation: the public conversation, and the question that earned it there.

    The channel hands `question` to the assistant in the private conversation, which answers it
    there: the customer does not have to write it again. `again`: the link was followed before
    from this conversation and has no newer question to carry.
    """

    public_id: str
    question: str
    asked: str = ""  # the public log entry of the question
    again: bool = False

    def carried(self, inbound: Inbound) -> Inbound:
        """The question as the private conversation's message (`inbound`: its channel's)."""
        return replace(
            inbound,
            message_id=f"{inbound.conversation_id}:carried:{self.public_id}:{self.asked}",
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
        self._client = client
        self._customers = Customers(client)
        self._store = ConversationStore(client, settings.retention_days * 24 * 3600)
        self._public_url = settings.public_url.rstrip("/")
        self._telegram_username = telegram_username

    async def links_for(self, conversation_id: str) -> tuple[str, ...]:
        """The links that continue `conversation_id` in private, the preferred first.

        Following one carries the customer's latest public words now, the question the reply
        with the links answers, into the private conversation.
        """
        asked = await self._store.last_said_entry(conversation_id)
        token = await self._customers.invite_token(conversation_id, asked)
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

        None when the token is unknown or expired, or the public conversation is gone (past its
        retention: the follower is told the link no longer works), when the invitation is bound
        to someone else (who is told so, and the customer can still take it up), or when another
        conversation took it up first. A second follow from the same conversation carries the
        question of a newer invitation (the token is the conversation's, so a second invitation
        sends the same link); else it is accepted with nothing to carry (`again`: a tapped link
        again, a redelivered /start). An unchecked follower is shown and carries the public
        words redacted.
        """
        public_id = await self._customers.invited(token)
        public = await self._store.meta(public_id) if public_id else {}
        if public_id is None or "customer" not in public:
            await self._store.start(
                conversation_id, channel=channel.value, route=route, customer=profile_key
            )
            language = await self._store.language(conversation_id) or fallback_language
            expired = f"token-{hashlib.sha256(token.encode()).hexdigest()[:12]}"
            await self._say(
                conversation_id, expired, text("invite_expired", language), kind="expired"
            )
            log.warning(
                "invitation refused: unknown, expired, or its public conversation is gone",
                extra={"conversation": conversation_id},
            )
            return None
        who = follower(public, channel, profile_key)
        if who is Follower.OTHER:
            await self._refuse(
                conversation_id,
                public_id,
                "not_invited",
                channel,
                route,
                profile_key,
                fallback_language,
            )
            log.warning(
                "invitation refused: it is bound to another customer",
                extra={"conversation": conversation_id, "from": public_id},
            )
            return None
        if not await self._customers.claim_invitation(token, conversation_id):
            await self._refuse(
                conversation_id,
                public_id,
                "invite_taken",
                channel,
                route,
                profile_key,
                fallback_language,
            )
            log.warning(
                "invitation refused: taken up in another conversation",
                extra={"conversation": conversation_id, "from": public_id},
            )
            return None
        asked, carried = await self._customers.asked_and_carried(token)
        if (await self._store.meta(conversation_id)).get("continued_from") == public_id:
            if asked is None or asked == carried:
                return Continued(public_id, question="", again=True)
        else:
            await self._store.start(
                conversation_id,
                channel=channel.value,
                route=route,
                customer=profile_key,
                continued_from=public_id,
            )
        said = await self._store.said_at(public_id, asked) if asked else ""
        said = said or await self._store.last_said(public_id)
        shown = redact(said)  # what the private chat may see of the public words
        question = said if who is Follower.INVITED else shown
        language = detect_language(said, default=fallback_language or "en").code
        handle = public["route"].get("handle")
        name = f" @{handle}" if handle else ""
        followed = await follow_to_private(
            self._client,
            public_id,
            conversation_id,
            channel.value,
            checked=who is Follower.INVITED,
            said=shorten(shown, DESK_QUOTED_CHARS),
        )
        if followed is not Followed.NONE:  # a person answers here now: not the assistant
            welcome = text("continued_person", language, name=name)
            question = ""
        else:
            welcome = text("continued", language, name=name, said=shorten(shown, QUOTED_CHARS))
        # Without a question, nothing else follows: the welcome ends the turn.
        welcomed = f"{public_id}:{asked}" if asked else public_id
        await self._say(conversation_id, welcomed, welcome, ends_turn=not question)
        if asked:
            await self._customers.mark_carried(token, asked)
        log.info(
            "continued in private",
            extra={"conversation": conversation_id, "from": public_id, "follower": who.value},
        )
        return Continued(public_id, question, asked or "")

    async def _refuse(
        self,
        conversation_id: str,
        public_id: str,
        reason: str,
        channel: Channel,
        route: dict[str, Any],
        profile_key: str,
        fallback_language: str | None,
    ) -> None:
        """Start the follower's own conversation and tell them why the link does not carry on.

        `reason` is the text's key; it is said once per public conversation (a reconnect or a
        redelivered /start is not told twice).
        """
        await self._store.start(
            conversation_id, channel=channel.value, route=route, customer=profile_key
        )
        language = await self._store.language(conversation_id) or fallback_language
        kind = reason.replace("_", "-")
        await self._say(conversation_id, public_id, text(reason, language), kind=kind)

    async def _say(
        self,
        conversation_id: str,
        public_id: str,
        body: str,
        *,
        kind: str = "continued",
        ends_turn: bool = True,
    ) -> None:
        """Queue the gateway's answer to a followed invitation (once: its id is stable)."""
        await self._store.enqueue(
            Outgoing(
                out_id=f"{conversation_id}:{kind}:{public_id}",
                conversation_id=conversation_id,
                author="bot",
                text=body,
                ends_turn=ends_turn,
            )
        )

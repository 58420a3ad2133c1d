"""The desk in Slack (slack-bolt): cards in a channel, the conversation in each card's thread.

Bolt verifies Slack's signatures and acknowledges within 3 seconds (listeners run after the ack).
Bolt does not de-duplicate Slack's retries, so the desk does: an agent's reply is keyed by its
Slack message (channel, thread, ts), never by the delivery, and is relayed once however often
Slack sends the event. Web API calls retry on `ratelimited` (Retry-After) and server errors.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs

import redis.asyncio as aioredis
from fastapi import APIRouter, Request, Response
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from handoff.cards import card_blocks, card_text
from handoff.desk import Desk
from handoff.desk_view import ALERT_ICONS, AlertLevel, HandoffView
from handoff.history import customer_history, history_text
from handoff.invites import invite_hint, invited_line
from handoff.ownership import Action, Outcome, Transition, refusal
from handoff.replies import ReplyOutcome, hint
from handoff.routing import Routing, configured_routing
from handoff.sla import SlaMonitor
from handoff.slack_events import ThreadMessage, thread_message
from handoff.slack_text import mentioned_users, plain_text, slack_date, slack_escaped
from relevo.settings import Settings

log = logging.getLogger(__name__)

DELIVERED_REACTION = "white_check_mark"
NOTE_REACTION = "memo"
MISSING_CHANNEL = ("channel_not_found", "not_in_channel", "is_archived")
FILES_NOT_SENT = (
    "Your words went to the customer, but not the attachment: only text travels. "
    "Describe what it shows, or paste a link to it."
)
FILES_ONLY = (
    "Nothing was sent: only text reaches the customer, not files. "
    "Write what they need to know, or paste a link."
)
CHANGES_NOT_SENT = (
    "The customer still has the first version: edits and deletions don't reach them. "
    "Send a new message with the correction."
)


class SlackDesk:
    """The Slack adapter of the desk, and the Bolt app that receives agents' clicks and replies."""

    def __init__(
        self, settings: Settings, client: aioredis.Redis, routing: Routing | None = None
    ) -> None:
        assert settings.slack_bot_token and settings.slack_signing_secret and settings.slack_channel
        self.web = AsyncWebClient(
            token=settings.slack_bot_token.get_secret_value(),
            base_url=settings.slack_api_url,
            retry_handlers=[
                AsyncRateLimitErrorRetryHandler(max_retry_count=5),
                AsyncServerErrorRetryHandler(max_retry_count=3),
            ],
        )
        self.signing_secret = settings.slack_signing_secret.get_secret_value()
        self.app = AsyncApp(signing_secret=self.signing_secret, client=self.web)
        self.routing = routing or configured_routing(settings.routing_file)
        self.desk = Desk(client, self, self.routing)
        self.sla = SlaMonitor(client, self, self.routing)
        self._channel = settings.slack_channel
        self._people: dict[str, dict[str, Any]] = {}
        self._register()

    # --- the adapter --------------------------------------------------------------------

    async def post_card(self, view: HandoffView) -> tuple[str, str]:
        """A card in the department's channel (the desk channel when the app cannot post there)."""
        wanted = self.routing.department(view.request.department).slack_channel or self._channel
        try:
            posted = await self.web.chat_postMessage(
                channel=wanted, text=card_text(view), blocks=card_blocks(view)
            )
        except SlackApiError as exc:
            if wanted == self._channel or exc.response.get("error") not in MISSING_CHANNEL:
                raise
            log.warning(
                "department channel unavailable: card posted to the desk channel",
                extra={"channel": wanted, "error": exc.response.get("error")},
            )
            posted = await self.web.chat_postMessage(
                channel=self._channel, text=card_text(view), blocks=card_blocks(view)
            )
        return str(posted["channel"]), str(posted["ts"])

    async def update_card(self, view: HandoffView) -> None:
        """Redraw the card with its owner and state."""
        await self.web.chat_update(
            channel=view.card_channel,
            ts=view.card_ts,
            text=card_text(view),
            blocks=card_blocks(view),
        )

    async def post_in_thread(self, view: HandoffView, body: str) -> None:
        """A message under the card (the customer's words in it escaped, as everywhere)."""
        await self.web.chat_postMessage(
            channel=view.card_channel, thread_ts=view.card_ts, text=slack_escaped(body)
        )

    async def post_invitation(
        self, view: HandoffView, *, agent: str, agent_name: str, body: str
    ) -> str:
        """A line in the thread; ✅ on it once the invitation is on the public thread."""
        posted = await self.web.chat_postMessage(
            channel=view.card_channel, thread_ts=view.card_ts, text=invited_line(agent_name)
        )
        return f"slack:{view.card_channel}:{view.card_ts}:{posted['ts']}"

    async def alert(
        self,
        view: HandoffView,
        body: str,
        *,
        level: AlertLevel,
        mention: str | None = None,
        notify: str = "",
    ) -> None:
        """A desk warning in the card's thread; a breach is re-posted to the channel too."""
        group = f"<!subteam^{mention}> " if mention else ""
        person = f"<@{notify}> " if notify else ""
        await self.web.chat_postMessage(
            channel=view.card_channel,
            thread_ts=view.card_ts,
            text=f"{group}{person}{ALERT_ICONS[level]} {slack_escaped(body)}",
            reply_broadcast=level is AlertLevel.BREACH,
        )

    def when(self, iso: str, timezone: str) -> str:
        """A Slack date: each agent reads it on their own clock (`timezone` is not needed)."""
        return slack_date(iso)

    async def mark_delivery(self, receipt: str, ok: bool, reason: str) -> None:
        """✅ on the agent's message when the customer got it, a warning in the thread if not."""
        _, channel, thread_ts, ts = receipt.split(":", 3)
        if ok:
            await self.web.reactions_add(channel=channel, timestamp=ts, name=DELIVERED_REACTION)
        else:
            await self.web.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                text=f"⚠️ This reply did not reach the customer: {slack_escaped(reason)}",
            )

    # --- Slack -> desk ------------------------------------------------------------------

    async def _person(self, user: str) -> dict[str, Any] | None:
        """The user's `users.info` record, None when Slack does not know them."""
        if user not in self._people:
            try:
                self._people[user] = (await self.web.users_info(user=user))["user"]
            except Exception as exc:  # a name is nice to have, never worth failing for
                log.warning("slack user unknown", extra={"user": user, "error": repr(exc)})
                return None
        return self._people[user]

    async def _name(self, user: str) -> str:
        """The user's display name (their id when Slack does not know them)."""
        info = await self._person(user) or {}
        profile = info.get("profile") or {}
        return profile.get("display_name") or info.get("real_name") or info.get("name") or user

    async def _not_assignable(self, user: str) -> str | None:
        """Why `user` cannot take a handoff (a bot, a deactivated or unknown account), or None."""
        info = await self._person(user) if user else None
        if info is None:
            return "That person is not in this workspace: pick someone from the list."
        if info.get("is_bot") or info.get("is_app_user") or user == "USLACKBOT":
            return f"{await self._name(user)} is an app, not a person: pick a colleague."
        if info.get("deleted"):
            return f"{await self._name(user)}'s account is deactivated: pick someone else."
        return None

    async def _plain(self, text: str) -> str:
        """An agent's Slack text as the customer reads it (people by name, no markup)."""
        names = {}
        for user in mentioned_users(text):
            info = await self._person(user)
            if info is not None:
                names[user] = await self._name(user)
        return plain_text(text, names)

    async def _tell(self, said: ThreadMessage, text: str) -> None:
        """An ephemeral line under the agent's message, for them only."""
        await self.web.chat_postEphemeral(
            channel=said.channel, user=said.user, thread_ts=said.thread_ts, text=text
        )

    async def _reply(self, handoff_id: str, said: ThreadMessage) -> None:
        """An agent's new message in a card's thread: to the customer, a note, or a hint."""
        outcome = await self.desk.reply(
            handoff_id,
            user=said.user,
            name=await self._name(said.user),
            body=await self._plain(said.text),
            message_ref=said.ref,
        )
        if outcome is ReplyOutcome.NOTE:
            await self.web.reactions_add(
                channel=said.channel, timestamp=said.ts, name=NOTE_REACTION
            )
        told = hint(outcome)
        if said.files and outcome is ReplyOutcome.SENT:
            told = FILES_NOT_SENT
        elif said.files and outcome is ReplyOutcome.EMPTY:
            told = FILES_ONLY
        if told:
            await self._tell(said, told)

    async def _acted(self, user: str, handoff_id: str, verb: Action, target: str) -> Transition:
        """Apply a card's button for `user` (with their name, and the target's)."""
        return await self.desk.act(
            handoff_id,
            verb,
            user=user,
            name=await self._name(user),
            target=target,
            target_name=await self._name(target) if target else "",
        )

    def _register(self) -> None:
        app = self.app

        async def on_button(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
            await ack()
            clicked = _clicked(body, action)
            if clicked is None:
                return
            handoff_id, user, channel = clicked
            verb = Action(action["action_id"])
            target = str(action.get("selected_user") or "")
            told = await self._not_assignable(target) if verb is Action.REASSIGN else None
            if told is None:
                result = await self._acted(user, handoff_id, verb, target)
                told = _after(verb, result, user)
            if told:
                await self.web.chat_postEphemeral(channel=channel, user=user, text=told)

        for action_id in ("claim", "reassign", "return", "resolve"):
            app.action(action_id)(on_button)

        @app.action("invite_private")
        async def on_invite(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
            await ack()
            clicked = _clicked(body, action)
            if clicked is None:
                return
            handoff_id, user, channel = clicked
            outcome = await self.desk.invite(handoff_id, user=user, name=await self._name(user))
            told = invite_hint(outcome)
            if told:
                await self.web.chat_postEphemeral(channel=channel, user=user, text=told)

        @app.action("history")
        async def on_history(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
            await ack()
            view = await self.desk.view(str(action.get("value")))
            if view is not None and view.card_ts:
                past = await customer_history(self.desk.client, view.request.conversation_id)
                await self.post_in_thread(view, history_text(past, view.request.conversation_id))

        @app.action("reveal")
        async def on_reveal(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
            await ack()
            user = body["user"]["id"]
            revealed = await self.desk.reveal(
                str(action.get("value")), user=user, name=await self._name(user)
            )
            await self.web.chat_postEphemeral(
                channel=body["channel"]["id"],
                user=user,
                text=slack_escaped(revealed) if revealed else "There is nothing to reveal.",
            )

        @app.event("message")
        async def on_message(event: dict[str, Any]) -> None:
            said = thread_message(event)
            if said is None:
                return  # joins, bots (ourselves), malformed events, messages outside a thread
            handoff_id = await self.desk.handoff_for_card(said.channel, said.thread_ts)
            if handoff_id is None:
                return
            if not said.change:
                await self._reply(handoff_id, said)
            elif await self.desk.was_sent(said.ref):
                await self._tell(said, CHANGES_NOT_SENT)


def handoff_of(action: dict[str, Any]) -> str | None:
    """The handoff a card's button or menu acts on: its value, else its block (`handoff:<id>`)."""
    if action.get("value"):
        return str(action["value"])
    kind, _, handoff_id = str(action.get("block_id") or "").partition(":")
    return handoff_id if kind == "handoff" and handoff_id else None


def _clicked(body: dict[str, Any], action: dict[str, Any]) -> tuple[str, str, str] | None:
    """The handoff a card's element acts on, who clicked it and in which channel.

    None (logged) for a payload without them: not a card's.
    """
    handoff_id = handoff_of(action)
    user, channel = body.get("user") or {}, body.get("channel") or {}
    if handoff_id is None or not user.get("id") or not channel.get("id"):
        log.warning("slack action ignored: not a card's", extra={"action": action})
        return None
    return handoff_id, str(user["id"]), str(channel["id"])


def _after(verb: Action, result: Transition, user: str) -> str | None:
    """What the agent who clicked is told: why it did not happen, or whose handoff it was."""
    if result.outcome is not Outcome.DONE:
        return refusal(verb, result)
    owner = result.previous_owner_name or result.previous_owner
    if verb is not Action.CLAIM and owner and result.previous_owner != user:
        return f"Done. {owner} had this handoff and has been told in its thread."
    return None


def well_formed(body: bytes, content_type: str) -> bool:
    """A Slack body Bolt can read.

    A JSON object (events), or a form whose `payload` is one (interactions), with an object as
    its `event` when it has one.
    """
    try:
        text = body.decode()
        if text.lstrip().startswith("{") or "form-urlencoded" not in content_type:
            data = json.loads(text)  # Bolt reads a body that looks like JSON as JSON
        else:
            fields = parse_qs(text, strict_parsing=False)
            data = json.loads(fields["payload"][0]) if "payload" in fields else {}
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and isinstance(data.get("event", {}), dict)


def slack_router(slack: SlackDesk) -> APIRouter:
    """Slack's HTTP doors: `/slack/events` and `/slack/interactions` (Bolt checks signatures)."""
    handler = AsyncSlackRequestHandler(slack.app)
    verifier = SignatureVerifier(slack.signing_secret)
    router = APIRouter()

    async def handle(request: Request) -> Response:
        """Check the signature first (Bolt parses the body before it does), then Bolt."""
        body = await request.body()
        try:
            valid = verifier.is_valid(
                body=body,
                timestamp=request.headers.get("X-Slack-Request-Timestamp", ""),
                signature=request.headers.get("X-Slack-Signature", ""),
            )
        except (ValueError, TypeError):  # a timestamp that is not a number, odd characters
            valid = False
        if not valid:
            log.warning("slack request refused: bad or stale signature")
            return Response("invalid signature", status_code=401)
        if not well_formed(body, request.headers.get("Content-Type", "")):
            log.warning("malformed slack request refused")
            return Response("malformed request body", status_code=400)
        try:
            return await handler.handle(request)
        except Exception as exc:  # a signed body Bolt cannot read: refused, not a 500
            log.warning("unreadable slack request refused", extra={"error": repr(exc)[:200]})
            return Response("unreadable request body", status_code=400)

    @router.post("/slack/events")
    async def events(request: Request) -> Response:
        """Events API deliveries (and its URL verification)."""
        return await handle(request)

    @router.post("/slack/interactions")
    async def interactions(request: Request) -> Response:
        """Button clicks, menus and shortcuts."""
        return await handle(request)

    return router

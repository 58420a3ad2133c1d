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
from handoff.desk import (
    ALERT_ICONS,
    MAX_REPLY_CHARS,
    AlertLevel,
    Desk,
    HandoffView,
    ReplyOutcome,
)
from handoff.history import customer_history, history_text
from handoff.ownership import Action, Outcome, refusal
from handoff.routing import Routing, configured_routing
from handoff.sla import SlaMonitor
from relevo.settings import Settings

log = logging.getLogger(__name__)

DELIVERED_REACTION = "white_check_mark"
NOTE_REACTION = "memo"
MISSING_CHANNEL = ("channel_not_found", "not_in_channel", "is_archived")


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
        self._names: dict[str, str] = {}
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
        """A message under the card."""
        await self.web.chat_postMessage(
            channel=view.card_channel, thread_ts=view.card_ts, text=body
        )

    async def alert(
        self, view: HandoffView, body: str, *, level: AlertLevel, mention: str | None = None
    ) -> None:
        """A desk warning in the card's thread; a breach is re-posted to the channel too."""
        group = f"<!subteam^{mention}> " if mention else ""
        await self.web.chat_postMessage(
            channel=view.card_channel,
            thread_ts=view.card_ts,
            text=f"{group}{ALERT_ICONS[level]} {body}",
            reply_broadcast=level is AlertLevel.BREACH,
        )

    async def mark_delivery(self, receipt: str, ok: bool, reason: str) -> None:
        """✅ on the agent's message when the customer got it, a warning in the thread if not."""
        _, channel, thread_ts, ts = receipt.split(":", 3)
        if ok:
            await self.web.reactions_add(channel=channel, timestamp=ts, name=DELIVERED_REACTION)
        else:
            await self.web.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                text=f"⚠️ This reply did not reach the customer: {reason}",
            )

    # --- Slack -> desk ------------------------------------------------------------------

    async def _name(self, user: str) -> str:
        if user not in self._names:
            try:
                info = (await self.web.users_info(user=user))["user"]
                profile = info.get("profile") or {}
                self._names[user] = (
                    profile.get("display_name") or info.get("real_name") or info.get("name") or user
                )
            except Exception as exc:  # a name is nice to have, never worth failing for
                log.warning("slack user unknown", extra={"user": user, "error": repr(exc)})
                return user
        return self._names[user]

    def _register(self) -> None:
        app = self.app

        async def on_button(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
            await ack()
            user = body["user"]["id"]
            handoff_id = str(action.get("value") or action["block_id"].split(":", 1)[1])
            verb = Action(action["action_id"])
            target = action.get("selected_user") or ""
            result = await self.desk.act(
                handoff_id,
                verb,
                user=user,
                name=await self._name(user),
                target=target,
                target_name=await self._name(target) if target else "",
            )
            if result.outcome is not Outcome.DONE:
                await self.web.chat_postEphemeral(
                    channel=body["channel"]["id"],
                    user=user,
                    text=refusal(verb, result),
                )

        for action_id in ("claim", "reassign", "return", "resolve"):
            app.action(action_id)(on_button)

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
                text=revealed or "There is nothing to reveal.",
            )

        @app.event("message")
        async def on_message(event: dict[str, Any]) -> None:
            if event.get("subtype") or event.get("bot_id") or not event.get("thread_ts"):
                return  # edits, joins, bots (ourselves) and messages outside a card's thread
            channel, thread_ts = event["channel"], event["thread_ts"]
            handoff_id = await self.desk.handoff_for_card(channel, thread_ts)
            if handoff_id is None:
                return
            user = event["user"]
            outcome = await self.desk.reply(
                handoff_id,
                user=user,
                name=await self._name(user),
                body=event.get("text", ""),
                message_ref=f"slack:{channel}:{thread_ts}:{event['ts']}",
            )
            if outcome is ReplyOutcome.NOTE:
                await self.web.reactions_add(
                    channel=channel, timestamp=event["ts"], name=NOTE_REACTION
                )
            elif outcome is ReplyOutcome.TOO_LONG:
                await self.web.chat_postEphemeral(
                    channel=channel,
                    user=user,
                    thread_ts=thread_ts,
                    text=f"Not sent: a reply to the customer must be under {MAX_REPLY_CHARS} "
                    "characters. Split it into shorter messages.",
                )
            elif outcome in (ReplyOutcome.NOT_OWNER, ReplyOutcome.CLOSED):
                await self.web.chat_postEphemeral(
                    channel=channel,
                    user=user,
                    thread_ts=thread_ts,
                    text="This stays in Slack: only the agent who owns the handoff reaches the "
                    "customer (claim it first). Start with `note:` for internal notes.",
                )


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

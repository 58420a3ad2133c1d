"""The web chat: the page, the embeddable widget and the WebSocket that carries the conversation.

The browser keeps a conversation id and the id of the last log entry it rendered; on every
(re)connection the server replays the log after it, then streams new entries as they are
appended, so a reload or a dropped connection loses nothing. Customer messages carry a client
id: a resend after a reconnection is a duplicate, acknowledged and dropped. The page's own texts
follow the conversation's language (a `language` frame), and a `ping` gets a `pong`, by which
the page tells a dead socket from a quiet one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse
from redis.exceptions import RedisError

from bot.conversations import ConversationStore, Route
from bot.delivery import Target
from bot.inbound import Channel, Customer, Inbound
from bot.invitations import Invitations
from bot.log_follower import LogFollower
from bot.pipeline import InboundPipeline
from bot.sockets import run_both
from bot.unicode_safe import scrub
from relevo import keys
from relevo.messages import Outgoing

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "webchat"
MAX_FRAME_CHARS = 20_000
MAX_DISPLAY_CHARS = 200  # a button's title, shown in place of its payload
LOG_PAGE = 500  # log entries read at once
CATCH_UP_SECONDS = 5.0  # a socket reads its log this often even without news (a lost read)
_CONVERSATION = re.compile(r"^wc-[A-Za-z0-9-]{8,64}$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_ENTRY_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


def frame(entry_id: str, fields: dict[str, str]) -> dict[str, Any]:
    """The browser's view of one log entry."""
    if fields.get("type") == "event":
        return {
            "type": "event",
            "id": entry_id,
            "event": fields.get("event"),
            "agent": fields.get("agent"),
            "time": fields.get("time"),
            **({"ends_turn": True} if fields.get("ends_turn") else {}),
        }
    out: dict[str, Any] = {
        "type": "message",
        "id": entry_id,
        "author": fields.get("author", "bot"),
        "text": fields.get("display") or fields.get("text", ""),
        "buttons": json.loads(fields.get("buttons") or "[]"),
        "time": fields.get("time"),
    }
    for optional in ("client_id", "agent", "message_id"):
        if fields.get(optional):
            out[optional] = fields[optional]
    if out["author"] == "bot" and ":" in fields.get("out_id", ""):
        out["answers"] = fields["out_id"].rsplit(":", 1)[0]  # the customer message it answers
    for flag in ("ends_turn", "pause"):
        if fields.get(flag):
            out[flag] = True
    return out


class WebchatSender:
    """Delivery on the web chat is the log entry itself: the socket streams the log."""

    def parts(self, message: Outgoing, target: Target) -> list[str]:
        """One part: the page has no length limit."""
        return [message.text]

    async def pace(self, target: Target, *, first: bool = False) -> None:
        """No platform limits."""

    async def send(self, message: Outgoing, part: str, index: int, target: Target) -> None:
        """Nothing to do before the log entry."""


def _from_customer(fields: dict[str, str]) -> bool:
    """Whether a log entry is a customer's message (one that may decide the language)."""
    return fields.get("type") == "message" and fields.get("author") == "customer"


def _later(entry_id: str, than: str) -> bool:
    """Whether a stream entry id comes after another (`ms-seq`, compared as numbers)."""
    ms, _, seq = entry_id.partition("-")
    other_ms, _, other_seq = than.partition("-")
    return (int(ms), int(seq or 0)) > (int(other_ms), int(other_seq or 0))


def is_entry_id(value: str) -> bool:
    """A Redis stream id: two 64-bit numbers, `ms-seq`."""
    if not _ENTRY_ID.match(value):
        return False
    return all(int(part) < 2**64 for part in value.split("-"))


def known_timezone(name: str | None) -> str | None:
    """The browser's IANA time zone when it is one this machine knows, else None."""
    if not name or len(name) > 64:
        return None
    try:
        ZoneInfo(name)
    except (ValueError, OSError, ZoneInfoNotFoundError):  # a folder of the database is an OSError
        return None
    return name


class _Session:
    """One open socket."""

    def __init__(
        self,
        websocket: WebSocket,
        pipeline: InboundPipeline,
        follower: LogFollower,
        conversation: str,
        language: str | None,
        timezone: str | None = None,
    ) -> None:
        self.websocket = websocket
        self.pipeline = pipeline
        self.follower = follower
        self.store: ConversationStore = pipeline.store
        self.conversation = conversation
        self.language = language
        self.timezone = timezone
        self._told_language: str | None = None
        self._send_lock = asyncio.Lock()

    def inbound(self, message_id: str, text: str, display: str | None = None) -> Inbound:
        """A customer message of this chat."""
        return Inbound(
            channel=Channel.WEBCHAT,
            conversation_id=self.conversation,
            message_id=message_id,
            customer=Customer(id=self.conversation, timezone=self.timezone),
            text=text,
            display=display,
            language=self.language,
        )

    async def send(self, payload: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.websocket.send_json(payload)

    async def stream_log(self, after: str) -> None:
        """Replay the log after `after`, then follow it (the log follower hands the entries)."""
        news = await self.follower.follow(self.conversation)
        try:
            entries = await self.store.read(self.conversation, after, count=LOG_PAGE)
            while True:
                if any(_from_customer(fields) for _, fields in entries):
                    await self.tell_language()  # before the entries: drawn in it at once
                for entry_id, fields in entries:
                    if after == "0" or _later(entry_id, after):  # not sent both ways
                        await self.send(frame(entry_id, fields))  # `ends_turn`: typing dots off
                        after = entry_id
                if len(entries) == LOG_PAGE:  # a long log: read on (the follower reads 100)
                    entries = await self.store.read(self.conversation, after, count=LOG_PAGE)
                    continue
                try:
                    entries = await asyncio.wait_for(news.get(), CATCH_UP_SECONDS)
                except TimeoutError:  # read anyway now and then (a read the follower lost)
                    entries = await self.store.read(self.conversation, after, count=LOG_PAGE)
        finally:
            self.follower.unfollow(self.conversation, news)

    async def tell_language(self) -> None:
        """Send the conversation's language when a customer message has set or changed it.

        The accept script sets it with the message's log entry, so it is known by the time the
        entry is streamed; the page then words its own texts (status, events) in it.
        """
        language = await self.store.language(self.conversation)
        if language and language != self._told_language:
            self._told_language = language
            await self.send({"type": "language", "language": language})

    async def receive(self) -> None:
        """Customer frames until the socket closes."""
        while True:
            received = await self.websocket.receive()
            if received["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(received.get("code", 1000))
            raw = received.get("text")
            if raw is None:
                await self.send(
                    {
                        "type": "error",
                        "client_id": None,
                        "reason": "binary frames are not supported",
                    }
                )
                continue
            if len(raw) > MAX_FRAME_CHARS:
                await self.send({"type": "error", "client_id": None, "reason": "message too large"})
                continue
            try:
                data = scrub(json.loads(raw))
            except json.JSONDecodeError:
                await self.send({"type": "error", "client_id": None, "reason": "invalid JSON"})
                continue
            except RecursionError:  # '[' * 19000 fits in a frame; no valid frame nests deeply
                log.info(
                    "web chat frame refused: JSON nested too deeply",
                    extra={"conversation": self.conversation},
                )
                await self.send(
                    {"type": "error", "client_id": None, "reason": "JSON nested too deeply"}
                )
                continue
            if not isinstance(data, dict):
                continue
            if data.get("type") == "ping":  # the page's heartbeat: a socket that answers is alive
                await self.send({"type": "pong"})
                continue
            await self.customer_message(data)

    async def customer_message(self, data: dict[str, Any]) -> None:
        client_id = data.get("client_id")
        if (
            data.get("type") != "message"
            or not isinstance(client_id, str)
            or not (_CLIENT_ID.match(client_id))
        ):
            await self.send(
                {
                    "type": "error",
                    "client_id": None,
                    "reason": "expected {type: message, client_id, text}",
                }
            )
            return
        body = data.get("text")
        display = data.get("display")
        inbound = self.inbound(
            f"{self.conversation}:{client_id}",
            body if isinstance(body, str) else "",
            display[:MAX_DISPLAY_CHARS] if isinstance(display, str) and display else None,
        )
        try:
            accepted = await self.pipeline.accept(inbound, client_id=client_id)
        except RedisError as exc:  # not stored: the page keeps it and offers to resend
            log.error(
                "web chat message not accepted",
                extra={"conversation": self.conversation, "error": repr(exc)},
            )
            await self.send({"type": "error", "client_id": client_id, "reason": "unavailable"})
            return
        await self.send(
            {
                "type": "ack",
                "client_id": client_id,
                "duplicate": accepted.route is Route.DUPLICATE,
                "typing": accepted.route is Route.BOT,  # the assistant is writing
            }
        )


def webchat_router(
    pipeline: InboundPipeline, invitations: Invitations, follower: LogFollower
) -> APIRouter:
    """The page at `/` and the socket at `/channels/webchat/ws`."""
    router = APIRouter()

    @router.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        """The full-page web chat."""
        return FileResponse(STATIC_DIR / "index.html")

    @router.websocket("/channels/webchat/ws")
    async def socket(
        websocket: WebSocket,
        conversation: str,
        after: str = "0",
        lang: str | None = None,
        tz: str | None = None,
        invitation: str | None = Query(default=None, alias="continue"),
    ) -> None:
        """One browser tab's conversation."""
        if not _CONVERSATION.match(conversation) or not (after == "0" or is_entry_id(after)):
            await websocket.close(code=4400, reason="invalid conversation or after")
            return
        await websocket.accept()
        language = lang[:2].lower() if lang and lang[:2].lower() in ("es", "en") else None
        session = _Session(
            websocket, pipeline, follower, conversation, language, known_timezone(tz)
        )
        if invitation:
            await _continue_privately(session, invitations, invitation)
        await run_both(
            "web chat",
            websocket,
            session.stream_log(after),
            session.receive(),
            conversation=conversation,
        )

    return router


async def _continue_privately(session: _Session, invitations: Invitations, token: str) -> None:
    """Link this chat to the public conversation its invitation comes from.

    The assistant answers here what the customer asked there.
    """
    continued = await invitations.accept(
        token,
        conversation_id=session.conversation,
        channel=Channel.WEBCHAT,
        route={},
        profile_key=keys.customer(Channel.WEBCHAT.value, session.conversation),
        fallback_language=session.language,
    )
    if continued is not None and continued.question:
        await session.pipeline.accept(continued.carried(session.inbound(session.conversation, "")))

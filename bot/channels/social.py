"""Public social posts: the signed events API that connectors push to, and public replies.

Any social network's connector posts events (mentions, replies to the brand's posts, posts with
the hashtags and keywords the brand listens for) to `POST /channels/social/events`, signed with
HMAC. Each (thread, author) pair is one conversation. Replies go back through a pluggable sender:
a signed webhook to the connector, or the log when no connector is configured.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import httpx
import redis.asyncio as aioredis
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, Field, StrictInt, ValidationError
from pydantic_core import PydanticCustomError

from bot.delivery import DeliveryError, Target
from bot.inbound import Channel, Customer, Inbound, tidy_spacing
from bot.invitations import with_invitation
from bot.pipeline import InboundPipeline
from bot.ratelimit import RateLimits
from bot.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, signed_headers, verify
from bot.splitting import split_text
from bot.unicode_safe import scrub
from kb_index.text import fold
from relevo import keys
from relevo.messages import Outgoing, mention
from relevo.redis_conn import text_of
from relevo.settings import Settings

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024

_NAME_CHARS = r"\w.@/-"  # an id's characters but ":", which joins the parts of our ids and keys
_ID_CHARS = rf"[:{_NAME_CHARS}]"  # "-" last: not a range
_ID = re.compile(rf"^{_ID_CHARS}{{1,200}}$")
_NETWORK = re.compile(rf"[{_NAME_CHARS}]+")
Id = Annotated[str, Field(min_length=1, max_length=200, pattern=rf"^{_ID_CHARS}+$")]
Count = Annotated[StrictInt, Field(ge=0, le=10**12)]  # a number, not true or a 400-digit string


def _network_name(value: str) -> str:
    """A network's name, which goes into conversation ids and Redis keys between colons.

    "x:y" made `social:x:y:<post>:<author>`, which reads as network "x" and thread "y:<post>".
    """
    if not _NETWORK.fullmatch(value):
        raise PydanticCustomError(
            "network_name",
            "a network's name has no ':' or spaces (letters, digits and . _ - @ / only)",
        )
    return value


Network = Annotated[str, Field(min_length=1, max_length=40), AfterValidator(_network_name)]


class Author(BaseModel):
    """Who posted."""

    id: Id
    handle: Annotated[str, Field(max_length=100, pattern=r"^@?[\w.-]+(@[\w.-]+)?$")]
    name: Annotated[str | None, Field(max_length=200)] = None
    followers: Count = 0
    verified: bool = False


class InReplyTo(BaseModel):
    """The post this one answers; its `text` when the connector has it (the brand's post)."""

    post_id: Id
    author_id: Id | None = None
    author_handle: str | None = None
    text: Annotated[str | None, Field(max_length=20_000)] = None


class Metrics(BaseModel):
    """How far the post travels."""

    likes: Count = 0
    replies: Count = 0
    reposts: Count = 0


class SocialEvent(BaseModel):
    """One public post, as a connector sends it."""

    model_config = {"extra": "ignore"}

    network: Network = "social"
    type: Literal["mention", "reply", "post"] = "post"
    post_id: Id
    thread_id: Id | None = None
    in_reply_to: InReplyTo | None = None
    author: Author
    text: Annotated[str, Field(max_length=20_000)]
    url: Annotated[str | None, Field(max_length=2000)] = None
    metrics: Metrics = Metrics()


LISTENING = "listening:"  # the reason of a post the brand only overheard, before the term


def addressed_to_brand(
    event: SocialEvent, settings: Settings, *, answers_our_post: bool = False
) -> str | None:
    """Why the brand should answer this post (mention, reply, hashtag...), or None.

    `answers_our_post`: the post answers one Relevo published (it keeps their ids to follow
    threads); many networks' reply events name the parent by its id alone.
    """
    brand = settings.social_brand_handle.lower().lstrip("@")
    if event.author.handle.lower().lstrip("@") == brand:
        return None  # the brand's own post: never answer ourselves
    if re.search(rf"(?<![\w@])@{re.escape(brand)}\b", event.text, re.IGNORECASE):
        return "mention"
    if answers_our_post or _by_brand(event.in_reply_to, settings):
        return "reply"
    if event.type == "mention":
        return "mention"  # the network says it mentions the brand (e.g. without the @handle)
    folded = fold(event.text)
    for term in settings.social_listen:
        pattern = rf"(?<![\w#]){re.escape(fold(term))}(?!\w)"
        if re.search(pattern, folded):
            return f"{LISTENING}{term}"
    return None


def _by_brand(parent: InReplyTo | None, settings: Settings) -> bool:
    """Whether the connector names the brand as the author of the post this one answers."""
    if parent is None:
        return False
    brand = settings.social_brand_handle.lower().lstrip("@")
    if (parent.author_handle or "").lower().lstrip("@") == brand:
        return True
    return bool(settings.social_brand_author_id) and parent.author_id == (
        settings.social_brand_author_id
    )


def to_inbound(
    event: SocialEvent,
    settings: Settings,
    replied_thread: str | None = None,
    *,
    overheard: str | None = None,
) -> Inbound:
    """The customer message of a post (the brand's @handle removed).

    Its thread: the connector's `thread_id`; else, for an answer to one of the brand's replies,
    the thread that reply was posted in (`replied_thread`); else the post it answers, or itself.
    `overheard`: the hashtag or keyword the brand listens for, when nobody spoke to it. The text
    of the brand's post it answers, when the connector sends it, is its `brand_post`.
    """
    brand = re.escape(settings.social_brand_handle.lstrip("@"))
    body = re.sub(rf"(?<![\w@])@{brand}\b[:,]?", " ", event.text, flags=re.IGNORECASE)
    parent = event.in_reply_to
    thread = event.thread_id or replied_thread or (parent.post_id if parent else event.post_id)
    answers_brand = replied_thread is not None or _by_brand(parent, settings)
    brand_post = tidy_spacing(parent.text) if parent and parent.text and answers_brand else None
    return Inbound(
        channel=Channel.SOCIAL,
        conversation_id=f"social:{event.network}:{thread}:{event.author.id}",
        message_id=f"{event.network}:{event.post_id}",
        customer=Customer(
            id=f"{event.network}:{event.author.id}",
            name=event.author.name,
            handle=event.author.handle.lstrip("@"),
            followers=event.author.followers,
            url=event.url,
        ),
        text=tidy_spacing(body),
        public=True,
        overheard=overheard,
        brand_post=brand_post or None,
        route={
            "network": event.network,
            "reply_to": event.post_id,
            "thread_id": thread,
            "handle": event.author.handle.lstrip("@"),
            "url": event.url,
            "metrics": event.metrics.model_dump(),
        },
    )


def _problem(status: int, error: str, **extra: Any) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": error, **extra})


async def replied_thread(client: aioredis.Redis, event: SocialEvent) -> str | None:
    """The thread of the brand's reply that `event` answers; None when it answers none of them."""
    if event.in_reply_to is None:
        return None
    found = await client.get(keys.social_reply(event.network, event.in_reply_to.post_id))
    return text_of(found) if found else None


def social_router(
    pipeline: InboundPipeline, settings: Settings, client: aioredis.Redis
) -> APIRouter:
    """`POST /channels/social/events`."""
    router = APIRouter()

    @router.post("/channels/social/events", status_code=202)
    async def social_event(request: Request) -> JSONResponse:
        """Accept one signed post from a connector."""
        if settings.social_secret is None:
            return _problem(503, "the social channel is off: set RELEVO_SOCIAL_SECRET")
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return _problem(413, f"body larger than {MAX_BODY_BYTES} bytes")
        try:
            verify(
                settings.social_secret.get_secret_value(),
                body,
                request.headers.get(TIMESTAMP_HEADER),
                request.headers.get(SIGNATURE_HEADER),
                max_skew=settings.social_max_skew_seconds,
            )
        except SignatureError as exc:
            log.warning("social event refused", extra={"reason": str(exc)})
            return _problem(401, str(exc))
        try:
            parsed = scrub(json.loads(body))
        except ValueError:
            log.warning("social event malformed", extra={"problems": ["not JSON"]})
            return _problem(422, "invalid event", problems=["body: not valid JSON"])
        try:
            event = SocialEvent.model_validate(parsed)
        except ValidationError as exc:
            problems = [
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
            ]
            log.warning("social event malformed", extra={"problems": problems})
            return _problem(422, "invalid event", problems=problems)
        thread = await replied_thread(client, event)
        reason = addressed_to_brand(event, settings, answers_our_post=thread is not None)
        if reason is None:
            log.info("social post ignored", extra={"post": event.post_id})
            return JSONResponse({"status": "ignored", "reason": "not addressed to the brand"})
        overheard = reason.removeprefix(LISTENING) if reason.startswith(LISTENING) else None
        inbound = to_inbound(event, settings, thread, overheard=overheard)
        accepted = await pipeline.accept(inbound)
        return JSONResponse(
            status_code=200 if accepted.route.value == "duplicate" else 202,
            content={
                "status": "duplicate" if accepted.route.value == "duplicate" else "accepted",
                "conversation_id": inbound.conversation_id,
                "route": accepted.route.value,
                "because": reason,
            },
        )

    return router


class SocialSender:
    """Public replies: `@handle` first, within the platform's length, through the connector."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient, client: aioredis.Redis) -> None:
        self._settings = settings
        self._http = http
        self._client = client
        secret = settings.social_outbound_secret or settings.social_secret
        self._secret = secret.get_secret_value() if secret else ""
        self._limits = RateLimits(overall=settings.social_rate_per_second)

    def parts(self, message: Outgoing, target: Target) -> list[str]:
        """Split to the public length, each part addressed to the author."""
        body = with_invitation(message.text, target.invite_links)
        prefix = mention(str(target.route.get("handle") or ""))
        return [
            prefix + part
            for part in split_text(body, self._settings.public_reply_chars - len(prefix))
        ]

    async def pace(self, target: Target, *, first: bool = False) -> None:
        """The connector's rate."""
        await self._limits.wait(str(target.route.get("thread_id", "")), first=first)

    async def send(self, message: Outgoing, part: str, index: int, target: Target) -> None:
        """POST the reply to the connector (or log it when there is none)."""
        route = target.route
        payload = {
            "delivery_id": f"{message.out_id}:{index}",
            "conversation_id": target.conversation_id,
            "network": route.get("network"),
            "in_reply_to": route.get("reply_to"),
            "thread_id": route.get("thread_id"),
            "text": part,
            "author": message.author,
        }
        if not self._settings.social_outbound_url:
            log.info("public reply (no connector configured: logged only)", extra=payload)
            return
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", **signed_headers(self._secret, body)}
        try:
            response = await self._http.post(
                self._settings.social_outbound_url, content=body, headers=headers
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"connector unreachable: {exc!r}") from exc
        if response.status_code == 429:
            raise DeliveryError("connector rate limit (429)", retry_after=_retry_after(response))
        if response.status_code >= 500:
            raise DeliveryError(f"connector failed (HTTP {response.status_code})")
        if response.status_code >= 400:
            raise DeliveryError(
                f"connector refused the reply (HTTP {response.status_code}): {response.text[:200]}",
                permanent=True,
            )
        await self._remember_thread(response, route, target.conversation_id)

    async def _remember_thread(
        self, response: httpx.Response, route: Mapping[str, Any], conversation_id: str
    ) -> None:
        """Keep which thread the posted reply is in, from the post id the connector returns.

        A customer who answers the brand's reply then stays in their conversation even when
        the network's events carry no thread id.
        """
        try:
            posted = response.json().get("post_id")
        except (ValueError, AttributeError):
            return
        if isinstance(posted, str) and _ID.match(posted) and route.get("thread_id"):
            await remember_reply(
                self._client,
                keys.social_reply(str(route.get("network")), posted),
                str(route["thread_id"]),
                conversation_id,
                self._settings.retention_days * 24 * 3600,
            )


async def remember_reply(
    client: aioredis.Redis, reply_key: str, thread_id: str, conversation_id: str, keep: int
) -> None:
    """Map a brand reply's post id to its thread, listed under the conversation for erasure."""
    listed = keys.conversation_social_replies(conversation_id)
    async with client.pipeline(transaction=True) as pipe:
        pipe.set(reply_key, thread_id, ex=keep)
        pipe.sadd(listed, reply_key)
        pipe.expire(listed, keep)
        await pipe.execute()


def _retry_after(response: httpx.Response) -> float | None:
    """The connector's `Retry-After` in seconds; None when it names no usable wait.

    `inf`, `nan` and negative values are refused rather than believed (a lane would sleep on
    them forever); a date is not read either. The delivery worker caps what is left.
    """
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None

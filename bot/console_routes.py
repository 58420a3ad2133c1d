"""The web agent console's HTTP side: the page at `/console`, its JSON API and its live socket.

The desk logic is `handoff.console.ConsoleDesk` and the shared `Desk`; this module adds what
needs the gateway: the login and session cookie, the conversation log (bot/), and the socket.

Every API call needs the session cookie (HttpOnly, SameSite=Strict, path `/console`); every POST
also needs the header `X-Relevo-Console: 1`, which a cross-site form cannot send and a cross-site
script cannot add without a CORS preflight that this app never grants. The socket checks the
cookie and that the page's origin is this host. Refusals are `{"error": ...}` with 401, 403, 404,
409 (a lost claim says who owns the handoff) or 422.

Personal data stays hidden: every text of the conversation log that the API returns (the
customer's messages, and the bot's, which may quote them), the queue's preview and the
assistant's draft go through `relevo.pii.redact`; what agents wrote is shown as written. An agent
who needs the real booking code asks `POST .../reveal`, which the desk records.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at run time, and
# the session dependency's alias is local to `console_router`.

import dataclasses
import datetime as dt
import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Request, Response, WebSocket, WebSocketDisconnect
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from bot.conversations import ConversationStore
from bot.gestures import Gesture
from bot.sockets import run_both
from handoff.announcements import active_async
from handoff.cards import department_name, has_personal_data
from handoff.console import ChangeFeed, ConsoleDesk, Written
from handoff.console_login import Agent, ConsoleLogin, agent_for, console_token
from handoff.desk import moment
from handoff.desk_view import HandoffView
from handoff.history import customer_history
from handoff.invites import invite_hint
from handoff.ownership import Action, Outcome, refusal
from handoff.replies import ReplyOutcome, hint
from handoff.requests import HandoffRequest, customer_said
from relevo import keys
from relevo.pii import contains_personal_data, redact
from relevo.settings import Settings

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static" / "console"
COOKIE = "relevo_console"
CSRF_HEADER = "X-Relevo-Console"
CONTEXT_SECONDS = 24 * 3600  # the conversation shown: from a day before the handoff on
PUBLIC_PART = "public"  # a log entry of the public conversation a handoff moved from
_HANDOFF_ID = r"^[A-Za-z0-9_-]{1,64}$"
SYSTEM_AGENT = "relevo"  # the desk's own alerts (SLA) in a handoff's console thread
MAX_LOGIN_FAILURES = 10  # wrong tokens from one address before it must wait
LOGIN_FAILURE_WINDOW_SECONDS = 300
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

REFUSED_STATUS = {
    ReplyOutcome.TOO_LONG: 422,
    ReplyOutcome.PUBLIC_PERSONAL_DATA: 422,
    ReplyOutcome.PUBLIC_TOO_LONG: 422,
}
"""A reply the console turns down for what it says (422); the others for where it stands (409)."""

HandoffId = Annotated[str, PathParam(pattern=_HANDOFF_ID)]


class Refusal(Exception):
    """A request the console turns down, answered as `{"error": message, **extra}`."""

    def __init__(self, status: int, message: str, **extra: str) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


class LoginIn(BaseModel):
    """`POST /console/login`."""

    name: str = Field(min_length=1, max_length=200, description="The agent's name.")
    token: str = Field(max_length=500, description="The console token.")


class ReassignIn(BaseModel):
    """`POST /console/api/handoffs/{id}/reassign`: an agent who has logged in."""

    to_id: str = Field(max_length=100)


class ReplyIn(BaseModel):
    """`POST /console/api/handoffs/{id}/reply`."""

    text: str = Field(min_length=1, max_length=4000)
    note: bool = Field(default=False, description="An internal note: never sent to the customer.")
    as_typed: bool = Field(
        default=False,
        description="Send a reply that starts like a note ('Note: ...') to the customer anyway.",
    )
    client_id: str = Field(
        pattern=r"^[A-Za-z0-9_-]{8,64}$", description="The page's id: a resend is written once."
    )


class AgentOut(BaseModel):
    """An agent."""

    id: str
    name: str


class HandoffOut(BaseModel):
    """A handoff in the queue."""

    id: str
    state: str
    owner: str
    owner_name: str
    priority: str = Field(description="The priority now: raised after an SLA breach.")
    score: int
    priority_reasons: list[str]
    department: str
    department_name: str
    routing_reasons: list[str]
    reason: str
    channel: str
    public: bool = Field(
        description="Everyone reads the conversation (a public post, a group): its owner may "
        "invite the customer to continue in private."
    )
    language: str
    conversation_id: str
    customer: dict[str, str]
    created_at: str
    waiting_since: str = Field(description="When the current cycle began: a reopening resets it.")
    sla_due_at: str = Field(description="The current cycle's first-response due time.")
    sla_state: str = Field(
        description="met or late once answered; else breached, warning, resolution_warning, "
        "resolution_breached or on_time."
    )
    resolution_due_at: str = Field(description="The current cycle's resolution due time.")
    opens_at: str = Field(description="Set when the handoff arrived while the desk was closed.")
    overheard: str = Field(
        default="",
        description="The hashtag or keyword the brand listens for that a public post matched, "
        "when the author did not write to the brand.",
    )
    brand_post: str = Field(
        default="",
        description="The brand's post that the customer's public post replied to, when the "
        "connector sent its text.",
    )
    claimed_at: str
    first_response_at: str
    resolved_at: str
    merged_into: str = Field(
        default="",
        description="Closed into this handoff of the customer's, open in the private chat they "
        "continued in.",
    )
    rating: str
    notes: int
    notices: list[str]
    withdrawn_notices: list[str] = Field(
        default_factory=list,
        description="Notices related to the handoff that the operator has withdrawn since "
        "(one handoff's detail only).",
    )
    has_personal_data: bool
    preview: str = Field(
        description="The customer's last message before the handoff, or the one that reopened "
        "it, redacted."
    )

    @classmethod
    def of(
        cls,
        view: HandoffView,
        *,
        departments: Mapping[str, str] | None = None,
        now: dt.datetime | None = None,
    ) -> Self:
        """From the desk's view of a handoff; `departments` names the departments by key."""
        request = view.request
        said = [view.reopened_by] if view.reopened_at else customer_said(request.transcript)
        names = departments or {}
        return cls(
            id=view.id,
            state=view.state,
            owner=view.owner,
            owner_name=view.owner_name,
            priority=view.priority.value,
            score=request.score,
            priority_reasons=list(request.priority_reasons),
            department=request.department,
            department_name=department_name(request.department, names),
            routing_reasons=list(request.routing_reasons),
            reason=request.reason.value,
            channel=request.channel,
            public=view.public,
            language=request.language,
            conversation_id=request.conversation_id,
            customer=request.customer,
            created_at=request.created_at,
            waiting_since=view.cycle_started_at,
            sla_due_at=view.sla_due_at,
            sla_state=sla_state(view, now or dt.datetime.now(dt.UTC)),
            resolution_due_at=view.resolution_due_at,
            opens_at=request.opens_at,
            overheard=request.overheard,
            brand_post=request.brand_post,
            claimed_at=view.claimed_at,
            first_response_at=view.first_response_at,
            resolved_at=view.resolved_at,
            merged_into=view.merged_into,
            rating=view.rating,
            notes=view.notes,
            notices=list(view.notices),
            has_personal_data=has_personal_data(view),
            preview=redact(said[-1]) if said else "",
        )


async def _live_and_withdrawn(
    console: ConsoleDesk, view: HandoffView
) -> tuple[list[str], list[str]]:
    """The handoff's notices still announced, and those the operator withdrew since (QA s24 A4).

    A handoff filed before notices kept their ids shows them all as live.
    """
    live = {notice.id for notice in await active_async(console.desk.client)}
    ids = view.notice_ids or ("",) * len(view.notices)
    pairs = list(zip(view.notices, ids, strict=True))
    return (
        [text for text, notice in pairs if not notice or notice in live],
        [text for text, notice in pairs if notice and notice not in live],
    )


def sla_state(view: HandoffView, now: dt.datetime) -> str:
    """Where the current cycle's first-response target stands, for display.

    Answered: `met` or `late` (against the due time). Not yet: `breached` once the due time has
    passed (even before the SLA monitor notices), else what the monitor recorded (`warning`...)
    or `on_time`.
    """
    due = moment(view.sla_due_at) if view.sla_due_at else None
    if view.first_response_at:
        answered = moment(view.first_response_at)
        return "late" if due and answered and answered > due else "met"
    if due and now > due:
        return "breached"
    return view.sla_state or "on_time"


class QueueOut(BaseModel):
    """`GET /console/api/handoffs`."""

    open: list[HandoffOut]
    closed: list[HandoffOut]


class HandoffDetailOut(BaseModel):
    """`GET /console/api/handoffs/{id}`: the handoff, its conversation and its history."""

    handoff: HandoffOut
    hits: list[dict[str, Any]]
    draft: str | None
    thread: list[dict[str, Any]]
    history: list[dict[str, str]]


class PastHandoffOut(BaseModel):
    """A handoff of one of the customer's conversations."""

    id: str
    state: str
    reason: str
    department: str
    department_name: str
    created_at: str
    agent: str
    rating: str


class PastConversationOut(BaseModel):
    """`GET /console/api/handoffs/{id}/history`: one of the customer's conversations."""

    conversation_id: str
    channel: str
    profile: str
    started_at: str
    last_message_at: str
    messages: int
    last_customer_message: str
    handoffs: list[PastHandoffOut]


class RevealOut(BaseModel):
    """`POST /console/api/handoffs/{id}/reveal`: the customer's messages, unredacted."""

    text: str


class TransitionOut(BaseModel):
    """The handoff after a claim, reassignment, return or resolution."""

    outcome: str
    state: str
    owner: str
    owner_name: str


class ReplyOut(BaseModel):
    """What became of an agent's message: sent, note or duplicate."""

    outcome: str


class InviteOut(BaseModel):
    """The invitation to private: sent, or duplicate (it went already: `notice` says so)."""

    outcome: str
    notice: str


def thread(
    log_entries: list[tuple[str, dict[str, str]]],
    written: list[Written],
    *,
    published: tuple[str | None, ...],
) -> list[dict[str, Any]]:
    """The conversation as the agent sees it: the log, notes, replies and the desk's alerts.

    A console reply appears once, as written (with ✓ or ⚠), not again as it was delivered. The
    log's texts are redacted, but for the brand's `published` contacts (the care phone the
    off-shift notice gives); the desk's own alerts (SLA) are `alert` items, not notes.
    """
    ours = {f"desk:{w.ref}" for w in written}
    items: list[dict[str, Any]] = []
    for entry_id, fields in log_entries:
        if fields.get("type") == "event":
            items.append(
                {
                    "id": entry_id,
                    "kind": "event",
                    "event": fields.get("event", ""),
                    "agent": fields.get("agent", ""),
                    "time": fields.get("time", ""),
                }
            )
        elif fields.get("out_id") not in ours:
            items.append(
                {
                    "id": entry_id,
                    "kind": "message",
                    "author": fields.get("author", "bot"),
                    "agent": fields.get("agent", ""),
                    "text": redact(fields.get("display") or fields.get("text", ""), keep=published),
                    "time": fields.get("time", ""),
                    "public": fields.get("where") == PUBLIC_PART,
                    "command": fields.get("gesture") == Gesture.COMMAND.value,
                }
            )
    for w in written:
        if w.agent_id == SYSTEM_AGENT and w.note:
            items.append(
                {
                    "id": w.id,
                    "kind": "alert",
                    "author": SYSTEM_AGENT,
                    "agent": w.agent,
                    "agent_id": w.agent_id,
                    "text": w.text,
                    "level": w.level,
                    "time": w.time,
                }
            )
            continue
        items.append(
            {
                "id": w.id,
                "kind": "note" if w.note else "invite" if w.invite else "reply",
                "author": "agent",
                "agent": w.agent,
                "agent_id": w.agent_id,
                "text": w.text,
                "time": w.time,
                "delivery": w.delivery,
                "reason": w.reason,
            }
        )
    return sorted(items, key=lambda item: _stream_order(item["id"]))


def _said_personal_data(log_entries: list[tuple[str, dict[str, str]]]) -> bool:
    """Whether a customer message of the log holds personal data (hidden, so revealable)."""
    return any(
        fields.get("author") == "customer" and contains_personal_data(fields.get("text", ""))
        for _, fields in log_entries
        if fields.get("type") != "event"
    )


async def _entries_with_the_public_part(
    store: ConversationStore, request: HandoffRequest
) -> list[tuple[str, dict[str, str]]]:
    """The handoff's conversation log and, once it moved to private, the public one before it.

    After a move the handoff names the private conversation: the public complaint that started
    it had gone from the agent's view (QA s25). Its entries are marked `where: public`.
    """
    start = _context_start(request.created_at)
    entries = await store.read(request.conversation_id, after=start, count=1000)
    public_id = (await store.meta(request.conversation_id)).get("continued_from")
    if not public_id:
        return entries
    public = [(i, {**f, "where": PUBLIC_PART}) for i, f in await store.read(public_id, start, 1000)]
    return sorted([*public, *entries], key=lambda entry: _stream_order(entry[0]))


def _stream_order(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _context_start(created_at: str) -> str:
    started = dt.datetime.fromisoformat(created_at).timestamp() - CONTEXT_SECONDS
    return f"{max(0, int(started * 1000))}-0"


def install_console(
    app: FastAPI, console: ConsoleDesk, store: ConversationStore, settings: Settings
) -> None:
    """Mount the console on the gateway: page, assets, API, socket, and its error answers."""
    login = ConsoleLogin(console_token(settings))
    secure = settings.public_url.startswith("https://")
    app.include_router(
        console_router(
            console, store, login, secure_cookie=secure, published=(settings.care_phone,)
        )
    )
    app.mount("/console/assets", StaticFiles(directory=STATIC_DIR), name="console")

    async def refused(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Refusal)
        return JSONResponse(status_code=exc.status, content={"error": str(exc), **exc.extra})

    app.add_exception_handler(Refusal, refused)


def console_router(
    console: ConsoleDesk,
    store: ConversationStore,
    login: ConsoleLogin,
    *,
    secure_cookie: bool,
    published: tuple[str | None, ...],
) -> APIRouter:
    """The console's routes (see the module's docstring)."""
    router = APIRouter()

    async def session(request: Request) -> Agent:
        agent = login.read(request.cookies.get(COOKIE))
        if agent is None:
            raise Refusal(401, "log in first")
        return agent

    async def same_site_post(request: Request) -> None:
        if request.headers.get(CSRF_HEADER) != "1":
            raise Refusal(403, f"the {CSRF_HEADER}: 1 header is missing")

    Session = Annotated[Agent, Depends(session)]
    posts = [Depends(same_site_post)]
    departments = {key: d.name for key, d in console.routing.departments.items()}

    def name_of(department: str) -> str:
        return department_name(department, departments)

    def out(view: HandoffView, now: dt.datetime) -> HandoffOut:
        return HandoffOut.of(view, departments=departments, now=now)

    async def known(handoff_id: str) -> HandoffView:
        view = await console.handoff(handoff_id)
        if view is None:
            raise Refusal(404, "no such handoff")
        return view

    @router.get("/console", include_in_schema=False)
    async def page() -> FileResponse:
        """The console page (it shows the login form until there is a session)."""
        return FileResponse(STATIC_DIR / "index.html", headers=_PAGE_HEADERS)

    @router.post("/console/login", dependencies=posts)
    async def log_in(body: LoginIn, request: Request, response: Response) -> AgentOut:
        """Name and token in, a session cookie out; repeated wrong tokens are throttled."""
        failures = keys.console_login_failures(request.client.host if request.client else "")
        if int(await console.desk.client.get(failures) or 0) >= MAX_LOGIN_FAILURES:
            raise Refusal(429, "too many wrong tokens: wait a few minutes and try again")
        if not login.token_matches(body.token):
            await console.desk.client.incr(failures)
            await console.desk.client.expire(failures, LOGIN_FAILURE_WINDOW_SECONDS)
            log.warning("console login refused", extra={"agent_name": body.name[:40]})
            raise Refusal(401, "wrong token")
        try:
            agent = agent_for(body.name)
        except ValueError as exc:
            raise Refusal(422, str(exc)) from exc
        await console.remember(agent)
        response.set_cookie(
            COOKIE,
            login.issue(agent),
            max_age=int(login.lifetime),
            path="/console",
            httponly=True,
            samesite="strict",
            secure=secure_cookie,
        )
        log.info("console login", extra={"agent": agent.id})
        return AgentOut(id=agent.id, name=agent.name)

    @router.post("/console/logout", dependencies=posts, status_code=204)
    async def log_out(response: Response) -> None:
        """End the session."""
        response.delete_cookie(COOKIE, path="/console")

    @router.get("/console/api/me")
    async def me(agent: Session) -> AgentOut:
        """Who is logged in."""
        return AgentOut(id=agent.id, name=agent.name)

    @router.get("/console/api/agents")
    async def agents(_: Session) -> list[AgentOut]:
        """Agents who logged in recently: the people a handoff can be reassigned to."""
        return [AgentOut(id=a.id, name=a.name) for a in await console.agents()]

    @router.get("/console/api/handoffs")
    async def queue(_: Session) -> QueueOut:
        """Open handoffs (most urgent first, then the longest waiting) and recently closed ones."""
        open_views, closed_views = await console.handoffs()
        now = dt.datetime.now(dt.UTC)
        return QueueOut(
            open=[out(v, now) for v in open_views],
            closed=[out(v, now) for v in closed_views],
        )

    @router.get("/console/api/handoffs/{handoff_id}")
    async def detail(handoff_id: HandoffId, _: Session) -> HandoffDetailOut:
        """One handoff with its conversation, the agents' replies and notes, and its history."""
        view = await known(handoff_id)
        request = view.request
        entries = await _entries_with_the_public_part(store, request)
        handoff = out(view, dt.datetime.now(dt.UTC))
        handoff.notices, handoff.withdrawn_notices = await _live_and_withdrawn(console, view)
        if not handoff.has_personal_data and _said_personal_data(entries):
            handoff.has_personal_data = True  # written after the handoff: redacted all the same
        return HandoffDetailOut(
            handoff=handoff,
            hits=[vars(hit) for hit in request.hits],
            draft=redact(request.draft) if request.draft else request.draft,
            thread=thread(entries, await console.written(handoff_id), published=published),
            history=await console.history(handoff_id),
        )

    @router.get("/console/api/handoffs/{handoff_id}/history")
    async def past_conversations(handoff_id: HandoffId, _: Session) -> list[PastConversationOut]:
        """The customer's conversations on every linked channel, newest first (this one too)."""
        view = await known(handoff_id)
        found = await customer_history(console.desk.client, view.request.conversation_id)
        return [
            PastConversationOut(
                **{
                    **dataclasses.asdict(past),
                    "last_customer_message": redact(past.last_customer_message),
                    "handoffs": [
                        PastHandoffOut(
                            **dataclasses.asdict(handoff),
                            department_name=name_of(handoff.department),
                        )
                        for handoff in past.handoffs
                    ],
                }
            )
            for past in found
        ]

    @router.post("/console/api/handoffs/{handoff_id}/reveal", dependencies=posts)
    async def reveal(handoff_id: HandoffId, agent: Session, response: Response) -> RevealOut:
        """The customer's messages unredacted, for this agent only; the desk records the reveal."""
        await known(handoff_id)
        response.headers["Cache-Control"] = "no-store"
        return RevealOut(text=await console.desk.reveal(handoff_id, user=agent.id, name=agent.name))

    async def transition(
        handoff_id: str, action: Action, agent: Agent, target: Agent | None = None
    ) -> TransitionOut:
        result = await console.desk.act(
            handoff_id,
            action,
            user=agent.id,
            name=agent.name,
            target=target.id if target else "",
            target_name=target.name if target else "",
        )
        if result.outcome is Outcome.UNKNOWN:
            raise Refusal(404, refusal(action, result))
        if result.outcome is not Outcome.DONE:
            raise Refusal(
                409,
                refusal(action, result),
                state=result.state,
                owner=result.owner,
                owner_name=result.owner_name,
            )
        return TransitionOut(
            outcome=result.outcome.value,
            state=result.state,
            owner=result.owner,
            owner_name=result.owner_name,
        )

    @router.post("/console/api/handoffs/{handoff_id}/reassign", dependencies=posts)
    async def reassign(handoff_id: HandoffId, body: ReassignIn, agent: Session) -> TransitionOut:
        """Hand the conversation to another agent (one who has logged in)."""
        target = next((a for a in await console.agents() if a.id == body.to_id), None)
        if target is None:
            raise Refusal(422, "unknown agent: they need to log in to the console once")
        return await transition(handoff_id, Action.REASSIGN, agent, target)

    @router.post("/console/api/handoffs/{handoff_id}/reply", dependencies=posts)
    async def reply(handoff_id: HandoffId, body: ReplyIn, agent: Session) -> ReplyOut:
        """A reply to the customer (the owner's) or an internal note (anyone's)."""
        if not body.text.strip():
            raise Refusal(422, "the message is empty")
        await known(handoff_id)
        outcome = await console.write(
            handoff_id,
            agent,
            body.text.strip(),
            note=body.note,
            ref=body.client_id,
            as_typed=body.as_typed,
        )
        refused = hint(outcome)
        if refused:
            raise Refusal(REFUSED_STATUS.get(outcome, 409), refused, outcome=outcome.value)
        return ReplyOut(outcome=outcome.value)

    @router.post("/console/api/handoffs/{handoff_id}/invite", dependencies=posts)
    async def invite(handoff_id: HandoffId, agent: Session) -> InviteOut:
        """The owner invites the customer of a public conversation to continue in private."""
        await known(handoff_id)
        outcome = await console.desk.invite(handoff_id, user=agent.id, name=agent.name)
        told = invite_hint(outcome) or ""
        if outcome not in (ReplyOutcome.SENT, ReplyOutcome.DUPLICATE):
            raise Refusal(409, told, outcome=outcome.value)
        return InviteOut(outcome=outcome.value, notice=told)

    @router.post("/console/api/handoffs/{handoff_id}/{verb}", dependencies=posts)
    async def act(
        handoff_id: HandoffId, verb: Literal["claim", "return", "resolve"], agent: Session
    ) -> TransitionOut:
        """Claim it (one winner; the others get 409 and the owner), return it, resolve it."""
        return await transition(handoff_id, Action(verb), agent)

    @router.websocket("/console/ws")
    async def live(websocket: WebSocket) -> None:
        """`{"type": "changed", "handoff": id}` whenever a handoff changes.

        The page may send `{"type": "watch", "handoff": id}` to follow the conversation it has
        open (the bot's messages after a return, say) as well.
        """
        agent = login.read(websocket.cookies.get(COOKIE))
        origin = websocket.headers.get("origin")
        if agent is None or (origin and urlsplit(origin).netloc != websocket.headers.get("host")):
            await websocket.close(code=4401)
            return
        feed = console.feed()
        await feed.start()  # before the handshake completes: nothing after it is missed
        await websocket.accept()
        await run_both("console", websocket, _push(websocket, feed), _listen(websocket, feed))

    return router


async def _push(websocket: WebSocket, feed: ChangeFeed) -> None:
    while True:
        for handoff_id in await feed.next(block_ms=4_000):  # under redis-py's 5 s timeout
            await websocket.send_json({"type": "changed", "handoff": handoff_id})


async def _listen(websocket: WebSocket, feed: ChangeFeed) -> None:
    while True:
        received = await websocket.receive()
        if received["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(received.get("code", 1000))
        try:
            data = json.loads(received.get("text") or "")
        except json.JSONDecodeError:
            continue  # binary frames and anything that is not JSON
        if not isinstance(data, dict) or data.get("type") != "watch":
            continue  # pings
        handoff = data.get("handoff")
        if isinstance(handoff, str) and re.match(_HANDOFF_ID, handoff):
            await feed.watch(handoff)

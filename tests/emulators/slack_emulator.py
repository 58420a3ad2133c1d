"""A local emulator of the Slack Web API for tests: a real HTTP server on 127.0.0.1.

Point slack_sdk (and through it slack-bolt) at it with
``WebClient(token=emu.bot_token, base_url=emu.api_url)``; the sync ``App`` calls ``auth.test``
while it is built, so start the emulator first. The emulator keeps the workspace state the
app changes (messages with their updates, thread replies, reactions, ephemerals, opened views)
and records every call, so tests read both what the app asked and what a user would now see.

It answers as Slack does: HTTP 200 with ``{"ok": true, ...}`` or ``{"ok": false, "error": ...}``,
HTTP 429 with ``Retry-After`` when rate limited (see :meth:`SlackEmulator.fail_next`). Bodies may be
JSON or form-encoded, parameters may also come in the query string (slack_sdk sends ``users.info``,
``conversations.replies`` and ``chat.getPermalink`` as GET), and the token may come as an
``Authorization: Bearer`` header or as a ``token`` parameter.

Methods: ``auth.test``, ``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``,
``chat.getPermalink``, ``reactions.add``, ``views.open``, ``users.info``,
``conversations.replies``. Any other method answers HTTP 404 ``unknown_method``. It also serves
``response_url`` endpoints (:meth:`SlackEmulator.new_response_url`).

Example:
    with SlackEmulator() as emu:
        client = WebClient(token=emu.bot_token, base_url=emu.api_url)
        client.chat_postMessage(channel="C1", text="hola")
        assert emu.messages("C1")[0]["text"] == "hola"
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import threading
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp

DEFAULT_USERS: dict[str, str] = {"U1": "Laura", "U2": "Marc", "U3": "Sofía"}
DEFAULT_CHANNELS: dict[str, str] = {"C1": "relevo-desk", "C2": "general"}
JSON_PARAMS = ("blocks", "attachments", "view", "metadata")


class AsgiServer:
    """Serves an ASGI app with uvicorn in a background thread on a free local port.

    Example:
        with AsgiServer(starlette_app) as server:
            httpx.post(server.url + "/slack/events", content=body, headers=headers)
    """

    def __init__(
        self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 10.0
    ) -> None:
        """Configure the server (it starts on :meth:`start` or when entering the context).

        Args:
            app: The ASGI application to serve.
            host: Interface to listen on.
            port: TCP port; 0 picks a free one.
            startup_timeout: Seconds to wait until the server listens.
        """
        self.app = app
        self.host = host
        self.port = port
        self.startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Start serving and wait until the port listens.

        Raises:
            RuntimeError: The server did not start within ``startup_timeout``.
        """
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="asgi-server", daemon=True)
        thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                raise RuntimeError(f"uvicorn did not start on {self.host}:{self.port}")
            time.sleep(0.01)
        self.port = int(server.servers[0].sockets[0].getsockname()[1])
        self._server, self._thread = server, thread

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class Call:
    """One request the emulator answered.

    Attributes:
        method: The Web API method (``chat.postMessage``), or ``response_url`` for a post to a
            response URL.
        params: Query, form and JSON parameters merged; ``blocks``, ``attachments``, ``view`` and
            ``metadata`` JSON-decoded when they came as strings. The token is not included.
        time: ``time.time()`` when the request arrived.
        status: The HTTP status answered.
        response: The JSON body answered.
        token: The token the request carried, if any.
    """

    method: str
    params: dict[str, Any]
    time: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    token: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the call answered ``"ok": true``."""
        return bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        """The ``error`` answered, if any."""
        error = self.response.get("error")
        return str(error) if error is not None else None


@dataclass
class _Fault:
    error: str
    status: int
    retry_after: int | None
    times: int


class SlackApiError(Exception):
    """An error answer (``ok: false``) raised inside a method handler."""

    def __init__(self, error: str, status: int = 200) -> None:
        """Build the error.

        Args:
            error: Slack's error code (``channel_not_found``).
            status: The HTTP status to answer.
        """
        super().__init__(error)
        self.error = error
        self.status = status


Handler = Callable[[dict[str, Any]], dict[str, Any]]


class SlackEmulator:
    """A Slack Web API emulator served over HTTP, with the workspace state it keeps.

    Channels are known by id or as ``#name`` (``channel_not_found`` otherwise); a user id as the
    channel of ``chat.postMessage`` posts into that user's DM, ``D`` + the user id. Posting a
    reply to a ``thread_ts`` the emulator does not know is accepted (the parent may be a message
    the app only saw as an event; :meth:`add_message` stores such messages).

    Message timestamps are unique and increasing, based on the clock (``"1732600000.000100"``).
    State and calls are safe to read from any thread; readers get copies.
    """

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        bot_name: str = "relevo",
        app_id: str = "A1",
        team_id: str = "T1",
        team_name: str = "Relevo Test",
        team_domain: str = "relevo-test",
        users: Mapping[str, str | Mapping[str, Any]] | None = None,
        channels: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Configure the emulator (it starts on :meth:`start` or when entering the context).

        Args:
            bot_token: The only token accepted (``invalid_auth`` otherwise).
            bot_user_id: The bot's user id (``auth.test`` ``user_id``, author of its messages).
            bot_id: The bot's bot id (``auth.test`` ``bot_id``).
            bot_name: The bot's user name.
            app_id: The app id stamped on the bot's messages.
            team_id: The workspace id.
            team_name: The workspace name.
            team_domain: The workspace subdomain, used in permalinks.
            users: User id -> display name, or -> a partial ``users.info`` user object
                (``name``, ``real_name``, ``profile``...). Defaults to U1 Laura, U2 Marc,
                U3 Sofía.
            channels: Channel id -> name. Defaults to C1 ``relevo-desk`` and C2 ``general``.
            host: Interface to listen on.
            port: TCP port; 0 picks a free one.
        """
        self.bot_token = bot_token
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.app_id = app_id
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.users: dict[str, dict[str, Any]] = {}
        for user_id, spec in (DEFAULT_USERS if users is None else users).items():
            self.add_user(user_id, spec)
        self.users[bot_user_id] = self._user_object(
            bot_user_id, {"name": bot_name, "real_name": bot_name, "is_bot": True}
        )
        self.channels: dict[str, str] = dict(DEFAULT_CHANNELS if channels is None else channels)
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._ephemerals: list[dict[str, Any]] = []
        self._views: list[dict[str, Any]] = []
        self._faults: dict[str, list[_Fault]] = {}
        self._response_urls: dict[str, dict[str, str | None]] = {}
        self._last_ts = 0
        self._ids = itertools.count(1)
        self._handlers: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "reactions.add": self._reactions_add,
            "views.open": self._views_open,
            "users.info": self._users_info,
            "conversations.replies": self._conversations_replies,
        }
        self._server = AsgiServer(
            Starlette(
                routes=[
                    Route("/api/{method}", self._endpoint, methods=["GET", "POST"]),
                    Route("/response/{rid}", self._response_endpoint, methods=["POST"]),
                ]
            ),
            host=host,
            port=port,
        )

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's base URL, ``http://127.0.0.1:PORT``."""
        return self._server.url

    @property
    def api_url(self) -> str:
        """The Web API base URL for slack_sdk, ``http://127.0.0.1:PORT/api/``."""
        return f"{self._server.url}/api/"

    def start(self) -> None:
        """Start the HTTP server and wait until it listens."""
        self._server.start()

    def stop(self) -> None:
        """Stop the HTTP server."""
        self._server.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- configuration and seeding ----------------------------------------------------------

    def add_user(self, user_id: str, spec: str | Mapping[str, Any]) -> None:
        """Add or replace a workspace user.

        Args:
            user_id: The user id (``U4``).
            spec: A display name, or a partial ``users.info`` user object.
        """
        if isinstance(spec, str):
            ascii_name = unicodedata.normalize("NFKD", spec).encode("ascii", "ignore").decode()
            spec = {
                "name": ascii_name.lower() or user_id.lower(),
                "real_name": spec,
                "profile": {"display_name": spec},
            }
        self.users[user_id] = self._user_object(user_id, spec)

    def add_channel(self, channel_id: str, name: str) -> None:
        """Add a channel the app may post into."""
        self.channels[channel_id] = name

    def add_message(
        self,
        channel: str,
        text: str,
        *,
        user: str,
        ts: str | None = None,
        thread_ts: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Store a message written by a person, as Slack would before sending its event.

        Use it for messages the app learns about through events (an agent's reply in a handoff
        thread) so that ``conversations.replies``, ``reactions.add`` and ``chat.getPermalink``
        find them.

        Args:
            channel: Channel id.
            text: The message text.
            user: The author's user id.
            ts: The message ts; a new one by default.
            thread_ts: The parent's ts for a thread reply.
            **fields: Extra message fields (``bot_id``, ``subtype``, ``blocks``...).

        Returns:
            The matching ``message`` event (``channel``, ``channel_type``, ``event_ts``...), ready
            for :func:`tests.emulators.slack_requests.event_request`.
        """
        with self._lock:
            ts = ts or self._next_ts()
            message: dict[str, Any] = {
                "type": "message",
                "user": user,
                "text": text,
                "ts": ts,
                "team": self.team_id,
                **fields,
            }
            if thread_ts:
                message["thread_ts"] = thread_ts
            self._store(channel, message)
            event = copy.deepcopy(message)
        event.update(channel=channel, event_ts=ts, channel_type=_channel_type(channel))
        return event

    def new_response_url(self, channel: str | None = None, message_ts: str | None = None) -> str:
        """A ``response_url`` served by the emulator, for interaction payloads.

        Posts to it are recorded as calls of method ``response_url``. With ``channel`` and
        ``message_ts`` (the message the interaction came from), ``replace_original`` and
        ``delete_original`` change that stored message; ``response_type: in_channel`` posts a new
        message to ``channel``; anything else is stored as an ephemeral.
        """
        with self._lock:
            rid = f"R{next(self._ids)}"
            self._response_urls[rid] = {"channel": channel, "message_ts": message_ts}
        return f"{self.url}/response/{rid}"

    def fail_next(
        self,
        method: str,
        *,
        error: str = "ratelimited",
        status: int = 429,
        retry_after: int | None = 1,
        times: int = 1,
    ) -> None:
        """Make the next calls of a method fail before they change anything.

        Args:
            method: The Web API method (``chat.postMessage``).
            error: The ``error`` of the ``{"ok": false}`` body.
            status: The HTTP status (429 by default; 500/503 for server errors; 200 for a plain
                Slack error such as ``channel_not_found``).
            retry_after: Seconds in the ``Retry-After`` header, sent only with status 429.
            times: How many consecutive calls fail.
        """
        with self._lock:
            self._faults.setdefault(method, []).append(_Fault(error, status, retry_after, times))

    def reset(self) -> None:
        """Forget calls, messages, ephemerals, views and pending faults."""
        with self._lock:
            self._calls.clear()
            self._messages.clear()
            self._ephemerals.clear()
            self._views.clear()
            self._faults.clear()

    # -- reading ----------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """Every recorded call, in arrival order, including failed ones (see ``Call.ok``).

        Args:
            method: Only calls of this method.
        """
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def messages(self, channel: str, thread_ts: str | None = None) -> list[dict[str, Any]]:
        """The stored messages of a channel, with updates and reactions applied, oldest first.

        Args:
            channel: Channel id (or ``D`` + user id for a DM).
            thread_ts: Only this thread: its parent (if stored) and its replies, as
                ``conversations.replies`` answers. Without it, every message of the channel,
                thread replies included.
        """
        with self._lock:
            stored = self._messages.get(channel, [])
            if thread_ts is None:
                return copy.deepcopy(stored)
            return copy.deepcopy(_thread(stored, thread_ts))

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """One stored message by channel and ts, or None."""
        with self._lock:
            found = self._find(channel, ts)
            return copy.deepcopy(found) if found else None

    def reactions(self, channel: str, ts: str) -> list[str]:
        """The reaction names on a stored message, in the order they were added."""
        with self._lock:
            found = self._find(channel, ts)
            return [r["name"] for r in found.get("reactions", [])] if found else []

    def ephemerals(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Ephemeral messages posted (``channel``, ``user``, ``text``, ``blocks``, ``message_ts``).

        Args:
            channel: Only those posted in this channel.
        """
        with self._lock:
            return copy.deepcopy(
                [e for e in self._ephemerals if channel is None or e["channel"] == channel]
            )

    def views(self) -> list[dict[str, Any]]:
        """Views opened with ``views.open`` (the view as answered, with ``trigger_id``)."""
        with self._lock:
            return copy.deepcopy(self._views)

    def wait_for(
        self,
        predicate_or_method: str | Callable[[Call], bool],
        count: int = 1,
        timeout: float = 10.0,
    ) -> list[Call]:
        """Wait until at least ``count`` recorded calls match.

        Args:
            predicate_or_method: A method name (every call of it counts, failed ones too) or a
                predicate over :class:`Call` (``lambda c: c.method == "chat.update" and c.ok``).
            count: How many matching calls to wait for.
            timeout: Seconds before giving up.

        Returns:
            All matching calls so far.

        Raises:
            AssertionError: Fewer than ``count`` calls matched within ``timeout``.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = self._matching(predicate_or_method)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(self._timeout_message(predicate_or_method, count, found))
            time.sleep(0.02)

    async def wait_for_async(
        self,
        predicate_or_method: str | Callable[[Call], bool],
        count: int = 1,
        timeout: float = 10.0,
    ) -> list[Call]:
        """:meth:`wait_for` without blocking the event loop (for apps running in the test loop)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self._matching(predicate_or_method)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(self._timeout_message(predicate_or_method, count, found))
            await asyncio.sleep(0.02)

    def _matching(self, predicate_or_method: str | Callable[[Call], bool]) -> list[Call]:
        if isinstance(predicate_or_method, str):
            return self.calls(predicate_or_method)
        return [c for c in self.calls() if predicate_or_method(c)]

    def _timeout_message(
        self, predicate_or_method: str | Callable[[Call], bool], count: int, found: list[Call]
    ) -> str:
        seen = ", ".join(f"{c.method}({c.error or 'ok'})" for c in self.calls()) or "none"
        return f"wanted {count} call(s) of {predicate_or_method!r}, got {len(found)}; seen: {seen}"

    # -- HTTP -------------------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        params, token = await _read_params(request)
        status, body, headers = self._dispatch(method, params, token)
        return JSONResponse(body, status_code=status, headers=headers)

    def _dispatch(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        headers: dict[str, str] = {}
        with self._lock:
            try:
                fault = self._take_fault(method)
                if fault is not None:
                    if fault.status == 429 and fault.retry_after is not None:
                        headers["Retry-After"] = str(fault.retry_after)
                    raise SlackApiError(fault.error, fault.status)
                handler = self._handlers.get(method)
                if handler is None:
                    raise SlackApiError("unknown_method", 404)
                if not token:
                    raise SlackApiError("not_authed")
                if token != self.bot_token:
                    raise SlackApiError("invalid_auth")
                status, body = 200, {"ok": True, **handler(params)}
            except SlackApiError as exc:
                status, body = exc.status, {"ok": False, "error": exc.error}
            self._calls.append(
                Call(method, params, time.time(), status, copy.deepcopy(body), token)
            )
        return status, body, headers

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        return fault

    async def _response_endpoint(self, request: Request) -> JSONResponse:
        rid = request.path_params["rid"]
        params, _ = await _read_params(request)
        with self._lock:
            target = self._response_urls.get(rid)
            if target is None:
                status, body = 404, {"ok": False, "error": "expired_url"}
            else:
                try:
                    self._apply_response(target, params)
                    status, body = 200, {"ok": True}
                except SlackApiError as exc:
                    status, body = 400, {"ok": False, "error": exc.error}
            self._calls.append(
                Call("response_url", {**params, "response_url_id": rid}, time.time(), status, body)
            )
        return JSONResponse(body, status_code=status)

    def _apply_response(self, target: dict[str, str | None], params: dict[str, Any]) -> None:
        channel, message_ts = target["channel"], target["message_ts"]
        original = self._find(channel, message_ts) if channel and message_ts else None
        content = _content(params)
        if original is not None and _truthy(params.get("delete_original")):
            self._messages[str(channel)].remove(original)
        elif original is not None and _truthy(params.get("replace_original")):
            _replace_content(original, content)
        elif channel and params.get("response_type") == "in_channel":
            message = self._bot_message(self._next_ts(), content)
            if params.get("thread_ts"):
                message["thread_ts"] = params["thread_ts"]
            self._store(channel, message)
        else:
            self._ephemerals.append(
                {"channel": channel, "user": None, "message_ts": self._next_ts(), **content}
            )

    # -- methods (called with the lock held) ------------------------------------------------

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(params.get("channel"))
        content = _content(params)
        if not content:
            raise SlackApiError("no_text")
        message = self._bot_message(self._next_ts(), content)
        if params.get("thread_ts"):
            message["thread_ts"] = str(params["thread_ts"])
            if params.get("reply_broadcast") in (True, "true", "1", 1):
                message["subtype"] = "thread_broadcast"  # also shown in the channel
        if params.get("metadata"):
            message["metadata"] = params["metadata"]
        self._store(channel, message)
        return {"channel": channel, "ts": message["ts"], "message": copy.deepcopy(message)}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(params.get("channel"))
        ts = params.get("ts")
        if not ts:
            raise SlackApiError("invalid_arguments")
        message = self._find(channel, str(ts))
        if message is None:
            raise SlackApiError("message_not_found")
        if message.get("user") != self.bot_user_id:
            raise SlackApiError("cant_update_message")
        content = _content(params)
        if not content:
            raise SlackApiError("no_text")
        _replace_content(message, content)
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {
            "channel": channel,
            "ts": message["ts"],
            "text": message.get("text", ""),
            "message": copy.deepcopy(message),
        }

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(params.get("channel"))
        user = params.get("user")
        if not user or user not in self.users:
            raise SlackApiError("user_not_found")
        content = _content(params)
        if not content:
            raise SlackApiError("no_text")
        message_ts = self._next_ts()
        ephemeral = {"channel": channel, "user": user, "message_ts": message_ts, **content}
        if params.get("thread_ts"):
            ephemeral["thread_ts"] = str(params["thread_ts"])
        self._ephemerals.append(ephemeral)
        return {"message_ts": message_ts}

    def _chat_get_permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(params.get("channel"))
        ts = str(params.get("message_ts") or "")
        message = self._find(channel, ts)
        if message is None:
            raise SlackApiError("message_not_found")
        link = f"https://{self.team_domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != ts:
            link += f"?thread_ts={thread_ts}&cid={channel}"
        return {"channel": channel, "permalink": link}

    def _reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(params.get("channel"))
        name = str(params.get("name") or "").strip(":")
        if not name:
            raise SlackApiError("invalid_name")
        message = self._find(channel, str(params.get("timestamp") or ""))
        if message is None:
            raise SlackApiError("message_not_found")
        reactions: list[dict[str, Any]] = message.setdefault("reactions", [])
        for reaction in reactions:
            if reaction["name"] == name:
                if self.bot_user_id in reaction["users"]:
                    raise SlackApiError("already_reacted")
                reaction["users"].append(self.bot_user_id)
                reaction["count"] += 1
                return {}
        reactions.append({"name": name, "users": [self.bot_user_id], "count": 1})
        return {}

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        trigger_id = params.get("trigger_id")
        view = params.get("view")
        if not trigger_id or not isinstance(view, dict):
            raise SlackApiError("invalid_arguments")
        number = next(self._ids)
        opened = {
            "id": f"V{number:08d}",
            "team_id": self.team_id,
            "type": view.get("type", "modal"),
            "title": view.get("title"),
            "submit": view.get("submit"),
            "close": view.get("close"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{number:08d}",
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": f"V{number:08d}",
            "previous_view_id": None,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        self._views.append({**copy.deepcopy(opened), "trigger_id": trigger_id})
        return {"view": opened}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(params.get("user") or ""))
        if user is None:
            raise SlackApiError("user_not_found")
        return {"user": copy.deepcopy(user)}

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(params.get("channel"))
        ts = str(params.get("ts") or "")
        stored = self._messages.get(channel, [])
        found = self._find(channel, ts)
        if found is None:
            raise SlackApiError("thread_not_found")
        root = str(found.get("thread_ts") or ts)
        return {"messages": copy.deepcopy(_thread(stored, root)), "has_more": False}

    # -- state helpers (called with the lock held) ------------------------------------------

    def _next_ts(self) -> str:
        now = int(time.time() * 1_000_000) // 100 * 100
        self._last_ts = max(now, self._last_ts + 100)
        return f"{self._last_ts // 1_000_000}.{self._last_ts % 1_000_000:06d}"

    def _resolve_channel(self, value: Any) -> str:
        channel = str(value or "")
        if channel in self.channels:
            return channel
        named = [cid for cid, name in self.channels.items() if f"#{name}" == channel]
        if named:  # chat.postMessage also takes a channel's name, as "#name"
            return named[0]
        if channel in self.users:
            return f"D{channel}"
        if channel.startswith("D") and channel[1:] in self.users:
            return channel
        raise SlackApiError("channel_not_found")

    def _bot_message(self, ts: str, content: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "ts": ts,
            "text": "",
            **content,
        }

    def _store(self, channel: str, message: dict[str, Any]) -> None:
        stored = self._messages.setdefault(channel, [])
        stored.append(message)
        stored.sort(key=lambda m: _ts_key(m["ts"]))
        thread_ts = message.get("thread_ts")
        if not thread_ts or thread_ts == message["ts"]:
            return
        parent = next((m for m in stored if m["ts"] == thread_ts), None)
        if parent is not None:
            parent["thread_ts"] = thread_ts
            parent["reply_count"] = parent.get("reply_count", 0) + 1
            users: list[str] = parent.setdefault("reply_users", [])
            if message.get("user") and message["user"] not in users:
                users.append(message["user"])
            parent["reply_users_count"] = len(users)
            parent["latest_reply"] = max(
                parent.get("latest_reply", message["ts"]), message["ts"], key=_ts_key
            )
        if parent is not None and parent.get("user"):
            message.setdefault("parent_user_id", parent["user"])

    def _find(self, channel: str | None, ts: str | None) -> dict[str, Any] | None:
        for message in self._messages.get(str(channel), []):
            if message["ts"] == ts:
                return message
        return None

    def _user_object(self, user_id: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        real_name = str(spec.get("real_name") or spec.get("name") or user_id)
        name = str(spec.get("name") or real_name.lower())
        profile = {
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": real_name,
            "display_name_normalized": real_name,
            "team": self.team_id,
            **dict(spec.get("profile") or {}),
        }
        profile.setdefault("display_name_normalized", profile["display_name"])
        return {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": False,
            "real_name": real_name,
            "tz": "Europe/Madrid",
            "tz_label": "Central European Time",
            "tz_offset": 3600,
            "is_admin": False,
            "is_owner": False,
            "is_bot": False,
            "is_app_user": False,
            **{k: v for k, v in spec.items() if k not in ("profile",)},
            "profile": profile,
        }


async def _read_params(request: Request) -> tuple[dict[str, Any], str | None]:
    """Merge query, form or JSON parameters; take the token out of them."""
    params: dict[str, Any] = dict(request.query_params)
    raw = await request.body()
    content_type = request.headers.get("content-type", "")
    if raw and "json" in content_type:
        decoded = json.loads(raw)
        if isinstance(decoded, dict):
            params.update(decoded)
    elif raw:
        params.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    for key in JSON_PARAMS:
        value = params.get(key)
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            with contextlib.suppress(json.JSONDecodeError):
                params[key] = json.loads(value)
    token = params.pop("token", None)
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip()
    return params, token


def _content(params: Mapping[str, Any]) -> dict[str, Any]:
    """The message content of a call (text, blocks, attachments), without empty fields.

    Raises:
        SlackApiError: ``invalid_blocks_format``/``invalid_attachments`` for undecodable JSON.
    """
    if isinstance(params.get("blocks"), str) and params["blocks"]:
        raise SlackApiError("invalid_blocks_format")
    if isinstance(params.get("attachments"), str) and params["attachments"]:
        raise SlackApiError("invalid_attachments")
    content: dict[str, Any] = {}
    for key in ("text", "blocks", "attachments"):
        if params.get(key):
            content[key] = copy.deepcopy(params[key])
    return content


def _replace_content(message: dict[str, Any], content: dict[str, Any]) -> None:
    for key in ("text", "blocks", "attachments"):
        message.pop(key, None)
    message["text"] = ""
    message.update(copy.deepcopy(content))


def _thread(stored: list[dict[str, Any]], thread_ts: str) -> list[dict[str, Any]]:
    return [m for m in stored if m["ts"] == thread_ts or m.get("thread_ts") == thread_ts]


def _ts_key(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    return int(seconds), int(micros or 0)


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _channel_type(channel: str) -> str:
    return {"D": "im", "G": "group"}.get(channel[:1], "channel")

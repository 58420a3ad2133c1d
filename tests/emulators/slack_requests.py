"""Signed requests as Slack sends them to an app's endpoints, and realistic payloads for them.

Slack signs every request with the app's signing secret: ``X-Slack-Signature`` is ``v0=`` + the
hex HMAC-SHA256 of ``v0:{timestamp}:{raw body}``, with the timestamp in
``X-Slack-Request-Timestamp``. Events come as a JSON ``event_callback`` envelope; interactions
(buttons, selects, shortcuts, modal submissions) as a form-encoded ``payload=<json>``.

Example:
    body, headers = event_request(SECRET, message_event("C1", "U1", "hola"))
    httpx.post(app_url + "/slack/events", content=body, headers=headers)
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlencode

TEAM = {"id": "T1", "domain": "relevo-test"}
API_APP_ID = "A1"
VERIFICATION_TOKEN = "verification-token"  # deprecated by Slack; sent, never checked by Bolt

_ts_lock = threading.Lock()
_last_ts = 0
_ids = itertools.count(1)


def new_ts() -> str:
    """A unique, increasing, clock-based message timestamp for events (``"1732600000.000150"``)."""
    global _last_ts
    with _ts_lock:
        # Ends in 50: never equal to a ts the emulator makes (those end in 00).
        now = int(time.time() * 1_000_000) // 100 * 100 + 50
        _last_ts = max(now, _last_ts + 100)
        return f"{_last_ts // 1_000_000}.{_last_ts % 1_000_000:06d}"


def new_trigger_id() -> str:
    """A trigger id shaped like Slack's (``"1234.5678.abcdef..."``)."""
    return f"{int(time.time())}.{next(_ids)}.{uuid.uuid4().hex}"


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """Slack's request signature: ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``.

    Args:
        secret: The app's signing secret.
        timestamp: Unix seconds, as sent in ``X-Slack-Request-Timestamp``.
        body: The exact raw body bytes.
    """
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, body: bytes, content_type: str, *, timestamp: int | None = None
) -> dict[str, str]:
    """The headers of a signed request.

    Args:
        secret: The app's signing secret.
        body: The exact raw body bytes.
        content_type: The body's content type.
        timestamp: Unix seconds; now by default (use an old one to test staleness).
    """
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sign(secret, ts, body),
    }


def event_request(
    secret: str,
    event: dict[str, Any],
    *,
    event_id: str | None = None,
    team_id: str = "T1",
    retry_num: int | None = None,
    retry_reason: str | None = None,
    timestamp: int | None = None,
    bot_user_id: str = "UBOT",
) -> tuple[bytes, dict[str, str]]:
    """A signed Events API delivery: the ``event_callback`` envelope and its headers.

    Args:
        secret: The app's signing secret.
        event: The inner event (see :func:`message_event`).
        event_id: The delivery's event id; a new one by default. Reuse it for a retry.
        team_id: The workspace id.
        retry_num: Sent as ``X-Slack-Retry-Num`` (1, 2, 3 for Slack's retries).
        retry_reason: Sent as ``X-Slack-Retry-Reason`` (``http_timeout``, ``http_error``...).
        timestamp: Unix seconds of the signature; now by default.
        bot_user_id: The app's bot user, listed in ``authorizations``.

    Returns:
        The body bytes and the headers to post to the app's events endpoint.
    """
    envelope = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": API_APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{uuid.uuid4().hex}",
    }
    body = json.dumps(envelope, ensure_ascii=False).encode()
    headers = signed_headers(secret, body, "application/json", timestamp=timestamp)
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
    if retry_reason is not None:
        headers["X-Slack-Retry-Reason"] = retry_reason
    return body, headers


def interaction_request(
    secret: str, payload: dict[str, Any], *, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """A signed interactivity request: form-encoded ``payload=<json>``, signed over those bytes.

    Args:
        secret: The app's signing secret.
        payload: The interaction payload (see :func:`block_action`, :func:`message_shortcut`,
            :func:`view_submission`).
        timestamp: Unix seconds of the signature; now by default.

    Returns:
        The body bytes and the headers to post to the app's interactivity endpoint.
    """
    body = urlencode({"payload": json.dumps(payload, ensure_ascii=False)}).encode()
    headers = signed_headers(secret, body, "application/x-www-form-urlencoded", timestamp=timestamp)
    return body, headers


def message_event(
    channel: str,
    user: str,
    text: str,
    *,
    ts: str | None = None,
    thread_ts: str | None = None,
    bot_id: str | None = None,
    subtype: str | None = None,
    team_id: str = "T1",
) -> dict[str, Any]:
    """A ``message`` event as Slack sends it (a person's message unless ``bot_id`` is given).

    Args:
        channel: Channel id; ``D...`` is a DM (``channel_type: im``), ``G...`` a private group.
        user: The author's user id.
        text: The message text.
        ts: The message ts; a new one by default.
        thread_ts: The parent's ts for a thread reply.
        bot_id: Marks the message as a bot's (Bolt ignores the app's own bot's messages).
        subtype: A message subtype (``bot_message``, ``message_changed``...).
        team_id: The workspace id.
    """
    ts = ts or new_ts()
    event: dict[str, Any] = {
        "type": "message",
        "text": text,
        "user": user,
        "ts": ts,
        "team": team_id,
        "channel": channel,
        "event_ts": ts,
        "channel_type": {"D": "im", "G": "group"}.get(channel[:1], "channel"),
    }
    if bot_id is None:
        event["client_msg_id"] = str(uuid.uuid4())
        event["blocks"] = [
            {
                "type": "rich_text",
                "block_id": uuid.uuid4().hex[:5],
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
                ],
            }
        ]
    else:
        event["bot_id"] = bot_id
        event["app_id"] = API_APP_ID
    if subtype is not None:
        event["subtype"] = subtype
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def _user(user: str, team_id: str) -> dict[str, Any]:
    return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team_id}


def block_action(
    action_id: str,
    value: str | None,
    *,
    user: str = "U1",
    channel: str = "C1",
    message_ts: str,
    trigger_id: str | None = None,
    response_url: str | None = None,
    selected_user: str | None = None,
    block_id: str | None = None,
    message: dict[str, Any] | None = None,
    team_id: str = "T1",
) -> dict[str, Any]:
    """A ``block_actions`` payload: a button click, or a ``users_select`` choice.

    Args:
        action_id: The element's ``action_id``.
        value: The button's ``value`` (a ``users_select`` has none; pass None).
        user: Who clicked.
        channel: The channel of the message holding the element.
        message_ts: The ts of that message.
        trigger_id: For ``views.open``; a new one by default.
        response_url: Where the app may answer; a dead hooks.slack.com URL by default (use
            ``SlackEmulator.new_response_url`` for a live one).
        selected_user: Makes the action a ``users_select`` with this choice.
        block_id: The element's block id; ``action_id`` + ``_block`` by default.
        message: The message as stored (``SlackEmulator.message(channel, ts)``); a bare bot
            message by default.
        team_id: The workspace id.
    """
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id or f"{action_id}_block",
        "action_ts": f"{time.time():.6f}",
    }
    if selected_user is not None:
        action.update(type="users_select", selected_user=selected_user)
    else:
        action.update(type="button", text={"type": "plain_text", "text": action_id, "emoji": True})
    if value is not None:
        action["value"] = value
    msg = message or {
        "type": "message",
        "user": "UBOT",
        "bot_id": "BBOT",
        "app_id": API_APP_ID,
        "text": "",
        "ts": message_ts,
        "blocks": [],
        "team": team_id,
    }
    return {
        "type": "block_actions",
        "user": _user(user, team_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {**TEAM, "id": team_id},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": channel.lower()},
        "message": msg,
        "state": {"values": {}},
        "response_url": response_url or f"https://hooks.slack.com/actions/{team_id}/1/dead",
        "actions": [action],
    }


def message_shortcut(
    callback_id: str,
    *,
    user: str,
    channel: str,
    message_ts: str,
    text: str,
    thread_ts: str | None = None,
    author: str | None = None,
    trigger_id: str | None = None,
    response_url: str | None = None,
    team_id: str = "T1",
) -> dict[str, Any]:
    """A message shortcut (``message_action``) invoked on a message.

    Args:
        callback_id: The shortcut's callback id.
        user: Who invoked it.
        channel: The message's channel.
        message_ts: The message's ts.
        text: The message's text.
        thread_ts: The message's thread, when it is in one.
        author: The message's author; ``user`` by default.
        trigger_id: For ``views.open``; a new one by default.
        response_url: Where the app may answer; a dead URL by default.
        team_id: The workspace id.
    """
    message: dict[str, Any] = {
        "type": "message",
        "user": author or user,
        "text": text,
        "ts": message_ts,
        "team": team_id,
    }
    if thread_ts is not None:
        message["thread_ts"] = thread_ts
    return {
        "type": "message_action",
        "token": VERIFICATION_TOKEN,
        "action_ts": f"{time.time():.6f}",
        "team": {**TEAM, "id": team_id},
        "user": _user(user, team_id),
        "channel": {"id": channel, "name": channel.lower()},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id or new_trigger_id(),
        "response_url": response_url or f"https://hooks.slack.com/app/{team_id}/1/dead",
        "message_ts": message_ts,
        "message": message,
    }


def view_submission(
    callback_id: str,
    values: dict[str, dict[str, Any]],
    *,
    user: str,
    private_metadata: str = "",
    view_id: str | None = None,
    team_id: str = "T1",
) -> dict[str, Any]:
    """A ``view_submission`` payload: a modal's submit.

    Args:
        callback_id: The view's callback id.
        values: ``state.values``: block id -> action id -> element state. A plain string element
            state is shorthand for ``{"type": "plain_text_input", "value": ...}``.
        user: Who submitted.
        private_metadata: The view's private metadata.
        view_id: The view id (as ``views.open`` answered); a new one by default.
        team_id: The workspace id.
    """
    state = {
        block_id: {
            action_id: (
                {"type": "plain_text_input", "value": element}
                if isinstance(element, str)
                else element
            )
            for action_id, element in actions.items()
        }
        for block_id, actions in values.items()
    }
    vid = view_id or f"V{uuid.uuid4().hex[:10].upper()}"
    return {
        "type": "view_submission",
        "team": {**TEAM, "id": team_id},
        "user": _user(user, team_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": new_trigger_id(),
        "view": {
            "id": vid,
            "team_id": team_id,
            "type": "modal",
            "blocks": [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": state},
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            "title": {"type": "plain_text", "text": "Relevo"},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": {"type": "plain_text", "text": "Submit"},
            "previous_view_id": None,
            "root_view_id": vid,
            "app_id": API_APP_ID,
            "external_id": "",
            "app_installed_team_id": team_id,
            "bot_id": "BBOT",
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }

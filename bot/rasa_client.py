"""A client of Rasa's REST channel, and a look into Rasa's Redis tracker store.

`send` raises RasaUnavailableError when a turn fails; `ambiguous` tells whether Rasa may still
have processed the message (a timeout after the request was sent), in which case the tracker
store, not a resend, tells what the assistant answered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import redis.asyncio as aioredis

from relevo.errors import RasaUnavailableError

TRACKER_PREFIX = "relevorasa"


@dataclass(frozen=True)
class BotReply:
    """One message of the assistant: text, buttons and Relevo's own data (decision, article)."""

    text: str | None
    buttons: list[dict[str, Any]] = field(default_factory=list)
    custom: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_rest(cls, message: dict[str, Any]) -> BotReply:
        """From one element of the REST channel's answer."""
        return cls(
            text=message.get("text"),
            buttons=list(message.get("buttons") or []),
            custom=dict(message.get("custom") or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        """For JSON."""
        return {"text": self.text, "buttons": self.buttons, "custom": self.custom}


class RasaClient:
    """Sends customer messages to Rasa and returns the assistant's replies."""

    def __init__(self, *, url: str, timeout: float) -> None:
        self._url = url.rstrip("/")
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=2.0))

    async def close(self) -> None:
        """Release the connection pool."""
        await self._http.aclose()

    async def healthy(self) -> bool:
        """Whether Rasa answers its root endpoint."""
        try:
            return (await self._http.get(f"{self._url}/")).status_code == 200
        except httpx.HTTPError:
            return False

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> list[BotReply]:
        """One turn through the REST webhook."""
        payload = {"sender": sender, "message": text, "metadata": metadata}
        try:
            response = await self._http.post(f"{self._url}/webhooks/rest/webhook", json=payload)
        except httpx.ConnectError as exc:
            raise RasaUnavailableError(f"Rasa is not reachable: {exc}", ambiguous=False) from exc
        except httpx.HTTPError as exc:
            raise RasaUnavailableError(f"Rasa did not answer: {exc!r}", ambiguous=True) from exc
        if response.status_code != 200:
            raise RasaUnavailableError(
                f"Rasa answered HTTP {response.status_code}", ambiguous=response.status_code >= 500
            )
        return [BotReply.from_rest(message) for message in response.json()]


async def replies_in_tracker(
    client: aioredis.Redis, sender: str, message_id: str
) -> list[BotReply] | None:
    """The replies Rasa recorded for `message_id`, or None when Rasa never answered it.

    A message Rasa saw more than once (asked again after a turn without a word) is answered by
    its last turn; a turn without a word is no answer.
    """
    raw = await client.get(f"{TRACKER_PREFIX}:tracker:{sender}")
    if raw is None:
        return None
    events = json.loads(raw).get("events", [])
    found: list[BotReply] | None = None
    for index, event in enumerate(events):
        if (
            event.get("event") == "user"
            and (event.get("metadata") or {}).get("message_id") == message_id
        ):
            replies = []
            for later in events[index + 1 :]:
                if later.get("event") == "user":
                    break
                if later.get("event") == "bot":
                    data = later.get("data") or {}
                    replies.append(
                        BotReply(
                            text=later.get("text"),
                            buttons=list(data.get("buttons") or []),
                            custom=dict(data.get("custom") or {}),
                        )
                    )
            found = replies
    return found or None

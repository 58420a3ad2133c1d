"""Who is at the agent console: one shared token plus the agent's name, and signed sessions.

Login is one shared token plus the agent's name (`ConsoleLogin`): the name becomes the agent's id
(`web:<slug>`), so two people must not share a name. The token is `RELEVO_CONSOLE_TOKEN`; when it
is unset, a random one is generated at first start into `<data_dir>/console-token` (mode 0600)
and `relevo up` prints the console's address with it, so `make run` needs no setup and still never
serves an open desk. Several gateways need the variable set (or a shared data directory).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from relevo.settings import Settings

SESSION_SECONDS = 12 * 3600
TOKEN_FILE = "console-token"


@dataclass(frozen=True)
class Agent:
    """A person at the console: `web:<slug of the name>` and the name as typed."""

    id: str
    name: str


def agent_for(name: str) -> Agent:
    """The agent called `name` (trimmed, no control characters, at most 60 characters).

    Raises:
        ValueError: the name is empty.
    """
    printable = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    clean = " ".join(printable.split())[:60]
    if not clean:
        raise ValueError("a name is needed")
    folded = unicodedata.normalize("NFKD", clean).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:40]
    if not slug:  # a name in a script without a Latin spelling: a stable digest instead
        slug = hashlib.sha256(clean.casefold().encode()).hexdigest()[:12]
    return Agent(id=f"web:{slug}", name=clean)


def console_token(settings: Settings) -> str:
    """`RELEVO_CONSOLE_TOKEN`, else the generated one (created on first use, mode 0600)."""
    if settings.console_token is not None:
        return settings.console_token.get_secret_value()
    path = settings.data_dir / TOKEN_FILE
    try:
        return _read_token(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it meanwhile
        return _read_token(path)
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_urlsafe(24) + "\n")
    return _read_token(path)


def _read_token(path: Path) -> str:
    for _ in range(20):  # a file just created by another process may not be written yet
        token = path.read_text().strip()
        if token:
            return token
        time.sleep(0.05)
    raise RuntimeError(f"{path} is empty: delete it, or set RELEVO_CONSOLE_TOKEN")


class ConsoleLogin:
    """The login token, and session cookies signed with a key derived from it.

    A session is `<base64url JSON {id, name, exp}>.<base64url HMAC-SHA256>`; changing the token
    ends every session.
    """

    def __init__(self, token: str, lifetime: float = SESSION_SECONDS) -> None:
        self._token = token.encode()
        self._key = hashlib.sha256(b"relevo-console-session\0" + self._token).digest()
        self.lifetime = lifetime

    def token_matches(self, token: str) -> bool:
        """Whether `token` is the login token (in constant time)."""
        return hmac.compare_digest(token.encode(), self._token)

    def issue(self, agent: Agent, now: float | None = None) -> str:
        """A session cookie's value for `agent`."""
        expires = int((now if now is not None else time.time()) + self.lifetime)
        payload = _b64(json.dumps({"id": agent.id, "name": agent.name, "exp": expires}).encode())
        return f"{payload}.{self._sign(payload)}"

    def read(self, cookie: str | None, now: float | None = None) -> Agent | None:
        """The agent of a valid, unexpired session, else None."""
        if not cookie or cookie.count(".") != 1:
            return None
        payload, signature = cookie.split(".")
        if not hmac.compare_digest(self._sign(payload).encode(), signature.encode()):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            return None
        if data.get("exp", 0) < (now if now is not None else time.time()):
            return None
        return Agent(id=str(data["id"]), name=str(data["name"]))

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

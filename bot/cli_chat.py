"""`relevo chat`: talk to the assistant from a terminal, through the running gateway's web chat."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from relevo.settings import get_settings

console = Console(highlight=False)

_EVENTS = {
    "queued": "waiting for a person…",
    "agent_joined": "{agent} joined the conversation",
    "bot_back": "you are talking to the assistant again",
    "closed": "conversation closed",
    "new_conversation": "a new conversation starts",
}


def _show(frame: dict[str, Any], buttons: list[dict[str, str]]) -> None:
    """Print a frame of the web chat; what people wrote is shown as typed, never as markup."""
    kind = frame.get("type")
    if kind == "message" and frame.get("author") != "customer":
        who = str(frame.get("agent") or frame.get("author"))
        console.print(Text.assemble((who, "bold cyan"), ": ", str(frame.get("text", ""))))
        buttons[:] = frame.get("buttons") or []
        for number, button in enumerate(buttons, 1):
            console.print(f"  [{number}] {button['title']}", markup=False)
    elif kind == "event":
        text = _EVENTS.get(str(frame.get("event")), str(frame.get("event")))
        said = text.format(agent=frame.get("agent") or "an agent")
        console.print(Text(f"— {said} —", style="dim"))
    elif kind == "error":
        console.print(Text(f"not sent: {frame.get('reason')}", style="red"))


def _read(socket: ClientConnection, buttons: list[dict[str, str]]) -> None:
    try:
        for raw in socket:
            _show(json.loads(raw), buttons)
    except ConnectionClosed:
        console.print("[red]connection closed by the gateway[/]")


def chat(
    url: Annotated[
        str | None, typer.Option(metavar="URL", help="The gateway (default: from settings).")
    ] = None,
    conversation: Annotated[
        str | None, typer.Option(metavar="ID", help="Resume a conversation id (wc-...).")
    ] = None,
) -> None:
    """Chat with the assistant in the terminal (the gateway must be running: `make run`).

    Type a message and press Enter. Under a message with buttons, type a button's number to
    tap it. /quit (or Ctrl-D) leaves; the conversation can be resumed with --conversation.
    """
    settings = get_settings()
    base = (url or f"http://{settings.host}:{settings.port}").rstrip("/")
    conversation = conversation or f"wc-{uuid.uuid4().hex}"
    ws_url = base.replace("http", "ws", 1) + f"/channels/webchat/ws?conversation={conversation}"
    try:
        socket = connect(ws_url, open_timeout=5)
    except (OSError, TimeoutError) as exc:
        console.print(f"[red]Cannot reach the gateway at {base} ({exc}). Is `make run` up?[/]")
        raise typer.Exit(1) from exc
    console.print(f"[dim]conversation {conversation} · write /quit to leave[/]")
    buttons: list[dict[str, str]] = []
    threading.Thread(target=_read, args=(socket, buttons), daemon=True).start()
    with socket:
        while True:
            try:
                line = input()
            except (EOFError, KeyboardInterrupt):
                break
            if line.strip() == "/quit":
                break
            message: dict[str, str] = {"type": "message", "client_id": uuid.uuid4().hex}
            if line.strip().isdigit() and 0 < int(line) <= len(buttons):
                chosen = buttons[int(line) - 1]
                message.update(text=chosen["payload"], display=chosen["title"])
            else:
                message["text"] = line
            socket.send(json.dumps(message, ensure_ascii=False))

"""`relevo chat` prints what the assistant and agents wrote as typed."""

from bot import cli_chat


def shown(frame: dict[str, object]) -> str:
    buttons: list[dict[str, str]] = []
    with cli_chat.console.capture() as captured:
        cli_chat._show(frame, buttons)
    return captured.get()


def test_text_that_looks_like_markup_is_printed_as_written() -> None:
    """`[/cancelar]` in an agent's reply raised MarkupError and killed the reader (QA s25)."""
    frames = [
        {"type": "message", "author": "agent", "agent": "Laura", "text": "Escribe [/cancelar]"},
        {"type": "message", "author": "bot", "text": "Tu código es [bold]XK7P2Q[/bold]"},
        {"type": "event", "event": "agent_joined", "agent": "[red]Marcos"},
        {"type": "error", "reason": "too long [x]"},
    ]
    said = [shown(frame) for frame in frames]
    assert said == [
        "Laura: Escribe [/cancelar]\n",
        "bot: Tu código es [bold]XK7P2Q[/bold]\n",
        "— [red]Marcos joined the conversation —\n",
        "not sent: too long [x]\n",
    ]


def test_buttons_are_numbered_for_typing_their_number() -> None:
    buttons: list[dict[str, str]] = []
    frame = {
        "type": "message",
        "author": "bot",
        "text": "¿Te ha servido?",
        "buttons": [{"title": "Sí 👍", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}],
    }
    with cli_chat.console.capture() as captured:
        cli_chat._show(frame, buttons)
    assert captured.get().splitlines()[1:] == ["  [1] Sí 👍", "  [2] No"]
    assert [b["payload"] for b in buttons] == ["/affirm", "/deny"]

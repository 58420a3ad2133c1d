"""The desk's events in words: which channels are told, in which language, with which name."""

from __future__ import annotations

import pytest

from bot.event_words import event_words


def test_telegram_is_told_who_joined_and_that_the_assistant_is_back_in_its_language() -> None:
    def words(event: str, agent: str | None, language: str | None) -> str | None:
        return event_words(event, agent, channel="telegram", public=False, language=language)

    assert words("agent_joined", "Laura", "en") == (
        "Laura from our team has joined the conversation."
    )
    assert words("agent_joined", "Laura", "es") == (
        "Laura, de nuestro equipo, se ha unido a la conversación."
    )
    assert words("agent_joined", None, "es") == (
        "Una persona de nuestro equipo se ha unido a la conversación."
    )
    assert words("bot_back", None, "en") == (
        "You're chatting with the assistant again: ask me anything, or ask for a person at any "
        "time."
    )
    assert words("bot_back", None, "es") == (
        "Vuelves a hablar con el asistente: pregúntame lo que quieras, o pide hablar con una "
        "persona cuando quieras."
    )
    assert words("bot_back", None, None) == words("bot_back", None, "en")
    assert words("closed", None, "en") is None


@pytest.mark.parametrize(
    ("channel", "public"),
    [("webchat", False), ("social", True), ("telegram", True), ("", False)],
)
def test_no_words_where_events_are_shown_in_public_or_for_an_unknown_conversation(
    channel: str, public: bool
) -> None:
    for event in ("agent_joined", "bot_back"):
        assert event_words(event, "Laura", channel=channel, public=public, language="en") is None

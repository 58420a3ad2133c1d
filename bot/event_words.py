"""The desk's events in words, for the channels that cannot show an event.

The web chat draws the conversation log's events itself ("Laura has joined the conversation"), but
a Telegram chat only shows messages: without words, a customer handed back to the assistant waits
for a person who is gone. A public post is read by everyone, so who is answering is not announced
there (docs/channels.md).
"""

from __future__ import annotations

from bot.inbound import Channel
from bot.texts import text

SHOWS_EVENTS = frozenset({Channel.WEBCHAT.value})  # channels that draw the log's events


def event_words(
    event: str, agent: str | None, *, channel: str, public: bool, language: str | None
) -> str | None:
    """What a customer on `channel` reads for `event`, in `language`; None to say nothing.

    Nothing for a channel that shows events itself, for a public conversation, for a
    conversation whose channel is unknown (forgotten meanwhile) and for an event without words.
    """
    if not channel or channel in SHOWS_EVENTS or public:
        return None
    if event == "agent_joined":
        if agent:
            return text("agent_joined", language, agent=agent)
        return text("agent_joined_unnamed", language)
    if event == "bot_back":
        return text("bot_back", language)
    return None

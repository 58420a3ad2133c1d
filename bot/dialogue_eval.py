"""`relevo eval dialogue`: does the assistant answer what it can and hand over what it can't?

Every labelled query is sent to the running Rasa server as the first message of a new private
web-chat conversation; `actions.decision_scores` says which outcomes are right. The messages
carry the `evaluation` flag, so a handoff decision is reported but nothing reaches the desk, the
reports or the content team's gaps: the command is safe to run against a live deployment.
"""

from __future__ import annotations

import uuid

from actions.decision_scores import QueryOutcome
from bot.rasa_client import BotReply, RasaClient
from kb_index.evaluation import LabelledQuery
from kb_index.language import message_language

ASIDES = frozenset({"notice"})
"""Decisions said beside the real one: an incident the operator announced comes first."""


def outcome_of(replies: list[BotReply]) -> tuple[str, str | None, tuple[str, ...]]:
    """The assistant's decision, cited article and offered ones, from Relevo's reply data."""
    for reply in replies:
        data = reply.custom.get("relevo")
        if data and data.get("decision") not in ASIDES:
            options = tuple(str(o) for o in data.get("options") or ())
            return str(data["decision"]), data.get("article_id"), options
    return "none", None, ()


async def dialogue_outcomes(
    rasa: RasaClient, queries: list[LabelledQuery], *, default_language: str
) -> list[QueryOutcome]:
    """Run every query through Rasa, each as a new conversation; one outcome per query."""
    run = uuid.uuid4().hex[:8]
    outcomes = []
    for number, query in enumerate(queries):
        metadata: dict[str, object] = {"channel": "webchat", "public": False, "evaluation": True}
        language = message_language(query.text, None, default_language)
        if language.decided:  # as the gateway sends it
            metadata["language"] = language.code
        replies = await rasa.send(f"eval-{run}-{number}", query.text, metadata)
        outcomes.append(
            QueryOutcome(
                query.text, query.language, query.kind, query.expected, *outcome_of(replies)
            )
        )
    return outcomes

"""`relevo eval dialogue`: does the assistant answer what it can and hand over what it can't?

Every labelled query is sent to the running Rasa server as the first message of a new private
conversation. The outcome is right when the assistant answers with the labelled article, or
does not answer (asks to rephrase or hands over) a question the knowledge base cannot answer;
a confident wrong answer cites another article, or answers an unanswerable question.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field

from bot.rasa_client import BotReply, RasaClient
from kb_index.evaluation import LabelledQuery
from kb_index.language import detect_language


@dataclass
class DialogueScores:
    """The figures of one language."""

    queries: int = 0
    right: int = 0
    confident_wrong: int = 0
    answerable: int = 0
    answered_right: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def accuracy(self) -> float:
        """Share of queries with the right outcome."""
        return self.right / self.queries if self.queries else 0.0

    @property
    def confident_wrong_rate(self) -> float:
        """Share of queries answered with the wrong article (or answered at all when none fits)."""
        return self.confident_wrong / self.queries if self.queries else 0.0

    @property
    def deflection(self) -> float:
        """Share of answerable queries answered with the right article."""
        return self.answered_right / self.answerable if self.answerable else 0.0


def outcome_of(replies: list[BotReply]) -> tuple[str, str | None]:
    """The assistant's decision and the article it cited, from Relevo's data in the replies."""
    for reply in replies:
        data = reply.custom.get("relevo")
        if data:
            return str(data["decision"]), data.get("article_id")
    return "none", None


def score(scores: DialogueScores, query: LabelledQuery, decision: str, article: str | None) -> None:
    """Add one query's outcome."""
    scores.queries += 1
    scores.outcomes[decision] += 1
    answered = decision == "answer"
    if query.expected is not None:
        scores.answerable += 1
        scores.answered_right += answered and article == query.expected
    right = (answered and article == query.expected) or (not answered and query.expected is None)
    scores.right += right
    scores.confident_wrong += answered and article != query.expected


async def evaluate_dialogue(
    rasa: RasaClient, queries: list[LabelledQuery], *, default_language: str
) -> dict[str, DialogueScores]:
    """Run every query through Rasa; figures per language."""
    results: dict[str, DialogueScores] = {}
    run = uuid.uuid4().hex[:8]
    for number, query in enumerate(queries):
        language = detect_language(query.text, default=default_language).code
        metadata = {"channel": "eval", "language": language, "public": False}
        replies = await rasa.send(f"eval-{run}-{number}", query.text, metadata)
        decision, article = outcome_of(replies)
        score(results.setdefault(query.language, DialogueScores()), query, decision, article)
    return results

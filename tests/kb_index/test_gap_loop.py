"""The knowledge-gap loop end to end: unanswered -> clustered -> drafted -> published -> answered.

Real Redis (handoff records written by `request_handoff`, agent replies in the conversation
logs), the real multilingual USE, a real faiss index of the demo knowledge base copied to tmp,
and the assistant's own gate deciding whether it answers.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
import redis

from actions.gate import OUT_OF_SCOPE, Outcome, decide
from actions.off_topic import OffTopicExamples, example_gap, intent_examples
from actions.runtime import gate_config
from bot.gaps import collect_unanswered
from handoff.requests import HandoffRequest, Priority, Reason, TranscriptLine, request_handoff
from kb_index.articles import parse_article
from kb_index.embeddings import Embedder
from kb_index.gaps import TODO_MARKER, cluster, write_drafts
from kb_index.phrases import PhraseSet
from kb_index.service import KnowledgeBase, index_options, publish_version, ranking_config
from kb_index.store import IndexStore
from kb_index.sync import sync_directory
from relevo import keys
from relevo.settings import Settings

pytestmark = pytest.mark.slow

NOW = dt.datetime.now(dt.UTC)

# Drones: the demo knowledge base has no article about them (checked below, before the loop).
DRONE_ES = [
    "¿Puedo llevar un dron en el avión?",
    "quiero viajar con mi drone, se puede?",
    "¿el dron va en cabina o facturado?",
    "llevo un dron y sus baterías, ¿hay algún problema?",
    "se permite volar con drones en Brisa?",
]
DRONE_EN = [
    "Can I bring a drone on the plane?",
    "do drones have to go in checked baggage?",
    "travelling with a drone and spare batteries, any rules?",
]
NEW_PARAPHRASE_ES = "¿Cómo tengo que transportar mi dron en un vuelo de Brisa?"
NEW_PARAPHRASE_EN = "what are the rules for flying with a drone?"

REPLY_ES = (
    "Hola {name}, los drones viajan en la maleta facturada, sin las baterías de litio. Las "
    "baterías van en la cabina, cada una de menos de 100 Wh y con los terminales protegidos."
)
REPLY_ES_2 = (
    "Puedes llevar el dron como equipaje facturado; las baterías de repuesto siempre en cabina, "
    "hasta dos de entre 100 y 160 Wh con autorización. Volar el dron a bordo no está permitido."
)
REPLY_EN = (
    "Hi {name}, drones travel in checked baggage with their lithium batteries removed; the "
    "batteries go in the cabin, each under 100 Wh, with the terminals taped."
)


def _transcript(question: str, reason: Reason, language: str) -> list[TranscriptLine]:
    """What the customer and the bot said before the escalation, shaped by its reason."""
    at = NOW.isoformat()
    greeting = "hola" if language == "es" else "hi"
    if reason is Reason.NEGATIVE_FEEDBACK:
        return [
            TranscriptLine("customer", question, at),
            TranscriptLine("bot", "El equipaje especial viaja en bodega...", at),
            TranscriptLine("bot", "¿Te ha servido?", at),
            TranscriptLine("customer", "/deny", at),
            TranscriptLine("customer", "no", at),
        ]
    return [
        TranscriptLine("customer", greeting, at),
        TranscriptLine("bot", "¿En qué puedo ayudarte?", at),
        TranscriptLine("customer", question, at),
        TranscriptLine("bot", "No estoy seguro de haberte entendido.", at),
    ]


def _handoff(
    client: redis.Redis,
    number: int,
    question: str,
    *,
    language: str,
    reason: Reason = Reason.LOW_CONFIDENCE,
    created: dt.datetime = NOW,
    replies: tuple[str, ...] = (),
) -> str:
    """Queue a handoff as action_escalate does, then log what the agent replied."""
    conversation = f"webchat:gap-{number}"
    request = HandoffRequest(
        conversation_id=conversation,
        channel="webchat",
        language=language,
        reason=reason,
        priority=Priority.NORMAL,
        transcript=_transcript(question, reason, language),
        hits=[],
        draft=None,
        department="baggage",
        created_at=created.isoformat(),
    )
    assert request_handoff(client, request)
    log = keys.conversation_log(conversation)
    client.xadd(log, {"type": "message", "author": "bot", "text": "Te paso con una persona."})
    for reply in replies:
        client.xadd(log, {"type": "message", "author": "agent", "agent": "U1", "text": reply})
    return request.id


def _seed(client: redis.Redis) -> None:
    reasons = [Reason.LOW_CONFIDENCE, Reason.NEGATIVE_FEEDBACK, Reason.REPEATED_FAILURE]
    names = ["Ana", "Luis", "Marta", "Jorge", "Inés"]
    for n, question in enumerate(DRONE_ES):
        first = REPLY_ES.format(name=names[n]) if n % 2 == 0 else REPLY_ES_2
        replies = (first, "Un momento, lo miro.") if n == 0 else (first,)
        if n == 1:  # personal data in an agent's reply must not reach the draft
            replies = (f"{REPLY_ES_2} Te lo confirmo en luis.garcia@example.com",)
        _handoff(client, n, question, language="es", reason=reasons[n % 3], replies=replies)
    for n, question in enumerate(DRONE_EN, start=10):
        _handoff(client, n, question, language="en", replies=(REPLY_EN.format(name="Sam"),))
    # Not counted: the customer asked for a person; and an escalation older than the window.
    _handoff(client, 20, "quiero hablar con un agente sobre mi dron", language="es",
             reason=Reason.ASKED_FOR_PERSON, replies=("Claro, dime.",))  # fmt: skip
    _handoff(client, 21, DRONE_ES[0], language="es", created=NOW - dt.timedelta(days=40))


def _outcome(
    kb: KnowledgeBase, off_topic: PhraseSet, question: str, settings: Settings
) -> tuple[Outcome, str, float]:
    """The gate's decision as the action takes it, without Rasa's intent."""
    hits = kb.search(question, 5)
    gap = example_gap(off_topic, kb.query_vector(question), hits)
    decision = decide(hits, None, gate_config(settings), gap)
    top = decision.hit.article_id if decision.hit else ""
    return decision.outcome, top, decision.hit.score if decision.hit else 0.0


def _publish(draft: Path, articles: Path) -> Path:
    """What the content team does: delete the editor's note and the draft status, publish."""
    article = parse_article(draft, draft_ok=True)
    text = "\n".join(
        line
        for line in draft.read_text().splitlines()
        if not line.startswith((TODO_MARKER, "status: draft"))
    )
    target = articles / article.language / draft.name
    target.write_text(text, encoding="utf-8")
    return target


def test_published_drafts_answer_the_questions_that_were_escalated(
    tmp_path: Path, settings: Settings, redis_client: redis.Redis, use_embedder: Embedder
) -> None:
    store = IndexStore(settings.index_dir)
    publish_version(
        redis_client, sync_directory(settings.kb_dir, store, use_embedder, index_options(settings))
    )
    kb = KnowledgeBase(
        store=store,
        embedder=use_embedder,
        client=redis_client,
        config=ranking_config(settings),
        nprobe=settings.kb_ivf_nprobe,
        reload_interval=0.0,
    )
    off_topic = OffTopicExamples(
        use_embedder, settings.nlu_dir / "data", settings.kb_not_covered_file
    ).current()  # as the action server has them: Rasa's examples and the not-covered list
    assert len(off_topic.phrases) > len(intent_examples(settings.nlu_dir / "data", OUT_OF_SCOPE))
    # The questions that escalated had no answer: there was no drone article. The gate alone
    # answers at most one of them (with another topic's article); the whole assistant, with
    # Rasa's intent, answers none of the eight (`relevo eval dialogue` on them, 2026-11-27).
    before = {q: _outcome(kb, off_topic, q, settings) for q in [*DRONE_ES, *DRONE_EN]}
    answered = [q for q, (outcome, _, _) in before.items() if outcome is Outcome.ANSWER]
    assert len(answered) <= 1, before

    _seed(redis_client)
    unanswered = collect_unanswered(redis_client, NOW - dt.timedelta(days=30))
    assert sorted(q.text for q in unanswered) == sorted(DRONE_ES + DRONE_EN)
    gaps = cluster(unanswered, use_embedder)
    assert [(g.language, g.count) for g in gaps] == [("es", 5), ("en", 3)]
    assert set(gaps[0].questions) == set(DRONE_ES)
    drafts = write_drafts(gaps, tmp_path / "drafts", NOW.date())
    text = drafts[0].read_text()
    assert "luis.garcia@example.com" not in text and "@" not in text
    assert "Ana" not in text and "Un momento" not in text
    assert "los drones viajan en la maleta facturada" in text.lower()

    published = [_publish(draft, settings.kb_dir) for draft in drafts]
    report = sync_directory(settings.kb_dir, store, use_embedder, index_options(settings))
    ids = [parse_article(p).id for p in published]
    assert sorted(report.added) == sorted(ids) and not report.problems
    publish_version(redis_client, report)
    deadline = time.monotonic() + 30
    while kb.version != report.version and time.monotonic() < deadline:
        kb.refresh()  # the new version loads in the background
        time.sleep(0.05)
    assert kb.version == report.version

    every_question = [*DRONE_ES, NEW_PARAPHRASE_ES, *DRONE_EN, NEW_PARAPHRASE_EN]
    after = {q: _outcome(kb, off_topic, q, settings) for q in every_question}
    expected = {q: ids[0] for q in [*DRONE_ES, NEW_PARAPHRASE_ES]}
    expected |= {q: ids[1] for q in [*DRONE_EN, NEW_PARAPHRASE_EN]}
    assert {q: (o, top) for q, (o, top, _) in after.items()} == {
        q: (Outcome.ANSWER, article) for q, article in expected.items()
    }, after

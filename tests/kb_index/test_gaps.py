"""Knowledge gaps: clustering real questions with the real multilingual USE, and the drafts."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from kb_index.articles import load_articles, parse_article
from kb_index.embeddings import Embedder
from kb_index.gaps import (
    TODO_MARKER,
    Gap,
    UnansweredQuestion,
    average_linkage,
    cluster,
    draft_article,
    draft_paths,
    write_drafts,
)

TODAY = dt.date(2026, 5, 4)

# Three topics the demo knowledge base lacks, paraphrased in each language, and one-off questions.
# The latest question of each topic decides ties in volume (newest first): see EXPECTED.
TOPICS: dict[tuple[str, str], tuple[int, list[str]]] = {
    ("drone", "es"): (
        5,
        [
            "¿Puedo llevar un dron en el avión?",
            "quiero viajar con mi drone, se puede?",
            "¿el dron va en cabina o facturado?",
            "llevo un dron y sus baterías, ¿hay algún problema?",
            "se permite volar con drones en Brisa?",
        ],
    ),
    ("milk", "es"): (
        18,
        [
            "¿puedo llevar leche materna en cabina?",
            "¿puedo llevar leche materna en cabina?",  # asked twice: counts twice
            "cuanta leche materna puedo llevar en el avion",
            "llevo leche materna congelada, pasa el control?",
        ],
    ),
    ("insulin", "es"): (
        12,
        [
            "viajo con insulina, ¿puedo llevarla en cabina?",
            "necesito llevar jeringuillas de insulina en el avión",
            "soy diabético, puedo llevar mi insulina y agujas?",
        ],
    ),
    ("drone", "en"): (
        20,
        [
            "Can I bring a drone on the plane?",
            "do drones have to go in checked baggage?",
            "travelling with a drone and spare batteries, any rules?",
            "is it ok to pack my DJI drone in my carry on",
        ],
    ),
    ("insulin", "en"): (
        15,
        [
            "can I bring my insulin and needles in hand luggage?",
            "I'm diabetic, can I fly with insulin pens",
            "do I need a doctor's note to carry insulin on board",
        ],
    ),
    ("milk", "en"): (
        10,
        [
            "can I bring breast milk through security?",
            "is a breast pump allowed in the cabin?",
            "how much expressed breast milk can I take on board",
        ],
    ),
}
NOISE = {
    "es": [
        "¿hacéis vuelos a Tokio?",
        "quiero trabajar de azafata, dónde envío el CV",
        "¿tenéis descuento para estudiantes?",
        "puedo pagar con bizum",
    ],
    "en": [
        "do you fly to Tokyo?",
        "how do I apply for a job as cabin crew",
        "is there a student discount",
        "can I pay with PayPal",
    ],
}
# Volume first (5, then 4 and 4, then 3, 3 and 3), ties broken by the latest question.
EXPECTED = [
    ("drone", "es"),
    ("drone", "en"),
    ("milk", "es"),
    ("insulin", "en"),
    ("insulin", "es"),
    ("milk", "en"),
]


def _at(day: int, minute: int = 0) -> str:
    return dt.datetime(2026, 4, day, 9, minute, tzinfo=dt.UTC).isoformat()


def _question(
    text: str, language: str, *, day: int = 1, minute: int = 0, **extra: object
) -> UnansweredQuestion:
    fields: dict[str, object] = {
        "text": text,
        "language": language,
        "reason": "low_confidence",
        "department": "baggage",
        "agent_replies": (),
        "handoff_id": f"h-{language}-{day}-{minute}-{abs(hash(text)) % 10_000}",
        "at": _at(day, minute),
    }
    fields.update(extra)
    return UnansweredQuestion(**fields)  # type: ignore[arg-type]


def _labelled() -> list[UnansweredQuestion]:
    questions = []
    for (_, language), (day, texts) in TOPICS.items():
        questions += [_question(t, language, day=day, minute=i) for i, t in enumerate(texts)]
    for language, texts in NOISE.items():
        questions += [_question(t, language, day=2, minute=i) for i, t in enumerate(texts)]
    return questions


@pytest.fixture(scope="module")
def gaps(use_embedder: Embedder) -> list[Gap]:
    return cluster(_labelled(), use_embedder)


def test_paraphrases_group_by_topic_and_rank_by_volume_then_recency(gaps: list[Gap]) -> None:
    grouped = [g for g in gaps if g.count > 1]
    assert [(set(g.questions), g.language) for g in grouped] == [
        (set(TOPICS[topic][1]), topic[1]) for topic in EXPECTED
    ]
    assert [g.count for g in grouped] == [5, 4, 4, 3, 3, 3]
    singles = [g for g in gaps if g.count == 1]
    assert sorted(g.label for g in singles) == sorted(NOISE["es"] + NOISE["en"])
    assert gaps[: len(grouped)] == grouped  # every group ranks above the one-off questions


def test_a_gap_never_mixes_languages(gaps: list[Gap]) -> None:
    language_of = {t: lang for (_, lang), (_, texts) in TOPICS.items() for t in texts}
    language_of |= {t: lang for lang, texts in NOISE.items() for t in texts}
    for gap in gaps:
        assert {language_of[q] for q in gap.questions} == {gap.language}


def test_the_label_is_the_most_central_question_and_repeats_count(gaps: list[Gap]) -> None:
    milk = next(g for g in gaps if g.language == "es" and "leche" in g.label)
    assert milk.count == 4 and len(milk.questions) == 3
    assert milk.label == "¿puedo llevar leche materna en cabina?" == milk.questions[0]
    assert all(g.label == g.questions[0] for g in gaps)
    assert gaps[0].draft == "draft-dron-es.md"
    assert len({g.draft for g in gaps}) == len(gaps)


def test_average_linkage_stops_at_the_threshold_and_weighs_repeats() -> None:
    similarity = np.array(
        [
            [1.0, 0.8, 0.1, 0.45],
            [0.8, 1.0, 0.2, 0.45],
            [0.1, 0.2, 1.0, 0.6],
            [0.45, 0.45, 0.6, 1.0],
        ]
    )
    assert average_linkage(similarity, [1, 1, 1, 1], 0.5) == [[0, 1], [2, 3]]
    # {0, 1} and {2, 3} average 0.30 over their four pairs; with row 3 asked three times, the
    # pairs with row 3 (0.45) weigh three times as much: 0.375, above 0.35.
    assert average_linkage(similarity, [1, 1, 1, 1], 0.35) == [[0, 1], [2, 3]]
    assert average_linkage(similarity, [1, 1, 1, 3], 0.35) == [[0, 1, 2, 3]]
    assert average_linkage(similarity, [1, 1, 1, 1], 0.9) == [[0], [1], [2], [3]]
    assert average_linkage(np.zeros((0, 0)), [], 0.5) == []


EMAIL, CARD = "ana.garcia@example.com", "4111 1111 1111 1111"
AGENT_REPLY = (
    "Hola Ana, los drones viajan facturados y sin baterías; las baterías de litio van en "
    f"cabina. Te envío la confirmación a {EMAIL}."
)
OTHER_REPLY = (
    "Puedes llevar el dron como equipaje facturado; las baterías de repuesto, siempre en "
    f"cabina. El cargo de {CARD} es el del equipaje especial."
)


@pytest.fixture(scope="module")
def personal_gap(use_embedder: Embedder) -> Gap:
    questions = [
        _question(
            f"¿Puedo llevar un dron en el avión? mi correo es {EMAIL}",
            "es",
            agent_replies=(AGENT_REPLY, "Un momento, lo miro."),
        ),
        _question(
            f"llevo un dron y sus baterías, pagué con la tarjeta {CARD}, ¿hay algún problema?",
            "es",
            minute=1,
            agent_replies=(OTHER_REPLY,),
            department="special_assistance",
        ),
        _question(
            "¿el dron va en cabina o facturado?",
            "es",
            minute=2,
            agent_replies=(AGENT_REPLY.replace("Ana", "Luis"), f"{OTHER_REPLY} Gracias."),
        ),
    ]
    [gap] = cluster(questions, use_embedder)
    return gap


def test_a_draft_is_an_article_with_the_questions_and_the_agents_answers(
    personal_gap: Gap, tmp_path: Path
) -> None:
    [path] = write_drafts([personal_gap], tmp_path / "drafts", TODAY)
    article = parse_article(path, draft_ok=True)
    assert (
        path.name == f"{article.id}.md"
        and article.id.startswith("draft-")
        and article.id.endswith("-es")
    )
    assert article.title == personal_gap.label and article.language == "es"
    assert article.department == "baggage" and article.channels == ("all",)
    assert article.updated == TODAY and "dron" in article.tags
    assert "¿el dron va en cabina o facturado?" in article.questions
    assert len(article.questions) == 3
    assert "## Respuesta" in article.body and TODO_MARKER in path.read_text()
    # Replies merged: each answer once (the same reply with another name or a "Gracias." more
    # counts twice), the most common first; acknowledgements and salutations dropped.
    assert article.body.count("Los drones viajan facturados") == 1
    assert article.body.count("Puedes llevar el dron como equipaje facturado") == 1
    assert article.body.index("Los drones viajan") < article.body.index("Puedes llevar el dron")
    assert "Un momento" not in article.body and "Ana" not in article.body


def test_no_personal_data_reaches_a_draft(personal_gap: Gap, tmp_path: Path) -> None:
    assert EMAIL not in personal_gap.label + "".join(personal_gap.questions)
    text = write_drafts([personal_gap], tmp_path, TODAY)[0].read_text()
    assert EMAIL not in text and CARD not in text and CARD.replace(" ", "") not in text
    assert "@" not in text and "[e-mail]" in text and "[card ••••1111]" in text
    # A gap built by hand is redacted on the way out too.
    raw = replace(
        personal_gap,
        label=f"dron {EMAIL}",
        questions=[f"dron y tarjeta {CARD}"],
        agent_replies=[f"Escríbenos a {EMAIL} con la tarjeta {CARD} a mano."],
    )
    text = draft_article(raw, TODAY)
    assert EMAIL not in text and CARD not in text


def test_english_drafts_speak_english(gaps: list[Gap]) -> None:
    english = next(g for g in gaps if g.language == "en")
    text = draft_article(replace(english, agent_replies=[]), TODAY)
    assert "## Answer" in text and "No agent has answered" in text
    assert "language: en" in text and "status: draft" in text


def test_rerunning_rewrites_the_same_files_and_spares_edited_ones(
    gaps: list[Gap], tmp_path: Path
) -> None:
    grouped = [g for g in gaps if g.count > 1]
    first = write_drafts(grouped, tmp_path, TODAY)
    assert len(set(first)) == len(grouped) == len(list(tmp_path.glob("*.md")))
    # A month later the group has grown and another question became its label: same file.
    grown = replace(
        grouped[0],
        label="¿Se pueden transportar drones en el avión?",
        questions=["¿Se pueden transportar drones en el avión?", *grouped[0].questions],
        draft="draft-transportar-drones-es.md",
        count=6,
    )
    again = write_drafts([grown, *grouped[1:]], tmp_path, TODAY + dt.timedelta(days=30))
    assert again == first and len(list(tmp_path.glob("*.md"))) == len(grouped)
    assert "transportar drones" in first[0].read_text()
    assert parse_article(first[0], draft_ok=True).id == first[0].stem  # the id follows the file
    # An editor took the second one over (deleted the note): it is left as they wrote it.
    edited = first[1].read_text().replace(TODO_MARKER, "<!-- reviewed:")
    first[1].write_text(edited)
    write_drafts(grouped, tmp_path, TODAY)
    assert first[1].read_text() == edited
    assert draft_paths(grouped, tmp_path) == first


def test_a_draft_moved_into_the_articles_unedited_is_refused(
    gaps: list[Gap], tmp_path: Path
) -> None:
    drafts = write_drafts(gaps[:2], tmp_path, TODAY)
    articles, problems = load_articles(drafts)
    assert articles == [] and len(problems) == 2
    assert all(p.reason.startswith("still a draft: ") for p in problems)

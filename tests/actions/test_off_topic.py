"""Off-topic evidence from the NLU's out-of-scope examples and the not-covered list."""

import os
import re
from pathlib import Path

import pytest
import yaml

from actions.gate import OUT_OF_SCOPE
from actions.off_topic import (
    OffTopicExamples,
    example_gap,
    intent_examples,
    listed_questions,
    read_listed_questions,
)
from kb_index.embeddings import Embedder
from kb_index.evaluation import load_queries
from kb_index.phrases import PhraseSet
from kb_index.query import clean_query
from kb_index.retriever import Hit

ROOT = Path(__file__).resolve().parents[2]


def test_intent_examples_come_from_every_nlu_file(tmp_path: Path) -> None:
    (tmp_path / "nlu_en.yml").write_text(
        'version: "3.1"\nnlu:\n  - intent: greet\n    examples: |\n      - hi\n'
        "  - intent: out_of_scope\n    examples: |\n      - who won the game?\n"
        "      - is it going to rain\n",
        encoding="utf-8",
    )
    (tmp_path / "nlu_es.yml").write_text(
        "nlu:\n  - intent: out_of_scope\n    examples: |\n      - quien gano el partido?\n",
        encoding="utf-8",
    )
    (tmp_path / "rules.yml").write_text("rules: []\n", encoding="utf-8")
    assert intent_examples(tmp_path, OUT_OF_SCOPE) == [
        "who won the game?",
        "is it going to rain",
        "quien gano el partido?",
    ]
    assert intent_examples(tmp_path / "missing", OUT_OF_SCOPE) == []


def test_the_projects_out_of_scope_examples_cover_both_languages() -> None:
    examples = intent_examples(ROOT / "nlu" / "data", OUT_OF_SCOPE)
    assert len(examples) > 200
    assert "who won the game last night?" in examples
    assert any("coche" in e for e in examples)  # Spanish ones too


def hit(dense: float) -> Hit:
    return Hit(
        1.0, "pets-en", "Pets", "Small pets travel in the cabin.", "", "en", "en", False, dense, 0.0
    )


def test_the_gap_is_the_nearest_example_minus_the_best_passage(use_embedder: Embedder) -> None:
    examples = PhraseSet(use_embedder, ["can i rent a car at the airport through you?"])
    nearest = examples.nearest("do u do car rental?")
    assert nearest is not None
    question = use_embedder.encode([clean_query("do u do car rental?")])[0]
    gap = example_gap(examples, question, [hit(0.3)])
    assert gap is not None and abs(gap - (nearest.score - 0.3)) < 1e-6
    assert example_gap(PhraseSet(use_embedder, []), question, [hit(0.3)]) is None
    assert example_gap(examples, question, []) == nearest.score
    # the question's vector as the search used it: another vector, another gap
    elsewhere = use_embedder.encode(["how many bags can i check in?"])[0]
    assert example_gap(examples, elsewhere, [hit(0.3)]) < gap - 0.1


def test_listed_questions_are_read_per_language_and_a_broken_list_is_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    listed = tmp_path / "not-covered.yml"
    listed.write_text("en:\n  - do u sell gift cards?\nes:\n  - vendeis tarjetas regalo?\n")
    assert listed_questions(listed) == ["do u sell gift cards?", "vendeis tarjetas regalo?"]
    listed.write_text("en:\n  -\n  - '  '\n  - do u sell gift cards?\nes: []\n")
    assert read_listed_questions(listed) == {"en": ["do u sell gift cards?"], "es": []}
    assert listed_questions(tmp_path / "missing.yml") == []
    listed.write_text("en:\n  - {question: gift cards}\n")
    assert listed_questions(listed) == []
    listed.write_text("en: [unclosed\n")
    assert listed_questions(listed) == []
    listed.write_text("- a bare list, no languages\n")
    assert listed_questions(listed) == []
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 3 and all(str(listed) in e for e in errors)
    assert "is not a line of text" in errors[0]


def test_off_topic_examples_follow_edits_of_the_list(
    tmp_path: Path, use_embedder: Embedder
) -> None:
    nlu = tmp_path / "nlu"
    nlu.mkdir()
    (nlu / "nlu_en.yml").write_text(
        "nlu:\n  - intent: out_of_scope\n    examples: |\n      - who won the game?\n"
    )
    listed = tmp_path / "not-covered.yml"
    examples = OffTopicExamples(use_embedder, nlu, listed)
    assert examples.current().phrases == ["who won the game?"]

    listed.write_text("en:\n  - can i buy a day pass for your lounge?\n")
    phrases = examples.current()
    assert phrases.phrases == ["who won the game?", "can i buy a day pass for your lounge?"]
    assert examples.current() is phrases  # unchanged: not embedded again
    nearest = phrases.nearest("is there a paid lounge pass at madrid airport?")
    assert nearest is not None and nearest.phrase == "can i buy a day pass for your lounge?"

    listed.write_text("es:\n  - venden perfumes a bordo?\n")
    os.utime(listed, (1, 1))  # a new modification time, however coarse the clock
    assert examples.current().phrases == ["who won the game?", "venden perfumes a bordo?"]
    listed.unlink()
    assert examples.current().phrases == ["who won the game?"]


def _four_word_runs(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", clean_query(text).lower())
    return {tuple(words[i : i + 4]) for i in range(len(words) - 3)}


def test_the_shipped_list_covers_both_languages_without_copying_labelled_queries() -> None:
    listed = yaml.safe_load((ROOT / "kb" / "not-covered.yml").read_text(encoding="utf-8"))
    assert set(listed) == {"en", "es"} and all(len(q) >= 40 for q in listed.values())
    assert listed_questions(ROOT / "kb" / "not-covered.yml") == listed["en"] + listed["es"]
    # The evaluation measures the list: no line may copy a labelled query's wording.
    labelled = [
        q.text
        for name in ("queries.yaml", "heldout.yaml")
        for q in load_queries(ROOT / "kb" / "eval" / name)
    ]
    runs = set().union(*(_four_word_runs(t) for t in labelled))
    copied = [q for q in listed["en"] + listed["es"] if _four_word_runs(q) & runs]
    assert copied == []

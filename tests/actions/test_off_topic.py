"""Off-topic evidence from the NLU's out-of-scope examples."""

from pathlib import Path

from actions.gate import OUT_OF_SCOPE
from actions.off_topic import example_gap, intent_examples
from kb_index.embeddings import Embedder
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

"""Which messages are complaints: Rasa's intent, borne out by the customer's words."""

from pathlib import Path

import pytest
import yaml

from actions.answer import is_complaint

QUERIES = Path(__file__).parents[2] / "kb" / "eval" / "queries.yaml"


def labelled_complaints() -> list[str]:
    queries = yaml.safe_load(QUERIES.read_text(encoding="utf-8"))["queries"]
    return [q["q"] for q in queries if q.get("kind") == "complaint"]


def test_every_labelled_complaint_rasa_calls_one_stays_one() -> None:
    complaints = labelled_complaints()
    assert len(complaints) >= 20
    assert [c for c in complaints if not is_complaint(c, "complaint")] == []


@pytest.mark.parametrize(
    "text",
    [
        "and for kids?",
        "refund?",
        "y si pesa 12 kilos?",
        "Hola buenas tardes, le cuento: la tripulación fue muy amable pero mi maleta no salió, "
        "qué tengo que hacer ahora?",
    ],
)
def test_a_calm_follow_up_or_a_kind_story_rasa_calls_a_complaint_is_a_question(text: str) -> None:
    """Rasa gives these `complaint` at 0.69-1.00."""
    assert not is_complaint(text, "complaint")


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("refund?? 😡", "complaint"),  # short, but angry
        ("y si pesa 12 kilos?? es una vergüenza", "question"),  # angry words, whatever Rasa read
        ("the flight attendant was so rude, I want to know who to write to", "question"),
    ],
)
def test_anger_makes_a_complaint(text: str, intent: str) -> None:
    assert is_complaint(text, intent)

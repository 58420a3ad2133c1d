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
        "la maleta salio empapada y con toda la ropa mojada, me compensais?",
        "bag came out soaking wet, everything inside ruined",
        "cuando se da por perdida una maleta definitivamente?",
    ],
)
def test_a_calm_question_rasa_calls_a_complaint_is_a_question(text: str) -> None:
    """Rasa gives these `complaint` at 0.69-1.00; nothing in their words is displeased."""
    assert not is_complaint(text, "complaint")


@pytest.mark.parametrize(
    "text",
    [
        "paid for Wi-Fi Plus and it didnt work at all, refund? 🙄",
        "sat at the gate for 6 hours, no info, no apology. i want the 400 euros",
        "y si pesa 12 kilos??",
        "REFUND NOW",
    ],
)
def test_a_complaint_rasa_reads_stays_one_when_the_words_show_displeasure(text: str) -> None:
    assert is_complaint(text, "complaint")


def test_an_eye_roll_alone_does_not_make_a_question_a_complaint() -> None:
    """Annoyance bears out Rasa's complaint; on its own it is no anger."""
    assert not is_complaint("card keeps getting declined at checkout 🙄", "question")


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

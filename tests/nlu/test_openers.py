"""Openers ("I have a question", "tengo una duda") told from messages that say what they are about.

nlu/relevo_openers.py is pure Python; Rasa runs it in its own environment, the test here.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _is_opener() -> Callable[[str], bool]:
    spec = importlib.util.spec_from_file_location(
        "relevo_openers", ROOT / "nlu" / "relevo_openers.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.is_opener


is_opener = _is_opener()


@pytest.mark.parametrize(
    "text",
    [
        "I have a question",
        "i have a quick question",
        "Quick Q",
        "I've got a question for you",
        "can i ask you something?",
        "I need help",
        "help please",
        "Help!",
        "hi there, i need some help",
        "can u help me pls",
        "I have another question",
        "@BrisaAir i have a question 🙂",
        "tengo una duda",
        "Tengo una pregunta",
        "una consulta",
        "una duda rápida",
        "tengo otra duda",
        "necesito ayuda porfa",
        "Ayuda por favor",
        "¿me ayudas?",
        "me echáis una mano?",
        "¿Me podéis ayudar?",
        "buenas tardes, tengo una consulta",
        "os puedo hacer una pregunta?",
        "quería consultar una cosa",
    ],
)
def test_an_opener_is_recognised_around_greetings_mentions_and_please(text: str) -> None:
    assert is_opener(text)


@pytest.mark.parametrize(
    "text",
    [
        "I have a question about my baggage",
        "I have a question, can I take my dog?",
        "I need help with my booking",
        "I need help from a person",
        "can you help me find my bag?",
        "necesito ayuda con mi reserva",
        "tengo una duda sobre el equipaje",
        "ayuda, me han perdido la maleta",
        "una consulta sobre reembolsos",
        "quiero hablar con una persona",
        "hola",
        "thanks",
        "no",
        "",
        "👋",
    ],
)
def test_a_message_that_says_what_it_is_about_is_no_opener(text: str) -> None:
    assert not is_opener(text)

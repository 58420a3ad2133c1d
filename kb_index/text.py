"""Text normalisation shared by the lexical index and the evaluation."""

from __future__ import annotations

import re
import unicodedata

_TOKEN = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """Lower case without accents: 'Compensación' -> 'compensacion'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokens(text: str) -> list[str]:
    """Folded word tokens; one-letter words are dropped except digits."""
    return [t for t in _TOKEN.findall(fold(text)) if len(t) > 1 or t.isdigit()]


# Function words of four letters or more, folded, in Spanish and English: words a message
# shares with any text, which say nothing of what it is about.
_FUNCTION_WORDS = """
    para pero como este esta estos estas porque donde cuando quiero queria puedo puede pueden
    tengo tiene tienen hola gracias buenas buenos dias tardes noches favor sobre desde hasta
    entre todo toda todos todas nada algo alguien mucho mucha muy mas menos cual cuales quien segun
    hacer hace hecho sido estoy estamos vuestro vuestra nuestro nuestra ellos ellas usted ustedes
    with from that this what when where which have does your about there their would could should
    please thanks hello want need just will been into them they then than also still only over
"""
FUNCTION_WORDS = frozenset(_FUNCTION_WORDS.split())


def content_stems(text: str) -> set[str]:
    """A text's content words (four letters or more, no function word), cut to five letters.

    The cut lets a word's forms meet ("facturar", "facturado"; "reclamo", "reclamar") where a
    title or a heading names what a question asks.
    """
    return {t[:5] for t in tokens(text) if len(t) >= 4 and t not in FUNCTION_WORDS}

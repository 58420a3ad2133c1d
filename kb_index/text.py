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

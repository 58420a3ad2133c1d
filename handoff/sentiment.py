"""How the customer feels, from their own words: a small bilingual lexicon and a few signals.

Enough to flag an angry customer on a card (shouting, "!!", 😡, "vergüenza", "unacceptable");
the social-care operations issue refines it into a priority with influence and virality. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb_index.text import fold

NEGATIVE = {
    "verguenza",
    "vergonzoso",
    "fatal",
    "horrible",
    "terrible",
    "pesimo",
    "pesima",
    "desastre",
    "inaceptable",
    "indignante",
    "ridiculo",
    "estafa",
    "timo",
    "harto",
    "harta",
    "enfadado",
    "enfadada",
    "cabreado",
    "cabreada",
    "denuncia",
    "denunciar",
    "nunca mas",
    "worst",
    "awful",
    "unacceptable",
    "ridiculous",
    "disgusting",
    "scam",
    "angry",
    "furious",
    "fed up",
    "lawsuit",
    "never again",
    "useless",
    "inutil",
    "rubbish",
    "shameful",
    "disgrace",
}
POSITIVE = {
    "gracias",
    "genial",
    "perfecto",
    "perfecta",
    "estupendo",
    "encantado",
    "encantada",
    "thanks",
    "thank you",
    "great",
    "perfect",
    "awesome",
    "love",
    "excellent",
    "excelente",
}
ANGRY_EMOJI = set("😡🤬😠👎💩😤")
HAPPY_EMOJI = set("😊🙂😍🥰👍🙏❤💙")
_WORD = re.compile(r"[A-ZÁÉÍÓÚÑ]{4,}")


@dataclass(frozen=True)
class Sentiment:
    """A label, a score in [-1, 1] and what it is based on."""

    label: str  # negative, neutral or positive
    score: float
    reasons: tuple[str, ...]


def _terms(folded: str, terms: set[str]) -> list[str]:
    return [t for t in sorted(terms) if re.search(rf"(?<!\w){re.escape(t)}(?!\w)", folded)]


def sentiment(texts: list[str]) -> Sentiment:
    """The customer's mood over their messages."""
    joined = " ".join(texts)
    folded = fold(joined)
    negative = _terms(folded, NEGATIVE)
    positive = _terms(folded, POSITIVE)
    reasons = [*negative, *(f"+{p}" for p in positive)]
    shouting = _WORD.findall(joined)
    if shouting:
        reasons.append("SHOUTING")
    if "!!" in joined:
        reasons.append("!!")
    angry = [c for c in joined if c in ANGRY_EMOJI]
    happy = [c for c in joined if c in HAPPY_EMOJI]
    reasons += angry[:1] + happy[:1]
    bad = len(negative) + bool(shouting) + ("!!" in joined) + len(angry)
    good = len(positive) + len(happy)
    score = 0.0 if bad + good == 0 else (good - bad) / (good + bad)
    label = "negative" if score < -0.2 else "positive" if score > 0.2 else "neutral"
    return Sentiment(label, round(score, 2), tuple(reasons[:5]))


def sounds_angry(text: str) -> bool:
    """Angry words or an angry emoji, not outweighed by kind ones: a complaint, however phrased.

    Shouting and "!!" alone are not enough: flight codes are written in capitals, and excited
    customers write "!!" too.
    """
    cues = bool(_terms(fold(text), NEGATIVE)) or any(c in ANGRY_EMOJI for c in text)
    return cues and sentiment([text]).label == "negative"

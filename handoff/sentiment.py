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
    "la peor",  # "worst" in Spanish; "peor" alone is "worse" ("es peor de noche?")
    "el peor",
    "lo peor",
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
    "disgraceful",
    "rude",
    "grosero",
    "grosera",
    "maleducado",
    "maleducada",
    "no apology",
    "not even an apology",
    "ni una disculpa",
    "sin disculpas",
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
    "amable",
    "amables",
    "lovely",
    "friendly",
}
# A death told to the brand: condolences before anything else. Read on a message that already
# names a human-only topic, where "died" is a person's death, not a phone's.
GRIEF = {
    "passed away",
    "died",
    "bereavement",
    "death in the family",
    "funeral",
    "fallecio",
    "fallecido",
    "fallecida",
    "fallecimiento",
    "ha muerto",
    "murio",
    "defuncion",
    "entierro",
    "luto",
}
ANGRY_EMOJI = set("😡🤬😠👎💩😤🤮")
NO_EMOJI = set("👎")  # angry, but as a reply a no ("did this help?"), not a complaint
# Annoyance, not anger: an eye-roll bears out a complaint, but "card declined again 🙄" is a
# question all the same.
ANNOYED_EMOJI = set("🙄😒😩😫")
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


@dataclass(frozen=True)
class _Signals:
    """What a text shows of its writer's mood."""

    negative: list[str]
    positive: list[str]
    shouting: bool
    exclaiming: bool  # "!!"
    angry: list[str]  # angry emoji, each occurrence
    annoyed: bool
    happy: list[str]

    @property
    def score(self) -> float:
        bad = len(self.negative) + self.shouting + self.exclaiming + len(self.angry)
        good = len(self.positive) + len(self.happy)
        return 0.0 if bad + good == 0 else (good - bad) / (good + bad)

    @property
    def label(self) -> str:
        return "negative" if self.score < -0.2 else "positive" if self.score > 0.2 else "neutral"


def _signals(text: str) -> _Signals:
    folded = fold(text)
    return _Signals(
        negative=_terms(folded, NEGATIVE),
        positive=_terms(folded, POSITIVE),
        shouting=bool(_WORD.search(text)),
        exclaiming="!!" in text,
        angry=[c for c in text if c in ANGRY_EMOJI],
        annoyed=any(c in ANNOYED_EMOJI for c in text),
        happy=[c for c in text if c in HAPPY_EMOJI],
    )


def sentiment(texts: list[str]) -> Sentiment:
    """The customer's mood over their messages."""
    signals = _signals(" ".join(texts))
    reasons = [*signals.negative, *(f"+{p}" for p in signals.positive)]
    if signals.shouting:
        reasons.append("SHOUTING")
    if signals.exclaiming:
        reasons.append("!!")
    reasons += signals.angry[:1] + signals.happy[:1]
    return Sentiment(signals.label, round(signals.score, 2), tuple(reasons[:5]))


def sounds_angry(text: str) -> bool:
    """Angry words or an angry emoji, not outweighed by kind ones: a complaint, however phrased.

    Shouting and "!!" alone are not enough: flight codes are written in capitals, and excited
    customers write "!!" too.
    """
    signals = _signals(text)
    return bool(signals.negative or signals.angry) and signals.label == "negative"


def mourns(text: str) -> bool:
    """Whether the customer tells of a death in their family (folded words, either language)."""
    return bool(_terms(fold(text), GRIEF))


def shows_displeasure(text: str) -> bool:
    """Any sign of displeasure: an angry word or emoji, an eye-roll, shouting, "!!" or "??"."""
    signals = _signals(text)
    shown = signals.negative or signals.angry or signals.annoyed or signals.shouting
    return bool(shown or signals.exclaiming) or "??" in text

"""Language detection that works on short social-media texts (Spanish or English)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

_CODES = {Language.SPANISH: "es", Language.ENGLISH: "en"}

# Short words that only one of the two languages writes. When the statistical detector is
# unsure ("el trolley entra o me lo mandais a la bodega?": an English loanword, no accents),
# a clear lead of one language's words decides.
# fmt: off
_FUNCTION_WORDS = {
    "es": frozenset({
        "el", "la", "los", "las", "de", "del", "que", "q", "en", "y", "o", "por", "para", "mi",
        "mis", "te", "se", "lo", "le", "les", "un", "una", "unos", "es", "son", "con", "sin",
        "pero", "como", "donde", "cuando", "porque", "xq", "hay", "tengo", "puedo", "quiero",
        "esta", "estoy",
    }),
    "en": frozenset({
        "the", "an", "of", "to", "in", "is", "are", "am", "my", "i", "you", "u", "your", "ur",
        "for", "on", "it", "and", "or", "can", "do", "does", "did", "how", "what", "where",
        "when", "why", "with", "without", "have", "has", "this", "that", "there", "im",
    }),
}
# Words both languages write ("ok"): a message of nothing else shows no language, and a
# Spanish conversation that gets an "ok" stays Spanish.
_SHARED_WORDS = frozenset({"ok", "okay", "okey", "okis", "k", "kk", "no", "yes", "si", "lol", "xd"})
# fmt: on
_FUNCTION_WORD_LEAD = 2
_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class DetectedLanguage:
    """A language code and how sure the detector is (0.5 means a coin toss).

    `decided` is False when the text gave too little evidence and `code` is the default.
    """

    code: str
    confidence: float
    decided: bool = True


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*_CODES).with_preloaded_language_models().build()


def detect_language(
    text: str, *, default: str = "en", min_confidence: float = 0.6
) -> DetectedLanguage:
    """The language of `text`; `default` when the text gives too little evidence."""
    values = _detector().compute_language_confidence_values(text)
    if not values:
        return DetectedLanguage(default, 0.5, decided=False)
    best = values[0]
    if best.value >= min_confidence:
        return DetectedLanguage(_CODES[best.language], best.value)
    by_words = _by_function_words(text)
    if by_words is None:
        return DetectedLanguage(default, best.value, decided=False)
    confidence = next(v.value for v in values if _CODES[v.language] == by_words)
    return DetectedLanguage(by_words, confidence)


def _by_function_words(text: str) -> str | None:
    """The language whose function words lead in `text` by a clear margin, else None."""
    words = _WORD.findall(text.lower())
    counts = {
        code: sum(w in vocabulary for w in words) for code, vocabulary in _FUNCTION_WORDS.items()
    }
    (first, most), (_, second) = sorted(counts.items(), key=lambda item: -item[1])
    return first if most - second >= _FUNCTION_WORD_LEAD else None


# The start of a message tells its language; detecting a whole 20,000-character one would hold
# the event loop for a fifth of a second.
_DETECT_CHARS = 500


def message_language(text: str, hint: str | None, default: str) -> DetectedLanguage:
    """A message's language, detected from the start of its words.

    A command or a button has no words: the channel's `hint`, else undecided. A message of
    words both languages write ("ok") shows no language: undecided, so the conversation keeps
    its own. An undecided language has the hint's or `default`'s code.
    """
    if not text or text.startswith("/"):
        if hint:
            return DetectedLanguage(hint, 1.0)
        return DetectedLanguage(default, 0.5, decided=False)
    words = _WORD.findall(text[:_DETECT_CHARS].lower())
    if words and set(words) <= _SHARED_WORDS:
        return DetectedLanguage(hint or default, 0.5, decided=False)
    return detect_language(text[:_DETECT_CHARS], default=hint or default)

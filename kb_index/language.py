"""Language detection that works on short social-media texts (Spanish or English)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

_CODES = {Language.SPANISH: "es", Language.ENGLISH: "en"}


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
    if best.value < min_confidence:
        return DetectedLanguage(default, best.value, decided=False)
    return DetectedLanguage(_CODES[best.language], best.value)

"""Split a long text into parts that fit a platform's limit, at the cleanest boundary."""

from __future__ import annotations

import re

_BOUNDARIES = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"(?<=[.!?…])\s+"))


def split_text(text: str, limit: int) -> list[str]:
    """Parts of at most `limit` characters: at paragraphs, else lines, sentences, words.

    A single word longer than the limit (a long URL) is cut where it must be.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    text = text.strip()
    parts: list[str] = []
    while len(text) > limit:
        cut = _best_cut(text, limit)
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts


def _best_cut(text: str, limit: int) -> int:
    window = text[: limit + 1]
    for boundary in _BOUNDARIES:
        ends = [m.start() for m in boundary.finditer(window) if 0 < m.start() <= limit]
        if ends and ends[-1] > limit // 3:
            return ends[-1]
    space = window.rfind(" ", 0, limit + 1)
    return space if space > limit // 3 else limit

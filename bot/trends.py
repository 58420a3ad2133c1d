"""What a customer message is about, for trends: its hashtags and a few keywords. Pure.

The event stream keeps these instead of the words themselves, so reports can show what people
talk about without holding what they said. Numbers and personal data never become keywords.
"""

from __future__ import annotations

import re

from kb_index.text import FUNCTION_WORDS, fold, tokens

MAX_KEYWORDS = 8
_HASHTAG = re.compile(r"(?<![\w#])#(\w*[^\W\d_]\w*)")
STOPWORDS = FUNCTION_WORDS | {"brisa", "brisaair"}


def hashtags(text: str) -> list[str]:
    """The hashtags, folded, in order, without repeats."""
    found = [f"#{fold(tag)}" for tag in _HASHTAG.findall(text)]
    return list(dict.fromkeys(found))


def keywords(text: str) -> list[str]:
    """Up to eight content words: folded, four letters or more, no numbers, no stopwords."""
    without_tags = _HASHTAG.sub(" ", re.sub(r"\S+@\S+|https?://\S+|@\w+", " ", text))
    words = [t for t in tokens(without_tags) if len(t) >= 4 and t.isalpha()]
    return list(dict.fromkeys(w for w in words if w not in STOPWORDS))[:MAX_KEYWORDS]

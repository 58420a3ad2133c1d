"""Fit a knowledge-base answer to its channel. Pure."""

from __future__ import annotations

import re

from actions.texts import text
from kb_index.lexical import word_forms
from kb_index.retriever import Hit
from kb_index.text import FUNCTION_WORDS, tokens

PRIVATE_SNIPPET_CHARS = 700
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_CODE = re.compile(r"`([^`\n]+)`")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
# A list item: at the start, or after the end of the item before (paragraph lines are joined).
_BULLET = re.compile(r"(?:^|(?<=[.:;!?)]) )[-*+] (?=\S)")
_NUMBERED = re.compile(r"(?<=[.:;!?)]) (?=\d{1,2}\. \S)")
MIN_PUBLIC_WORDS_CHARS = 20
"""Less room than this beside the link on a public post, and the reply is the link alone."""
# Where a passage's sentences and list items start (a list item on its own line or not).
_UNIT_START = re.compile(r"(?<=[.!?…])\s+(?=\S)|\s*\n\s*|\s+(?=• )")
_MIN_MATCHED_CHARS = 4  # shorter words ("the", "que", "can") say nothing about the topic
_MIN_MATCHED_WORDS = 2  # one shared word ("flights") is too little to skip the passage's start


def article_url(base: str, hit: Hit) -> str:
    """The public link of the article (and section) an answer quotes."""
    anchor = f"#{hit.anchor}" if hit.anchor else ""
    return f"{base.rstrip('/')}/{hit.article_id}{anchor}"


def shorten(passage: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary with an ellipsis."""
    if len(passage) <= limit:
        return passage
    cut = passage[: max(0, limit - 1)].rsplit(" ", 1)[0].rstrip(",;:.")
    return f"{cut}…"


def snippet(passage: str, question: str, limit: int) -> str:
    """At most `limit` characters of the passage, from the start or from where it answers.

    When the passage is too long, the sentence or list item that shares the most content words
    with the question (two at least, plurals too) is shown: if a cut from the start would leave it
    out, the snippet starts there instead ("… • Boarding gates close 20 minutes before
    departure.").
    """
    if len(passage) <= limit:
        return passage
    asked = {form for word in tokens(question) for form in word_forms(word)}
    starts = [0, *(m.end() for m in _UNIT_START.finditer(passage))]
    best_start, best = 0, _MIN_MATCHED_WORDS - 1
    for start, end in zip(starts, [*starts[1:], len(passage)], strict=True):
        unit = {
            w
            for w in tokens(passage[start:end])
            if len(w) >= _MIN_MATCHED_CHARS and w not in FUNCTION_WORDS
        }
        found = len(unit & asked)
        if found > best:
            best_start, best = start, found
    unit_end = next((s for s in starts if s > best_start), len(passage))
    if best_start == 0 or unit_end <= limit - 1:  # the cut from the start shows it
        return shorten(passage, limit)
    return shorten(f"…{passage[best_start:]}", limit)


def plain_text(passage: str, *, lines: bool) -> str:
    """The passage without Markdown's marks, as every channel shows text as it is.

    Articles are Markdown, and a passage keeps their `**bold**` and list dashes; on Telegram, a
    public post or the web chat they would show as written. List items start with "• ", each
    on its own line when `lines` (a private chat; a public post is one line).
    """
    plain = _LINK.sub(r"\1 (\2)", passage)
    plain = _CODE.sub(r"\1", plain)
    plain = _STRONG.sub(r"\2", plain)
    plain = _EMPHASIS.sub(r"\1", plain)
    start = "\n" if lines else " "
    plain = _BULLET.sub(lambda item: f"{start if item.start() else ''}• ", plain)
    return _NUMBERED.sub("\n", plain) if lines else plain


def compose_answer(
    hit: Hit, language: str, *, question: str, public: bool, limit: int, base_url: str
) -> str:
    """The answer: the passage with a link; on a public post it fits `limit` characters.

    A passage too long to quote whole is quoted from where it answers `question` (`snippet`).
    """
    url = article_url(base_url, hit)
    link = text("read_more", language, url=url)
    note = f" {text('other_language', language)}" if hit.fallback else ""
    passage = plain_text(hit.text, lines=not public)
    if public:
        room = limit - len(link) - len(note) - 1
        if room < MIN_PUBLIC_WORDS_CHARS:  # a link too long to leave room for words: the link
            return f"{note} {link}".strip()
        return f"{snippet(passage, question, room)}{note} {link}"
    intro = text("answer_intro", language, title=hit.title)
    return f"{intro}\n{snippet(passage, question, PRIVATE_SNIPPET_CHARS)}{note}\n{link}"

"""Fit a knowledge-base answer to its channel. Pure."""

from __future__ import annotations

import re

from actions.texts import text
from kb_index.retriever import Hit

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


def compose_answer(hit: Hit, language: str, *, public: bool, limit: int, base_url: str) -> str:
    """The answer: the passage with a link; on a public post it fits `limit` characters."""
    url = article_url(base_url, hit)
    link = text("read_more", language, url=url)
    note = f" {text('other_language', language)}" if hit.fallback else ""
    passage = plain_text(hit.text, lines=not public)
    if public:
        room = limit - len(link) - len(note) - 1
        if room < MIN_PUBLIC_WORDS_CHARS:  # a link too long to leave room for words: the link
            return f"{note} {link}".strip()
        return f"{shorten(passage, room)}{note} {link}"
    intro = text("answer_intro", language, title=hit.title)
    return f"{intro}\n{shorten(passage, PRIVATE_SNIPPET_CHARS)}{note}\n{link}"

"""Fit a knowledge-base answer to its channel. Pure."""

from __future__ import annotations

from actions.texts import text
from kb_index.retriever import Hit

PRIVATE_SNIPPET_CHARS = 700
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


def compose_answer(hit: Hit, language: str, *, public: bool, limit: int, base_url: str) -> str:
    """The answer: the passage with a link; on a public post it fits `limit` characters."""
    url = article_url(base_url, hit)
    link = text("read_more", language, url=url)
    note = f" {text('other_language', language)}" if hit.fallback else ""
    if public:
        room = limit - len(link) - len(note) - 1
        if room < MIN_PUBLIC_WORDS_CHARS:  # a link too long to leave room for words: the link
            return f"{note} {link}".strip()
        return f"{shorten(hit.text, room)}{note} {link}"
    intro = text("answer_intro", language, title=hit.title)
    return f"{intro}\n{shorten(hit.text, PRIVATE_SNIPPET_CHARS)}{note}\n{link}"

"""Split articles into overlapping chunks by heading and paragraph."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from kb_index.articles import Article

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


@dataclass(frozen=True)
class Chunk:
    """A passage of an article: what is embedded, searched and quoted."""

    article_id: str
    topic: str
    position: int
    title: str
    heading: str
    anchor: str
    language: str
    text: str
    kind: str = "passage"

    @property
    def key(self) -> str:
        """A stable name for the chunk."""
        return f"{self.article_id}#{self.position}"

    @property
    def embedding_text(self) -> str:
        """The text that is embedded: the title and heading give a passage its context."""
        if self.kind == "question":
            return self.text
        context = self.title if not self.heading else f"{self.title}. {self.heading}"
        return f"{context}. {self.text}"


def slugify(text: str) -> str:
    """A URL anchor in the style of GitHub's Markdown headings."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")


def _sections(body: str) -> list[tuple[str, list[str]]]:
    """(heading, paragraphs) pairs; text before the first heading has an empty heading."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            sections[-1][1].append(" ".join(paragraph))
            paragraph.clear()

    for raw in body.splitlines():
        line = raw.strip()
        heading = _HEADING.match(line)
        if heading:
            flush()
            sections.append((heading.group(2), []))
        elif not line:
            flush()
        else:
            paragraph.append(line)
    flush()
    return [(h, ps) for h, ps in sections if ps]


def _windows(words: list[str], size: int, overlap: int) -> list[list[str]]:
    step = max(1, size - overlap)
    return [words[i : i + size] for i in range(0, max(1, len(words) - overlap), step)]


def _chunk(
    article: Article, position: int, text: str, heading: str, kind: str = "passage"
) -> Chunk:
    return Chunk(
        article_id=article.id,
        topic=article.topic,
        position=position,
        title=article.title,
        heading=heading,
        anchor=slugify(heading) if heading else "",
        language=article.language,
        text=text,
        kind=kind,
    )


def chunk_article(article: Article, *, max_words: int = 120, overlap: int = 25) -> list[Chunk]:
    """Passages of at most `max_words` words, then one chunk per example question.

    Consecutive passages of a section overlap by `overlap` words, so that a sentence cut at a
    boundary is still whole in one of them.
    """
    chunks: list[Chunk] = []
    for heading, paragraphs in _sections(article.body):
        pieces: list[list[str]] = []
        current: list[str] = []
        for paragraph in paragraphs:
            words = paragraph.split()
            if current and len(current) + len(words) > max_words:
                pieces.append(current)
                current = current[-overlap:] if overlap else []
            if len(words) > max_words:
                windows = _windows(current + words, max_words, overlap)
                pieces.extend(windows[:-1])
                current = windows[-1]
            else:
                current = current + words
        if current:
            pieces.append(current)
        for words in pieces:
            chunks.append(_chunk(article, len(chunks), " ".join(words), heading))
    for question in article.questions:
        chunks.append(_chunk(article, len(chunks), question, "", kind="question"))
    return chunks

"""Knowledge articles: Markdown files with YAML front matter, parsed and validated."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import frontmatter
import yaml

LANGUAGES = ("es", "en")
REQUIRED_FIELDS = ("id", "title", "language")
ALL_CHANNELS = "all"
CHANNELS = (ALL_CHANNELS, "webchat", "telegram", "social")  # where an article may be cited


@dataclass(frozen=True)
class Article:
    """One knowledge article as the content team wrote it."""

    id: str
    title: str
    language: str
    body: str
    path: Path
    tags: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()
    topic: str = ""
    department: str = "general"
    channels: tuple[str, ...] = (ALL_CHANNELS,)
    updated: dt.date | None = None

    @property
    def content_hash(self) -> str:
        """A hash of everything that the index depends on, to know what changed."""
        parts = [
            self.id,
            self.title,
            self.language,
            self.topic,
            self.body,
            ",".join(self.tags),
            self.department,
            ",".join(self.channels),
            *self.questions,
        ]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ArticleProblem:
    """Why one file was skipped."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class ArticleParseError(ValueError):
    """A file is not a valid article; the message says why."""


def _as_tuple(value: object, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return tuple(str(v) for v in value)
    raise ArticleParseError(f"'{field}' must be a list of words")


def _as_date(value: object) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ArticleParseError(f"'updated' is not a date (YYYY-MM-DD): {value!r}") from exc


def _topic_from_id(article_id: str, language: str) -> str:
    """Translations share a topic: by default the id without its language suffix."""
    return article_id.removesuffix(f"-{language}")


def parse_article(path: Path) -> Article:
    """Parse one Markdown file; raise ArticleParseError with the reason when it is not valid."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ArticleParseError("not UTF-8 text") from exc
    if not text.lstrip().startswith("---"):
        raise ArticleParseError("no front matter (the file must start with a '---' YAML block)")
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        raise ArticleParseError(f"broken YAML in the front matter: {exc}".splitlines()[0]) from exc
    meta = post.metadata
    missing = [f for f in REQUIRED_FIELDS if not meta.get(f)]
    if missing:
        raise ArticleParseError(f"missing front matter field(s): {', '.join(missing)}")
    language = str(meta["language"]).lower()
    if language not in LANGUAGES:
        raise ArticleParseError(f"unknown language {meta['language']!r} (use one of {LANGUAGES})")
    body = post.content.strip()
    if not body:
        raise ArticleParseError("empty body")
    channels = _as_tuple(meta.get("channels"), "channels") or (ALL_CHANNELS,)
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        raise ArticleParseError(
            f"unknown channel(s) {', '.join(map(repr, unknown))} (use any of {CHANNELS})"
        )
    return Article(
        id=str(meta["id"]).strip(),
        title=str(meta["title"]).strip(),
        language=language,
        body=body,
        path=path,
        topic=str(meta.get("topic") or _topic_from_id(str(meta["id"]).strip(), language)),
        tags=_as_tuple(meta.get("tags"), "tags"),
        questions=_as_tuple(meta.get("questions"), "questions"),
        department=str(meta.get("department") or "general"),
        channels=channels,
        updated=_as_date(meta.get("updated")),
    )


def article_files(root: Path) -> list[Path]:
    """The Markdown files under `root`, drafts excluded, in a stable order."""
    return sorted(p for p in root.rglob("*.md") if "drafts" not in p.relative_to(root).parts)


def load_articles(paths: Iterable[Path]) -> tuple[list[Article], list[ArticleProblem]]:
    """Parse every file; bad ones and duplicates are reported and skipped, the rest go on.

    A duplicate is a second article with an id already seen, or a second article of a topic in
    the same language: search finds one article per topic and language, so it would never be
    found.
    """
    articles: dict[str, Article] = {}
    topics: dict[tuple[str, str], Article] = {}
    problems: list[ArticleProblem] = []
    for path in paths:
        try:
            article = parse_article(path)
        except ArticleParseError as exc:
            problems.append(ArticleProblem(path, str(exc)))
            continue
        if article.id in articles:
            first = articles[article.id].path
            problems.append(ArticleProblem(path, f"duplicate id {article.id!r} (also in {first})"))
            continue
        same_topic = topics.get((article.topic, article.language))
        if same_topic is not None:
            problems.append(
                ArticleProblem(
                    path,
                    f"topic {article.topic!r} already has an article in {article.language!r} "
                    f"({same_topic.id!r} in {same_topic.path}); give this one its own topic",
                )
            )
            continue
        articles[article.id] = article
        topics[(article.topic, article.language)] = article
    return list(articles.values()), problems

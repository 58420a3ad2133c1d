"""Knowledge articles: Markdown files with YAML front matter, parsed and validated."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

import frontmatter
import yaml

LANGUAGES = ("es", "en")
REQUIRED_FIELDS = ("id", "title", "language")
ALL_CHANNELS = "all"
CHANNELS = (ALL_CHANNELS, "webchat", "telegram", "social")  # where an article may be cited

TODO_MARKER = "<!-- TODO(editor):"
"""Starts the editor's note of a draft that `relevo kb gaps` writes; once deleted, it is theirs."""
PLACEHOLDER_ANSWERS = {
    "es": "Ningún agente ha respondido todavía a estas preguntas: escribe aquí la respuesta.",
    "en": "No agent has answered these questions yet: write the answer here.",
}
"""The body of a gap's draft that no agent answered: never an answer for a customer."""

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_HEADING_LINE = re.compile(r"^ {0,3}#{1,6}(?:[ \t].*)?$", re.MULTILINE)
_EDITOR_LEFTOVER = re.compile(r"(^\.|^#|~$)")  # .#x.md (Emacs lock), .x.md.swp, #x.md#, x.md~


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


def _read(path: Path) -> str:
    """The file's text; UTF-8 with or without the BOM that Windows editors write."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleParseError("not UTF-8 text: save it as UTF-8") from exc
    except OSError as exc:
        raise ArticleParseError(f"cannot be read ({exc.strerror or exc})") from exc


def _yaml_reason(error: yaml.YAMLError, first_line: int) -> str:
    """Where the YAML breaks, as a line and column of the file, and what is wrong there."""
    if not isinstance(error, yaml.MarkedYAMLError) or error.problem_mark is None:
        return f"broken YAML in the front matter: {error}".splitlines()[0]
    mark = error.problem_mark  # lines counted from the '---' line: 0 is that line
    reason = (
        f"broken YAML in the front matter at line {first_line + mark.line}, "
        f"column {mark.column + 1}: {error.problem}"
    )
    if error.context and error.context_mark is not None:
        reason += f" ({error.context} on line {first_line + error.context_mark.line})"
    return reason


def _draft_reason(meta: dict[str, object], body: str) -> str | None:
    """Why a file is still a draft (from `relevo kb gaps`, or marked so), or None."""
    if str(meta.get("status") or "").strip().lower() == "draft":
        return "still a draft: edit it and remove status: draft"
    if TODO_MARKER in body:
        return "still a draft: edit it and delete the TODO(editor) note"
    if any(placeholder in body for placeholder in PLACEHOLDER_ANSWERS.values()):
        return "still a draft: write the answer in place of the placeholder text"
    return None


def without_comments(markdown: str) -> str:
    """The text without HTML comments: editors' notes that no customer may read."""
    visible = _COMMENT.sub("", markdown)
    if "<!--" in visible:
        raise ArticleParseError("an HTML comment '<!--' is never closed: end it with '-->'")
    return visible


def _body(content: str) -> str:
    """The visible body; refused when nothing but headings is left to quote."""
    body = without_comments(content).strip()
    if not body:
        raise ArticleParseError("empty body: write the answer below the front matter")
    if not _HEADING_LINE.sub("", body).strip():
        raise ArticleParseError("empty body: there are headings but no text under them")
    return body


_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
"""An article's id: it is the last part of the article's link, and names its topic."""


def parse_article(path: Path, *, draft_ok: bool = False) -> Article:
    """Parse one Markdown file; raise ArticleParseError with the reason when it is not valid.

    Drafts are refused unless `draft_ok` (the drafts folder reads them to keep one per gap).
    """
    text = _read(path)
    stripped = text.lstrip()
    if not stripped.startswith("---"):
        raise ArticleParseError("no front matter (the file must start with a '---' YAML block)")
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        first_line = text[: len(text) - len(stripped)].count("\n") + 1
        raise ArticleParseError(_yaml_reason(exc, first_line)) from exc
    except ValueError as exc:  # YAML reads 2026-02-30 as a date, and fails on it (QA s24)
        raise ArticleParseError(
            f"a date in the front matter does not exist ({exc}): write it as YYYY-MM-DD"
        ) from exc
    meta = post.metadata
    missing = [f for f in REQUIRED_FIELDS if not meta.get(f)]
    if missing:
        raise ArticleParseError(f"missing front matter field(s): {', '.join(missing)}")
    article_id = str(meta["id"]).strip()
    if not _ID.match(article_id):
        raise ArticleParseError(
            f"id {article_id!r} must be letters, digits, '-', '_' or '.', without spaces: it "
            "becomes the article's link (for example pets-en)"
        )
    language = str(meta["language"]).lower()
    if language not in LANGUAGES:
        raise ArticleParseError(f"unknown language {meta['language']!r} (use one of {LANGUAGES})")
    draft = None if draft_ok else _draft_reason(meta, post.content)
    if draft:
        raise ArticleParseError(draft)
    body = _body(post.content)
    channels = _as_tuple(meta.get("channels"), "channels") or (ALL_CHANNELS,)
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        raise ArticleParseError(
            f"unknown channel(s) {', '.join(map(repr, unknown))} (use any of {CHANNELS})"
        )
    return Article(
        id=article_id,
        title=str(meta["title"]).strip(),
        language=language,
        body=body,
        path=path,
        topic=str(meta.get("topic") or _topic_from_id(article_id, language)),
        tags=_as_tuple(meta.get("tags"), "tags"),
        questions=_as_tuple(meta.get("questions"), "questions"),
        department=str(meta.get("department") or "general"),
        channels=channels,
        updated=_as_date(meta.get("updated")),
    )


def _is_article_file(path: Path, root: Path) -> bool:
    """A Markdown file an editor wrote: no drafts, hidden files, editors' locks or dead links."""
    parts = path.relative_to(root).parts
    if "drafts" in parts or any(_EDITOR_LEFTOVER.search(part) for part in parts):
        return False
    return path.is_file()  # False for a dangling symlink (an Emacs lock) or a folder named *.md


def article_files(root: Path) -> list[Path]:
    """The Markdown files under `root`, in a stable order."""
    return sorted(p for p in root.rglob("*.md") if _is_article_file(p, root))


def load_articles(
    paths: Iterable[Path], *, served: Collection[Path] = ()
) -> tuple[list[Article], list[ArticleProblem]]:
    """Parse every file; bad ones and duplicates are reported and skipped, the rest go on.

    A duplicate is a second article with an id already seen, or a second article of a topic in
    the same language: search finds one article per topic and language, so it would never be
    found. The files in `served` (those the published index was built from) are read first, so
    a copy of an article, saved before its id is changed, never replaces the original.
    """
    served_paths = {p.absolute() for p in served}
    ordered = sorted(paths, key=lambda p: p.absolute() not in served_paths)
    articles: dict[str, Article] = {}
    topics: dict[tuple[str, str], Article] = {}
    problems: list[ArticleProblem] = []
    for path in ordered:
        try:
            article = parse_article(path)
        except ArticleParseError as exc:
            problems.append(ArticleProblem(path, str(exc)))
            continue
        if article.id in articles:
            first = articles[article.id].path
            problems.append(
                ArticleProblem(
                    path,
                    f"duplicate id {article.id!r}: {first} serves it and this file is skipped; "
                    "give this one an id of its own",
                )
            )
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

"""`GET /kb/articles/{id}`: the public page of an article, where the assistant's answers link to.

Rendered from the same Markdown files the index is built from, so a link in an answer always
shows what the answer quoted. Raw HTML in an article is escaped, not rendered, and HTML comments
(editors' notes) were dropped when the file was parsed. A link to an article that is gone (an
old answer, a renamed id) gets a page in the customer's language that says so, not an error.
"""

from __future__ import annotations

import html
from itertools import pairwise
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from markdown_it import MarkdownIt

from kb_index.articles import LANGUAGES, Article
from kb_index.chunking import slugify
from kb_index.store import IndexStore
from kb_index.sync import read_articles

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False})
_LABELS = {
    "en": {
        "updated": "Updated",
        "other": "Leer en español",
        "back": "Ask the assistant",
        "gone": "This article is no longer available",
        "instead": "It may have been removed or replaced. Ask the assistant: it answers from "
        "the current articles.",
    },
    "es": {
        "updated": "Actualizado",
        "other": "Read in English",
        "back": "Pregunta al asistente",
        "gone": "Este artículo ya no está disponible",
        "instead": "Puede que se haya retirado o sustituido. Pregunta al asistente: responde con "
        "los artículos vigentes.",
    },
}
_STYLE = """
:root { color-scheme: light dark; --accent: #0b6e8f; }
body { margin: 0; font: 17px/1.6 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { background: linear-gradient(135deg, #0b5f7c, #0f8aab); color: #fff; padding: 1rem; }
header a { color: #fff; text-decoration: none; font-weight: 600; }
main { max-width: 720px; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
main > a { color: var(--accent); }
h1 { line-height: 1.25; margin-top: 0.5rem; }
.meta { color: #667; font-size: 0.9rem; display: flex; gap: 1rem; flex-wrap: wrap; }
.meta a { color: var(--accent); }
:target { scroll-margin-top: 1rem; background: #fff3c4; color: #1d2733; border-radius: 4px; }
"""


def _find(articles: list[Article], article_id: str) -> tuple[Article, Article | None] | None:
    """The article and its translation, or None when no file has that id (any more)."""
    found = next((a for a in articles if a.id == article_id), None)
    if found is None:
        return None
    translation = next(
        (a for a in articles if a.topic == found.topic and a.language != found.language), None
    )
    return found, translation


def _page(language: str, title: str, content: str) -> str:
    """The page around `content` (HTML), in `language`."""
    labels = _LABELS[language]
    return (
        f'<!doctype html><html lang="{language}"><head>'
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} · Brisa Air</title><style>{_STYLE}</style></head>"
        f'<body><header><a href="/">✈ Brisa Air · {labels["back"]}</a></header><main>'
        f"<h1>{html.escape(title)}</h1>{content}</main></body></html>"
    )


def render(article: Article, translation: Article | None) -> str:
    """The page of an article."""
    language = article.language if article.language in _LABELS else "en"
    labels = _LABELS[language]
    meta = []
    if article.updated:
        meta.append(f"{labels['updated']}: {article.updated.isoformat()}")
    if translation:
        meta.append(
            f'<a href="{html.escape(translation.id)}" hreflang="{translation.language}">'
            f"{labels['other']}</a>"
        )
    content = f'<p class="meta">{" · ".join(meta)}</p>{_body(article.body)}'
    return _page(language, article.title, content)


def _body(markdown: str) -> str:
    """An article's Markdown as HTML, each heading with the anchor the answers link to.

    An answer that quotes a section links to it ("…/wifi-onboard-en#plans-and-prices"); the
    headings had no ids, so the page opened at its top.
    """
    tokens = _MARKDOWN.parse(markdown)
    for opening, inline in pairwise(tokens):
        if opening.type == "heading_open":
            opening.attrSet("id", slugify(inline.content))
    return str(_MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {}))


def render_gone(language: str) -> str:
    """The page of an article that no file holds (any more), with the way to an answer."""
    labels = _LABELS[language]
    return _page(
        language, labels["gone"], f'<p>{labels["instead"]}</p><a href="/">{labels["back"]}</a>'
    )


def _language_of(article_id: str, accept_language: str) -> str:
    """The language of a missing article: its id's suffix, else the browser's, else English."""
    suffix = article_id.rsplit("-", 1)[-1]
    if suffix in LANGUAGES:
        return suffix
    return "es" if accept_language.strip().lower().startswith("es") else "en"


def article_router(kb_dir: Path, store: IndexStore | None = None) -> APIRouter:
    """The article pages, read from `kb_dir`.

    With the index's `store`, two files of one id show the one the index serves.
    """
    router = APIRouter()

    def read() -> list[Article]:
        return read_articles(kb_dir, store.read_manifest() if store else None)[0]

    @router.get("/kb/articles/{article_id}", response_class=HTMLResponse)
    async def article_page(article_id: str, request: Request) -> HTMLResponse:
        """One article as a web page; 404 when there is none (a page for a browser)."""
        found = _find(await run_in_threadpool(read), article_id)
        if found is not None:
            return HTMLResponse(render(*found))
        if "text/html" not in request.headers.get("accept", ""):
            raise HTTPException(status_code=404, detail=f"no article {article_id!r}")
        language = _language_of(article_id, request.headers.get("accept-language", ""))
        return HTMLResponse(render_gone(language), status_code=404)

    return router

"""`GET /kb/articles/{id}`: the public page of an article, where the assistant's answers link to.

Rendered from the same Markdown files the index is built from, so a link in an answer always
shows what the answer quoted. Raw HTML in an article is escaped, not rendered.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from markdown_it import MarkdownIt

from kb_index.articles import Article, article_files, load_articles

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False})
_LABELS = {
    "en": {"updated": "Updated", "other": "Leer en español", "back": "Ask the assistant"},
    "es": {"updated": "Actualizado", "other": "Read in English", "back": "Pregunta al asistente"},
}
_STYLE = """
:root { color-scheme: light dark; --accent: #0b6e8f; }
body { margin: 0; font: 17px/1.6 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { background: linear-gradient(135deg, #0b5f7c, #0f8aab); color: #fff; padding: 1rem; }
header a { color: #fff; text-decoration: none; font-weight: 600; }
main { max-width: 720px; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { line-height: 1.25; margin-top: 0.5rem; }
.meta { color: #667; font-size: 0.9rem; display: flex; gap: 1rem; flex-wrap: wrap; }
.meta a { color: var(--accent); }
"""


def _find(articles: list[Article], article_id: str) -> tuple[Article, Article | None]:
    found = next((a for a in articles if a.id == article_id), None)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no article {article_id!r}")
    translation = next(
        (a for a in articles if a.topic == found.topic and a.language != found.language), None
    )
    return found, translation


def render(article: Article, translation: Article | None) -> str:
    """The page of an article."""
    labels = _LABELS.get(article.language, _LABELS["en"])
    meta = []
    if article.updated:
        meta.append(f"{labels['updated']}: {article.updated.isoformat()}")
    if translation:
        meta.append(
            f'<a href="{html.escape(translation.id)}" hreflang="{translation.language}">'
            f"{labels['other']}</a>"
        )
    return (
        f'<!doctype html><html lang="{html.escape(article.language)}"><head>'
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(article.title)} · Brisa Air</title><style>{_STYLE}</style></head>"
        f'<body><header><a href="/">✈ Brisa Air · {labels["back"]}</a></header><main>'
        f"<h1>{html.escape(article.title)}</h1>"
        f'<p class="meta">{" · ".join(meta)}</p>'
        f"{_MARKDOWN.render(article.body)}</main></body></html>"
    )


def article_router(kb_dir: Path) -> APIRouter:
    """The article pages, read from `kb_dir`."""
    router = APIRouter()

    @router.get("/kb/articles/{article_id}", response_class=HTMLResponse)
    async def article_page(article_id: str) -> HTMLResponse:
        """One article as a web page (404 when there is none)."""
        articles, _ = await run_in_threadpool(load_articles, article_files(kb_dir))
        return HTMLResponse(render(*_find(articles, article_id)))

    return router

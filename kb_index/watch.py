"""Watch the article folder and call back when Markdown files change."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from watchfiles import watch

log = logging.getLogger(__name__)


def _is_article(_change: object, path: str) -> bool:
    return path.endswith(".md")


def watch_articles(root: Path, on_change: Callable[[], object], *, debounce_ms: int = 500) -> None:
    """Block, calling `on_change` after each burst of changes; errors are logged, not fatal."""
    for changes in watch(root, watch_filter=_is_article, debounce=debounce_ms, step=50):
        log.info("articles changed", extra={"files": sorted({p for _, p in changes})})
        try:
            on_change()
        except Exception:
            log.exception("sync after a change failed; watching on")

"""`relevo kb ...`: build, sync, watch, edit, search, inspect and evaluate the knowledge base."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from actions.gate import Outcome, decide
from actions.off_topic import read_listed_questions
from actions.runtime import gate_config
from bot.gaps import find_gaps, parse_since
from bot.inbound import Channel
from handoff.routing import configured_routing
from kb_index.articles import (
    Article,
    ArticleParseError,
    article_files,
    load_articles,
    parse_article,
)
from kb_index.embeddings import load_embedder
from kb_index.gaps import (
    Gap,
    belongs_to_editor,
    default_drafts_dir,
    draft_paths,
    write_drafts,
)
from kb_index.retriever import Retriever
from kb_index.service import KnowledgeBase, index_options, publish_version, ranking_config
from kb_index.store import IndexStore
from kb_index.sync import SyncReport, sync_directory
from kb_index.watch import watch_articles
from relevo.errors import ConfigurationError
from relevo.redis_conn import connect
from relevo.settings import Settings, get_settings

kb_app = typer.Typer(
    help="Build, update, search and evaluate the knowledge base.", no_args_is_help=True
)
console = Console(stderr=True, soft_wrap=True)
out = Console(width=None if sys.stdout.isatty() else 180)


def _print_report(report: SyncReport) -> None:
    for problem in report.problems:
        console.print(f"[yellow]skipped[/] {escape(str(problem))}")
    for warning in report.warnings:
        console.print(f"[yellow]warning[/] {escape(str(warning))}")
    if not report.published:
        console.print(f"[green]Up to date[/]: version {report.version}, {report.chunks} chunks.")
        return
    verb = "Built" if report.rebuilt else "Synced"
    console.print(
        f"[green]{verb}[/] version {report.version}: {len(report.added)} added, "
        f"{len(report.changed)} changed, {len(report.removed)} removed, "
        f"{report.embedded_chunks} chunks embedded, {report.chunks} in the index "
        f"({report.seconds:.1f} s)."
    )


def routed_departments(settings: Settings) -> set[str] | None:
    """The article departments the routing file routes on; None when it cannot be read.

    A broken routing file is `relevo doctor`'s to report; the index is synced all the same.
    """
    try:
        routing = configured_routing(settings.routing_file)
    except ConfigurationError:
        return None
    return {
        name for department in routing.departments.values() for name in department.kb_departments
    }


def run_sync(*, full: bool, quiet: bool = False) -> SyncReport:
    """Sync the index with the article files, with a progress bar, and announce the version."""
    settings = get_settings()
    client = connect(settings)
    embedder = load_embedder(settings.embedding_model)
    store = IndexStore(settings.index_dir)
    columns = (
        TextColumn("Embedding chunks"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True, disable=quiet) as bar:
        task = bar.add_task("embed", total=None)
        report = sync_directory(
            settings.kb_dir,
            store,
            embedder,
            index_options(settings),
            full=full,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            departments=routed_departments(settings),
        )
    if report.published:
        publish_version(client, report)
    _print_report(report)
    if report.index is not None and not report.rebuilt and (report.added or report.changed):
        _warn_of_listed_questions_answered(report, report.index.retriever)
    return report


def _warn_of_listed_questions_answered(report: SyncReport, retriever: Retriever) -> None:
    """Name the lines of the not-covered list that the new or changed articles answer.

    Such a line keeps calling the article's questions off-topic until it is deleted. A line is
    named when one of those articles is its top hit and the gate would answer it (on topic);
    that may also be an article's new wording drawing a question it does not answer (an example
    question on hand luggage drew "can i take my swiss army knife in hand luggage?" to the cabin
    sizes), where the line must stay, so the message asks the content team to judge.
    """
    settings = get_settings()
    try:
        listed = read_listed_questions(settings.kb_not_covered_file)
    except (OSError, ValueError):
        return  # no list, or a broken one: `relevo doctor` says what is wrong with it
    touched = {*report.added, *report.changed}
    ranking, config = ranking_config(settings), gate_config(settings)
    answered = []
    for language, questions in listed.items():
        for question in questions:
            hits = retriever.rank(question, 3, language, ranking)
            if not hits or hits[0].article_id not in touched:
                continue
            if decide(hits, "question", config, question=question).outcome is Outcome.ANSWER:
                answered.append((hits[0].article_id, question))
    if answered:
        console.print(
            f"[yellow]{settings.kb_not_covered_file}[/] lists {len(answered)} question(s) that "
            "the assistant would now answer from the new or changed articles. Delete a line "
            "that its article answers, or the assistant keeps calling such questions off-topic; "
            "keep one it does not: the article's new wording draws it, and the line stops a "
            "wrong answer:"
        )
        for article_id, question in answered:
            console.print(f"  {article_id}: {question}", markup=False)


@kb_app.command()
def build() -> None:
    """Rebuild the whole index from the article files."""
    run_sync(full=True)


@kb_app.command()
def sync() -> None:
    """Re-embed only new and changed articles and drop deleted ones."""
    run_sync(full=False)


@kb_app.command()
def watch(
    debounce_ms: Annotated[int, typer.Option(help="Wait this long for more changes.")] = 500,
) -> None:
    """Sync whenever an article file changes (Ctrl-C to stop)."""
    settings = get_settings()
    run_sync(full=False)
    console.print(f"Watching {settings.kb_dir} for changes...")
    watch_articles(settings.kb_dir, lambda: run_sync(full=False), debounce_ms=debounce_ms)


def _checked(path: Path) -> Article:
    """The article in `path`, or an error naming the file and what to fix."""
    try:
        return parse_article(path)
    except ArticleParseError as exc:
        raise ConfigurationError(f"{path}: {exc}") from exc


def _refuse_to_overwrite(target: Path, article: Article) -> None:
    """`target` may only be replaced by a new version of the article it holds."""
    if not target.exists():
        return
    try:
        held = parse_article(target, draft_ok=True).id
    except ArticleParseError as exc:
        raise ConfigurationError(
            f"{target} exists and is not a valid article ({exc}): fix or delete it first."
        ) from exc
    if held != article.id:
        raise ConfigurationError(
            f"{target} holds another article, {held!r}: rename your file, or remove that "
            f"article first (`relevo kb rm {held}`)."
        )


@kb_app.command()
def add(path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Check an article file, copy it into the knowledge base and sync."""
    article = _checked(path)
    settings = get_settings()
    target = settings.kb_dir / article.language / path.name
    _refuse_to_overwrite(target, article)
    existing = {a.id: a for a in load_articles(article_files(settings.kb_dir))[0]}
    if article.id in existing and existing[article.id].path.resolve() != target.resolve():
        held_by = existing[article.id].path
        raise ConfigurationError(
            f"{path}: id {article.id!r} is already used by {held_by}: to update that article, "
            f"name your file {held_by.name}; for a new article, give it another id."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    if path.resolve() != target.resolve():
        shutil.copyfile(path, target)
    console.print(f"Added {article.id} as {target}.")
    run_sync(full=False)


@kb_app.command()
def rm(article_id: Annotated[str, typer.Argument(help="The id of the article to remove.")]) -> None:
    """Delete an article's file and sync."""
    settings = get_settings()
    matches = [a for a in load_articles(article_files(settings.kb_dir))[0] if a.id == article_id]
    if not matches:
        raise ConfigurationError(f"No article with id {article_id!r} in {settings.kb_dir}.")
    matches[0].path.unlink()
    console.print(f"Removed {matches[0].path}.")
    run_sync(full=False)


@kb_app.command()
def search(
    query: Annotated[str, typer.Argument(help="What a customer would write.")],
    k: Annotated[int, typer.Option("-k", "--k", min=1, max=50, help="How many articles.")] = 5,
    lang: Annotated[str | None, typer.Option(help="es or en; detected when omitted.")] = None,
    channel: Annotated[
        Channel | None,
        typer.Option(help="Only the articles the assistant may cite on this channel."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Search the knowledge base as the assistant would."""
    if lang not in (None, "es", "en"):
        raise typer.BadParameter("use es or en", param_hint="--lang")
    if not query.strip():
        raise typer.BadParameter(
            "must not be blank: write what a customer would ask", param_hint="QUERY"
        )
    settings = get_settings()
    knowledge_base = KnowledgeBase.from_settings(settings, connect(settings))
    hits = knowledge_base.search(query, k, lang, channel)
    if as_json:
        out.print_json(json.dumps([h.__dict__ for h in hits], ensure_ascii=False))
        return
    table = Table("score", "article", "lang", "title", "passage", title=f"Results for {query!r}")
    for hit in hits:
        lang_cell = hit.language + (" (fallback)" if hit.fallback else "")
        table.add_row(
            f"{hit.score:.3f}", hit.article_id, lang_cell, hit.title, hit.text[:90] + "..."
        )
    out.print(table)


@kb_app.command()
def stats() -> None:
    """What the published index holds."""
    settings = get_settings()
    manifest = IndexStore(settings.index_dir).published_manifest()
    table = Table("language", "articles", "chunks", title=f"Index version {manifest.version}")
    for language in sorted({e.language for e in manifest.articles.values()}):
        entries = [e for e in manifest.articles.values() if e.language == language]
        table.add_row(language, str(len(entries)), str(sum(len(e.chunk_ids) for e in entries)))
    out.print(table)
    out.print(f"model {manifest.model} ({manifest.dimension} dims), {manifest.kind} index")
    out.print(
        f"departments: {', '.join(sorted({e.department for e in manifest.articles.values()}))}"
    )


@kb_app.command(name="eval")
def evaluate_command(
    queries: Annotated[Path | None, typer.Option(help="The labelled queries (YAML).")] = None,
    models: Annotated[
        str, typer.Option(help="Comma-separated dense models.")
    ] = "use-multilingual,minilm",
) -> None:
    """Compare BM25, each dense model and the fused ranking on the labelled queries."""
    from bot.kb_eval_report import run_evaluation

    settings = get_settings()
    run_evaluation(settings, queries or settings.kb_eval_file, models.split(","), out)


def _gap_row(rank: int, gap: Gap, path: Path, published: set[str]) -> tuple[str, ...]:
    """A gap's cells, as plain text: "[booking code]" is a redaction, not Rich markup."""
    label = gap.label if len(gap.label) <= 70 else gap.label[:69] + "…"
    return str(rank), gap.language, str(gap.count), escape(label), _draft_cell(path, published)


def _draft_cell(path: Path, published: set[str]) -> str:
    """The draft's path, and whether the index already serves it or it is still to be written."""
    if path.stem in published:
        return escape(f"{path} (published)")
    return escape(str(path) if path.exists() else f"{path} (not written)")


@kb_app.command()
def gaps(
    since: Annotated[str, typer.Option(help="How far back to look: 30d, 12h, 2w, 90m.")] = "30d",
    write: Annotated[
        bool, typer.Option("--write/--no-write", help="Write the drafts of the gaps shown.")
    ] = False,
    drafts_dir: Annotated[
        Path | None,
        typer.Option(help="Where drafts go (default: 'drafts' next to the articles, kb/drafts)."),
    ] = None,
    top: Annotated[int, typer.Option(min=1, help="How many gaps to show (and draft).")] = 10,
) -> None:
    """Group the questions the assistant could not answer, largest group first, with drafts."""
    try:
        window = parse_since(since)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from exc
    settings = get_settings()
    client = connect(settings)
    embedder = load_embedder(settings.embedding_model)
    columns = (TextColumn("Embedding questions"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("embed", total=None)
        found = find_gaps(
            client,
            embedder,
            window,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    if not found:
        console.print(f"No unanswered questions in the last {since}.")
        return
    shown = found[:top]
    directory = drafts_dir or default_drafts_dir(settings.kb_dir)
    paths = (
        write_drafts(shown, directory, dt.date.today()) if write else draft_paths(shown, directory)
    )
    manifest = IndexStore(settings.index_dir).read_manifest()
    published = set(manifest.articles) if manifest else set()
    table = Table("#", "lang", "count", "question (most central)", "draft", title="Knowledge gaps")
    for rank, (gap, path) in enumerate(zip(shown, paths, strict=True), start=1):
        table.add_row(*_gap_row(rank, gap, path, published))
    out.print(table)
    questions = sum(g.count for g in found)
    asked = _counted(questions, "unanswered question")
    summary = f"{asked} in {_counted(len(found), 'group')} in the last {since}"
    console.print(summary + (_written(paths, directory) if write else "; --write drafts them."))


def _counted(count: int, noun: str) -> str:
    """A count and its noun, plural unless one: "1 group", "2 groups"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _written(paths: list[Path], directory: Path) -> str:
    """How many drafts were written, and how many were left alone as their editors' now."""
    kept = sum(belongs_to_editor(path) for path in paths)
    left = f", {kept} left alone (their editors deleted the TODO note)" if kept else ""
    return f"; {len(paths) - kept} draft(s) written in {directory}{left}."

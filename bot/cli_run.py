"""`relevo serve | up | doctor | redis serve`: running the system."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import httpx
import redis
import typer
from rich.console import Console
from rich.text import Text

from actions.off_topic import read_listed_questions
from bot.cli_kb import routed_departments
from bot.delivery import dead_letters
from handoff.console_login import console_token
from handoff.routing import RoutingError, configured_routing
from kb_index.articles import Article
from kb_index.store import IndexStore, Manifest
from kb_index.sync import article_warnings, read_articles
from relevo import keys
from relevo.errors import ConfigurationError, RelevoError
from relevo.health import ProcessExitedError, wait_until_healthy
from relevo.logs import configure
from relevo.redis_conn import (
    connect,
    redis_url,
    serve_embedded_foreground,
    stop_embedded_daemon,
)
from relevo.settings import Settings, get_settings

console = Console(stderr=True)
redis_app = typer.Typer(
    help="The embedded Redis (used when REDIS_URL is unset).", no_args_is_help=True
)

PROCFILE = Path(__file__).resolve().parent.parent / "Procfile"


@redis_app.command("serve")
def redis_serve() -> None:
    """Run the embedded redis-server in the foreground, persistent under the data directory."""
    settings = get_settings()
    if settings.redis_url is not None:
        raise RelevoError("REDIS_URL is set: Relevo uses that Redis, there is nothing to serve.")
    serve_embedded_foreground(settings)


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
) -> None:
    """Run the gateway (web chat, APIs, health)."""
    import uvicorn

    from bot.gateway import create_app

    settings = get_settings()
    configure(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        access_log=False,
    )


def _stop_on_sigterm(_signal: int, _frame: object) -> None:
    raise KeyboardInterrupt


def up(
    timeout: Annotated[float, typer.Option(help="Seconds to wait for health checks.")] = 240.0,
) -> None:
    """Start every process under honcho (Procfile), wait until healthy, print the URLs."""
    settings = get_settings()
    configured_routing(settings.routing_file)  # a broken routing file stops here, naming its line
    _refuse_busy_ports(settings)
    IndexStore(settings.index_dir).require_built()  # else the action server stops at once
    if settings.redis_url is None:
        # Before any process starts: one that reached the daemon would lose it to the takeover.
        stop_embedded_daemon(settings)
    names = ["gateway", "kbwatch", "actions", "rasa"] if settings.redis_url is not None else []
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    }
    command = [
        sys.executable,
        "-m",
        "honcho",
        "-f",
        str(PROCFILE),
        "-d",
        os.getcwd(),
        "start",
        *names,
    ]
    process = subprocess.Popen(command, env=env)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    base = f"http://{settings.host}:{settings.port}"
    actions_url = settings.action_url
    rasa = f"http://127.0.0.1:{settings.rasa_port}"
    try:
        for url in (f"{base}/healthz", f"{actions_url}/health", f"{rasa}/", f"{base}/readyz"):
            try:
                wait_until_healthy(url, process, timeout)
            except ProcessExitedError as exc:  # honcho stops all when one stops: not this one
                raise ProcessExitedError(
                    "A process stopped during start-up, so the stack stopped: its last lines "
                    "above (each line starts with its name) say why."
                ) from exc
        print_up_banner(console, settings)
        process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        process.wait()
    except RelevoError:
        process.terminate()
        process.wait()
        raise


def print_up_banner(out: Console, settings: Settings) -> None:
    """Where everything answers, one address per line.

    Never wrapped at the console's width: a wrapped console link (its token makes it long) or
    "metrics" cut from its address could not be clicked or copied whole (`relevo up` under
    nohup prints 80 columns wide).
    """
    base = f"http://{settings.host}:{settings.port}"
    out.print(
        f"\n[bold green]Relevo is up.[/]\n  web chat    {base}/\n"
        f"  widget demo {base}/webchat/demo-embed.html\n  {_desk_line(settings, base)}\n"
        f"  health      {base}/readyz\n  metrics     {base}/metrics\n"
        f"  KB search   {base}/kb/search?q=equipaje+perdido\n"
        f"  Rasa        http://127.0.0.1:{settings.rasa_port}/webhooks/rest/webhook\n"
        f"  actions     {settings.action_url}\n"
        f"  Redis       {redis_url(settings).split('@')[-1]}\n  Ctrl-C stops everything.\n",
        soft_wrap=True,
    )


def _refuse_busy_ports(settings: Settings) -> None:
    """Stop before starting anything when a port the stack needs already answers.

    Another stack still running (or shutting down) answered the health checks in its place:
    "Relevo is up" was printed for a stack that then stopped itself (QA s20, content #20). The
    embedded Redis's port is not checked: a daemon there (started by a CLI command) is taken
    over (`stop_embedded_daemon`).
    """
    ports = [
        ("the gateway", "RELEVO_PORT", settings.host, settings.port),
        ("Rasa", "RELEVO_RASA_PORT", "127.0.0.1", settings.rasa_port),
        ("the action server", "RELEVO_ACTION_PORT", settings.action_host, settings.action_port),
    ]
    busy = [(what, name, port) for what, name, host, port in ports if _answers_on(host, port)]
    if busy:
        listed = "; ".join(f"{port} ({what}, {name})" for what, name, port in busy)
        raise ConfigurationError(
            f"Port already in use: {listed}. Another Relevo may still be running or stopping: "
            "stop it and wait for it to exit, or choose other ports with those settings."
        )


def _local_address(host: str) -> str:
    """Where to reach a server listening on `host` from here (a wildcard host is this one)."""
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


def _answers_on(host: str, port: int) -> bool:
    """Whether something accepts connections on the port."""
    try:
        with socket.create_connection((_local_address(host), port), timeout=0.5):
            return True
    except OSError:
        return False


def _desk_line(settings: Settings, base: str) -> str:
    """Where agents work: Slack, or the console (with the generated token in the fragment)."""
    if settings.slack_enabled:
        return f"desk        Slack, channel {settings.slack_channel}"
    dashboard = f"\n  dashboard   {base}/console/dashboard (after logging in to the console)"
    if settings.console_token is not None:
        return f"console     {base}/console (log in with RELEVO_CONSOLE_TOKEN){dashboard}"
    return f"console     {base}/console#token={console_token(settings)}{dashboard}"


class _Checkup:
    """The doctor's findings, printed as they come; failures make the command exit with 1.

    A failure is what stops the desk from serving customers as configured: Redis or the index
    missing, Rasa or the action server not answering (the doctor checks a running system), a
    routing file or not-covered list that is refused, article files skipped, or an index behind
    the files. Dead letters and a missing not-covered list are only warnings.
    """

    def __init__(self) -> None:
        self.failures = 0

    def ok(self, text: str) -> None:
        console.print(Text.assemble(("ok", "green"), " ", text), soft_wrap=True)

    def warn(self, label: str, text: str) -> None:
        console.print(Text.assemble((label, "yellow"), " ", text), soft_wrap=True)

    def fail(self, text: str) -> None:
        self.failures += 1
        console.print(Text.assemble(("FAIL", "bold red"), " ", text), soft_wrap=True)


def doctor() -> None:
    """Check Redis, the index, Rasa, the action server, the gateway, routing and the outbox.

    Exits with 1 when a check fails, so scripts and health probes can use it. It only looks:
    an embedded Redis that is not running is reported, not started.
    """
    settings = get_settings()
    client = connect(settings.model_copy(update={"embedded_redis_autostart": False}), wait=2.0)
    checkup = _Checkup()
    checkup.ok(
        f"Redis at {redis_url(settings).split('@')[-1]} "
        f"(version {client.info('server')['redis_version']})"
    )
    manifest = IndexStore(settings.index_dir).published_manifest()
    total = sum(len(e.chunk_ids) for e in manifest.articles.values())
    checkup.ok(
        f"index version {manifest.version}: {len(manifest.articles)} "
        f"articles, {total} chunks, model {manifest.model}"
    )
    articles = _check_article_files(checkup, settings.kb_dir, manifest)
    for warning in article_warnings(articles, routed_departments(settings)):
        checkup.warn("warning", f"article {warning}")
    _check_hours_topic(checkup, settings.opening_hours_topic, articles)
    for name, url in (
        ("Rasa", settings.rasa_url.rstrip("/") + "/"),
        ("action server", f"{settings.action_url}/health"),
        ("gateway", f"http://{_local_address(settings.host)}:{settings.port}/healthz"),
    ):
        if _answers(url):
            checkup.ok(f"{name} at {url}")
        else:
            checkup.fail(f"{name} is not running at {url} (`make run` or `relevo up` starts it)")
    _check_routing(checkup, settings, client)
    _check_channels(checkup, settings)
    _check_not_covered(checkup, settings.kb_not_covered_file)
    _report_outbox(checkup, client)
    if checkup.failures:
        console.print(f"{checkup.failures} check(s) failed.", style="bold red")
        raise typer.Exit(1)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _check_article_files(checkup: _Checkup, kb_dir: Path, manifest: Manifest) -> list[Article]:
    """Files a sync skips, with why, and whether the published index matches the files.

    Read from the files as the next sync would (no model, no embedding), since the index keeps
    no record of what its last sync skipped. Returns the articles read.
    """
    try:
        articles, problems = read_articles(kb_dir, manifest)
    except OSError as exc:
        checkup.fail(f"cannot read the articles in {kb_dir}: {exc}")
        return []
    for problem in problems:
        checkup.fail(f"article file skipped: {problem}")
    current = {article.id: article.content_hash for article in articles}
    added = [i for i in current if i not in manifest.articles]
    changed = [
        i for i in current if i in manifest.articles and manifest.articles[i].hash != current[i]
    ]
    removed = [i for i in manifest.articles if i not in current]
    if added or changed or removed:
        checkup.fail(
            f"the index is behind the files in {kb_dir}: {len(added)} added, {len(changed)} "
            f"changed, {len(removed)} removed ({', '.join([*added, *changed, *removed][:5])}); "
            "is `relevo kb watch` running? `relevo kb sync` catches up"
        )
    else:
        checkup.ok(f"the index matches the {len(current)} article files in {kb_dir}")
    return articles


def _check_hours_topic(checkup: _Checkup, topic: str | None, articles: list[Article]) -> None:
    """Whether the article that answers opening-hours questions is there.

    A renamed id stopped those answers without a word anywhere but the action server's log.
    """
    if not topic:
        return
    languages = sorted(a.language for a in articles if a.topic == topic)
    if languages:
        checkup.ok(f"opening hours answered from the topic {topic!r} ({', '.join(languages)})")
    else:
        checkup.warn(
            "warning",
            f"no article has the topic {topic!r} that RELEVO_OPENING_HOURS_TOPIC names: "
            "questions about opening hours are searched instead; give the contact article "
            "that id again, or set RELEVO_OPENING_HOURS_TOPIC to its topic",
        )


def _check_channels(checkup: _Checkup, settings: Settings) -> None:
    """Which channels and desk are on, and a public channel that answers into a log only."""
    on = ["web chat"]
    if settings.telegram_token:
        on.append(f"Telegram ({settings.telegram_mode})")
    if settings.social_secret:
        on.append("public social posts")
    desk = "Slack and the web console" if settings.slack_enabled else "the web console"
    checkup.ok(f"channels: {', '.join(on)}; desk: {desk}")
    if settings.social_secret and not settings.social_outbound_url:
        checkup.warn(
            "warning",
            "public social posts are taken in, but their replies are only logged: set "
            "RELEVO_SOCIAL_OUTBOUND_URL to the connector that publishes them",
        )


def _check_routing(checkup: _Checkup, settings: Settings, client: redis.Redis) -> None:
    try:
        routing = configured_routing(settings.routing_file)
    except RoutingError as exc:
        checkup.fail(f"routing file refused:\n{exc}")
        return
    checkup.ok(
        f"routing: {len(routing.departments)} departments, "
        f"{len(routing.calendars)} calendars, {client.zcard(keys.SLA_TIMERS)} SLA timer(s) "
        f"({routing.source})"
    )


def _check_not_covered(checkup: _Checkup, path: Path) -> None:
    """The content team's list of questions no article answers, or what is wrong with it."""
    if not path.is_file():
        checkup.warn(
            "no list",
            f"of questions the knowledge base does not answer at {path}: "
            "off-topic messages are told by Rasa's examples alone",
        )
        return
    try:
        count = sum(map(len, read_listed_questions(path).values()))
    except (OSError, ValueError) as exc:
        checkup.fail(f"not-covered list left out by the action server: {exc}")
        return
    checkup.ok(f"not-covered list: {count} questions ({path})")


def _report_outbox(checkup: _Checkup, client: redis.Redis) -> None:
    """Messages waiting for delivery and the dead-letter list (what could not be delivered)."""
    waiting = 0
    if client.exists(keys.OUTBOX):
        groups = {g["name"]: g for g in client.xinfo_groups(keys.OUTBOX)}
        group = groups.get(keys.OUTBOX_GROUP)
        waiting = int(group["pending"]) if group else client.xlen(keys.OUTBOX)
    checkup.ok(f"outbox: {waiting} message(s) being delivered")
    dead = client.llen(keys.OUTBOX_DEAD)
    if not dead:
        checkup.ok("dead letters: none")
        return
    checkup.warn(f"{dead} dead letter(s)", "(messages given up; newest first):")
    for letter in dead_letters(client, 5):
        console.print(
            f"  {letter.get('at', '?')}  {letter.get('conversation_id', '?')}  "
            f"attempts={letter.get('attempts', '?')}  {letter.get('reason', '?')}",
            markup=False,
        )

"""`relevo serve | up | doctor | redis serve`: running the system."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import httpx
import redis
import typer
from rich.console import Console

from actions.off_topic import read_listed_questions
from bot.delivery import dead_letters
from handoff.console import console_token
from handoff.routing import configured_routing
from kb_index.store import IndexStore
from relevo import keys
from relevo.errors import RelevoError
from relevo.health import wait_until_healthy
from relevo.logs import configure
from relevo.redis_conn import connect, redis_url, serve_embedded_foreground
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
            wait_until_healthy(url, process, timeout)
        console.print(
            f"\n[bold green]Relevo is up.[/]\n  web chat    {base}/\n"
            f"  widget demo {base}/webchat/demo-embed.html\n  {_desk_line(settings, base)}\n"
            f"  health      {base}/readyz   metrics {base}/metrics\n"
            f"  KB search   {base}/kb/search?q=equipaje+perdido\n"
            f"  Rasa        {rasa}/webhooks/rest/webhook\n  actions     {actions_url}\n"
            f"  Redis       {redis_url(settings).split('@')[-1]}\n  Ctrl-C stops everything.\n"
        )
        process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        process.wait()
    except RelevoError:
        process.terminate()
        process.wait()
        raise


def _desk_line(settings: Settings, base: str) -> str:
    """Where agents work: Slack, or the console (with the generated token in the fragment)."""
    if settings.slack_enabled:
        return f"desk        Slack, channel {settings.slack_channel}"
    dashboard = f"\n  dashboard   {base}/console/dashboard (once logged in to the console)"
    if settings.console_token is not None:
        return f"console     {base}/console (log in with RELEVO_CONSOLE_TOKEN){dashboard}"
    return f"console     {base}/console#token={console_token(settings)}{dashboard}"


def doctor() -> None:
    """Check Redis and the index, and say what to fix."""
    settings = get_settings()
    client = connect(settings)
    console.print(
        f"[green]ok[/] Redis at {redis_url(settings).split('@')[-1]} "
        f"(version {client.info('server')['redis_version']})"
    )
    manifest = IndexStore(settings.index_dir).read_manifest()
    if manifest is None:
        raise RelevoError("No knowledge-base index: run `relevo kb build`.")
    total = sum(len(e.chunk_ids) for e in manifest.articles.values())
    console.print(
        f"[green]ok[/] index version {manifest.version}: {len(manifest.articles)} "
        f"articles, {total} chunks, model {manifest.model}"
    )
    for name, url in (
        ("Rasa", f"http://127.0.0.1:{settings.rasa_port}/"),
        ("action server", f"{settings.action_url}/health"),
    ):
        try:
            answered = httpx.get(url, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            answered = False
        status = "[green]ok[/]" if answered else "[yellow]not running[/]"
        console.print(f"{status} {name} at {url} (`make run` starts it)")
    routing = configured_routing(settings.routing_file)
    console.print(
        f"[green]ok[/] routing: {len(routing.departments)} departments, "
        f"{len(routing.calendars)} calendars, {client.zcard(keys.SLA_TIMERS)} SLA timer(s) "
        f"({routing.source})"
    )
    _report_not_covered(settings.kb_not_covered_file)
    _report_outbox(client)


def _report_not_covered(path: Path) -> None:
    """The content team's list of questions no article answers, or what is wrong with it."""
    if not path.is_file():
        console.print(
            f"[yellow]no list[/] of questions the knowledge base does not answer at {path}: "
            "off-topic messages are told by Rasa's examples alone",
            soft_wrap=True,
        )
        return
    try:
        count = sum(map(len, read_listed_questions(path).values()))
    except (OSError, ValueError) as exc:
        console.print(
            f"[yellow]not-covered list left out[/] by the action server: {exc}", soft_wrap=True
        )
        return
    console.print(f"[green]ok[/] not-covered list: {count} questions ({path})", soft_wrap=True)


def _report_outbox(client: redis.Redis) -> None:
    """Messages waiting for delivery and the dead-letter list (what could not be delivered)."""
    waiting = 0
    if client.exists(keys.OUTBOX):
        groups = {g["name"]: g for g in client.xinfo_groups(keys.OUTBOX)}
        group = groups.get(keys.OUTBOX_GROUP)
        waiting = int(group["pending"]) if group else client.xlen(keys.OUTBOX)
    console.print(f"[green]ok[/] outbox: {waiting} message(s) being delivered")
    dead = client.llen(keys.OUTBOX_DEAD)
    if not dead:
        console.print("[green]ok[/] dead letters: none")
        return
    console.print(f"[yellow]{dead} dead letter(s)[/] (messages given up; newest first):")
    for letter in dead_letters(client, 5):
        console.print(
            f"  {letter.get('at', '?')}  {letter.get('conversation_id', '?')}  "
            f"attempts={letter.get('attempts', '?')}  {letter.get('reason', '?')}",
            markup=False,
        )

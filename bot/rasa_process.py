"""Training and running Rasa (in its own environment) and the action server (in ours).

A trained model is named after a hash of the Rasa project's files, so `relevo train` retrains
only when the training data, domain or configuration changed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

from relevo.errors import ConfigurationError
from relevo.redis_conn import redis_url, sentinel_address
from relevo.settings import Settings

PROJECT_FILES = ("config.yml", "domain.yml")


def project_hash(nlu_dir: Path) -> str:
    """A hash of everything training depends on: config, domain and data files."""
    files = [nlu_dir / name for name in PROJECT_FILES] + sorted((nlu_dir / "data").rglob("*.yml"))
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(nlu_dir).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def model_path(settings: Settings) -> Path:
    """Where the model for the current project files lives (trained or not)."""
    return settings.models_dir / f"relevo-{project_hash(settings.nlu_dir)}.tar.gz"


def rasa_binary(settings: Settings) -> Path:
    """The `rasa` command of the Rasa environment."""
    binary = settings.rasa_venv / "bin" / "rasa"
    if not binary.exists():
        raise ConfigurationError(
            f"Rasa is not installed in {settings.rasa_venv}: run `make setup` "
            "(it needs Python 3.10: `pyenv install 3.10` or your system's python3.10)."
        )
    return binary


TF_THREAD_VARIABLES = ("TF_INTER_OP_PARALLELISM_THREADS", "TF_INTRA_OP_PARALLELISM_THREADS")


def rasa_env(settings: Settings) -> dict[str, str]:
    """Environment for Rasa: telemetry off, the endpoints file's variables filled in."""
    return {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "HOME": str(Path(settings.data_dir).resolve() / "rasa-home"),  # keep ~/.config/rasa out
        "RASA_CACHE_DIRECTORY": str(Path(settings.data_dir).resolve() / "rasa-cache"),
        "RELEVO_ACTION_ENDPOINT_URL": f"{settings.action_url}/webhook",
        "RELEVO_TRACKER_EXPIRY": str(settings.retention_days * 24 * 3600),
        # The stores the endpoints files name, and the launcher (nlu/relevo_rasa.py).
        "PYTHONPATH": str(settings.nlu_dir.resolve()),
        "SANIC_WORKERS": str(settings.rasa_workers),
        "RELEVO_RASA_STATE_MEMO": "1" if settings.rasa_state_memo else "0",
        # A Sanic worker runs one message at a time, and DIET here is one small layer: TF's
        # thread pools only add hand-offs (5-8% of Rasa's CPU per turn; docs/benchmarks.md).
        **{name: os.environ.get(name, "1") for name in TF_THREAD_VARIABLES},
        **_redis_env(settings),
    }


def _redis_env(settings: Settings) -> dict[str, str]:
    url = redis_url(settings)
    sentinel = sentinel_address(url)
    if sentinel is not None:
        return {
            "RELEVO_REDIS_SENTINELS": ",".join(f"{h}:{p}" for h, p in sentinel.sentinels),
            "RELEVO_REDIS_SENTINEL_SERVICE": sentinel.service,
            "RELEVO_REDIS_SENTINEL_PASSWORD": sentinel.sentinel_password or "",
            "RELEVO_REDIS_DB": str(sentinel.db),
            "RELEVO_REDIS_PASSWORD": sentinel.password or "",
        }
    parsed = urlparse(url)
    return {
        "RELEVO_REDIS_HOST": parsed.hostname or "127.0.0.1",
        "RELEVO_REDIS_PORT": str(parsed.port or 6379),
        "RELEVO_REDIS_DB": (parsed.path or "/0").lstrip("/") or "0",
        "RELEVO_REDIS_PASSWORD": parsed.password or "",
    }


def endpoints_file(settings: Settings) -> Path:
    """endpoints.yml, or endpoints-sentinel.yml when REDIS_URL names a Sentinel group."""
    sentinel = sentinel_address(redis_url(settings))
    return settings.nlu_dir / ("endpoints.yml" if sentinel is None else "endpoints-sentinel.yml")


def train(settings: Settings, *, force: bool = False) -> tuple[Path, bool]:
    """Train when the project changed; returns the model and whether it was trained now.

    A model is only ever in place whole: Rasa writes its archive where it is told, so it trains
    into a staging folder, and copies go to a partial file first. A run killed half way (Ctrl-C,
    out of memory) leaves no truncated model that a later run would take as up to date.
    """
    target = model_path(settings)
    if target.exists() and not force:
        return target, False
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    cached = settings.model_cache_dir / target.name if settings.model_cache_dir else None
    if cached is not None and cached.exists() and not force:
        _copy_whole(cached, target)
        _drop_other_models(settings.models_dir, keep=target)
        return target, False
    nlu = settings.nlu_dir
    staging = settings.models_dir / ".training"
    shutil.rmtree(staging, ignore_errors=True)
    command = [
        str(rasa_binary(settings)),
        "train",
        "--config",
        str(nlu / "config.yml"),
        "--domain",
        str(nlu / "domain.yml"),
        "--data",
        str(nlu / "data"),
        "--out",
        str(staging),
        "--fixed-model-name",
        target.name.removesuffix(".tar.gz"),
    ]
    try:
        subprocess.run(command, env=rasa_env(settings), check=True)
        os.replace(staging / target.name, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _drop_other_models(settings.models_dir, keep=target)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        _copy_whole(target, cached)
    return target, True


def _copy_whole(source: Path, target: Path) -> None:
    """Copy to a partial file, then rename it: `target` is never half written."""
    partial = target.with_name(f"{target.name}.part")
    shutil.copyfile(source, partial)
    os.replace(partial, target)


def _drop_other_models(folder: Path, *, keep: Path) -> None:
    for old in folder.glob("relevo-*.tar.gz"):
        if old != keep:
            old.unlink()


def serve_command(settings: Settings, model: Path, port: int) -> list[str]:
    """The command line of the Rasa server: REST channel; its HTTP API only with a token."""
    command = [
        str(rasa_binary(settings).with_name("python")),  # Rasa's environment, checked installed
        "-m",
        "relevo_rasa",  # nlu/relevo_rasa.py: `rasa` with its action-answer validator built once
        "run",
        "--model",
        str(model),
        "--endpoints",
        str(endpoints_file(settings)),
        "--port",
        str(port),
        "--interface",
        "127.0.0.1",
    ]
    if settings.rasa_token is not None:
        command += ["--enable-api", "--auth-token", settings.rasa_token.get_secret_value()]
    return command


def action_server_command(settings: Settings, port: int, package: str = "actions") -> list[str]:
    """The action server's command line: rasa-sdk's, with Relevo's logs (actions/server.py).

    `package` holds the actions served (the dialogue benchmark serves a trivial one).
    `--endpoints ""`: rasa-sdk reads only its tracing settings from there, which Relevo has
    none of; its default, ./endpoints.yml, logged an error at every start.
    """
    return [
        sys.executable,
        "-m",
        "actions.server",
        "--actions",
        package,
        "--port",
        str(port),
        "--endpoints",
        "",
    ]

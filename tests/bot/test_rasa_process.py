"""The trained-model cache: a model is keyed by a hash of the Rasa project's files."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from bot.rasa_process import model_path, project_hash, rasa_env, serve_command, train
from relevo.errors import ConfigurationError
from relevo.settings import Settings
from tests.conftest import ROOT


@pytest.fixture
def project(tmp_path: Path) -> Settings:
    shutil.copytree(ROOT / "nlu", tmp_path / "nlu")
    return Settings(
        nlu_dir=tmp_path / "nlu",
        models_dir=tmp_path / "models",
        model_cache_dir=tmp_path / "cache",
        rasa_venv=tmp_path / "no-rasa",
        data_dir=tmp_path / "data",
        redis_url="redis://:s3cret@10.0.0.5:6380/2",
    )


def test_the_hash_changes_with_training_data_only(project: Settings) -> None:
    before = project_hash(project.nlu_dir)
    (project.nlu_dir / "endpoints.yml").write_text("# endpoints do not affect training\n")
    assert project_hash(project.nlu_dir) == before
    nlu = project.nlu_dir / "data" / "nlu_en.yml"
    nlu.write_text(nlu.read_text() + "\n")
    assert project_hash(project.nlu_dir) != before


def test_train_reuses_a_model_of_the_same_data_without_rasa(project: Settings) -> None:
    target = model_path(project)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"model")
    assert train(project) == (target, False)  # no Rasa needed: nothing to train


def test_train_takes_a_cached_model_from_another_checkout(project: Settings) -> None:
    target = model_path(project)
    assert project.model_cache_dir is not None
    project.model_cache_dir.mkdir(parents=True)
    (project.model_cache_dir / target.name).write_bytes(b"cached model")
    stale = project.models_dir / "relevo-000000000000.tar.gz"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    assert train(project) == (target, False)
    assert target.read_bytes() == b"cached model" and not stale.exists()


def test_a_training_killed_half_way_leaves_no_model_that_passes_for_up_to_date(
    project: Settings,
) -> None:
    """A stand-in `rasa` that writes half an archive where it is told to, then dies."""
    rasa = project.rasa_venv / "bin" / "rasa"
    rasa.parent.mkdir(parents=True)
    rasa.write_text(
        "#!/bin/sh\n"
        'while [ "$1" != "--out" ]; do shift; done; mkdir -p "$2"; out="$2"\n'
        'while [ "$1" != "--fixed-model-name" ]; do shift; done\n'
        'printf half > "$out/$2.tar.gz"; kill -9 $$\n'
    )
    rasa.chmod(0o755)
    with pytest.raises(subprocess.CalledProcessError):
        train(project)
    assert list(project.models_dir.iterdir()) == []
    rasa.unlink()
    with pytest.raises(ConfigurationError, match="make setup"):  # trains again, needs Rasa
        train(project)


def test_changed_data_needs_training_and_says_how_to_install_rasa(project: Settings) -> None:
    nlu = project.nlu_dir / "data" / "nlu_es.yml"
    nlu.write_text(nlu.read_text() + "\n")
    with pytest.raises(ConfigurationError, match="make setup"):
        train(project)


def test_tensorflow_runs_one_thread_each_unless_the_operator_says_otherwise(
    project: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TF_INTER_OP_PARALLELISM_THREADS", raising=False)
    monkeypatch.delenv("TF_INTRA_OP_PARALLELISM_THREADS", raising=False)
    env = rasa_env(project)
    assert env["TF_INTER_OP_PARALLELISM_THREADS"] == env["TF_INTRA_OP_PARALLELISM_THREADS"] == "1"
    monkeypatch.setenv("TF_INTRA_OP_PARALLELISM_THREADS", "2")
    assert rasa_env(project)["TF_INTRA_OP_PARALLELISM_THREADS"] == "2"


def test_rasa_gets_redis_and_the_action_server_from_settings(project: Settings) -> None:
    env = rasa_env(project)
    assert (env["RELEVO_REDIS_HOST"], env["RELEVO_REDIS_PORT"], env["RELEVO_REDIS_DB"]) == (
        "10.0.0.5",
        "6380",
        "2",
    )
    assert env["RELEVO_REDIS_PASSWORD"] == "s3cret"
    assert env["RASA_TELEMETRY_ENABLED"] == "false"
    assert env["RELEVO_ACTION_ENDPOINT_URL"] == f"http://127.0.0.1:{project.action_port}/webhook"
    assert env["SANIC_WORKERS"] == "1"
    assert rasa_env(project.model_copy(update={"rasa_workers": 2}))["SANIC_WORKERS"] == "2"
    installed = project.model_copy(update={"rasa_venv": ROOT / ".venv-rasa"})
    command = serve_command(installed, Path("m.tar.gz"), 5005)
    assert "--enable-api" not in command
    with_token = installed.model_copy(update={"rasa_token": SecretStr("t0k")})
    assert "--enable-api" in serve_command(with_token, Path("m.tar.gz"), 5005)
    endpoints = Path(command[command.index("--endpoints") + 1])
    store = yaml.safe_load(endpoints.read_text())["tracker_store"]["type"]
    assert store == "relevo_tracker_store.RelevoTrackerStore"  # Rasa imports it from PYTHONPATH
    assert (Path(env["PYTHONPATH"]) / "relevo_tracker_store.py").exists()


def test_on_a_sentinel_group_rasa_reads_the_sentinel_endpoints_and_finds_their_stores(
    project: Settings,
) -> None:
    sentinel = project.model_copy(
        update={
            "redis_url": SecretStr("redis+sentinel://:pw@10.0.0.7:26379,10.0.0.8:26379/care/4"),
            "rasa_venv": ROOT / ".venv-rasa",
        }
    )
    env = rasa_env(sentinel)
    assert env["RELEVO_REDIS_SENTINELS"] == "10.0.0.7:26379,10.0.0.8:26379"
    assert (env["RELEVO_REDIS_SENTINEL_SERVICE"], env["RELEVO_REDIS_DB"]) == ("care", "4")
    assert env["RELEVO_REDIS_PASSWORD"] == "pw"
    assert (Path(env["PYTHONPATH"]) / "relevo_sentinel_stores.py").exists()
    command = serve_command(sentinel, Path("m.tar.gz"), 5005)
    endpoints = Path(command[command.index("--endpoints") + 1])
    assert endpoints.name == "endpoints-sentinel.yml"
    stores = yaml.safe_load(endpoints.read_text())
    assert stores["tracker_store"]["type"] == "relevo_sentinel_stores.SentinelTrackerStore"
    assert stores["lock_store"]["type"] == "relevo_sentinel_stores.SentinelLockStore"
    read = set(re.findall(r"\$\{(RELEVO_[A-Z0-9_]+)\}", endpoints.read_text()))
    assert read and read <= set(env), f"Rasa would not start: {sorted(read - set(env))} unset"
    plain = project.model_copy(update={"rasa_venv": ROOT / ".venv-rasa"})
    command = serve_command(plain, Path("m.tar.gz"), 5005)
    assert Path(command[command.index("--endpoints") + 1]).name == "endpoints.yml"


@pytest.mark.parametrize("name", ["RELEVO_MODEL_CACHE_DIR", "RELEVO_ROUTING_FILE"])
def test_an_empty_path_setting_is_unset_not_the_current_folder(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "")
    field = name.removeprefix("RELEVO_").lower()
    assert getattr(Settings(), field) is None


def test_the_gateway_talks_to_the_rasa_port_unless_given_a_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Setting only RELEVO_RASA_PORT had left the gateway on 5005: another stack's Rasa (QA s25)."""
    monkeypatch.delenv("RELEVO_RASA_URL", raising=False)
    monkeypatch.setenv("RELEVO_RASA_PORT", "5007")
    assert Settings().rasa_url == "http://127.0.0.1:5007"
    monkeypatch.setenv("RELEVO_RASA_URL", "http://rasa:5005")
    assert Settings().rasa_url == "http://rasa:5005"

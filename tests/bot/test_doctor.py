"""`relevo doctor` through the real CLI, with a real Redis and index: what it says, and its exit.

It fails (exit 1) on what stops the desk from serving customers as configured, so scripts can
use it; warnings (dead letters, no not-covered list) leave it at 0.
"""

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from actions.off_topic import read_listed_questions
from relevo import keys
from relevo.redis_conn import unreachable
from relevo.settings import Settings
from tests.conftest import DEMO_KB, ROOT, free_port, relevo, write_article


class _Healthy(http.server.BaseHTTPRequestHandler):
    """Answers 200 to every GET, as Rasa and the action server do when they run."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        """Quiet."""


@pytest.fixture
def services() -> Iterator[dict[str, str]]:
    """Stand-ins answering on Rasa's, the action server's and the gateway's ports."""
    servers = [http.server.HTTPServer(("127.0.0.1", free_port()), _Healthy) for _ in range(3)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    rasa, actions, gateway = (str(server.server_address[1]) for server in servers)
    yield {"RELEVO_RASA_PORT": rasa, "RELEVO_ACTION_PORT": actions, "RELEVO_PORT": gateway}
    for server in servers:
        server.shutdown()


def test_a_healthy_system_passes(
    built_env: dict[str, str], services: dict[str, str], redis_client: redis.Redis
) -> None:
    done = relevo({**built_env, **services}, "doctor", check=False)
    report = done.stderr
    assert done.returncode == 0, report
    assert "ok Redis at" in report
    articles = len(list(DEMO_KB.glob("*/*.md")))
    assert f"ok index version 1: {articles} articles" in report
    assert f"ok the index matches the {articles} article files" in report
    assert "ok opening hours answered from the topic 'contact-hours' (en, es)" in report
    assert f"ok Rasa at http://127.0.0.1:{services['RELEVO_RASA_PORT']}/" in report
    assert f"ok gateway at http://127.0.0.1:{services['RELEVO_PORT']}/healthz" in report
    assert "ok routing: 8 departments, 2 calendars, 0 SLA timer(s)" in report
    listed = read_listed_questions(ROOT / "kb" / "not-covered.yml").values()
    assert f"ok not-covered list: {sum(map(len, listed))} questions (kb/not-covered.yml)" in report
    assert "dead letters: none" in report
    assert "ok channels: web chat; desk: the web console" in report
    assert "warning article" not in report  # the demo articles are in their languages
    # a dead letter is worth a look, not a failure
    letter = {"conversation_id": "tg:1", "reason": "telegram refused: Forbidden", "attempts": 1}
    redis_client.lpush(keys.OUTBOX_DEAD, json.dumps(letter))
    done = relevo({**built_env, **services}, "doctor", check=False)
    assert done.returncode == 0
    assert "1 dead letter(s)" in done.stderr
    assert "tg:1  attempts=1  telegram refused: Forbidden" in done.stderr


def test_rasa_the_action_server_and_the_gateway_down_fail(built_env: dict[str, str]) -> None:
    env = {**built_env, "RELEVO_RASA_PORT": "1", "RELEVO_ACTION_PORT": "2", "RELEVO_PORT": "3"}
    done = relevo(env, "doctor", check=False)
    assert done.returncode == 1
    assert "FAIL Rasa is not running at http://127.0.0.1:1/" in done.stderr
    assert "FAIL action server is not running" in done.stderr
    assert "FAIL gateway is not running at http://127.0.0.1:3/healthz" in done.stderr
    assert "3 check(s) failed." in done.stderr


def test_doctor_checks_the_rasa_url_the_gateway_uses(
    built_env: dict[str, str], services: dict[str, str]
) -> None:
    """The port answered while the gateway was set to talk to another Rasa (QA s25)."""
    env = {**built_env, **services, "RELEVO_RASA_URL": "http://127.0.0.1:1"}
    done = relevo(env, "doctor", check=False)
    assert done.returncode == 1
    assert "FAIL Rasa is not running at http://127.0.0.1:1/" in done.stderr


def test_skipped_article_files_and_a_stale_index_fail(
    built_env: dict[str, str], services: dict[str, str]
) -> None:
    kb = Path(built_env["RELEVO_KB_DIR"])
    (kb / "en" / "broken.md").write_text("no front matter at all\n")
    pets = kb / "en" / "pets.md"
    pets.write_text(pets.read_text(encoding="utf-8").replace("50 EUR", "65 EUR"), encoding="utf-8")
    write_article(
        kb / "en", "drones.md", "id: drones-en\ntitle: Drones\nlanguage: en", "Drones fly."
    )
    done = relevo({**built_env, **services}, "doctor", check=False)
    said = " ".join(done.stderr.split())
    assert done.returncode == 1
    assert f"FAIL article file skipped: {kb / 'en' / 'broken.md'}: no front matter" in said
    assert "FAIL the index is behind the files" in said
    assert "1 added, 1 changed, 0 removed (drones-en, pets-en)" in said
    assert "`relevo kb sync` catches up" in said
    assert "2 check(s) failed." in said


def test_a_broken_not_covered_list_fails_and_a_missing_one_warns(
    built_env: dict[str, str], services: dict[str, str], tmp_path: Path
) -> None:
    broken = tmp_path / "not-covered.yml"
    broken.write_text("- a bare list, no languages\n")
    env = {**built_env, **services, "RELEVO_KB_NOT_COVERED_FILE": str(broken)}
    done = relevo(env, "doctor", check=False)
    assert done.returncode == 1
    said = f"FAIL not-covered list left out by the action server: {broken}: expected a mapping"
    assert said in done.stderr
    missing = tmp_path / "missing.yml"
    env["RELEVO_KB_NOT_COVERED_FILE"] = str(missing)
    done = relevo(env, "doctor", check=False)
    assert done.returncode == 0
    assert f"no list of questions the knowledge base does not answer at {missing}" in done.stderr


def test_an_unreachable_redis_url_says_where_it_looked(built_env: dict[str, str]) -> None:
    port = free_port()
    env = {**built_env, "REDIS_URL": f"redis://:secret@127.0.0.1:{port}/0"}
    done = relevo(env, "doctor", check=False)
    said = " ".join(done.stderr.split())
    assert done.returncode == 1
    assert f"Cannot reach Redis at 127.0.0.1:{port} (from REDIS_URL): ConnectionError" in said
    assert "or fix REDIS_URL" in said and "secret" not in said


def test_doctor_reports_an_embedded_redis_that_is_not_running_and_leaves_it_so(
    built_env: dict[str, str],
) -> None:
    """It started one itself, said "ok Redis" of it, and left it running (QA s25)."""
    port = free_port()
    env = {k: v for k, v in built_env.items() if k != "REDIS_URL"}
    done = relevo({**env, "RELEVO_EMBEDDED_REDIS_PORT": str(port)}, "doctor", check=False)
    assert done.returncode != 0
    assert f"Cannot reach the embedded Redis at 127.0.0.1:{port}" in done.stderr
    assert "ok Redis" not in done.stderr
    with pytest.raises(redis.ConnectionError):
        redis.Redis(port=port, socket_connect_timeout=1).ping()


def test_the_embedded_redis_error_says_its_port_and_how_to_start_it() -> None:
    settings = Settings(redis_url=None, embedded_redis_port=6591)
    said = unreachable(settings, redis.ConnectionError("refused"))
    assert said.startswith("Cannot reach the embedded Redis at 127.0.0.1:6591 (REDIS_URL is unset)")
    assert "`relevo redis serve`" in said and "RELEVO_EMBEDDED_REDIS_PORT" in said
    assert "fix REDIS_URL" not in said  # there is none to fix


def test_an_opening_hours_topic_no_article_has_is_a_warning(
    built_env: dict[str, str], services: dict[str, str]
) -> None:
    """Renaming the contact article's id quietly stopped opening-hours answers (QA s20)."""
    env = {**built_env, **services, "RELEVO_OPENING_HOURS_TOPIC": "contact-us"}
    done = relevo(env, "doctor", check=False)
    assert done.returncode == 0, done.stderr
    assert "no article has the topic 'contact-us'" in done.stderr


def test_an_article_in_the_wrong_language_is_a_warning(
    built_env: dict[str, str], services: dict[str, str]
) -> None:
    """Article warnings were shown only by the sync, in the watcher's console (QA s20)."""
    kb_dir = Path(built_env["RELEVO_KB_DIR"])
    front = "id: lounge-es\ntitle: Lounges\nlanguage: es\ndepartment: loyalty"
    body = "Gold members may use the lounges at every hub airport with one guest, free of charge."
    path = write_article(kb_dir / "es", "lounge.md", front, body)
    done = relevo({**built_env, **services}, "doctor", check=False)
    assert f"warning article {path}: its front matter says language: es but its text reads as " in (
        done.stderr
    )


def test_public_posts_whose_replies_are_only_logged_are_a_warning(
    built_env: dict[str, str], services: dict[str, str]
) -> None:
    """QA s22: with the social channel on and no connector, replies went into the log only."""
    env = {**built_env, **services, "RELEVO_SOCIAL_SECRET": "s3cret"}
    done = relevo(env, "doctor", check=False)
    assert done.returncode == 0, done.stderr  # worth a look, not a failure
    assert "ok channels: web chat, public social posts; desk: the web console" in done.stderr
    assert "RELEVO_SOCIAL_OUTBOUND_URL" in done.stderr
    connected = {**env, "RELEVO_SOCIAL_OUTBOUND_URL": "http://127.0.0.1:9/out"}
    assert "RELEVO_SOCIAL_OUTBOUND_URL" not in relevo(connected, "doctor", check=False).stderr

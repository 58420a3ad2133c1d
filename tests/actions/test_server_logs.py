"""The action server, started as `relevo actions` starts it, writes the actions' own log lines."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest

from relevo.health import wait_until_healthy
from tests.conftest import BIN, ROOT, free_port

pytestmark = pytest.mark.slow

CONVERSATION = "wc-server-logs-0001"
DECISION = re.compile(  # relevo.logs' format: time, level, logger, message, then key=value
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO actions\.answer: kb decision "
    rf"conversation='{CONVERSATION}' example_gap=-?\d+\.\d+ outcome='answer' reason='top score "
)


def action_call(question: str) -> dict[str, object]:
    """What Rasa posts to the action server to run `action_answer_from_kb`."""
    return {
        "next_action": "action_answer_from_kb",
        "sender_id": CONVERSATION,
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": CONVERSATION,
            "slots": {"language": "en"},
            "latest_message": {
                "text": question,
                "intent": {"name": "ask_question"},
                "metadata": {"language": "en"},
            },
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": None,
        },
    }


def test_each_kb_decision_is_logged_with_its_gap_and_rasa_sdk_lines_once(
    built_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    output = tmp_path / "actions.log"
    with output.open("wb") as sink:
        server = subprocess.Popen(
            [str(BIN / "relevo"), "actions", "--port", str(port)],
            env={**built_env, "SANIC_HOST": "127.0.0.1"},
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_healthy(f"http://127.0.0.1:{port}/health", server, 120)
            answer = httpx.post(
                f"http://127.0.0.1:{port}/webhook",
                json=action_call("can I bring my dog on the plane?"),
                timeout=60,
            )
            assert answer.status_code == 200, answer.text
        finally:
            server.terminate()
            server.wait(30)
    lines = output.read_text(encoding="utf-8").splitlines()
    assert len([line for line in lines if DECISION.match(line)]) == 1, lines
    started = [line for line in lines if "Action endpoint is up and running" in line]
    assert len(started) == 1, lines  # rasa_sdk's own lines: in Relevo's format, not twice
    assert not [line for line in lines if " ERROR " in line], lines
    assert not [line for line in lines if "might not be compatible" in line], lines
    assert not [line for line in lines if "faiss.loader" in line], lines  # "AVX512" support
    assert " INFO rasa_sdk.endpoint: Action endpoint is up" in started[0]

"""The action server's `POST /relevo/prepare`, on a server started as `relevo actions` starts it."""

from __future__ import annotations

import subprocess

import httpx
import pytest

from relevo.health import wait_until_healthy
from relevo.settings import MAX_PREPARE_CHARS, PREPARE_PATH
from tests.actions.test_server_logs import action_call
from tests.conftest import BIN, ROOT, free_port

pytestmark = pytest.mark.slow

ASKS_FOR_TEXT = '{"text": "<message>"}'
BAD_BODIES = [
    (b"not json", 400, ASKS_FOR_TEXT),
    (b'{"text": 5}', 400, ASKS_FOR_TEXT),
    (b'{"text": "   "}', 400, ASKS_FOR_TEXT),
    (b"[]", 400, ASKS_FOR_TEXT),
    (f'{{"text": "{"a" * (MAX_PREPARE_CHARS + 1)}"}}'.encode(), 413, "characters"),
]


def test_a_message_is_prepared_for_its_turn_and_a_bad_body_gets_a_clear_4xx(
    built_env: dict[str, str],
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(BIN / "relevo"), "actions", "--port", str(port)],
        env={**built_env, "SANIC_HOST": "127.0.0.1"},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_healthy(f"{base}/health", server, 120)
        question = "can I bring my dog on the plane?"
        prepared = httpx.post(base + PREPARE_PATH, json={"text": question}, timeout=30)
        assert prepared.status_code == 204, prepared.text
        turn = httpx.post(base + "/webhook", json=action_call(question), timeout=60)
        assert turn.status_code == 200, turn.text
        decisions = [
            r.get("custom", {}).get("relevo", {}).get("decision") for r in turn.json()["responses"]
        ]
        assert "answer" in decisions
        for body, status, says in BAD_BODIES:
            refused = httpx.post(
                base + PREPARE_PATH,
                content=body,
                headers={"content-type": "application/json"},
                timeout=30,
            )
            assert refused.status_code == status, (body[:30], refused.text)
            assert says in refused.json()["error"]
        assert httpx.get(f"{base}/health", timeout=10).status_code == 200
    finally:
        server.terminate()
        server.wait(30)

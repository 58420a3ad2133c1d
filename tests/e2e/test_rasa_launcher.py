"""nlu/relevo_rasa.py: Rasa's check of action answers, with the validator built once, Rasa's
requests encoded with ujson, and Rasa's own temporary folder.

Run in Rasa's environment against Rasa's own `RemoteAction`: valid answers pass, invalid ones
raise the same error with the same message as Rasa's per-call `jsonschema.validate`.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.e2e.conftest import Customer, Engine, run_in_rasa_env

RASA_SIDE = r"""
import asyncio
import json
from rasa.utils.endpoints import EndpointConfig
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
import relevo_rasa

user = {"intent": {"name": "greet", "confidence": 0.9}, "entities": [{"entity": "a", "value": 1}]}
answers = [  # the valid ones first
    {"events": [{"event": "slot", "name": "language", "value": "es"}], "responses": []},
    {"events": [], "responses": [{"text": "hola", "buttons": []}]},
    {"responses": []},
    {"events": [{"event": "user", "text": "hi", "parse_data": user, "timestamp": 1.5}]},
    {"events": [{"event": "bot", "text": "x"}, {"event": "followup", "name": "action_escalate"}]},
    {"events": "not a list", "responses": []},
    {"events": [{"no_event_key": 1}], "responses": []},
    {"events": [{"event": 7}], "responses": []},
    {"events": [{"event": "no_such_kind"}]},
    {"events": [{"event": "slot", "name": "language"}]},
    {"events": [{"event": "slot", "name": "x", "value": 1, "timestamp": "yesterday"}]},
    {"events": [{"event": "user", "parse_data": {"entities": [{"entity": "a"}]}}]},
    {"events": [{"event": "slot", "name": "x", "value": 1}, "not an object"]},
    {"events": [], "responses": "not a list"},
]
action = RemoteAction("action_answer_from_kb", None)
schema = RemoteAction.action_response_format_spec()
quick = relevo_rasa.quick_validity(schema)


def outcomes():
    found = []
    for answer in answers:
        try:
            found.append(action._validate_action_result(answer))
        except ValidationError as error:
            found.append(error.message)
    return found


async def encoders():
    endpoint = EndpointConfig("http://127.0.0.1:1/webhook")
    async with endpoint.session() as session:
        return session.json_serialize.__module__


before = outcomes()
encoder_before = asyncio.run(encoders())
relevo_rasa.install()
replaced = RemoteAction._validate_action_result.__module__ == "relevo_rasa"
print(json.dumps({
    "before": before,
    "after": outcomes(),
    "replaced": replaced,
    "encoders": [encoder_before, asyncio.run(encoders())],
    "quick": None if quick is None else [quick(answer) for answer in answers],
}))
"""


VALID = 5  # the first answers of RASA_SIDE's list


def test_the_launcher_validates_action_answers_exactly_as_rasa_does(engine: Engine) -> None:
    found = run_in_rasa_env(engine, RASA_SIDE)
    assert found["replaced"]
    valid = found["before"][:VALID]
    assert valid == [True] * VALID
    assert all("Failed to validate Action server response" in m for m in found["before"][VALID:])
    assert found["after"] == found["before"]
    # the check without `oneOf` decides every answer as Rasa's schema does
    assert found["quick"] == [outcome is True for outcome in found["before"]]
    assert found["encoders"] == ["json", "ujson"]  # the tracker sent to the action server


async def test_the_running_rasa_was_started_through_the_launcher(engine: Engine) -> None:
    cmdline = Path(f"/proc/{engine.rasa.pid}/cmdline").read_bytes().split(b"\0")
    assert cmdline[1:4] == [b"-m", b"relevo_rasa", b"run"]  # `relevo rasa serve` execs it
    reply = await Customer(engine, "en").says("is there wifi on the plane?")
    assert reply, "Rasa answered nothing through the launcher"


TEMP_SIDE = r"""
import json
import os
import sys
import tempfile
import relevo_rasa
import tensorflow as tf

made = relevo_rasa.private_tempdir(sys.argv[1])
sys.path.insert(0, sys.argv[2])
from halving import halved  # autograph needs a source file to convert

tf.function(halved)(tf.constant(4))  # autograph writes the converted source to a temporary file
print(json.dumps({
    "made": made,
    "tempdir": tempfile.gettempdir(),
    "env": os.environ["TMPDIR"],
    "written": sorted(os.listdir(made)),
}))
"""


def test_the_launcher_gives_rasa_a_temporary_folder_and_removes_those_of_dead_rasas(
    engine: Engine, tmp_path: Path
) -> None:
    dead = tmp_path / f"relevo-rasa-{_exited_pid()}-a1b2"
    (dead / "sub").mkdir(parents=True)
    (dead / "__autograph_generated_filex.py").write_text("x = 1\n")
    alive = tmp_path / f"relevo-rasa-{os.getpid()}-c3d4"
    alive.mkdir()
    other = tmp_path / "relevo-rasa-notes"
    other.mkdir()
    source = tmp_path / "source"
    source.mkdir()
    (source / "halving.py").write_text(
        "def halved(x):\n    if x > 0:\n        return x // 2\n    return x\n", encoding="utf-8"
    )
    found = run_in_rasa_env(engine, TEMP_SIDE, str(tmp_path), str(source))
    made = Path(found["made"])
    assert made.parent == tmp_path and made.name.startswith("relevo-rasa-")
    assert found["tempdir"] == found["env"] == str(made)
    assert any(name.startswith("__autograph_generated_file") for name in found["written"])
    assert not dead.exists()  # its Rasa was killed: the launcher cleans up after it
    assert alive.exists() and other.exists() and source.exists()
    assert not made.exists()  # removed at the normal exit, with what TensorFlow wrote


def _exited_pid() -> int:
    """The id of a process that has exited."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid

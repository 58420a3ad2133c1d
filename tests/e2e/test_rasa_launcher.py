"""nlu/relevo_rasa.py: Rasa's check of action answers, with the validator built once, and
Rasa's requests encoded with ujson.

Run in Rasa's environment against Rasa's own `RemoteAction`: valid answers pass, invalid ones
raise the same error with the same message as Rasa's per-call `jsonschema.validate`.
"""

from __future__ import annotations

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

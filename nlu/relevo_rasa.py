"""Rasa's command line: a validator built once, requests in ujson, a memo of dialogue states.

Rasa 3.6 checks every answer of the action server with `jsonschema.validate(answer, schema)`,
which first checks the schema itself against JSON Schema's metaschema, on every call. When
every turn made two custom-action calls, py-spy under load found that metaschema check at 28%
of Rasa's CPU. The schema is Rasa's own
constant, so checking it once at start-up is enough: this launcher builds the validator once
and replaces `RemoteAction._validate_action_result` with one that runs it. An invalid answer
raises the same `ValidationError` (the best match, as `jsonschema.validate` picks it) with
Rasa's own message. A valid answer is recognised first by `quick_validity`, which decides the
same without the schema's costly `oneOf` (1.0 ms -> 0.12 ms for an answer with five slots);
only an answer it rejects goes through the full validator, for Rasa's error.

Each call to the action server carries the whole tracker, which aiohttp encodes with
`json.dumps`: 6% of Rasa's CPU on 20-turn conversations. The launcher's sessions encode it
with ujson (a dependency of Rasa and Sanic), 2.4x faster, the same values.

Rasa builds the dialogue states of a conversation's whole history for every prediction, so a
turn costs more the longer the conversation; the launcher serves them from a memo that
computes each state once (`relevo_states`).

TensorFlow writes the source of every function it compiles to a temporary file (47 per start
of Rasa here) and removes them at exit, but not when the process is killed: a crash loop or an
OOM kill fills the temporary folder. The launcher gives Rasa a temporary folder of its own and,
at start, removes those of Rasa processes that are gone (`private_tempdir`).

Run `python -m relevo_rasa run ...` in Rasa's environment with this folder on PYTHONPATH
(`relevo rasa serve` and docker-compose do); the arguments are those of `rasa`. Sanic 21 forks
its workers, so they inherit the change.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

import aiohttp
import relevo_states
import ujson
from jsonschema import validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.utils.endpoints import EndpointConfig

OFF = {"0", "false", "no", "off"}  # RELEVO_RASA_STATE_MEMO values that turn the memo off
TEMP_PREFIX = "relevo-rasa-"


def _running(pid: int) -> bool:
    """Whether a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def private_tempdir(root: str | None = None) -> str:
    """A new temporary folder for this process, set as the default of `tempfile` and TMPDIR.

    Folders that launchers made before (`relevo-rasa-<pid>-...` in `root`) are removed when
    their process no longer runs; the new one is removed at a normal exit.
    """
    root = root or tempfile.gettempdir()
    for name in os.listdir(root):
        pid = name.removeprefix(TEMP_PREFIX).partition("-")[0]
        if name.startswith(TEMP_PREFIX) and pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
    path = tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=root)
    tempfile.tempdir = path
    os.environ["TMPDIR"] = path  # for the processes Rasa starts
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def quick_validity(schema: dict[str, Any]) -> Callable[[Any], bool] | None:
    """A check equivalent to validating against Rasa's answer schema, without its `oneOf`.

    Each event must match exactly one of 23 event schemas (`oneOf`), and jsonschema tries all
    23 for every event: about 1 ms for an answer with five slots, 8% of Rasa's CPU on a
    knowledge-base turn. Every one of those schemas fixes `event` to its own constant, and
    `event` is required, so an event can only match the schema of its own kind: checking the
    event against that one schema decides the same. None when the schema is not of that shape
    (another Rasa version): then only the full check runs.
    """
    validator_class = validators.validator_for(schema)
    try:
        events = schema["properties"]["events"]
        event_schema = events["items"]
        kinds = {sub["properties"]["event"]["const"]: sub for sub in event_schema["oneOf"]}
    except (KeyError, TypeError):
        return None
    if len(kinds) != len(event_schema["oneOf"]) or "event" not in event_schema.get("required", ()):
        return None
    any_kind = {key: value for key, value in event_schema.items() if key != "oneOf"}
    shape = {
        **schema,
        "properties": {**schema["properties"], "events": {**events, "items": any_kind}},
    }
    outline = validator_class(shape)
    by_kind = {kind: validator_class(sub) for kind, sub in kinds.items()}

    def is_valid(result: Any) -> bool:
        if not outline.is_valid(result):
            return False
        for event in result.get("events") or ():
            kind = by_kind.get(event["event"])
            if kind is None or not kind.is_valid(event):
                return False
        return True

    return is_valid


def install() -> None:
    """Validate action answers once-built; encode requests with ujson; memoise dialogue states."""
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    quick = quick_validity(schema)

    def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        if quick is not None and quick(result):
            return True
        error = best_match(validator.iter_errors(result))  # the error Rasa would raise
        if error is not None:
            error.message += (
                ". Failed to validate Action server response from API, "
                "make sure your response from the Action endpoint is valid. "
                "For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions"
            )
            raise error
        return True

    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
    made_by_rasa = EndpointConfig.session

    def session(self: EndpointConfig) -> aiohttp.ClientSession:
        made = made_by_rasa(self)
        made._json_serialize = ujson.dumps  # what ClientSession(json_serialize=...) sets
        return made

    EndpointConfig.session = session  # type: ignore[method-assign]
    if os.environ.get("RELEVO_RASA_STATE_MEMO", "1").strip().lower() not in OFF:
        relevo_states.install()


def main() -> None:
    """`rasa` with the validator installed, in a temporary folder of its own."""
    from rasa.__main__ import main as rasa_main

    private_tempdir()
    install()
    rasa_main()


if __name__ == "__main__":
    main()

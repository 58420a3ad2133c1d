"""`relevo eval dialogue` against the real Rasa server and action server."""

import json
from pathlib import Path

import redis

from relevo import keys
from tests.conftest import relevo
from tests.e2e.conftest import Engine


def test_eval_dialogue_scores_each_decision_and_writes_the_details(
    engine: Engine, store: redis.Redis, tmp_path: Path
) -> None:
    seconds, micros = store.time()
    started = f"{seconds * 1000 + micros // 1000}-0"  # the session's gateway trims older ones
    events_before = store.xlen(keys.EVENTS)
    queries = tmp_path / "queries.yaml"
    queries.write_text(
        "queries:\n"
        "  - {q: 'can I bring my cat in the cabin?', lang: en, expected: pets-en}\n"
        "  - {q: 'puedo llevar a mi gato en la cabina?', lang: es, expected: pets-es}\n"
        "  - {q: 'I want to speak to a person', lang: en, expected: none}\n"
        "  - {q: 'YOU LOST MY BAG AGAIN!!! 😡😡', lang: en, expected: baggage-delayed-en,"
        " kind: complaint}\n",
        encoding="utf-8",
    )
    details = tmp_path / "details.jsonl"
    output = relevo(
        engine.env,
        "eval",
        "dialogue",
        "--queries",
        str(queries),
        "--rasa-url",
        engine.rasa_url,
        "--details",
        str(details),
    ).stdout
    lines = [json.loads(line) for line in details.read_text(encoding="utf-8").splitlines()]
    assert [line["text"] for line in lines][:2] == [
        "can I bring my cat in the cabin?",
        "puedo llevar a mi gato en la cabina?",
    ]
    by_text = {line["text"]: line for line in lines}
    cat = by_text["can I bring my cat in the cabin?"]
    assert (cat["decision"], cat["article"], cat["right"]) == ("answer", "pets-en", True)
    gato = by_text["puedo llevar a mi gato en la cabina?"]
    assert (gato["decision"], gato["article"], gato["right"]) == ("answer", "pets-es", True)
    person = by_text["I want to speak to a person"]
    assert person["decision"] == "handoff" and person["right"]
    complaint = by_text["YOU LOST MY BAG AGAIN!!! 😡😡"]
    assert complaint["kind"] == "complaint" and complaint["decision"] == "handoff"
    assert complaint["right"]
    # the two handoff decisions were reported, not made: nothing for the desk, reports or gaps
    assert store.xrange(keys.HANDOFF_REQUESTS, min=started) == []
    assert store.xlen(keys.EVENTS) == events_before
    assert not list(store.scan_iter(f"{keys.PREFIX}:conv:eval-*"))
    assert "4 outcomes written to" in output
    assert "│ en   │ 3       │ 1.000" in output and "│ es   │ 1       │ 1.000" in output

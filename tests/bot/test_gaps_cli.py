"""The gap report's inputs, `relevo kb gaps` and `GET /dashboard/api/gaps`, on a real Redis."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import redis
from fastapi import FastAPI, Header, HTTPException
from rich.console import Console
from rich.table import Table
from typer.testing import CliRunner

from bot.cli import app as cli_app
from bot.cli_kb import _gap_row
from bot.gaps import collect_unanswered, parse_since, question_of
from bot.gaps_routes import gaps_router
from handoff.requests import HandoffRequest, Priority, Reason, TranscriptLine, request_handoff
from kb_index.articles import TODO_MARKER, parse_article
from kb_index.embeddings import Embedder
from kb_index.gaps import Gap
from relevo import keys
from relevo.settings import Settings, get_settings

NOW = dt.datetime.now(dt.UTC)
ES = [
    "¿Puedo llevar un dron en el avión?",
    "quiero viajar con mi drone, se puede?",
    "¿el dron va en cabina o facturado?",
]
EN = ["Can I bring a drone on the plane?", "do drones have to go in checked baggage?"]
REPLY = "Los drones viajan facturados, sin baterías; las baterías de litio van en la cabina."


def _line(role: str, text: str) -> TranscriptLine:
    return TranscriptLine(role, text, NOW.isoformat())


def _handoff(
    client: redis.Redis,
    conversation: str,
    lines: list[TranscriptLine],
    *,
    reason: Reason = Reason.LOW_CONFIDENCE,
    language: str = "es",
    created: dt.datetime | None = None,
    channel: str = "webchat",
) -> HandoffRequest:
    request = HandoffRequest(
        conversation_id=conversation,
        channel=channel,
        language=language,
        reason=reason,
        priority=Priority.NORMAL,
        transcript=lines,
        hits=[],
        draft=None,
        department="baggage",
        created_at=(created or dt.datetime.now(dt.UTC)).isoformat(),
    )
    client.set(keys.conversation_owner(conversation), "bot")  # as after a return to the bot
    assert request_handoff(client, request)
    return request


def _reply(client: redis.Redis, conversation: str, text: str, author: str = "agent") -> None:
    client.xadd(
        keys.conversation_log(conversation), {"type": "message", "author": author, "text": text}
    )


def _seed(client: redis.Redis) -> None:
    for n, question in enumerate(ES):
        _handoff(client, f"webchat:es-{n}", [_line("customer", question)])
        _reply(client, f"webchat:es-{n}", REPLY)
    for n, question in enumerate(EN):
        _handoff(client, f"webchat:en-{n}", [_line("customer", question)], language="en")


# ----------------------------------------------------------------------------- bot/gaps.py


def test_parse_since() -> None:
    assert parse_since("30d") == dt.timedelta(days=30)
    assert parse_since(" 12H ") == dt.timedelta(hours=12)
    assert parse_since("2w") == dt.timedelta(weeks=2)
    assert parse_since("90m") == dt.timedelta(minutes=90)
    for bad in ("", "30", "d", "0d", "-1d", "1y"):
        with pytest.raises(ValueError, match="30d"):
            parse_since(bad)


def test_the_question_is_the_last_customer_line_that_carries_one() -> None:
    feedback = [
        _line("customer", "hola"),
        _line("bot", "¡Hola! ¿En qué te ayudo?"),
        _line("customer", "¿Puedo llevar un dron en el avión?"),
        _line("bot", "El equipaje especial..."),
        _line("bot", "¿Te ha servido?"),
        _line("customer", "/deny"),
        _line("customer", "No, no me ha servido"),
        _line("customer", "quiero hablar con un agente"),
    ]
    assert question_of(feedback) == "¿Puedo llevar un dron en el avión?"
    split = [
        _line("customer", "tengo una duda con mi equipaje"),
        _line("bot", "Cuéntame."),
        _line("customer", "viajo con un dron"),
        _line("customer", "¿va en cabina o en la bodega?"),
        _line("bot", "No te he entendido."),
    ]
    assert question_of(split) == "viajo con un dron ¿va en cabina o en la bodega?"
    assert question_of([_line("customer", "agent please"), _line("customer", "no")]) is None
    assert question_of([_line("customer", "dron?"), _line("bot", "¿Perdona?")]) is None
    assert question_of([]) is None
    tapped = TranscriptLine("customer", "¿Puedo viajar con mi mascota en cabina?", "", tapped=True)
    offer = [*split, _line("bot", "¿Es alguno de estos?"), tapped, _line("bot", "Sí, ...")]
    assert question_of(offer) == question_of(split)  # an article's title is not their question
    for rejection in ("no entiendo", "I don't get it", "none of them", "ninguna de estas"):
        typed = [*split, _line("bot", "¿Es alguno de estos?"), _line("customer", rejection)]
        assert question_of(typed) == question_of(split), rejection  # was the gap's question


@pytest.mark.parametrize(
    "request_for_a_person",
    [
        "yes, I would like a person to look into it",
        "I'd like to speak to a person about this",
        "sí, quiero hablar con una persona de esto",
        "prefiero que me atienda... no, necesito una persona ya",
    ],
)
def test_a_request_for_a_person_in_words_is_not_the_question(request_for_a_person: str) -> None:
    """QA s22 D10: the gap list showed "yes, I would like a person to look into it"."""
    asked = [
        _line("customer", "Do you fly to Tenerife?"),
        _line("bot", "That's something I can't answer here, sorry."),
        _line("customer", "yes please"),
        _line("bot", "Sure! What can I help you with?"),
        _line("customer", request_for_a_person),
    ]
    assert question_of(asked) == "Do you fly to Tenerife?"


def test_a_question_about_people_is_still_a_question() -> None:
    for question in ("can a person with reduced mobility fly alone?", "I want a window seat"):
        assert question_of([_line("customer", question)]) == question


def test_collect_counts_only_the_reasons_that_mean_no_answer(redis_client: redis.Redis) -> None:
    counted = {
        Reason.LOW_CONFIDENCE: "¿Puedo llevar un dron en el avión?",
        Reason.REPEATED_FAILURE: "¿el dron va en cabina o facturado?",
        Reason.NEGATIVE_FEEDBACK: "quiero viajar con mi drone, se puede?",
    }
    for reason, question in counted.items():
        _handoff(redis_client, f"webchat:{reason}", [_line("customer", question)], reason=reason)
    for reason in (Reason.ASKED_FOR_PERSON, Reason.COMPLAINT, Reason.SENSITIVE_TOPIC):
        _handoff(redis_client, f"webchat:{reason}", [_line("customer", "¿Puedo llevar un dron?")],
                 reason=reason)  # fmt: skip
    old = NOW - dt.timedelta(days=31)
    _handoff(redis_client, "webchat:old", [_line("customer", ES[0])], created=old)
    _handoff(redis_client, "webchat:noq", [_line("customer", "agente")])
    # Keys under relevo:handoff: that are not records: its event stream, reveals, the requests.
    first = next(iter(redis_client.scan_iter(match="relevo:handoff:*")))
    redis_client.xadd(f"{first}:events", {"what": "claimed"})
    redis_client.xadd(f"{first}:reveals", {"who": "U1"})
    found = collect_unanswered(redis_client, NOW - dt.timedelta(days=30))
    assert {(q.reason, q.text) for q in found} == {(r.value, t) for r, t in counted.items()}
    assert all(q.language == "es" and q.department == "baggage" for q in found)
    assert [q.at for q in found] == sorted(q.at for q in found)


def test_agent_replies_are_those_after_the_handoff_and_before_the_next(
    redis_client: redis.Redis,
) -> None:
    conversation = "webchat:twice"
    _reply(redis_client, conversation, "Esto lo escribió un agente antes del traspaso.")
    time.sleep(0.005)
    first = _handoff(redis_client, conversation, [_line("customer", ES[0])])
    _reply(redis_client, conversation, "Te paso con una persona.", author="bot")
    _reply(redis_client, conversation, REPLY)
    time.sleep(0.005)  # stream ids have millisecond resolution
    second = _handoff(redis_client, conversation, [_line("customer", ES[2])])
    _reply(redis_client, conversation, "Las maletas de cabina pesan hasta 10 kg.")
    found = {q.handoff_id: q for q in collect_unanswered(redis_client, NOW - dt.timedelta(1))}
    assert found[first.id].agent_replies == (REPLY,)
    assert found[second.id].agent_replies == ("Las maletas de cabina pesan hasta 10 kg.",)


# ---------------------------------------------------------------------------- relevo kb gaps


@pytest.fixture
def cli_settings(
    settings: Settings, redis_url: str, use_embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    # The session's model instead of a fresh one: a new USE spends ~3 s loading on first use.
    monkeypatch.setattr(
        "bot.cli_kb.load_embedder",
        lambda spec: use_embedder if spec == use_embedder.name else pytest.fail(spec),
    )
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("RELEVO_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("RELEVO_KB_DIR", str(settings.kb_dir))
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


def test_kb_gaps_ranks_the_groups_and_writes_their_drafts(
    cli_settings: Settings, redis_client: redis.Redis
) -> None:
    runner = CliRunner()
    empty = runner.invoke(cli_app, ["kb", "gaps"])
    assert empty.exit_code == 0, empty.output
    assert "No unanswered questions in the last 30d" in empty.output

    _seed(redis_client)
    result = runner.invoke(cli_app, ["kb", "gaps", "--write", "--since", "30d", "--top", "5"])
    assert result.exit_code == 0, result.output
    drafts = cli_settings.kb_dir.parent / "drafts"
    written = sorted(drafts.glob("*.md"))
    assert [p.name for p in written] == ["draft-dron-es.md", "draft-drone-en.md"]
    lines = [line for line in result.stdout.splitlines() if "draft-" in line]
    assert "1" in lines[0] and "es" in lines[0] and "3" in lines[0] and ES[0] in lines[0]
    assert "2" in lines[1] and "en" in lines[1] and str(drafts / "draft-drone-en.md") in lines[1]
    assert (
        f"5 unanswered questions in 2 groups in the last 30d; 2 draft(s) written in {drafts}."
        in (" ".join(result.output.split()))
    )
    spanish = parse_article(drafts / "draft-dron-es.md", draft_ok=True)
    assert set(spanish.questions) == set(ES) and REPLY in spanish.body

    again = runner.invoke(cli_app, ["kb", "gaps", "--no-write", "--top", "1"])
    assert again.exit_code == 0 and sorted(drafts.glob("*.md")) == written
    rows = [line for line in again.stdout.splitlines() if "draft-" in line]
    assert len(rows) == 1 and "not written" not in rows[0]

    english = drafts / "draft-drone-en.md"
    english.write_text(english.read_text().replace(TODO_MARKER, "<!-- reviewed:"))
    rewritten = runner.invoke(cli_app, ["kb", "gaps", "--write"])
    assert "1 draft(s) written in" in rewritten.output
    assert "1 left alone (their editors deleted the TODO note)" in rewritten.output

    wrong = runner.invoke(cli_app, ["kb", "gaps", "--since", "a month"])
    assert wrong.exit_code == 2 and "30d" in wrong.output


def test_one_unanswered_question_is_counted_in_the_singular(
    cli_settings: Settings, redis_client: redis.Redis
) -> None:
    """QA s22 D10: "1 unanswered questions in 1 groups"."""
    _handoff(redis_client, "wc-one-gap", [_line("customer", ES[0])])
    result = CliRunner().invoke(cli_app, ["kb", "gaps", "--since", "30d"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "1 unanswered question in 1 group in the last 30d;" in said


def test_the_gaps_table_shows_the_redaction_placeholders(tmp_path: Path) -> None:
    label = "can I bring my drone? booking [booking code], email [e-mail]"
    gap = Gap(label, "en", 2, [label], [], [], "draft-drone-en.md")
    table = Table("#", "lang", "count", "question", "draft")
    table.add_row(*_gap_row(1, gap, tmp_path / "[x]" / "draft-drone-en.md", set()))
    console = Console(width=300, record=True)
    console.print(table)
    text = console.export_text()
    assert label in text and f"{tmp_path}/[x]/draft-drone-en.md (not written)" in text


# --------------------------------------------------------------------- /dashboard/api/gaps


class CountingEmbedder:
    """The real embedder, counting how many texts it embedded (to see the cache work)."""

    def __init__(self, inner: Embedder) -> None:
        self.name, self.dimension, self._inner, self.texts = inner.name, inner.dimension, inner, 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.texts += len(texts)
        return self._inner.encode(texts)


def _require_login(x_agent: str | None = Header(default=None)) -> None:
    if x_agent != "ana":
        raise HTTPException(status_code=401, detail="log in to the console")


async def test_dashboard_gaps_api(
    redis_client: redis.Redis, use_embedder: Embedder, tmp_path: Path
) -> None:
    _seed(redis_client)
    embedder = CountingEmbedder(use_embedder)
    clock = [1000.0]
    app = FastAPI()
    app.include_router(
        gaps_router(
            redis_client,
            lambda: embedder,
            tmp_path / "drafts",
            auth=_require_login,
            clock=lambda: clock[0],
        )
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
        assert (await http.get("/dashboard/api/gaps")).status_code == 401
        login = {"X-Agent": "ana"}
        response = await http.get("/dashboard/api/gaps?since=30d", headers=login)
        assert response.status_code == 200, response.text
        body = response.json()
        assert [(g["rank"], g["language"], g["count"], g["label"]) for g in body] == [
            (1, "es", 3, ES[0]),
            (2, "en", 2, EN[0]),
        ]
        assert body[0]["departments"] == ["baggage"]
        # the draft's file name, not where the server keeps it
        assert body[0]["draft"] == "draft-dron-es.md" and str(tmp_path) not in response.text
        assert body[0]["draft_written"] is False and body[0]["last_at"]
        assert embedder.texts == 5

        # Within a minute the same answer comes from the cache, even with a new handoff.
        _handoff(redis_client, "webchat:new", [_line("customer", "se permite volar con drones?")])
        cached = await http.get("/dashboard/api/gaps", headers=login, params={"top": 1})
        assert [g["count"] for g in cached.json()] == [3] and embedder.texts == 5
        clock[0] += 61
        fresh = await http.get("/dashboard/api/gaps", headers=login)
        assert [g["count"] for g in fresh.json()] == [4, 2] and embedder.texts == 11

        bad = await http.get("/dashboard/api/gaps?since=forever", headers=login)
        assert bad.status_code == 422
        unknown = await http.get("/dashboard/api/gaps?channel=twitter", headers=login)
        assert unknown.status_code == 422 and "webchat" in unknown.text


async def test_dashboard_gaps_follow_the_filters(
    redis_client: redis.Redis, use_embedder: Embedder, tmp_path: Path
) -> None:
    """Channel, language and department choose the questions before they are grouped."""
    _seed(redis_client)  # web chat, baggage: three in Spanish, two in English
    for n, question in enumerate(EN):
        _handoff(
            redis_client,
            f"social:en-{n}",
            [_line("customer", question)],
            language="en",
            channel="social",
        )
    app = FastAPI()
    app.include_router(gaps_router(redis_client, lambda: use_embedder, tmp_path / "drafts"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:

        async def counts(**query: str) -> list[tuple[str, int]]:
            response = await http.get("/dashboard/api/gaps", params=query)
            assert response.status_code == 200, response.text
            return [(gap["language"], gap["count"]) for gap in response.json()]

        assert await counts() == [("en", 4), ("es", 3)]
        assert await counts(language="EN") == [("en", 4)]
        assert await counts(channel="social") == [("en", 2)]
        assert await counts(channel="webchat", language="en") == [("en", 2)]
        assert await counts(department="baggage", language="es") == [("es", 3)]
        assert await counts(department="refunds") == []

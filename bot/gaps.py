"""The unanswered questions of the last days, read from the handoff records in Redis.

Which handoffs count as "the assistant could not answer" (`COUNTED_REASONS`):

- `low_confidence` and `repeated_failure`: the gate found nothing strong enough, once or after
  rephrasing; the question is exactly what the knowledge base lacks.
- `negative_feedback`: an answer was given and the customer said it did not help; the article
  that was found is wrong or incomplete for that question, which is a gap as well.

Left out, because an article would not have kept them from a person:

- `asked_for_person`: the customer chose a person, often before asking anything ("agente",
  "quiero hablar con alguien"); what follows is not evidence that the knowledge base failed.
- `complaint`: the customer wants an apology, a refund or compensation decided by a person.
- `sensitive_topic`: the routing file sends these topics to people whatever the knowledge base
  says (`Reason.SENSITIVE_TOPIC`).

The records are found with SCAN over `relevo:handoff:*`: one pass over the handoff keys, fine
for the few thousand handoffs a retention period holds here. A larger desk would keep an index
of handoffs by creation time (a sorted set) and read only the window asked for.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

import redis

from handoff.requests import HandoffRequest, Reason, TranscriptLine
from kb_index.embeddings import Embedder
from kb_index.gaps import DEFAULT_THRESHOLD, Gap, Progress, UnansweredQuestion, cluster
from relevo import keys

log = logging.getLogger(__name__)

COUNTED_REASONS = frozenset(
    {Reason.LOW_CONFIDENCE, Reason.REPEATED_FAILURE, Reason.NEGATIVE_FEEDBACK}
)
"""The escalation reasons that mean the knowledge base could not answer (module docstring)."""

MIN_QUESTION_LETTERS = 10
"""Customer lines with fewer letters ("¿y eso?", "ok", "dron?") do not carry a question."""

MAX_QUESTION_LINES = 2
"""A question split over consecutive messages is joined, up to this many of them."""

_SINCE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

# A person, as customers name one when they ask for one (folded).
_A_PERSON_ES = r"(?:un |una )?(?:agente|persona|humano|operador|operadora)"
_A_PERSON_EN = r"(?:an? )?(?:agent|human|person|operator)"
# What customers write around a question but that is no question: feedback, asking for a person,
# greetings and thanks (folded: lower case, no accents, no punctuation).
_NOT_A_QUESTION = re.compile(
    r"^(?:(?:no|hola|hi|hello|hey|pues|vale|ok|oh|mmm|sorry|perdona) )*(?:"
    r"no|nope|nah|si|yes|ok|okay|vale|gracias|thanks|thank you|hola|hello|hi|hey|adios|bye|"
    r"buenas(?: tardes| noches)?|buenos dias|good (?:morning|afternoon|evening)|"
    r"no(?: me)? (?:ha |has )?(?:servido|ayudado|sirve|ayuda)(?: de nada)?|"
    r"(?:eso |esto )?no (?:me )?(?:sirve|ayuda|vale)|"
    r"no es (?:eso|lo que (?:busco|buscaba|pregunto))|"
    r"(?:it |that |this )?(?:did ?n ?t|does ?n ?t|did not|does not) help|not (?:really )?helpful|"
    r"(?:quiero |necesito |puedo )?(?:hablar|habla) con (?:un|una|alguien|una persona|un agente)"
    r"(?: humano| humana| de verdad| real)?(?: por favor)?|"
    rf"{_A_PERSON_ES}(?: por favor)?|"
    r"(?:i want to |can i |let me )?(?:talk|speak) to (?:a |an |someone|somebody)"
    r"(?:human|person|agent|real person)?(?: please)?|"
    rf"{_A_PERSON_EN}(?: please)?|"
    r"no (?:lo |te )?entiendo(?: nada)?|no me entero|(?:i )?(?:dont|do not) (?:understand|get it)|"
    r"(?:none|neither)(?: of (?:them|these|those))?|"
    r"(?:ninguno|ninguna)(?: de (?:estos|estas|ellos|ellas|esos|esas))?"
    r")(?: at all| para nada| de nada| por favor| please| thanks| gracias)?$"
)

# A request for a person inside a longer line ("yes, I would like a person to look into it",
# "sí, quiero hablar con una persona de esto"): the want right before the person, so a question
# about people ("can a person with reduced mobility fly alone?") is still a question.
_ASKS_FOR_A_PERSON = re.compile(
    r"\b(?:would like|id like|want|need|prefer|quiero|queria|necesito|prefiero|me gustaria) "
    rf"(?:to (?:talk|speak) to |hablar con )?(?:{_A_PERSON_EN}|{_A_PERSON_ES})\b"
)


def parse_since(text: str) -> dt.timedelta:
    """A look-back window written as `30d`, `12h`, `2w` or `90m`.

    Raises:
        ValueError: with what to write instead.
    """
    match = _SINCE.match(text)
    if not match or int(match[1]) == 0:
        raise ValueError(f"{text!r} is not a window like 30d, 12h, 2w or 90m")
    return dt.timedelta(**{_UNITS[match[2].lower()]: int(match[1])})


def _fold(text: str) -> str:
    """Lower case, no accents, words only: how noise phrases are compared."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.findall(r"[a-z0-9]+", plain.replace("'", "")))


def is_question(text: str) -> bool:
    """Does a customer line carry a question (not feedback, a button, a greeting, a person)?"""
    stripped = text.strip()
    if not stripped or stripped.startswith("/"):  # a button's payload
        return False
    if sum(c.isalpha() for c in stripped) < MIN_QUESTION_LETTERS:
        return False
    return not (_NOT_A_QUESTION.match(_fold(stripped)) or asks_for_a_person(stripped))


def asks_for_a_person(text: str) -> bool:
    """Whether a line asks for a person ("sí, quiero hablar con una persona de esto")."""
    return _ASKS_FOR_A_PERSON.search(_fold(text)) is not None


def question_of(transcript: list[TranscriptLine]) -> str | None:
    """The customer's question that led to the escalation, or None when no line carries one.

    Walking back from the escalation: the last customer lines that carry a question, up to two
    consecutive ones (a question is sometimes sent in two messages). Lines that do not carry one
    ("no", "agente", "/deny") are skipped; a bot line ends the block once a question is found,
    so the question is the one the bot failed on, not an earlier topic.
    """
    picked: list[str] = []
    for line in reversed(transcript):
        if line.role != "customer":
            if picked:
                break
            continue
        if line.tapped or not is_question(line.text):
            if picked:
                break
            continue
        picked.append(line.text.strip())
        if len(picked) == MAX_QUESTION_LINES:
            break
    return " ".join(reversed(picked)) or None


def _text(value: Any) -> str:
    """A Redis reply as text, whether the client decodes responses or not."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _is_record_key(key: str) -> bool:
    """`relevo:handoff:<id>`, not its `:events`/`:reveals` streams nor the requests stream."""
    prefix = keys.handoff("")
    return key.startswith(prefix) and ":" not in key[len(prefix) :] and key != keys.HANDOFF_REQUESTS


def _records(client: redis.Redis) -> Iterator[HandoffRequest]:
    """Every handoff record in Redis, read in batches; unreadable ones are logged and skipped."""
    batch: list[str] = []

    def flush() -> Iterator[HandoffRequest]:
        pipe = client.pipeline(transaction=False)
        for key in batch:
            pipe.hget(key, "record")
        for key, raw in zip(batch, pipe.execute(), strict=True):
            if raw is None:
                continue
            try:
                yield HandoffRequest.from_json(_text(raw))
            except (ValueError, TypeError, KeyError) as exc:
                log.warning(
                    "skipping an unreadable handoff record", extra={"key": key, "error": str(exc)}
                )
        batch.clear()

    for raw_key in client.scan_iter(match=keys.handoff("*"), count=500):
        key = _text(raw_key)
        if _is_record_key(key):
            batch.append(key)
            if len(batch) == 200:
                yield from flush()
    if batch:
        yield from flush()


def _when(at: str) -> dt.datetime:
    """An ISO time as an aware datetime (naive ones are UTC, as Relevo writes them)."""
    moment = dt.datetime.fromisoformat(at)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _stream_id(moment: dt.datetime) -> str:
    """The first stream id at or after `moment` (stream ids are milliseconds since the epoch)."""
    return str(int(moment.timestamp() * 1000))


def _next_handoff_at(client: redis.Redis, request: HandoffRequest) -> dt.datetime | None:
    """When the conversation's next handoff began: agent replies after it answer that one."""
    ids = [
        _text(i) for i in client.lrange(keys.conversation_handoffs(request.conversation_id), 0, -1)
    ]
    if request.id not in ids or ids[-1] == request.id:
        return None
    raw = client.hget(keys.handoff(ids[ids.index(request.id) + 1]), "record")
    if raw is None:
        return None
    try:
        return _when(json.loads(_text(raw))["created_at"])
    except (ValueError, KeyError):
        return None


def agent_replies(client: redis.Redis, request: HandoffRequest) -> tuple[str, ...]:
    """What agents wrote to the customer after this handoff began (and before the next one).

    The conversation log holds what reached the customer (`author=agent`), which is what an
    article should say; internal notes never reach the log.
    """
    start = _stream_id(_when(request.created_at))
    following = _next_handoff_at(client, request)
    # Up to the millisecond before the next handoff (the "(" exclusive range needs Redis 6.2).
    end = str(int(_stream_id(following)) - 1) if following else "+"
    entries = client.xrange(keys.conversation_log(request.conversation_id), start, end)
    replies = []
    for _, raw_fields in entries:
        fields = {_text(k): _text(v) for k, v in raw_fields.items()}
        if fields.get("type", "message") != "message" or fields.get("author") != "agent":
            continue
        if fields.get("text", "").strip():
            replies.append(fields["text"].strip())
    return tuple(replies)


def collect_unanswered(client: redis.Redis, since: dt.datetime) -> list[UnansweredQuestion]:
    """The questions of the handoffs since `since` that the assistant could not answer.

    Args:
        client: the Redis with the handoff records and conversation logs.
        since: the start of the window (a naive datetime is taken as UTC).

    Returns:
        One question per counted handoff whose transcript carries one, oldest first.
    """
    since = since if since.tzinfo else since.replace(tzinfo=dt.UTC)
    found = []
    for request in _records(client):
        if request.reason not in COUNTED_REASONS:
            continue
        try:
            created = _when(request.created_at)
        except ValueError:
            continue
        if created < since:
            continue
        question = question_of(request.transcript)
        if question is None:
            continue
        found.append(
            UnansweredQuestion(
                text=question,
                language=request.language,
                reason=request.reason.value,
                department=request.department,
                agent_replies=agent_replies(client, request),
                handoff_id=request.id,
                at=created.isoformat(),
            )
        )
    return sorted(found, key=lambda q: (q.at, q.handoff_id))


def find_gaps(
    client: redis.Redis,
    embedder: Embedder,
    window: dt.timedelta,
    *,
    now: dt.datetime | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    progress: Progress | None = None,
) -> list[Gap]:
    """The knowledge gaps of the last `window`, ranked: collect, then cluster."""
    since = (now or dt.datetime.now(dt.UTC)) - window
    return cluster(collect_unanswered(client, since), embedder, threshold, progress=progress)

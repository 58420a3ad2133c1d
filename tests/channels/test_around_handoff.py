"""What customers write around a handoff: a rating in words, thanks, attachments, a typed "/".

Against a real Redis (the accept script decides), and Rasa's own parser for the slash.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.after_resolution import is_closing, parse_rating
from bot.conversations import Route
from bot.inbound import Channel, Customer, Inbound, Kind
from bot.pipeline import WORD_JOINER, InboundPipeline, for_assistant
from relevo import keys
from relevo.settings import Settings

RASA_PYTHON = Path(__file__).resolve().parents[2] / ".venv-rasa" / "bin" / "python"


def _inbound(
    text: str, message_id: str = "m1", channel: Channel = Channel.SOCIAL, **extra: object
) -> Inbound:
    return Inbound(
        channel=channel,
        conversation_id="c1",
        message_id=message_id,
        customer=Customer(id="u1", handle="ana"),
        text=text,
        public=channel is Channel.SOCIAL,
        **extra,  # type: ignore[arg-type]
    )


async def _resolved(client: aioredis.Redis, language: str = "es") -> None:
    """c1's handoff h1 resolved a minute ago, its rating asked (within the reopening window)."""
    await client.set(keys.conversation_owner("c1"), "closed")
    await client.set(keys.conversation_handoff("c1"), "h1")
    await client.hset(keys.conversation("c1"), "language", language)
    await client.hset(
        keys.handoff("h1"),
        mapping={
            "state": "closed",
            "conversation": "c1",
            "rating_asked": "1",
            "record": json.dumps({"language": language}),
            "resolved_epoch": str(time.time() - 60),
        },
    )


async def _outbox_texts(client: aioredis.Redis) -> list[str]:
    return [fields["text"] for _, fields in await client.xrange(keys.OUTBOX)]


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("4", 4),
        ("4/5", 4),
        ("/rate 4", 4),
        ("⭐⭐⭐", 3),
        ("un 4, la verdad", 4),
        ("5/5 thank you Laura!!", 5),
        ("le doy un 5", 5),
        ("4 de 5", 4),
        ("4 out of 5", 4),
        ("⭐⭐⭐⭐⭐ gracias", 5),
        ("⭐️⭐️⭐️⭐️ thanks", 4),  # with the emoji presentation selector
        ("I'd give it a 3", 3),
        ("5 estrellas 👏", 5),
        ("un 5 para Laura", 5),
    ],
)
def test_a_short_message_with_one_rating_is_the_rating(text: str, rating: int) -> None:
    assert parse_rating(text) == rating


@pytest.mark.parametrize(
    "text",
    [
        "my booking 4 bags",
        "vuelo 1234",
        "tengo 2 maletas y 1 mochila",
        "5pm",
        "at 5 pm",
        "a las 5",
        "5:30",
        "5 €",
        "€5",
        "$5",
        "5%",
        "4.5",
        "4/5/2024",
        "4 de 5 maletas",
        "gate 4",
        "#4",
        "10/10",
        "un 4?",
        "⭐⭐⭐ 5",  # two different ratings
        "⭐⭐⭐⭐⭐⭐",  # more stars than the scale
        "gracias, aunque la maleta aún no ha llegado y me dijeron que en 5 días",  # long
    ],
)
def test_numbers_that_are_not_ratings_are_not_taken(text: str) -> None:
    assert parse_rating(text) is None


IN_WORDS = [
    "un 4, la verdad",
    "5/5 thank you Laura!!",
    "le doy un 5",
    "4 de 5",
    "⭐⭐⭐⭐⭐ gracias",
]


@pytest.mark.parametrize("text", IN_WORDS)
async def test_a_rating_in_words_is_stored_and_thanked_not_a_reopening(
    aclient: aioredis.Redis, text: str
) -> None:
    pipeline = InboundPipeline(aclient, Settings())
    await _resolved(aclient)
    accepted = await pipeline.accept(_inbound(text))
    assert accepted.route is Route.RATING
    assert await aclient.hget(keys.handoff("h1"), "rating") == str(parse_rating(text))
    assert await aclient.get(keys.conversation_owner("c1")) == "closed"
    [thanks] = await _outbox_texts(aclient)
    assert thanks == "¡Gracias por tu valoración! Nos ayuda a mejorar. 💙"


@pytest.mark.parametrize(
    "text",
    [
        "gracias!!",
        "thanks a lot",
        "ok perfecto",
        "👍",
        "👍🏽",
        "genial, gracias",
        "muchas gracias por todo 🙏",
        "Thank you so much!",
        "gracias Laura",
        "graciaaas!!!",
    ],
)
def test_thanks_and_acknowledgements_are_closing_words(text: str) -> None:
    assert is_closing(text)


@pytest.mark.parametrize(
    "text",
    [
        "gracias, pero mi maleta sigue sin llegar",
        "thanks, but",
        "Gracias Pero",
        "ok?",
        "gracias, ¿y el reembolso?",
        "no gracias",
        "thanks for nothing",
        "gracias 5",
        "muchas",
        "😡",
        "",
    ],
)
def test_anything_more_than_thanks_is_not_a_closing_word(text: str) -> None:
    assert not is_closing(text)


@pytest.mark.parametrize(
    ("text", "language", "welcome"),
    [
        ("gracias!!", "es", "¡De nada! 😊"),
        ("thanks a lot", "en", "You're welcome! 😊"),
        ("👍", "es", "¡De nada! 😊"),  # no words: the conversation's language
        ("ok perfecto", "es", "¡De nada! 😊"),
    ],
)
async def test_thanks_after_the_resolution_is_answered_and_keeps_it_closed(
    aclient: aioredis.Redis, text: str, language: str, welcome: str
) -> None:
    pipeline = InboundPipeline(aclient, Settings())
    await _resolved(aclient, language)
    accepted = await pipeline.accept(_inbound(text))
    assert accepted.route is Route.CLOSING
    assert await aclient.get(keys.conversation_owner("c1")) == "closed"
    assert await aclient.hget(keys.handoff("h1"), "state") == "closed"
    assert await aclient.xlen(keys.handoff("h1") + ":events") == 0  # no reopening
    [answer] = await _outbox_texts(aclient)
    assert answer.startswith(welcome)
    [(_, relayed)] = await aclient.xrange(keys.DESK_RELAY)  # the agent sees the thanks
    assert relayed["text"] == text and relayed["owner"] == "closed"
    assert (await pipeline.accept(_inbound(text))).route is Route.DUPLICATE
    assert len(await _outbox_texts(aclient)) == 1


async def test_thanks_after_the_rating_is_answered_and_more_than_thanks_reopens(
    aclient: aioredis.Redis,
) -> None:
    pipeline = InboundPipeline(aclient, Settings())
    await _resolved(aclient)
    assert (await pipeline.accept(_inbound("5"))).route is Route.RATING
    assert (await pipeline.accept(_inbound("gracias!!", "m2"))).route is Route.CLOSING
    assert await aclient.get(keys.conversation_owner("c1")) == "closed"
    more = _inbound("gracias, pero mi maleta sigue sin llegar", "m3")
    assert (await pipeline.accept(more)).route is Route.RELAY
    assert await aclient.get(keys.conversation_owner("c1")) == "queued"


def _photo(message_id: str, caption: str = "", what: str = "photo", **extra: object) -> Inbound:
    """A Telegram attachment as the adapter records it: its kind in the route."""
    return _inbound(
        caption,
        message_id,
        Channel.TELEGRAM,
        kind=Kind.TEXT if caption else Kind.UNSUPPORTED,
        route={"chat_id": 7, "attachment": what},
        **extra,
    )


@pytest.mark.parametrize(
    ("owner", "inbound", "shown", "notice"),
    [
        ("queued", _photo("p1"), "[photo]", "no he podido abrir tu foto"),
        ("agent:U1", _photo("p2", what="sticker"), "[sticker]", "no he podido abrir tu sticker"),
        ("agent:U1", _photo("p3", what="voice"), "[voice message]", "abrir tu audio"),
        ("queued", _photo("p4", "mira la maleta"), "[photo] mira la maleta", "tu foto"),
        ("agent:U1", _photo("p5", what="location"), "[location]", "¿Me escribes dónde estás?"),
    ],
)
async def test_an_attachment_for_a_person_is_named_on_the_desk_and_answered(
    aclient: aioredis.Redis, owner: str, inbound: Inbound, shown: str, notice: str
) -> None:
    pipeline = InboundPipeline(aclient, Settings())
    await aclient.set(keys.conversation_owner("c1"), owner)
    await aclient.set(keys.conversation_handoff("c1"), "h1")
    await aclient.hset(keys.conversation("c1"), "language", "es")
    assert (await pipeline.accept(inbound)).route is Route.RELAY
    [(_, relayed)] = await aclient.xrange(keys.DESK_RELAY)
    assert relayed["display"] == shown and relayed["text"] == inbound.text
    [(_, logged)] = await aclient.xrange(keys.conversation_log("c1"))
    assert logged["display"] == shown  # the console's thread reads the log
    texts = await _outbox_texts(aclient)
    assert notice in texts[0] and "La persona que te atiende lo leerá" in texts[0]
    assert await aclient.xlen(keys.INBOUND) == 0
    assert (await pipeline.accept(inbound)).route is Route.DUPLICATE
    assert await _outbox_texts(aclient) == texts  # a redelivery is not answered twice


@pytest.mark.parametrize(
    ("what", "said", "not_said"),
    [
        ("voice", "couldn't open your voice note", "no need"),
        ("contact", "no need to send contact details", "write it"),  # none asked for in words
    ],
)
async def test_an_attachment_for_a_person_is_answered_in_english_too(
    aclient: aioredis.Redis, what: str, said: str, not_said: str
) -> None:
    pipeline = InboundPipeline(aclient, Settings())
    await aclient.set(keys.conversation_owner("c1"), "agent:U1")
    await aclient.hset(keys.conversation("c1"), "language", "en")
    await pipeline.accept(_photo("p1", what=what))
    [notice] = await _outbox_texts(aclient)
    assert said in notice and not_said not in notice


async def test_text_for_a_person_gets_no_attachment_notice(aclient: aioredis.Redis) -> None:
    pipeline = InboundPipeline(aclient, Settings())
    await aclient.set(keys.conversation_owner("c1"), "agent:U1")
    await pipeline.accept(_inbound("¿sigues ahí?", channel=Channel.TELEGRAM))
    [(_, relayed)] = await aclient.xrange(keys.DESK_RELAY)
    assert "display" not in relayed
    assert await aclient.xlen(keys.OUTBOX) == 0


@pytest.mark.parametrize(
    ("inbound", "typed"),
    [
        (_inbound("/ask_human"), True),  # "@brisaair /ask_human" in public
        (_inbound(" /ask_human", channel=Channel.WEBCHAT), True),
        (_inbound('/pick_article{"article":"pets-en"}', channel=Channel.WEBCHAT), True),
        (_inbound("/ask_human", channel=Channel.WEBCHAT, display="A person"), False),
        (_inbound("/affirm", channel=Channel.TELEGRAM, display="Yes"), False),  # a button
        (_inbound("/greet", channel=Channel.TELEGRAM, display="/start"), False),  # a command
        (_inbound("hola, ¿/ask_human?", channel=Channel.WEBCHAT), False),
    ],
)
async def test_only_the_bots_own_buttons_reach_rasa_as_an_intent(
    aclient: aioredis.Redis, inbound: Inbound, typed: bool
) -> None:
    await InboundPipeline(aclient, Settings()).accept(inbound)
    [(_, queued)] = await aclient.xrange(keys.INBOUND)
    assert queued["text"] == (WORD_JOINER + inbound.text if typed else inbound.text)
    [(_, logged)] = await aclient.xrange(keys.conversation_log("c1"))
    assert logged["text"] == inbound.text  # the transcript shows what was typed


@pytest.mark.skipif(not RASA_PYTHON.exists(), reason="the Rasa environment is not installed")
def test_rasa_reads_a_typed_slash_as_text_and_a_buttons_payload_as_its_intent() -> None:
    """Rasa's own parser of "/intent" messages, after its channel strips the text."""
    script = (
        "import json, sys\n"
        "from rasa.core.channels.channel import UserMessage\n"
        "from rasa.shared.core.training_data.story_reader.yaml_story_reader import "
        "YAMLStoryReader\n"
        "from rasa.shared.nlu.training_data.message import Message\n"
        "texts = json.loads(sys.argv[1])\n"
        "print(json.dumps([(YAMLStoryReader.unpack_regex_message(Message("
        "{'text': UserMessage(t).text})).get('intent') or {}).get('name') for t in texts]))\n"
    )
    typed = _inbound(" /ask_human", channel=Channel.WEBCHAT)
    pressed = _inbound("/ask_human", channel=Channel.WEBCHAT, display="A person")
    texts = [for_assistant(typed), for_assistant(pressed)]
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", script, json.dumps(texts)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [None, "ask_human"]


@pytest.mark.parametrize("owner", ["queued", "agent:U1"])
async def test_personal_data_posted_in_public_for_a_person_is_asked_to_be_deleted(
    aclient: aioredis.Redis, owner: str
) -> None:
    """QA s25 M1: the assistant asks at once; with a person on the case it was silence."""
    pipeline = InboundPipeline(aclient, Settings())
    await aclient.set(keys.conversation_owner("c1"), owner)
    await aclient.set(keys.conversation_handoff("c1"), "h1")
    await aclient.hset(keys.conversation("c1"), "language", "es")
    said = "mi localizador es QW3RT7, ¿cuándo me contestáis?"
    assert (await pipeline.accept(_inbound(said))).route is Route.RELAY
    notices = [fields for _, fields in await aclient.xrange(keys.OUTBOX)]
    [notice] = [n for n in notices if n["text"].startswith("Por tu seguridad, borra tu publi")]
    assert "muestra un localizador" in notice["text"]
    assert notice["invite_private"] == "1"  # the link to private goes with it
    [(_, relayed)] = await aclient.xrange(keys.DESK_RELAY)
    assert relayed["text"] == said  # the person reads it all the same


async def test_personal_data_in_private_for_a_person_gets_no_notice(
    aclient: aioredis.Redis,
) -> None:
    pipeline = InboundPipeline(aclient, Settings())
    await aclient.set(keys.conversation_owner("c1"), "agent:U1")
    said = "mi localizador es QW3RT7"
    await pipeline.accept(_inbound(said, channel=Channel.WEBCHAT))
    assert await aclient.xlen(keys.OUTBOX) == 0

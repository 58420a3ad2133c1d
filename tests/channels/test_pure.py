"""Pure parts of the channels: splitting, signatures, listening, Telegram updates, turns."""

from __future__ import annotations

import time

import pytest
import yaml
from pydantic import ValidationError
from telegram import Bot, Update

from actions.offers import pick_payload
from bot.channels.social import SocialEvent, addressed_to_brand, to_inbound
from bot.channels.telegram_updates import greeting, is_button_payload, not_yours, received
from bot.channels.webchat import frame
from bot.inbound import Kind, tidy_spacing
from bot.log_entries import outgoing_log_fields
from bot.pipeline import ELISION, head_and_tail, says_nothing
from bot.rasa_client import BotReply
from bot.signing import SignatureError, sign, verify
from bot.splitting import split_text
from bot.turns import AssistantMessage, outgoing_for_turn, turn_summary
from handoff.texts import rating_buttons
from relevo.messages import Outgoing
from relevo.settings import Settings
from tests.conftest import ROOT

SECRET = "s3cret"


def test_split_keeps_short_texts_whole_and_cuts_long_ones_at_paragraphs() -> None:
    assert split_text("hola", 10) == ["hola"]
    text = ("First paragraph. " * 10).strip() + "\n\n" + ("Second one here. " * 10).strip()
    parts = split_text(text, 200)
    assert all(len(p) <= 200 for p in parts)
    assert parts[0].endswith("First paragraph.")
    assert " ".join(parts).replace("\n", " ").split() == text.replace("\n", " ").split()


def test_split_prefers_sentences_then_words_and_cuts_a_giant_word() -> None:
    parts = split_text("Uno dos tres. Cuatro cinco seis siete.", 20)
    assert parts == ["Uno dos tres.", "Cuatro cinco seis", "siete."]
    url = "https://example.com/" + "x" * 50
    assert [len(p) for p in split_text(url, 30)] == [30, 30, 10]


@pytest.mark.parametrize("limit", [1, 7, 4096])
def test_split_never_exceeds_the_limit(limit: int) -> None:
    text = "Ünïcode 😀 text. " * 700
    assert all(0 < len(p) <= limit for p in split_text(text, limit))


def test_a_signature_is_accepted_fresh_and_refused_forged_stale_or_missing() -> None:
    body = b'{"post_id": "1"}'
    now = time.time()
    ts = str(int(now))
    verify(SECRET, body, ts, sign(SECRET, int(ts), body), max_skew=300, now=now)
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, body + b" ", ts, sign(SECRET, int(ts), body), max_skew=300, now=now)
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, body, ts, sign("other", int(ts), body), max_skew=300, now=now)
    old = str(int(now) - 301)
    with pytest.raises(SignatureError, match="stale timestamp: 301 s old"):
        verify(SECRET, body, old, sign(SECRET, int(old), body), max_skew=300, now=now)
    ahead = str(int(now) + 1000)  # the connector's clock is ahead: not "stale", not "-999 s"
    with pytest.raises(SignatureError, match=r"1000 s in the future \(clock skew\?\)"):
        verify(SECRET, body, ahead, sign(SECRET, int(ahead), body), max_skew=300, now=now)
    with pytest.raises(SignatureError, match="missing"):
        verify(SECRET, body, None, None, max_skew=300, now=now)
    for timestamp in ("yesterday", "1" + "0" * 400, "-5", "١٧٠٠٠٠٠٠٠٠"):  # huge, signed, Arabic
        with pytest.raises(SignatureError, match="Unix seconds"):
            verify(SECRET, body, timestamp, "v1=00", max_skew=300, now=now)


def _event(text: str, **extra: object) -> SocialEvent:
    data: dict[str, object] = {
        "post_id": "p1",
        "author": {"id": "u1", "handle": "ana", "followers": 1500},
        "text": text,
        **extra,
    }
    return SocialEvent.model_validate(data)


@pytest.mark.parametrize(
    ("text", "extra", "expected"),
    [
        ("@BrisaAir where is my bag?", {}, "mention"),
        ("my bag is lost", {"type": "mention"}, "mention"),
        ("still waiting", {"in_reply_to": {"post_id": "b1", "author_handle": "brisaair"}}, "reply"),
        ("Vuelo retrasado otra vez #BrisaAir", {}, "listening:#brisaair"),
        ("volando con BRISA AÏR hoy", {}, "listening:brisa air"),
        ("what a nice day", {}, None),
        ("email me at x@brisaairways.com", {}, None),
    ],
)
def test_listening_decides_which_posts_the_brand_answers(
    text: str, extra: dict[str, object], expected: str | None
) -> None:
    assert addressed_to_brand(_event(text, **extra), Settings()) == expected


def test_the_brand_never_answers_its_own_posts() -> None:
    own = SocialEvent.model_validate(
        {"post_id": "p", "author": {"id": "b", "handle": "BrisaAir"}, "text": "#brisaair news"}
    )
    assert addressed_to_brand(own, Settings()) is None
    assert addressed_to_brand(own, Settings(), answers_our_post=True) is None


def test_an_answer_to_a_post_relevo_made_is_a_reply_to_the_brand() -> None:
    """The connector may name the parent by its id alone (QA s22 D7)."""
    event = _event("and how much does it cost?", in_reply_to={"post_id": "brand-reply-34"})
    assert addressed_to_brand(event, Settings()) is None
    assert addressed_to_brand(event, Settings(), answers_our_post=True) == "reply"


@pytest.mark.parametrize(
    ("network", "taken"),
    [
        ("x", True),
        ("mastodon.social", True),
        ("x:y", False),
        ("mastodon social", False),
        ("", False),
    ],
)
def test_a_network_name_goes_into_ids_and_keys_so_it_has_no_colon_or_space(
    network: str, taken: bool
) -> None:
    if taken:
        assert _event("hola", network=network).network == network
    else:
        with pytest.raises(ValidationError, match="network"):
            _event("hola", network=network)


@pytest.mark.parametrize(
    "author",
    [
        {"id": "u1", "handle": "ana", "followers": True},  # not a count
        {"id": "u1", "handle": "ana", "followers": "1" + "0" * 400},
        {"id": "u1", "handle": "ana", "followers": 10**13},
        {"id": "u1", "handle": "@", "followers": 5},  # an empty handle
        {"id": "u1", "handle": "ana maria", "followers": 5},
    ],
)
def test_author_fields_that_no_network_sends_are_refused(author: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        SocialEvent.model_validate({"post_id": "p1", "author": author, "text": "hola"})


def test_handles_of_networks_and_of_the_fediverse_are_taken() -> None:
    for handle in ("@ana_travels", "ana.garcia", "ana@mastodon.social", "Zoë-B"):
        event = SocialEvent.model_validate(
            {"post_id": "p1", "author": {"id": "u1", "handle": handle}, "text": "hola"}
        )
        assert event.author.handle == handle


def test_a_post_becomes_a_public_inbound_with_the_profile_and_route() -> None:
    event = _event(
        "@brisaair: ¿puedo llevar a mi perro?",
        url="https://social.example/p1",
        thread_id="t9",
        network="x",
    )
    inbound = to_inbound(event, Settings())
    assert inbound.public
    assert inbound.text == "¿puedo llevar a mi perro?"
    assert inbound.conversation_id == "social:x:t9:u1"
    assert inbound.customer.followers == 1500
    assert inbound.customer.url == "https://social.example/p1"
    assert inbound.route["reply_to"] == "p1" and inbound.route["handle"] == "ana"
    assert not inbound.overheard
    assert to_inbound(_event("#BrisaAir 😍"), Settings(), overheard="#brisaair").overheard


@pytest.mark.parametrize("limit", [1, 5, 6, 7, 8, 100])
def test_a_long_message_keeps_its_start_and_its_end_within_the_limit(limit: int) -> None:
    """People ask, or show a card number, at the end of a long post (QA s22 D4)."""
    body = "My story starts here. " + "blah " * 200 + "My card 4111 1111 1111 1111: a refund?"
    kept = head_and_tail(body, limit)
    assert len(kept) == limit
    if limit == 100:
        assert kept.startswith("My story starts") and kept.endswith("1111: a refund?")
        assert kept.count(ELISION) == 1
    assert head_and_tail(body[:limit], limit) == body[:limit]  # at the limit: as written


@pytest.mark.parametrize(
    ("body", "nothing"),
    [
        ("", True),
        ("https://x.example/photo/123", True),
        ("@ana_friend #travel 😍✈️ www.example.com/p !!!", True),
        ("@ana@mastodon.social", True),  # a fediverse mention
        ("5", False),
        ("¿y esto? https://x.example/p", False),
        ("#BA123 delayed", False),
        ("write to ana@example.com", False),
    ],
)
def test_only_links_mentions_hashtags_and_emoji_say_nothing(body: str, nothing: bool) -> None:
    assert says_nothing(body) is nothing


BOT = Bot("123:abc")


def _update(message: dict[str, object], update_id: int = 1) -> Update:
    base = {
        "message_id": 7,
        "date": 1_700_000_000,
        "from": {"id": 42, "is_bot": False, "first_name": "Ana", "language_code": "es"},
        "chat": {"id": 42, "type": "private"},
    }
    update = Update.de_json({"update_id": update_id, "message": {**base, **message}}, BOT)
    assert update is not None
    return update


def test_a_private_text_is_a_customer_message() -> None:
    got = received(_update({"text": "¿hay wifi?"}), "brisabot")
    assert got is not None
    assert got.inbound.text == "¿hay wifi?"
    assert got.inbound.conversation_id == "tg:42"
    assert got.inbound.message_id == "42:7"
    assert got.inbound.route == {"chat_id": 42}
    assert not got.inbound.public


def _edit(message: dict[str, object], edit_date: int) -> Update:
    plain = _update(message).to_dict()["message"]
    update = Update.de_json(
        {"update_id": 2, "edited_message": {**plain, "edit_date": edit_date}}, BOT
    )
    assert update is not None
    return update


def test_an_edited_text_is_news_once_per_edit_and_edited_commands_are_not() -> None:
    got = received(_edit({"text": "my code is ABC124"}, 1_700_000_060), "brisabot")
    assert got is not None and got.inbound.kind is Kind.EDIT
    assert got.inbound.text == "my code is ABC124"
    assert got.inbound.message_id == "42:7:edit:1700000060"  # not the original's "42:7"
    again = received(_edit({"text": "my code is ABC125"}, 1_700_000_090), "brisabot")
    assert again is not None and again.inbound.message_id == "42:7:edit:1700000090"
    assert received(_edit({"text": "/agent"}, 1_700_000_060), "brisabot") is None
    group = {"chat": {"id": -100, "type": "supergroup", "title": "Fans"}}
    assert received(_edit({**group, "text": "hello all"}, 1_700_000_060), "brisabot") is None


def test_in_groups_only_mentions_and_replies_to_the_bot_count() -> None:
    group = {"chat": {"id": -100, "type": "supergroup", "title": "Fans"}}
    assert received(_update({**group, "text": "hello all"}), "brisabot") is None
    got = received(_update({**group, "text": "@BrisaBot is there wifi?"}), "brisabot")
    assert got is not None and got.inbound.text == "is there wifi?"
    assert got.inbound.conversation_id == "tg:-100:42"
    assert got.inbound.route["reply_to"] == 7
    assert got.inbound.public  # every member reads the answers
    reply = {
        **group,
        "text": "and in economy?",
        "reply_to_message": {
            "message_id": 5,
            "date": 1_700_000_000,
            "chat": {"id": -100, "type": "supergroup"},
            "from": {"id": 1, "is_bot": True, "first_name": "Brisa", "username": "BrisaBot"},
        },
    }
    assert received(_update(reply), "brisabot") is not None
    assert received(_update({**group, "text": "/help@OtherBot"}), "brisabot") is None


def test_the_mention_is_cut_from_the_text_as_written_whatever_its_case() -> None:
    group = {"chat": {"id": -100, "type": "supergroup", "title": "Fans"}}
    got = received(_update({**group, "text": "İ @BrisaBot where is my bag"}), "brisabot")
    assert got is not None and got.inbound.text == "İ where is my bag"  # lower() adds a char
    assert received(_update({**group, "text": "@BrisaBot2 where is my bag"}), "brisabot") is None


@pytest.mark.parametrize(
    "text",
    [
        "write to support@BrisaBot.com maybe?",
        "my mail is ana.@brisabot",
        "see @BrisaBot.com for details",
        "ask @brisabot@other.example",
    ],
)
def test_an_address_with_the_bots_name_is_not_a_mention(text: str) -> None:
    group = {"chat": {"id": -100, "type": "supergroup", "title": "Fans"}}
    assert received(_update({**group, "text": text}), "brisabot") is None


@pytest.mark.parametrize("text", ["(@BrisaBot) wifi?", "wifi? @BrisaBot.", "@BrisaBot, wifi?"])
def test_a_mention_next_to_punctuation_still_counts(text: str) -> None:
    group = {"chat": {"id": -100, "type": "supergroup", "title": "Fans"}}
    got = received(_update({**group, "text": text}), "brisabot")
    assert got is not None and "BrisaBot" not in got.inbound.text


def test_commands_start_help_agent_and_a_deep_link() -> None:
    start = received(_update({"text": "/start"}), "brisabot")
    assert start is not None and start.inbound.text == "/greet" and start.inbound.language == "es"
    deep = received(_update({"text": "/start tok_en-1"}), "brisabot")
    assert deep is not None and deep.invitation == "tok_en-1"
    agent = received(_update({"text": "/agent"}), "brisabot")
    assert agent is not None and agent.inbound.text == "/ask_human"
    help_ = received(_update({"text": "/help"}), "brisabot")
    assert help_ is not None and help_.command == "help" and help_.inbound.text == "/help"


def test_a_start_token_typed_in_a_group_is_no_invitation() -> None:
    """A deep link opens only a private chat: taken in a group, a token would have continued
    the customer's public conversation in front of everyone (and moved their handoff there)."""
    group = {"chat": {"id": -100, "type": "supergroup", "title": "Fans"}}
    got = received(_update({**group, "text": "/start@brisabot tok_en-1"}), "brisabot")
    assert got is not None and got.command == "start" and got.invitation is None


def _press(
    data: str, presser: int, *, chat_type: str = "supergroup", owner: int | None = 42
) -> Update:
    """A press on the bot's message 9, which replies to `owner`'s message 7 (None: to nothing)."""
    chat = {"id": 42 if chat_type == "private" else -100, "type": chat_type, "title": "Fans"}
    message: dict[str, object] = {
        "message_id": 9,
        "date": 1_700_000_000,
        "chat": chat,
        "from": {"id": 1, "is_bot": True, "first_name": "Brisa", "username": "BrisaBot"},
        "text": "¿Te ha servido?",
    }
    if owner is not None:
        message["reply_to_message"] = {
            "message_id": 7,
            "date": 1_700_000_000,
            "chat": chat,
            "from": {"id": owner, "is_bot": False, "first_name": "Ana", "username": "ana"},
        }
    presser_user = {"id": presser, "is_bot": False, "first_name": "Luis", "language_code": "es"}
    query = {
        "id": "q1",
        "from": presser_user,
        "chat_instance": "c",
        "data": data,
        "message": message,
    }
    update = Update.de_json({"update_id": 1, "callback_query": query}, BOT)
    assert update is not None
    return update


@pytest.mark.parametrize(
    "data",
    ["/affirm", "/deny", "/ask_human", "1", "5", '/pick_article{"article":"pets-es"}'],
)
def test_the_payloads_of_the_bots_own_buttons_are_taken(data: str) -> None:
    assert is_button_payload(data)
    got = received(_press(data, 42, chat_type="private"), "brisabot")
    assert got is not None and got.inbound.text == data


def test_every_payload_the_bot_sends_as_a_button_is_taken() -> None:
    """The domain's buttons, the offered articles' and "none of these", and the rating."""
    domain = yaml.safe_load((ROOT / "nlu" / "domain.yml").read_text(encoding="utf-8"))
    sent = {
        button["payload"]
        for variants in domain["responses"].values()
        for variant in variants
        for button in variant.get("buttons", [])
    }
    sent |= {b["payload"] for b in rating_buttons()}
    sent |= {pick_payload("payment-problems-es"), pick_payload("baggage-cabin-en"), "/ask_human"}
    assert all(is_button_payload(data) for data in sent), sent


@pytest.mark.parametrize(
    "data",
    [
        '/inform{"booking_code":"AAAAAA"}',
        '/pick_article{"article":"pets-es","language":"en"}',
        '/pick_article{"article": "pets-es"}',
        '/pick_article{"article":7}',
        "/pick_article",
        "/greet",
        "/affirm@0.9",
        "0",
        "",
        "quiero una persona",
    ],
)
def test_callback_data_the_bot_never_sends_is_not_taken(data: str) -> None:
    assert not is_button_payload(data)
    assert received(_press(data, 42, chat_type="private"), "brisabot") is None


def test_in_a_group_only_the_member_the_buttons_answered_may_press_them() -> None:
    theirs = received(_press("/affirm", 42), "brisabot")
    assert theirs is not None and theirs.inbound.conversation_id == "tg:-100:42"
    assert theirs.inbound.route == {"chat_id": -100, "reply_to": 7}  # answered under their question
    other = _press("/affirm", 43)
    assert received(other, "brisabot") is None
    assert other.callback_query is not None
    assert not_yours(other.callback_query) == (
        "Estos botones son para @ana. Mencióname para hacer tu propia pregunta 🙂"
    )
    unknown = _press("/affirm", 42, owner=None)  # the question was deleted: whose is unknown
    assert received(unknown, "brisabot") is None
    assert unknown.callback_query is not None and not_yours(unknown.callback_query)
    private = _press("/affirm", 42, chat_type="private", owner=None)
    assert private.callback_query is not None and not_yours(private.callback_query) is None


def test_start_greets_with_the_language_as_rasas_entity() -> None:
    assert greeting("es") == '/greet{"language":"es"}'
    assert greeting(None) == "/greet"


def test_stickers_and_photos_without_caption_are_unsupported() -> None:
    sticker = {
        "file_id": "f",
        "file_unique_id": "u",
        "width": 1,
        "height": 1,
        "is_animated": False,
        "is_video": False,
        "type": "regular",
    }
    got = received(_update({"sticker": sticker}), "brisabot")
    assert got is not None and got.inbound.kind is Kind.UNSUPPORTED
    assert got.inbound.route["attachment"] == "sticker"
    photo = [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]
    captioned = received(_update({"photo": photo, "caption": "my bag arrived broken"}), "b")
    assert captioned is not None and captioned.inbound.kind is Kind.TEXT
    assert captioned.inbound.route["attachment"] == "photo"  # the desk shows "[photo] my bag…"


def test_a_turn_marks_the_private_invitation_and_the_handoff() -> None:
    message = AssistantMessage("m1", "c1", "my booking ABC123", {})
    replies = [
        BotReply("I'm passing you to a person"),
        BotReply(None, custom={"relevo": {"decision": "handoff"}}),
        BotReply("Let's keep your details safe"),
        BotReply(None, custom={"relevo": {"decision": "private"}}),
    ]
    out = outgoing_for_turn(message, replies)
    assert [o.text for o in out if not o.event] == [
        "I'm passing you to a person",
        "Let's keep your details safe",
    ]
    assert [o.invite_private for o in out if not o.event] == [False, True]
    assert out[-1].event == "queued"
    assert [o.ends_turn for o in out] == [False, False, True]  # the typing indicator stops once
    assert len({o.out_id for o in out}) == len(out)


@pytest.mark.parametrize(
    ("decision", "said"),
    [
        ("answer", True),
        ("suggest", False),  # one link to the likeliest article: a guess (QA s24)
        ("handoff", True),
        ("private", True),  # personal data shown: "delete your post"
        ("notice", True),  # an incident the operator announced
        ("decline", False),
        ("rephrase", False),
        (None, False),  # a greeting, thanks
    ],
)
def test_an_overheard_post_is_answered_only_when_the_turn_is_worth_saying(
    decision: str | None, said: bool
) -> None:
    """Listening detects; it does not reply "I can't answer that" to a happy post (QA s22 D2)."""
    replies = [BotReply("Some words")]
    if decision:
        replies.append(BotReply(None, custom={"relevo": {"decision": decision}}))
    overheard = AssistantMessage(
        "m1", "c1", "Loving #BrisaAir", {"public": True, "overheard": "#brisaair"}
    )
    addressed = AssistantMessage("m1", "c1", "@brisaair hi", {"public": True})
    assert bool(outgoing_for_turn(overheard, replies)) is said
    assert outgoing_for_turn(addressed, replies)[0].text == "Some words"


def test_the_answer_to_hold_on_is_marked_as_a_pause_and_its_mark_reaches_the_page() -> None:
    message = AssistantMessage("m1", "c1", "hold on", {})
    replies = [BotReply("No rush"), BotReply(None, custom={"relevo": {"pause": True}})]
    (out,) = outgoing_for_turn(message, replies)
    assert out.pause and out.ends_turn
    assert Outgoing.from_fields(out.to_fields()) == out
    assert frame("1-0", outgoing_log_fields(out))["pause"] is True
    answer = outgoing_for_turn(message, [BotReply("Pets may travel in the cabin")])
    assert "pause" not in frame("1-1", outgoing_log_fields(answer[0]))


def test_an_offer_of_articles_keeps_its_buttons_and_is_the_turns_decision() -> None:
    message = AssistantMessage("m1", "c1", "how much hand luggage can I take?", {})
    buttons = [
        {"title": "Hand luggage", "payload": '/pick_article{"article":"baggage-cabin-en"}'},
        {"title": "None: talk to a person", "payload": "/ask_human"},
    ]
    offer = {"relevo": {"decision": "suggest", "options": ["baggage-cabin-en"], "kb_ms": 4.0}}
    replies = [BotReply("Is it one of them?", buttons=buttons), BotReply(None, custom=offer)]
    out = outgoing_for_turn(message, replies)
    assert [o.buttons for o in out] == [buttons] and out[-1].ends_turn
    summary = turn_summary(replies)
    assert (summary.decision, summary.article, summary.kb_ms) == ("suggest", None, 4.0)
    rephrase = BotReply(None, custom={"relevo": {"decision": "rephrase"}})
    assert turn_summary([rephrase, *replies]).decision == "suggest"


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("  hola   que tal ", "hola que tal"),
        ("dudas:\n1. maleta\n2.  perro\n\n\n\ngracias", "dudas:\n1. maleta\n2. perro\n\ngracias"),
        ("\n\n  solo esto \n", "solo esto"),
    ],
)  # fmt: skip
def test_spacing_is_tidied_and_the_lines_are_kept(typed: str, kept: str) -> None:
    """A list reached the desk as one line (QA s25)."""
    assert tidy_spacing(typed) == kept
    assert to_inbound(_event(f"@brisaair {typed}"), Settings()).text == kept

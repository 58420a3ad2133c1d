"""The pure decisions of the action server: the gate, channel fitting, personal matters."""

from dataclasses import replace

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.compose import article_url, compose_answer, plain_text, shorten, snippet
from actions.escalate import caring_words, tell_in_public
from actions.gate import GateConfig, Outcome, decide, is_off_topic
from actions.offers import offerable, pick_payload
from actions.privacy import only_a_reference
from actions.texts import text
from handoff.requests import Reason
from kb_index.retriever import Hit
from relevo.settings import Settings

CONFIG = GateConfig(min_score=0.9, min_margin=0.1, min_score_out_of_scope=1.2, max_suggestions=0)
OFFERING = GateConfig(
    min_score=0.9, min_margin=0.1, min_score_out_of_scope=1.2, min_score_suggest=0.7
)


def hit(score: float, article: str = "pets-en", *, fallback: bool = False, text: str = "") -> Hit:
    return Hit(
        score=score,
        article_id=article,
        title="Travelling with pets",
        anchor="in-the-cabin",
        text=text or "Small pets travel in the cabin in a carrier of up to 8 kg.",
        language="en",
        query_language="en",
        fallback=fallback,
        dense_score=0.6,
        lexical_score=0.5,
    )


def test_gate_answers_a_strong_clear_winner() -> None:
    decision = decide([hit(1.2), hit(0.9, "food-onboard-en")], "question", CONFIG)
    assert decision.outcome is Outcome.ANSWER and decision.hit is not None
    assert decision.hit.article_id == "pets-en"


@pytest.mark.parametrize(
    ("hits", "intent", "why"),
    [
        ([], "question", "no knowledge-base hit"),
        ([hit(0.85), hit(0.5)], "question", "top score 0.85 < 0.90"),
        ([hit(1.2), hit(1.15)], "question", "lead 0.05 over the runner-up < 0.1"),
        ([hit(1.1), hit(0.5)], "out_of_scope", "off-topic, top score 1.10 < 1.20"),
    ],
)
def test_gate_refuses_weak_or_ambiguous_evidence(hits: list[Hit], intent: str, why: str) -> None:
    decision = decide(hits, intent, CONFIG)
    assert decision.outcome is Outcome.WEAK
    assert decision.reason == why


def titled(score: float, article: str, title: str) -> Hit:
    return replace(hit(score, article), title=title)


BAGGAGE = [
    titled(1.22, "baggage-checked-es", "Equipaje facturado: franquicia, maletas y sobrepeso"),
    titled(1.18, "baggage-cabin-es", "Equipaje de mano: medidas, peso y qué incluye tu tarifa"),
    titled(1.12, "invoices-es", "Cómo obtener la factura o el recibo de tu reserva"),
]


def test_a_question_that_names_the_top_articles_title_is_answered_without_the_lead() -> None:
    """Close scores among the baggage articles offered a choice the question had made (QA s20)."""
    question = "¿cuál es la franquicia de equipaje facturado?"
    decision = decide(BAGGAGE, "question", OFFERING, question=question)
    assert decision.outcome is Outcome.ANSWER and decision.hit == BAGGAGE[0]
    assert decision.reason == "top score 1.22, lead 0.04, the question names its title"
    assert decide(BAGGAGE, "question", OFFERING).outcome is Outcome.SUGGEST  # no question
    off = replace(OFFERING, title_words=0)
    assert decide(BAGGAGE, "question", off, question=question).outcome is Outcome.SUGGEST


@pytest.mark.parametrize(
    ("question", "intent", "hits"),
    [
        ("¿cuánto pesa el equipaje?", "question", BAGGAGE),  # one word of the title
        ("equipaje de mano o facturado?", "question", BAGGAGE),  # two titles named alike
        ("franquicia de equipaje facturado", "out_of_scope", BAGGAGE),  # off-topic: stricter
        (  # below the score an answer needs
            "franquicia de equipaje facturado",
            "question",
            [replace(h, score=h.score - 0.4) for h in BAGGAGE],
        ),
    ],
)
def test_naming_a_title_does_not_answer_a_weak_shared_or_off_topic_hit(
    question: str, intent: str, hits: list[Hit]
) -> None:
    assert decide(hits, intent, OFFERING, question=question).outcome is not Outcome.ANSWER


CHECKED_FOURTH = [
    titled(1.40, "baggage-cabin-en", "Cabin baggage: size, weight and what's included"),
    titled(1.36, "baggage-delayed-en", "My bag did not arrive: delayed baggage"),
    titled(1.33, "baggage-damaged-en", "My suitcase arrived damaged"),
    titled(1.30, "baggage-checked-en", "Checked baggage allowance, extra bags and overweight fees"),
    titled(1.10, "pets-en", "Travelling with pets"),
]


def test_a_hit_whose_title_the_question_names_is_offered_first() -> None:
    """QA s24 C4: the checked-baggage article, named by the question, came fourth (or third)."""
    question = "what's the checked baggage allowance"
    third = [CHECKED_FOURTH[0], CHECKED_FOURTH[1], CHECKED_FOURTH[3], CHECKED_FOURTH[2]]
    for hits in (CHECKED_FOURTH, third):
        decision = decide(hits, "question", OFFERING, question=question)
        assert decision.outcome is Outcome.SUGGEST
        assert [h.article_id for h in decision.options] == [
            "baggage-checked-en",
            "baggage-cabin-en",
            "baggage-delayed-en",
        ]
    # Named no better than the offered ones ("baggage" alone), a few words of a long message, or
    # too far below: left out.
    long = "day 4, called 6 times about my checked baggage allowance, nobody answers, where is it"
    for asked, hits in (
        ("where is my baggage", CHECKED_FOURTH),
        (long, CHECKED_FOURTH),
        (question, [*CHECKED_FOURTH[:3], replace(CHECKED_FOURTH[3], score=1.1)]),
    ):
        offered = decide(hits, "question", OFFERING, question=asked).options
        assert "baggage-checked-en" not in [h.article_id for h in offered]


def test_without_a_sure_answer_the_gate_offers_the_hits_above_the_floor() -> None:
    hits = [hit(1.2), hit(1.15, "food-onboard-en"), hit(0.96, "wifi-onboard-en"), hit(0.72, "x")]
    decision = decide(hits, "question", OFFERING)
    assert decision.outcome is Outcome.SUGGEST
    assert [h.article_id for h in decision.options] == [
        "pets-en",
        "food-onboard-en",
        "wifi-onboard-en",
    ]
    assert decision.reason == "lead 0.05 over the runner-up < 0.1; 3 offered"
    low = decide([hit(0.85), hit(0.6, "food-onboard-en")], "nlu_fallback", OFFERING)
    assert low.outcome is Outcome.SUGGEST and [h.article_id for h in low.options] == ["pets-en"]
    assert decide(hits, "question", replace(OFFERING, max_suggestions=2)).options == tuple(hits[:2])


def test_an_article_far_below_the_first_is_not_offered() -> None:
    """QA s22 W7: "can I travel with my dog?" offered travel documents, 0.48 below pets."""
    dog = [hit(1.58), hit(1.36, "online-checkin-en"), hit(1.10, "travel-documents-en")]
    unsure = replace(OFFERING, min_margin=0.25)  # the default lead: 0.22 is not enough
    decision = decide(dog, "question", unsure)
    assert [h.article_id for h in decision.options] == ["pets-en", "online-checkin-en"]
    everything = replace(unsure, suggest_within=10.0)
    assert decide(dog, "question", everything).options == tuple(dog)


@pytest.mark.parametrize(
    ("hits", "intent"),
    [
        ([hit(0.65), hit(0.6, "food-onboard-en")], "question"),  # nothing above the floor
        ([hit(0.85), hit(0.5)], "out_of_scope"),  # off-topic and weak: no offer
        ([hit(1.1), hit(1.05, "food-onboard-en")], "out_of_scope"),  # off-topic, no lead
    ],
)
def test_the_gate_offers_nothing_below_the_floor_or_off_topic(hits: list[Hit], intent: str) -> None:
    decision = decide(hits, intent, OFFERING)
    assert decision.outcome is Outcome.WEAK and decision.options == ()


def test_an_off_topic_message_gets_an_offer_only_of_what_would_answer_an_on_topic_one() -> None:
    """Rasa's intent on a short message errs: a clear winner is offered, not answered."""
    hits = [hit(1.1), hit(0.9, "food-onboard-en")]
    decision = decide(hits, "out_of_scope", OFFERING)
    assert decision.outcome is Outcome.SUGGEST
    assert decision.options == tuple(hits) and decision.off_topic
    assert decision.reason.startswith("off-topic, top score 1.10")
    assert decide(hits, "question", OFFERING).outcome is Outcome.ANSWER
    assert decide([hit(1.3), hit(0.5)], "out_of_scope", OFFERING).outcome is Outcome.ANSWER


@pytest.mark.parametrize(
    ("intent", "gap", "off_topic"),
    [
        ("out_of_scope", None, True),  # no examples: Rasa's word
        ("question", None, False),
        ("question", 0.06, True),  # nearer an off-topic example: off-topic whatever Rasa says
        ("question", 0.05, False),
        ("out_of_scope", -0.05, True),  # Rasa's word, and the passage is not clearly nearer
        ("out_of_scope", -0.1, False),  # the best passage clearly nearer: on topic
        ("nlu_fallback", 0.2, True),
    ],
)
def test_off_topic_is_rasas_intent_weighed_against_the_examples_gap(
    intent: str, gap: float | None, off_topic: bool
) -> None:
    assert is_off_topic(intent, gap, OFFERING) is off_topic


def test_the_examples_gap_turns_an_offer_into_a_decline_and_back() -> None:
    """A fair but unclear hit is offered on topic; off-topic by the examples, nothing is."""
    hits = [hit(1.0), hit(0.95, "food-onboard-en")]
    assert decide(hits, "question", OFFERING, -0.3).outcome is Outcome.SUGGEST
    declined = decide(hits, "question", OFFERING, 0.2)
    assert declined.outcome is Outcome.WEAK and declined.off_topic
    assert declined.reason == "off-topic, top score 1.00 < 1.20"
    overruled = decide([hit(1.0), hit(0.5)], "out_of_scope", OFFERING, -0.4)
    assert overruled.outcome is Outcome.ANSWER and not overruled.off_topic


def test_a_strong_clear_winner_is_answered_not_offered() -> None:
    decision = decide([hit(1.2), hit(0.9, "food-onboard-en")], "question", OFFERING)
    assert decision.outcome is Outcome.ANSWER and decision.options == ()


def test_an_offered_articles_button_fits_telegrams_callback_data() -> None:
    assert pick_payload("pets-en") == '/pick_article{"article":"pets-en"}'
    long_id = "a-very-long-article-identifier-that-no-button-can-carry-en"
    assert len(pick_payload(long_id).encode()) > 64
    assert offerable((hit(1.0), hit(0.9, long_id))) == [hit(1.0)]


def test_public_answers_fit_the_limit_and_link_the_article() -> None:
    long = hit(1.2, text=" ".join(["Small pets travel in the cabin."] * 30))
    answer = compose_answer(
        long, "en", question="", public=True, limit=280, base_url="https://help.example/kb"
    )
    assert len(answer) <= 280
    assert answer.endswith("More: https://help.example/kb/pets-en#in-the-cabin")
    assert "…" in answer


def test_a_public_answer_whose_link_leaves_no_room_for_words_is_the_link_alone() -> None:
    long_id = hit(1.2, article="a-" + "very-long-article-name-" * 10 + "en")
    answer = compose_answer(
        long_id, "en", question="", public=True, limit=280, base_url="https://h.example/kb"
    )
    assert answer == f"More: https://h.example/kb/{long_id.article_id}#in-the-cabin"
    assert len(answer) <= 280


def test_private_answers_cite_the_title_in_the_customers_language() -> None:
    spanish = Hit(
        **{**hit(1.2).__dict__, "language": "en", "query_language": "es", "fallback": True}
    )
    answer = compose_answer(
        spanish, "es", question="", public=False, limit=280, base_url="https://h/kb/"
    )
    assert answer.startswith("Esto es lo que he encontrado en «Travelling with pets»:")
    assert "solo está disponible en inglés" in answer
    assert answer.endswith("Más info: https://h/kb/pets-en#in-the-cabin")


LIST = (
    "- **Counters open**: 3 hours before. - **Boarding gates** close 20 minutes before. "
    "Fly Madrid - Paris with `BrisaFlex`, *at ease*, snake_case and 2*3*4, see "
    "[the form](https://help.example/form)."
)


def test_markdown_marks_do_not_reach_the_customer() -> None:
    assert plain_text(LIST, lines=True) == (
        "• Counters open: 3 hours before.\n• Boarding gates close 20 minutes before. "
        "Fly Madrid - Paris with BrisaFlex, at ease, snake_case and 2*3*4, see "
        "the form (https://help.example/form)."
    )
    assert plain_text(LIST, lines=False).startswith(
        "• Counters open: 3 hours before. • Boarding gates close"
    )
    steps = "1. Open My trips. 2. Select **Cancel booking**. 3. Confirm."
    assert (
        plain_text(steps, lines=True) == "1. Open My trips.\n2. Select Cancel booking.\n3. Confirm."
    )
    assert (
        plain_text(steps, lines=False) == "1. Open My trips. 2. Select Cancel booking. 3. Confirm."
    )


def test_answers_quote_the_passage_as_plain_text_on_every_channel() -> None:
    listed = hit(1.2, text=LIST)
    for public in (True, False):
        answer = compose_answer(
            listed, "en", question="", public=public, limit=280, base_url="https://h/kb"
        )
        assert "**" not in answer and "`" not in answer and "- **" not in answer
        assert ("\n• Boarding gates" in answer) is not public


CHECK_IN_TIMES = (
    "- **Counters open**: 3 hours before departure at all airports. - **Domestic and Schengen "
    "flights** (for example Madrid to Paris): counters and bag drop close 45 minutes before "
    "departure. - **International flights outside Schengen**: counters and bag drop close 60 "
    "minutes before departure. - **Boarding gates** close 20 minutes before departure on every "
    "flight. Allow extra time at busy airports and in summer, when security queues can be long."
)


@pytest.mark.parametrize("public", [True, False])
def test_a_long_passage_is_quoted_from_where_it_answers_the_question(public: bool) -> None:
    """The gates' 20 minutes come last: a cut from the start would show the counters' 45."""
    # private chats show 700 characters
    passage = ("" if public else "Check in online to save time. " * 25) + CHECK_IN_TIMES
    answer = compose_answer(
        hit(1.2, text=passage),
        "en",
        question="when does the boarding gate close?",
        public=public,
        limit=280,
        base_url="https://h/kb",
    )
    assert "Boarding gates close 20 minutes" in answer and "…• Boarding gates" in answer
    assert len(answer) <= 280 or not public


def test_a_passage_that_fits_or_shares_too_little_is_quoted_from_its_start() -> None:
    passage = plain_text(CHECK_IN_TIMES, lines=False)
    assert snippet(passage, "when does the boarding gate close?", 1000) == passage
    assert snippet(passage, "blankets on summer nights?", 200).startswith("• Counters open")
    # "will", "when" and "there" are no topic: the counters line keeps its place
    assert snippet(passage, "counters: will they be there when the gate opens?", 200).startswith(
        "• Counters open"
    )


def test_shorten_cuts_at_a_word() -> None:
    assert shorten("one two three four", 10) == "one two…"
    assert shorten("short", 10) == "short"
    assert article_url("https://h/kb", hit(1.0)) == "https://h/kb/pets-en#in-the-cabin"


@pytest.mark.parametrize(
    ("message", "alone"),
    [
        ("XK7P2Q", True),
        ("xk7p2q", True),
        ("mi localizador es XK7P2Q", True),
        ("Booking code: BX7K2Q 🙏", True),
        ("RF-48213", True),
        ("XK7P2Q cancel it please", False),
        ("BR1422", False),  # a flight number
        ("cuanto pesa la maleta de mano", False),
    ],
)
def test_a_booking_code_or_reference_alone_asks_nothing_yet(message: str, alone: bool) -> None:
    assert only_a_reference(message) is alone


def test_a_public_handoff_says_a_person_will_reply_there_with_an_emoji() -> None:
    dispatcher = CollectingDispatcher()
    said = {"relevo": {"decision": "handoff"}}
    tell_in_public(
        dispatcher, "I want a person", "en", said, "today at 09:00", care=None, channel="social"
    )
    [message] = dispatcher.messages
    assert message["text"] == "A person from our team will reply to you here today at 09:00. 🙋"
    assert message["custom"] == said


@pytest.mark.parametrize(
    ("language", "post", "care"),
    [  # QA s22 D6: these public posts got only "A person from our team will reply to you here."
        ("en", "my father passed away yesterday and I need to cancel his flight to Dublin", "loss"),
        ("es", "mi madre ha fallecido y tengo que cancelar su vuelo", "loss"),
        (
            "es",
            "esto es una vergüenza!!! 😡 me habéis cancelado el vuelo sin avisar, "
            "os voy a denunciar",
            "anger",
        ),
        ("en", "this is a disgrace!!! my lawyer will hear about this", "anger"),
        ("es", "tengo una emergencia médica y no podré volar", "sensitive"),
    ],
)
def test_a_public_sensitive_topic_opens_with_condolences_an_apology_or_sympathy(
    language: str, post: str, care: str
) -> None:
    words = caring_words(Reason.SENSITIVE_TOPIC, post, language)
    assert words == text(f"care_{care}", language)
    dispatcher = CollectingDispatcher()
    tell_in_public(dispatcher, post, language, {}, None, care=words, channel="social")
    [message] = dispatcher.messages
    assert message["text"] == f"{words} {text('handoff_public', language)}"  # no emoji
    assert len(f"@a_long_handle_15 {message['text']}") <= Settings().public_reply_chars


def test_only_a_sensitive_topic_gets_a_caring_line_from_the_handoff() -> None:
    """A complaint said its empathy line before (`utter_empathy`); a request for a person needs
    none."""
    for reason in (Reason.COMPLAINT, Reason.ASKED_FOR_PERSON):
        assert caring_words(reason, "my father passed away, a disgrace!!!", "en") is None


def test_a_public_handoff_about_a_booking_invites_to_private_and_promises_nothing_public() -> None:
    dispatcher = CollectingDispatcher()
    said = {"relevo": {"decision": "handoff"}}
    tell_in_public(
        dispatcher,
        "where is my refund for booking BX7K2Q",
        "en",
        said,
        None,
        care=False,
        channel="social",
    )
    words = [m["text"] for m in dispatcher.messages if m["text"]]
    decisions = [m["custom"]["relevo"]["decision"] for m in dispatcher.messages if m["custom"]]
    assert len(words) == 1 and "private message" in words[0] and "reply to you" not in words[0]
    assert decisions == ["private", "handoff"]

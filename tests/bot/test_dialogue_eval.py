"""How `relevo eval dialogue` reads a turn's decision from the assistant's replies."""

from bot.dialogue_eval import outcome_of
from bot.rasa_client import BotReply


def _data(**relevo: object) -> BotReply:
    return BotReply(text=None, custom={"relevo": relevo})


def test_the_decision_is_read_past_an_announcement_said_first() -> None:
    replies = [
        BotReply(text="📣 Strike on Friday: check your flight."),
        _data(decision="notice", announcement="strike"),
        BotReply(text="Small pets travel in the cabin…"),
        _data(decision="answer", article_id="pets-en"),
    ]
    assert outcome_of(replies) == ("answer", "pets-en", ())


def test_offers_carry_their_options_and_a_turn_without_data_has_no_decision() -> None:
    offer = [_data(decision="suggest", options=["pets-en", "baggage-cabin-en"])]
    assert outcome_of(offer) == ("suggest", None, ("pets-en", "baggage-cabin-en"))
    assert outcome_of([BotReply(text="hi")]) == ("none", None, ())

"""A short follow-up read with the question it follows.

"What about a cat?" after "can I bring my dog on board?", "¿y mi reembolso?" after a question
on the Wi-Fi. Searched alone, such a message has too few words to find its article, and two of
them in a row would hand the customer over. When it finds no answer alone, the action searches
it again after the question the bot last answered (`answered_question`), and answers when that
search does, with an article the message alone also found (a change of subject is not read as a
follow-up).
"""

from __future__ import annotations

from rasa_sdk import Tracker

from actions.conversation import decision_of

FOLLOW_UP_WORDS = 5
"""A message of this many words or fewer may lean on the question before it."""
_LOOK_BACK = 3  # customer messages between the question and its follow-up, at most
_ASIDES = frozenset({"notice"})  # said beside a decision: an incident the operator announced


def is_follow_up(text: str) -> bool:
    """Whether a message is short enough to be read with the question before it."""
    return 0 < len(text.split()) <= FOLLOW_UP_WORDS


def answered_question(tracker: Tracker) -> str | None:
    """The customer's last question in this session that the bot answered from an article.

    Only answers (to it, or to follow-ups of it) and feedback may have come since: after an
    offer, a request to rephrase or a handoff, a short message is read alone. Taps on buttons
    and short messages are not questions to lean on.
    """
    answered, earlier, latest = False, 0, True
    for event in reversed(tracker.events):
        kind = event.get("event")
        if latest:  # the message being answered, and what Rasa noted after it
            latest = kind != "user"
            continue
        if kind == "session_started":
            return None
        if kind == "bot":
            decision = decision_of(event)
            if decision == "answer":
                answered = True
            elif decision is not None and decision not in _ASIDES:
                return None
        elif kind == "user":
            text = str(event.get("text") or "")
            if answered and not text.startswith("/") and not is_follow_up(text):
                return text
            earlier += 1
            if earlier >= _LOOK_BACK:
                return None
            answered = False
    return None

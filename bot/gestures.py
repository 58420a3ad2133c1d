"""Button presses and channel commands: messages that are not words for a person. Pure.

A tap on one of the bot's own buttons (an offered article, "Did this help?", a rating) and a
channel command (Telegram's /help, /start, /agent) talk to the bot, whoever owns the
conversation. The accept script (`bot.accept_script`) routes them by what they are:

- after a resolution, a press or a command starts a new conversation with the assistant instead
  of reopening the case: a tapped article from an old offer is answered, not handed to the
  person again; a pressed rating is the rating, also once the assistant has the conversation;
- while a person has the conversation, a command (and a "talk to a person" tap) is answered by
  the gateway (`Gesture.answer`) and shown to the desk marked as such, never as the customer's
  words; asking for a person then never makes a second handoff;
- asking for a person (`/agent`, the "talk to a person" button) after a resolution reopens the
  case within the reopening window, as words do;
- "back to the assistant" (the button under the handoff message, or its words typed) withdraws a
  handoff that waits for a claim: the desk returns it to the assistant (`handoff.relay`). Once a
  person has claimed it, the gateway answers that they are on it; with the assistant, it is a
  greeting.

Only the adapters know a press from typed text: a press carries its button's title
(`Inbound.display`), and Telegram's adapter answers /help itself (the pipeline's `notice_text`)
and puts the command as typed in `display` when it turns /start and /agent into the payloads
`/greet` and `/ask_human` (`bot.channels.telegram_updates`).
"""

from __future__ import annotations

import json
from enum import StrEnum

from actions.texts import TEXTS as ASSISTANT_TEXTS
from bot.inbound import Channel, Inbound
from bot.texts import text
from kb_index.text import tokens
from relevo.messages import BACK_TO_BOT

_BACK_WORDS = frozenset(tuple(tokens(t)) for t in ASSISTANT_TEXTS["back_to_bot"].values())
"""The "Back to the assistant" button's words in every language, as `tokens` reads them."""
ASK_HUMAN = "/ask_human"
"""The payload that asks for a person: the bot's button, and Telegram's /agent."""
GREET = "/greet"
"""The greeting's payload: Telegram's /start, and "back to the assistant" once it has it."""


def with_language(intent: str, language: str | None) -> str:
    """An intent payload with the language as Rasa's entity, when it is known.

    Rasa parses a message starting with "/" itself and drops the entities the NLU pipeline
    found, the language read from the metadata among them.
    """
    if language is None:
        return intent
    return intent + json.dumps({"language": language}, separators=(",", ":"))


class Gesture(StrEnum):
    """What a message is, beyond its words (the accept script reads the value)."""

    TYPED = ""  # the customer's own words
    PRESS = "press"  # a tap on one of the bot's buttons
    COMMAND = "command"  # a channel command: /help (and unknown ones), /start
    PERSON = "person"  # asks for a person by a command or a button: /agent, "talk to a person"
    BOT = "bot"  # "back to the assistant" while waiting for a person

    def answer(self, language: str | None) -> str | None:
        """What the gateway answers while a person has the conversation; None: no answer."""
        if self is Gesture.COMMAND:
            return text("person_help", language)
        if self is Gesture.PERSON:
            return text("person_already", language)
        if self is Gesture.BOT:  # said only once a person has claimed it (bot.accept_script)
            return text("person_on_it", language)
        return None


def gesture_of(inbound: Inbound, *, answered: bool) -> Gesture:
    """What `inbound` is; `answered`: its channel answers it itself (Telegram's /help)."""
    if answered:
        return Gesture.COMMAND
    if inbound.display is None:  # the button's own words typed count as a tap on it
        return Gesture.BOT if types_back_to_bot(inbound) else Gesture.TYPED
    if inbound.text.startswith(ASK_HUMAN):
        return Gesture.PERSON
    if inbound.text.startswith(BACK_TO_BOT):
        return Gesture.BOT
    if inbound.channel is Channel.TELEGRAM and inbound.display.startswith("/"):
        return Gesture.COMMAND  # /start, which the assistant reads as /greet
    return Gesture.PRESS


def types_back_to_bot(inbound: Inbound) -> bool:
    """Whether the customer typed the "Back to the assistant" button's words.

    "volver al asistente" typed while the assistant had the conversation was read by Rasa as a
    request for a person, and while waiting it went to the queue as words for the team.
    """
    return inbound.display is None and tuple(tokens(inbound.text)) in _BACK_WORDS

"""An incident the operator announced (`relevo announce`), told before the turn's answer."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import conversation, runtime

NOTICE = "notice"  # the decision of the notice's message


def tell_incident_notice(
    dispatcher: CollectingDispatcher, tracker: Tracker, question: str, language: str
) -> None:
    """Tell the notice that `question` is about first, once a turn.

    The knowledge-base action tells it before its answer; a handoff tells it too ("is BA777
    delayed? agent please" went straight to a person, whose reply may come hours later), but
    not again when the knowledge-base action handed the turn on (a complaint).
    """
    notice = runtime.announcements().match(question, language)
    said = {conversation.decision_of(event) for event in conversation.bot_messages_of_turn(tracker)}
    if notice is None or NOTICE in said:
        return
    dispatcher.utter_message(
        text=f"📣 {notice.text_for(language)}",
        json_message={"relevo": {"decision": NOTICE, "announcement": notice.id}},
    )

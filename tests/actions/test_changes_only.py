"""Actions return only the events that change something."""

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet

from actions.conversation import changes_only


def _tracker(**slots: object) -> Tracker:
    return Tracker(
        sender_id="c1",
        slots=slots,
        latest_message={"text": "hola"},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def test_slot_settings_that_leave_the_slot_as_it_is_are_dropped() -> None:
    tracker = _tracker(failed_answers=0.0, offer_pending=False, awaiting_feedback=None, kb_hits=[])
    events = [
        SlotSet("failed_answers", 0.0),  # unchanged
        SlotSet("offer_pending", False),  # unchanged
        SlotSet("awaiting_feedback", False),  # None -> False is a change
        SlotSet("kb_hits", [{"article_id": "pets-es"}]),
        SlotSet("failed_answers", 1.0),
        FollowupAction("action_escalate"),
    ]
    assert changes_only(tracker, events) == events[2:]

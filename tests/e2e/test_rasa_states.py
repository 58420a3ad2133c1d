"""nlu/relevo_states.py: the launcher's memo of dialogue states gives exactly Rasa's states, and
its applied events exactly Rasa's.

Run in Rasa's environment against Rasa's own `Domain.states_for_tracker_history`, on trackers
that grow one event at a time (as a live conversation does between predictions) through every
kind of event that changes the dialogue: hidden rule turns, follow-up actions, forms, reverted
utterances and actions, restarts and new sessions.
"""

from __future__ import annotations

from tests.e2e.conftest import Engine, run_in_rasa_env

RASA_SIDE = r"""
import json
import random
from copy import deepcopy as copy
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted, ActionReverted, ActiveLoop, BotUttered, FollowupAction, Restarted,
    SessionStarted, SlotSet, UserUttered, UserUtteranceReverted,
)
from rasa.shared.core.trackers import DialogueStateTracker
import relevo_states

domain = Domain.load("nlu/domain.yml")
rasa_states = Domain.states_for_tracker_history
rasa_applied = DialogueStateTracker.applied_events
memo = relevo_states.install()
intents = ["greet", "question", "affirm", "deny", "ask_human", "complaint", "pick_article"]
actions = ["action_answer_from_kb", "action_feedback", "action_escalate", "utter_greet"]
slots = [("awaiting_feedback", True), ("awaiting_feedback", False), ("failed_answers", 1.0),
         ("offer_pending", True), ("language", "es"), ("kb_hits", [{"article_id": "pets-es"}])]
rewinds = [UserUtteranceReverted, ActionReverted, Restarted, SessionStarted]


def conversation(rng):
    events = [ActionExecuted("action_session_start"), SessionStarted(),
              ActionExecuted("action_listen")]
    for turn in range(40):
        intent = rng.choice(intents)
        entities = [{"entity": "article", "value": "pets-es"}] if intent == "pick_article" else []
        events.append(UserUttered(f"text {turn}", {"name": intent, "confidence": 0.9}, entities))
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.3:
                events.append(SlotSet(*rng.choice(slots)))
            if rng.random() < 0.15:
                events.append(FollowupAction("action_escalate"))
            if rng.random() < 0.1:  # a form: its loop runs, is interrupted, ends
                events.append(ActiveLoop(rng.choice(["booking_form", None])))
                events.append(ActionExecuted("booking_form"))
            events.append(ActionExecuted(rng.choice(actions), hide_rule_turn=rng.random() < 0.4))
            events.append(BotUttered(f"reply {turn}"))
        if rng.random() < 0.08:
            events.append(rng.choice(rewinds)())
        events.append(ActionExecuted("action_listen", hide_rule_turn=rng.random() < 0.3))
    return events


rule_only = [None, {"rule_only_slots": ["offer_pending"], "rule_only_loops": []}]
compared = differing = applied_differing = 0
for seed in range(6):
    rng = random.Random(seed)
    events = conversation(rng)
    sender = f"c{seed}"
    for k in range(1, len(events) + 1):
        tracker = DialogueStateTracker.from_events(sender, events[:k], slots=domain.slots)
        applied_differing += rasa_applied(tracker) != tracker.applied_events()
        for omit in (False, True):
            for ignore in (False, True):
                for data in rule_only:
                    expected = rasa_states(domain, tracker, omit, ignore, data)
                    found = domain.states_for_tracker_history(tracker, omit, ignore, copy(data))
                    for state in found:  # the callers' edits must not reach the memo
                        state.pop("user", None)
                    # the rule policy builds a new rule-only dict for every prediction
                    again = domain.states_for_tracker_history(tracker, omit, ignore, copy(data))
                    compared += 1
                    differing += expected != again
print(json.dumps({
    "compared": compared,
    "differing": differing,
    "applied_differing": applied_differing,
    "kept": len(memo._kept),
}))
"""


def test_the_memo_of_dialogue_states_gives_rasas_own_states(engine: Engine) -> None:
    found = run_in_rasa_env(engine, RASA_SIDE)
    assert found["compared"] > 5000
    assert found["differing"] == 0
    assert found["applied_differing"] == 0  # the applied events, without the reverted ones
    # conversations x omit x ignore x rule-only data: equal rule-only data resumes the same
    assert found["kept"] == 6 * 2 * 2 * 2


SWITCH = r"""
import json, os, sys
os.environ["RELEVO_RASA_STATE_MEMO"] = sys.argv[1]
from rasa.shared.core.domain import Domain
import relevo_rasa
relevo_rasa.install()
print(json.dumps(Domain.states_for_tracker_history.__module__))
"""


def test_the_launcher_installs_the_memo_unless_the_setting_turns_it_off(engine: Engine) -> None:
    assert run_in_rasa_env(engine, SWITCH, "1") == "relevo_states"
    assert run_in_rasa_env(engine, SWITCH, "false") == "rasa.shared.core.domain"

"""Dialogue states of a conversation's history, each computed once instead of on every prediction.

Rasa 3.6 builds the states of a conversation's whole history for every prediction of every
policy (`Domain.states_for_tracker_history`: it replays every event from the first and
describes the dialogue before each action), two or three predictions a turn, so a turn costs
more the longer the conversation: py-spy found a third of Rasa's time there on turns 40-80.
A state depends only on the events before it, so `install` keeps, per conversation and per way
of asking (the policies ask with different options), the states of the events seen so far
and the tracker replayed up to them, and replays only the events that came since.

What is kept is used only when the tracker's applied events begin with the same events (kind,
timestamp, and name, text or slot where the kind has one): a rewound conversation (a restart,
a reverted action or utterance, a new session) is computed anew from its first event. The
states handed out are copies, since Rasa's featurizers edit them.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from rasa.shared.core.constants import PREVIOUS_ACTION
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Event,
    Restarted,
    SessionStarted,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

MEMO_SIZE = 512  # conversations x ways of asking, the least recently used dropped first

Mark = tuple[Any, ...]


def mark(event: Event) -> Mark:
    """What tells one event from another at the same place in a conversation."""
    return (
        event.type_name,
        event.timestamp,
        getattr(event, "action_name", None),
        getattr(event, "text", None),
        getattr(event, "key", None),
    )


@dataclass
class Progress:
    """The states of a conversation's first events, and where the replay stands."""

    replay: DialogueStateTracker
    marks: list[Mark] = field(default_factory=list)
    states: list[State] = field(default_factory=list)
    last_ml_action: dict[str, Any] | None = None
    turn_was_hidden: bool = False


def _copy(state: State) -> State:
    """A state whose parts can be edited without touching the original (values are immutable)."""
    return {kind: dict(sub_state) for kind, sub_state in state.items()}  # type: ignore[misc]


class StateMemo:
    """`Domain.states_for_tracker_history`, computing each state once per conversation."""

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self._size = size
        self._kept: OrderedDict[tuple[Any, ...], tuple[Domain, Progress]] = OrderedDict()

    def states(
        self,
        domain: Domain,
        tracker: DialogueStateTracker,
        omit_unset_slots: bool,
        ignore_rule_only_turns: bool,
        rule_only_data: dict[str, Any] | None,
    ) -> list[State]:
        """The same states as Rasa's, from the kept ones plus the new events."""
        events = tracker.applied_events()
        marks = [mark(e) for e in events]
        key = (
            tracker.sender_id,
            omit_unset_slots,
            ignore_rule_only_turns,
            # by value: the rule policy builds a new dict for every prediction
            json.dumps(rule_only_data, sort_keys=True, default=str),
            id(domain),
            tracker.is_rule_tracker,
            tracker._max_event_history,
        )
        progress = self._resume(key, domain, marks)
        if progress is None:
            progress = Progress(replay=tracker.init_copy())
        options = (omit_unset_slots, ignore_rule_only_turns, rule_only_data)
        for event, event_mark in zip(
            events[len(progress.marks) :], marks[len(progress.marks) :], strict=True
        ):
            if _kind(type(event)) == _ACTION:
                _describe(domain, progress, event.hide_rule_turn, *options)  # type: ignore[attr-defined]
            progress.replay.update(event)
            progress.marks.append(event_mark)
        self._keep(key, domain, progress)
        # The state after the last event is not kept: the next event decides whether it hides.
        last = Progress(
            replay=progress.replay,
            states=list(progress.states),
            last_ml_action=progress.last_ml_action,
            turn_was_hidden=progress.turn_was_hidden,
        )
        _describe(domain, last, False, *options)
        return [_copy(state) for state in last.states]

    def _resume(self, key: tuple[Any, ...], domain: Domain, marks: list[Mark]) -> Progress | None:
        kept = self._kept.get(key)
        if kept is None:
            return None
        kept_domain, progress = kept
        if kept_domain is not domain:  # another model, loaded at the same address
            return None
        if marks[: len(progress.marks)] != progress.marks:
            return None  # rewound: restarted, reverted, a new session
        return progress

    def _keep(self, key: tuple[Any, ...], domain: Domain, progress: Progress) -> None:
        self._kept[key] = (domain, progress)
        self._kept.move_to_end(key)
        while len(self._kept) > self._size:
            self._kept.popitem(last=False)


def _describe(
    domain: Domain,
    progress: Progress,
    hide_rule_turn: bool,
    omit_unset_slots: bool,
    ignore_rule_only_turns: bool,
    rule_only_data: dict[str, Any] | None,
) -> None:
    """One step of Rasa's `states_for_tracker_history` loop, for the tracker as replayed so far.

    The same statements as Rasa 3.6's loop body, on `progress` instead of local variables.
    """
    tracker = progress.replay
    if ignore_rule_only_turns:
        if not progress.turn_was_hidden:
            progress.last_ml_action = domain._get_prev_action_sub_state(tracker)
        if not tracker.followup_action and tracker.latest_action_name != tracker.active_loop_name:
            progress.turn_was_hidden = hide_rule_turn
        if progress.turn_was_hidden:
            return
    state = domain.get_active_state(tracker, omit_unset_slots=omit_unset_slots)
    if ignore_rule_only_turns:
        domain._remove_rule_only_features(state, rule_only_data)
        if progress.states:
            domain._substitute_rule_only_user_input(state, progress.states[-1])
        if progress.last_ml_action:
            state[PREVIOUS_ACTION] = progress.last_ml_action
    progress.states.append(domain._clean_state(state))


_RESTART, _REVERT_ACTION, _REVERT_UTTERANCE, _ACTION, _LOOP, _OTHER = range(6)
_KIND_OF: dict[type, int] = {}


def _kind(event_type: type) -> int:
    """Which branch of `applied_events` an event class takes; `issubclass` once per class."""
    kind = _KIND_OF.get(event_type)
    if kind is None:
        checks = (
            ((Restarted, SessionStarted), _RESTART),
            (ActionReverted, _REVERT_ACTION),
            (UserUtteranceReverted, _REVERT_UTTERANCE),
            (ActionExecuted, _ACTION),
            (ActiveLoop, _LOOP),
        )
        kind = next((k for classes, k in checks if issubclass(event_type, classes)), _OTHER)
        _KIND_OF[event_type] = kind
    return kind


def applied_events(tracker: DialogueStateTracker) -> list[Event]:
    """Rasa 3.6's `DialogueStateTracker.applied_events`, each class checked once, not each event.

    Rasa's events are ABCs, so each of its `isinstance` checks per event goes through
    `ABCMeta.__instancecheck__`: 7% of Rasa's time on long conversations. The same statements
    otherwise.
    """
    events = tracker.events
    loop_names = [e.name for e in events if _kind(type(e)) == _LOOP and e.name]  # type: ignore[attr-defined]
    applied: list[Event] = []
    for event in events:
        kind = _kind(type(event))
        if kind == _RESTART:
            applied = []
        elif kind == _REVERT_ACTION:
            tracker._undo_till_previous(ActionExecuted, applied)
        elif kind == _REVERT_UTTERANCE:
            tracker._undo_till_previous(UserUttered, applied)
            tracker._undo_till_previous(ActionExecuted, applied)
        elif (
            kind == _ACTION
            and event.action_name in loop_names  # type: ignore[attr-defined]
            and not tracker._first_loop_execution_or_unhappy_path(
                event.action_name,  # type: ignore[attr-defined]
                applied,
            )
        ):
            tracker._undo_till_previous_loop_execution(
                event.action_name,  # type: ignore[attr-defined]
                applied,
            )
        else:
            applied.append(event)
    return applied


def install(memo: StateMemo | None = None) -> StateMemo:
    """Serve dialogue states from a memo; find applied events without a class check per event.

    `Domain.states_for_tracker_history` and `DialogueStateTracker.applied_events` are replaced.
    Trackers of other kinds (training's, which keep their own cache) go to Rasa's method.
    """
    memo = memo or StateMemo()
    rasa_method = Domain.states_for_tracker_history

    def states_for_tracker_history(
        self: Domain,
        tracker: DialogueStateTracker,
        omit_unset_slots: bool = False,
        ignore_rule_only_turns: bool = False,
        rule_only_data: dict[str, Any] | None = None,
    ) -> list[State]:
        if type(tracker) is not DialogueStateTracker:
            return rasa_method(
                self, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data
            )
        return memo.states(self, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data)

    Domain.states_for_tracker_history = states_for_tracker_history  # type: ignore[method-assign]
    DialogueStateTracker.applied_events = applied_events  # type: ignore[method-assign,assignment]
    return memo

"""What a report may be filtered by: a typo such as `--channel web` must not read as no traffic.

Channels and languages are fixed by the product; departments come from the routing file and
from the events themselves (an article's department that the routing file does not list still
shows up in bot replies, and a department removed from the file still has its history).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from bot.inbound import Channel
from bot.reports.kpis import Filters
from kb_index.articles import LANGUAGES

CHANNELS: tuple[str, ...] = tuple(channel.value for channel in Channel)


class UnknownFilter(ValueError):
    """A filter value that no event can carry; the message lists the values that work."""

    def __init__(self, name: str, value: str, known: Iterable[str]) -> None:
        self.name = name
        listed = ", ".join(sorted(known)) or "none yet"
        super().__init__(f"unknown {name} {value!r}: use one of {listed}")


def departments_in(events: Iterable[Mapping[str, str]]) -> set[str]:
    """The departments the events name, folded as filters compare them."""
    return {event["department"].lower() for event in events if event.get("department")}


def check_filters(filters: Filters, departments: Collection[str] | None = None) -> None:
    """Refuse an unknown channel or language, and a department not in `departments`.

    Args:
        filters: The slice asked for.
        departments: The known departments; `None` leaves the department unchecked.

    Raises:
        UnknownFilter: The first value that matches nothing, with the valid ones.
    """
    known: dict[str, Collection[str] | None] = {
        "channel": CHANNELS,
        "language": LANGUAGES,
        "department": None if departments is None else {d.lower() for d in departments},
    }
    for name, valid in known.items():
        value = getattr(filters, name)
        if value and valid is not None and value.strip().lower() not in valid:
            raise UnknownFilter(name, value, valid)

"""The off-shift notice at a handoff: in full once, then one short line while the team is away."""

from __future__ import annotations

import datetime as dt

import pytest

from actions.escalate import _bot_said
from actions.texts import off_shift_words, text, wait_words, when
from relevo.settings import Settings
from tests.actions.test_follow_up import bot, tracker, user

SETTINGS = Settings(care_phone="+34 910 000 123")
TODAY = "today at 09:00 (Madrid time)"


def test_the_first_handoff_off_shift_gets_the_whole_notice_with_the_phone() -> None:
    said = _bot_said(tracker(user("hola"), bot(None, "¡Hola!"), user("una persona")))
    notice = off_shift_words(TODAY, "es", SETTINGS, said=said)
    assert notice.startswith(text("offline", "es", when=TODAY))
    assert "+34 910 000 123" in notice


def test_a_second_handoff_before_the_shift_opens_gets_one_short_line() -> None:
    full = off_shift_words(TODAY, "es", SETTINGS)
    again = tracker(user("una persona"), bot("offline", full), user("otra vez una persona"))
    assert off_shift_words(TODAY, "es", SETTINGS, said=_bot_said(again)) == text(
        "offline_again", "es", when=TODAY
    )


def test_a_later_opening_time_is_news_and_gets_the_whole_notice_again() -> None:
    said = [off_shift_words(TODAY, "en", SETTINGS)]
    monday = "on Monday at 09:00 (Madrid time)"
    assert off_shift_words(monday, "en", SETTINGS, said=said) == off_shift_words(
        monday, "en", SETTINGS
    )


@pytest.mark.parametrize(
    ("zone", "es", "en"),
    [
        ("UTC", "hoy a las 08:00 (hora UTC)", "today at 08:00 (UTC time)"),
        ("Etc/UTC", "hoy a las 08:00 (hora UTC)", "today at 08:00 (UTC time)"),
        ("GMT", "hoy a las 08:00 (hora GMT)", "today at 08:00 (GMT time)"),
        ("Europe/Madrid", "hoy a las 09:00 (hora de Madrid)", "today at 09:00 (Madrid time)"),
    ],
)
def test_a_zone_without_a_city_reads_as_its_name(zone: str, es: str, en: str) -> None:
    """QA D4c: «te responderá hoy a las 08:00 (hora de UTC)»."""
    now = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)
    opens = dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)
    assert (when(opens, "es", zone, now), when(opens, "en", zone, now)) == (es, en)


@pytest.mark.parametrize(
    ("minutes", "es", "en"),
    [
        (12.5, "15 minutos", "15 minutes"),
        (30, "30 minutos", "30 minutes"),
        (1, "5 minutos", "5 minutes"),
        (58, "1 hora", "1 hour"),
        (120, "2 horas", "2 hours"),
        (121, "3 horas", "3 hours"),
    ],
)
def test_the_expected_wait_reads_rounded_up(minutes: float, es: str, en: str) -> None:
    """Never shorter than the target: a customer told 10 minutes and kept 12 was misled."""
    assert (wait_words(minutes, "es"), wait_words(minutes, "en")) == (es, en)

"""Priority scores, their order, and the triage of escalations on the shipped routing file."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from actions.escalate import customer_zone
from actions.texts import off_shift_notice
from handoff.priority import Signals, influence_points, raised, score, virality_points
from handoff.requests import Priority, Reason
from handoff.routing import default_routing_path, load_routing
from handoff.triage import Escalation, triage
from relevo.settings import Settings
from tests.conftest import DEMO_KB

MADRID = ZoneInfo("Europe/Madrid")
ROUTING = load_routing(default_routing_path())


def signals(reason: Reason = Reason.LOW_CONFIDENCE, **extra: object) -> Signals:
    texts = extra.pop("texts", ("¿puedo llevar mi bici?",))
    return Signals(reason=reason, public=False, customer_texts=tuple(texts), **extra)  # type: ignore[arg-type]


def test_levels_order_from_a_calm_question_to_an_angry_viral_influencer() -> None:
    calm = score(signals(), 10_000)
    person = score(signals(Reason.ASKED_FOR_PERSON), 10_000)
    vip = score(signals(Reason.ASKED_FOR_PERSON, vip=True), 10_000)
    storm = score(
        Signals(
            reason=Reason.COMPLAINT,
            public=True,
            customer_texts=("VERGÜENZA de aerolínea!! 😡 me habéis perdido la maleta",),
            followers=250_000,
            metrics={"replies": 40, "reposts": 120, "likes": 900},
        ),
        10_000,
    )
    assert [calm.priority, person.priority, vip.priority, storm.priority] == [
        Priority.LOW,
        Priority.NORMAL,
        Priority.HIGH,
        Priority.URGENT,
    ]
    assert calm.points < person.points < vip.points < storm.points
    assert any("250,000 followers" in r for r in storm.reasons)
    assert any(r.startswith("viral post") for r in storm.reasons)
    assert "negative sentiment" in " ".join(storm.reasons)
    assert storm.reasons[0].startswith("complaint")  # the biggest contribution first


def test_a_complaint_is_high_priority_even_when_it_is_calm() -> None:
    calm = ("mi maleta no ha llegado y nadie me dice nada",)
    for reason in (Reason.COMPLAINT, Reason.SENSITIVE_TOPIC):
        complaint = score(signals(reason, texts=calm), 10_000)
        assert complaint.priority is Priority.HIGH, complaint.reasons
        assert "negative sentiment" not in " ".join(complaint.reasons)


def test_urgent_words_in_either_language_count() -> None:
    words = tuple(ROUTING.urgent_keywords("voy a poner una denuncia, es URGENTE"))
    assert {"denuncia", "urgente"} <= set(words)
    urgent = score(signals(Reason.ASKED_FOR_PERSON, urgent_keywords=words), 10_000)
    assert urgent.priority is Priority.HIGH and "urgent: " in urgent.reasons[0]
    assert set(ROUTING.urgent_keywords("sort this asap, my lawyer says")) == {"lawyer", "asap"}


def test_influence_and_virality_grow_with_reach_and_stop_at_a_cap() -> None:
    assert influence_points(9_999, 10_000) == 0
    assert influence_points(10_000, 10_000) == 10
    assert influence_points(100_000, 10_000) == 20
    assert influence_points(250_000, 10_000) == 23  # smoothly between the tenfolds (docs)
    assert influence_points(50_000_000, 10_000) == 30
    assert virality_points(None) == 0 and virality_points({"likes": 20}) == 0
    assert 0 < virality_points({"reposts": 10}) < virality_points({"reposts": 1000}) <= 25


def test_a_breach_raises_one_level_and_urgent_stays_urgent() -> None:
    assert raised(Priority.LOW) is Priority.NORMAL
    assert raised(Priority.HIGH) is Priority.URGENT
    assert raised(Priority.URGENT) is Priority.URGENT


def escalation(**extra: object) -> Escalation:
    base: dict[str, object] = {
        "reason": Reason.ASKED_FOR_PERSON,
        "channel": "webchat",
        "public": False,
        "language": "es",
        "customer_texts": ["se ha roto mi maleta en el vuelo"],
        "customer": {"id": "wc-1"},
    }
    base.update(extra)
    return Escalation(**base)  # type: ignore[arg-type]


def test_due_times_count_business_hours_over_the_weekend() -> None:
    friday_evening = dt.datetime(2026, 11, 27, 19, 30, tzinfo=MADRID)  # open until 20:00
    result = triage(ROUTING, escalation(), friday_evening)
    assert result.department.key == "baggage"
    assert result.score.priority is Priority.NORMAL
    # 120 business minutes: 30 on Friday, 90 on Saturday from 09:00.
    assert result.first_response_due == dt.datetime(2026, 11, 28, 10, 30, tzinfo=MADRID)
    assert result.opens_at is None


def test_out_of_hours_the_customer_learns_when_a_person_answers() -> None:
    sunday = dt.datetime(2026, 11, 29, 11, 0, tzinfo=MADRID)
    result = triage(ROUTING, escalation(), sunday)
    assert result.opens_at == dt.datetime(2026, 11, 30, 8, 0, tzinfo=MADRID)
    assert result.first_response_due == dt.datetime(2026, 11, 30, 10, 0, tzinfo=MADRID)
    assert result.opens_at is not None
    settings = Settings(care_phone="+34 910 000 000", care_form_url="https://brisa.example/form")
    madrid = customer_zone(result, {})
    es = off_shift_notice(result.opens_at, "es", madrid, sunday, settings)
    assert "mañana a las 08:00 (hora de Madrid)" in es
    assert "+34 910 000 000" in es and "https://brisa.example/form" in es
    new_york = customer_zone(result, {"timezone": "America/New_York"})  # the customer's own
    en = off_shift_notice(result.opens_at, "en", new_york, sunday, settings)
    assert "tomorrow at 02:00 (New York time)" in en
    no_extras = Settings(care_phone=None, care_form_url=None)
    quiet = off_shift_notice(result.opens_at, "en", madrid, sunday, no_extras)
    assert "call" not in quiet and "http" not in quiet


def test_the_demo_care_phone_is_the_one_its_contact_article_gives() -> None:
    phone = Settings.model_fields["care_phone"].default
    for language in ("en", "es"):
        assert phone in (DEMO_KB / language / "contact-hours.md").read_text(encoding="utf-8")


def test_christmas_day_is_skipped() -> None:
    christmas_eve = dt.datetime(2026, 12, 24, 19, 0, tzinfo=MADRID)
    result = triage(ROUTING, escalation(), christmas_eve)
    assert result.first_response_due == dt.datetime(2026, 12, 26, 10, 0, tzinfo=MADRID)


def test_public_posts_get_half_the_time_and_complaints_go_to_their_around_the_clock_desk() -> None:
    monday = dt.datetime(2026, 11, 30, 10, 0, tzinfo=MADRID)
    public = triage(ROUTING, escalation(channel="social", public=True), monday)
    private = triage(ROUTING, escalation(), monday)
    assert (public.first_response_due - monday) * 2 == private.first_response_due - monday
    complaint = triage(
        ROUTING,
        escalation(reason=Reason.COMPLAINT, intent="complaint", customer_texts=["esto es un robo"]),
        dt.datetime(2026, 11, 29, 3, 0, tzinfo=MADRID),
    )
    assert complaint.department.key == "complaints"
    assert complaint.opens_at is None  # a person is always on shift there


@pytest.mark.parametrize(
    ("customer", "channel"),
    [({"id": "x:1", "handle": "Laura_Travels"}, "social"), ({"id": "12345"}, "telegram")],
)
def test_vips_by_handle_or_channel_id(customer: dict[str, str], channel: str) -> None:
    result = triage(
        ROUTING,
        escalation(customer=customer, channel=channel),
        dt.datetime(2026, 11, 30, 10, 0, tzinfo=MADRID),
    )
    assert "VIP" in " ".join(result.score.reasons)
    assert result.score.priority.rank >= Priority.HIGH.rank

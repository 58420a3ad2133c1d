"""KPI arithmetic on a scripted day of events, every figure checked against hand computation."""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import asdict

import pytest

from bot.reports.kpis import Costs, Filters, Kpis, compute, quantile, ratio, timeseries
from relevo.events import EventType, event_fields

T0 = dt.datetime(2025, 3, 3, 10, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
UNTIL = T0 + DAY


class Script:
    """Events at chosen moments on a clock where `base` reads 10:00.

    `at(11, 2)` is `base` + 1 h 2 min; negative or large hours reach the days around it.
    """

    def __init__(self, base: dt.datetime = T0) -> None:
        self.day = base - dt.timedelta(hours=10)
        self.events: list[dict[str, str]] = []

    def add(self, kind: EventType, moment: dt.datetime, **fields: object) -> None:
        self.events.append(event_fields(kind, at=moment, **fields))

    def at(self, hours: int, minutes: int = 0, seconds: int = 0) -> dt.datetime:
        return self.day + dt.timedelta(hours=hours, minutes=minutes, seconds=seconds)


def scenario(base: dt.datetime = T0, department_b: str = "refunds") -> list[dict[str, str]]:
    """Three conversations from `base` (10:00) on, plus two messages the day before.

    A (telegram, en): the bot answers twice (2 s), helpful feedback; deflected.
    B (social, es, public, 25,000 followers): the bot answers (4 s), unhelpful feedback, handoff
      h1 (negative_feedback, high, to `department_b`), claimed at +2m58s, first reply at 4 min,
      resolved at 20 min, rated 5.
    C (webchat, en, 500 followers): the bot hands over (6 s) as h2 (asked_for_person, normal,
      refunds); SLA warning then breach of the first response; claimed at 20 min, first reply
      at 30 min, resolved at 2 h, rated 2; one delivery fails.
    """
    s = Script(base)
    # the day before (trends): #brisaair once, "baggage" twice
    s.add(
        EventType.MESSAGE_IN,
        s.at(-14),
        conversation="p1",
        channel="telegram",
        language="en",
        customer="up1",
        hashtags="#brisaair",
        keywords="baggage",
    )
    s.add(
        EventType.MESSAGE_IN,
        s.at(-13),
        conversation="p2",
        channel="telegram",
        language="en",
        customer="up2",
        keywords="baggage",
    )
    # A
    s.add(
        EventType.MESSAGE_IN,
        s.at(10),
        conversation="A",
        channel="telegram",
        language="en",
        customer="ua",
        keywords="baggage allowance",
    )
    s.add(
        EventType.BOT_REPLY,
        s.at(10, 0, 2),
        conversation="A",
        channel="telegram",
        language="en",
        decision="answer",
        article="baggage-allowance",
        department="baggage",
        latency_ms=1800,
    )
    s.add(EventType.DELIVERED, s.at(10, 0, 3), conversation="A", channel="telegram", author="bot")
    s.add(EventType.FEEDBACK, s.at(10, 1), conversation="A", channel="telegram", helpful="1")
    s.add(
        EventType.BOT_REPLY,
        s.at(10, 1, 1),
        conversation="A",
        channel="telegram",
        language="en",
        decision="other",
    )
    # B
    s.add(
        EventType.MESSAGE_IN,
        s.at(11),
        conversation="B",
        channel="social",
        language="es",
        public="1",
        customer="ub",
        followers=25_000,
        hashtags="#brisaair #retraso",
        keywords="retraso vuelo",
    )
    s.add(
        EventType.BOT_REPLY,
        s.at(11, 0, 4),
        conversation="B",
        channel="social",
        language="es",
        decision="answer",
        article="delays",
        department="flights",
    )
    s.add(EventType.DELIVERED, s.at(11, 0, 5), conversation="B", channel="social", author="bot")
    s.add(EventType.FEEDBACK, s.at(11, 2), conversation="B", channel="social", helpful="")
    s.add(
        EventType.HANDOFF,
        s.at(11, 2, 2),
        conversation="B",
        handoff="h1",
        channel="social",
        language="es",
        reason="negative_feedback",
        priority="high",
        score=70,
        department=department_b,
        followers=25_000,
    )
    s.add(EventType.CLAIMED, s.at(11, 5), handoff="h1", conversation="B", agent="ana")
    s.add(
        EventType.AGENT_REPLY,
        s.at(11, 6, 2),
        handoff="h1",
        conversation="B",
        channel="social",
        agent="ana",
        first="1",
    )
    s.add(EventType.DELIVERED, s.at(11, 6, 3), conversation="B", channel="social", author="agent")
    s.add(
        EventType.AGENT_REPLY,
        s.at(11, 10),
        handoff="h1",
        conversation="B",
        channel="social",
        agent="ana",
    )
    s.add(
        EventType.RESOLVED,
        s.at(11, 22, 2),
        handoff="h1",
        conversation="B",
        channel="social",
        agent="ana",
    )
    s.add(
        EventType.RATING, s.at(11, 30), handoff="h1", conversation="B", channel="social", rating=5
    )
    # C
    s.add(
        EventType.MESSAGE_IN,
        s.at(12),
        conversation="C",
        channel="webchat",
        language="en",
        customer="uc",
        followers=500,
        keywords="refund",
    )
    s.add(
        EventType.BOT_REPLY,
        s.at(12, 0, 6),
        conversation="C",
        channel="webchat",
        language="en",
        decision="handoff",
        department="refunds",
    )
    s.add(
        EventType.HANDOFF,
        s.at(12, 0, 7),
        conversation="C",
        handoff="h2",
        channel="webchat",
        language="en",
        reason="asked_for_person",
        priority="normal",
        department="refunds",
    )
    s.add(
        EventType.SLA_WARNING,
        s.at(12, 10, 7),
        handoff="h2",
        conversation="C",
        target="first_response",
    )
    s.add(
        EventType.SLA_BREACH,
        s.at(12, 15, 7),
        handoff="h2",
        conversation="C",
        target="first_response",
    )
    s.add(EventType.CLAIMED, s.at(12, 20, 7), handoff="h2", conversation="C", agent="bob")
    s.add(
        EventType.AGENT_REPLY,
        s.at(12, 30, 7),
        handoff="h2",
        conversation="C",
        channel="webchat",
        agent="bob",
        first="1",
    )
    s.add(
        EventType.DELIVERY_FAILED,
        s.at(12, 30, 8),
        conversation="C",
        channel="webchat",
        author="agent",
    )
    s.add(
        EventType.RESOLVED,
        s.at(14, 0, 7),
        handoff="h2",
        conversation="C",
        channel="webchat",
        agent="bob",
    )
    s.add(
        EventType.RATING, s.at(14, 5), handoff="h2", conversation="C", channel="webchat", rating=2
    )
    # after the period: never counted
    s.add(
        EventType.MESSAGE_IN,
        s.at(34),
        conversation="D",
        channel="telegram",
        language="en",
        customer="ud",
        keywords="late",
    )
    return s.events


@pytest.fixture
def kpis() -> Kpis:
    return compute(scenario(), T0, UNTIL, Filters(), Costs())


def test_volume(kpis: Kpis) -> None:
    v = kpis.volume
    assert (v.messages_in, v.conversations, v.customers) == (3, 3, 3)
    assert v.by_channel == {"social": 1, "telegram": 1, "webchat": 1}
    assert v.by_language == {"en": 2, "es": 1}
    assert list(v.by_language) == ["en", "es"]  # most frequent first
    # conversations per department, from bot replies and handoffs: B counts for both of its
    assert v.by_department == {"refunds": 2, "baggage": 1, "flights": 1}


def test_response_times(kpis: Kpis) -> None:
    r = kpis.response_times
    # bot: 2 s, 4 s, 6 s; p90 sits at rank 1.8 -> 4 + 0.8 * 2
    assert r.bot_first_response.count == 3
    assert r.bot_first_response.median_seconds == pytest.approx(4)
    assert r.bot_first_response.p90_seconds == pytest.approx(5.6)
    # people: h1 11:02:02 -> 11:06:02 (240 s), h2 12:00:07 -> 12:30:07 (1800 s)
    assert r.human_first_response.count == 2
    assert r.human_first_response.median_seconds == pytest.approx(1020)
    assert r.human_first_response.p90_seconds == pytest.approx(240 + 0.9 * 1560)
    # resolution: h1 20 min, h2 2 h
    assert r.human_resolution.median_seconds == pytest.approx((1200 + 7200) / 2)
    assert r.human_resolution.p90_seconds == pytest.approx(1200 + 0.9 * 6000)


def test_deflection(kpis: Kpis) -> None:
    d = kpis.deflection
    assert (d.conversations, d.bot_conversations, d.handed_off, d.deflected) == (3, 3, 2, 1)
    assert d.deflection_rate == pytest.approx(1 / 3)
    # answered by the bot: A (resolved by the bot, feedback positive) and B (resolved by ana)
    assert (d.bot_answered, d.bot_answered_resolved) == (2, 2)
    assert d.bot_answer_resolution_rate == pytest.approx(1.0)
    assert d.bot_involvement_resolution == pytest.approx(2 / 3)


def test_negative_feedback_without_handoff_is_not_resolved() -> None:
    s = Script()
    s.add(EventType.MESSAGE_IN, s.at(10), conversation="X", channel="telegram", language="en")
    s.add(EventType.BOT_REPLY, s.at(10, 0, 1), conversation="X", decision="answer")
    s.add(EventType.FEEDBACK, s.at(10, 1), conversation="X", helpful="1")
    s.add(EventType.FEEDBACK, s.at(10, 2), conversation="X", helpful="")  # the last one counts
    d = compute(s.events, T0, UNTIL).deflection
    assert (d.deflected, d.bot_answered, d.bot_answered_resolved) == (0, 1, 0)
    assert d.bot_answer_resolution_rate == 0.0
    assert (d.not_settled, d.not_settled_by_outcome) == (1, {"answered_then_no": 1})


def test_declined_rephrased_and_abandoned_offers_are_not_deflected() -> None:
    """Only an answer (or a picked article) settles a conversation; the rest are shown apart."""
    s = Script()
    replies = {
        "declined": ["decline"],
        "rephrased": ["rephrase", "rephrase"],
        "abandoned": ["suggest"],
        "picked": ["suggest", "answer"],  # the customer picked an offered article
        "greeted": ["other"],
        "linked": ["suggest"],  # a public post: one article's link, no buttons (QA s22 D20)
    }
    for minute, (conversation, decisions) in enumerate(replies.items()):
        s.add(EventType.MESSAGE_IN, s.at(10, minute), conversation=conversation, channel="webchat")
        for second, decision in enumerate(decisions, start=1):
            s.add(
                EventType.BOT_REPLY,
                s.at(10, minute, second),
                conversation=conversation,
                decision=decision,
                public="1" if conversation == "linked" else "",
            )
    k = compute(s.events, T0, UNTIL)
    d = k.deflection
    assert (d.bot_conversations, d.handed_off, d.deflected, d.not_settled) == (6, 0, 1, 5)
    assert d.deflection_rate == pytest.approx(1 / 6)
    assert d.not_settled_by_outcome == {
        "decline": 1,
        "link": 1,
        "other": 1,
        "rephrase": 1,
        "suggest": 1,
    }
    # savings are priced on the picked article alone: 2 replies
    assert (k.cost.bot_conversations, k.cost.bot_conversation_replies) == (1, 2)


def test_escalations_and_sla(kpis: Kpis) -> None:
    e = kpis.escalations
    assert e.handoffs == 2
    assert e.by_reason == {"asked_for_person": 1, "negative_feedback": 1}
    assert e.by_priority == {"high": 1, "normal": 1}
    assert e.by_department == {"refunds": 2}
    s = kpis.sla
    assert (s.handoffs, s.first_response_breaches, s.resolution_breaches) == (2, 1, 0)
    assert (s.first_response_met, s.resolution_met) == (1, 2)
    assert (s.first_response_not_yet_due, s.resolution_not_yet_due) == (0, 0)
    assert s.first_response_compliance == pytest.approx(0.5)
    assert s.resolution_compliance == pytest.approx(1.0)
    assert s.warnings == {"first_response": 1}


def test_sla_compliance_leaves_out_handoffs_not_yet_due() -> None:
    """A backlog still inside its time is neither compliant nor late."""
    s = Script()
    for number in range(4):
        s.add(EventType.HANDOFF, s.at(10, number), conversation=f"c{number}", handoff=f"h{number}")
    s.add(EventType.AGENT_REPLY, s.at(10, 30), handoff="h0", conversation="c0", first="1")
    s.add(EventType.RETURNED, s.at(10, 40), handoff="h1", conversation="c1")
    s.add(EventType.SLA_BREACH, s.at(11), handoff="h2", conversation="c2", target="first_response")
    sla = compute(s.events, T0, UNTIL).sla
    assert (sla.first_response_met, sla.first_response_breaches) == (2, 1)
    assert sla.first_response_not_yet_due == 1  # h3: waiting, no breach recorded
    assert sla.first_response_compliance == pytest.approx(2 / 3)
    assert (sla.resolution_met, sla.resolution_breaches, sla.resolution_not_yet_due) == (1, 0, 3)
    assert sla.resolution_compliance == 1.0


def test_a_due_time_the_desk_missed_is_a_breach_even_without_the_monitors_word() -> None:
    """The `handoff` event carries its due times: a breach missed while no gateway ran (no
    `sla_breach` recorded) is late, not met and not "not yet due"."""
    s = Script()
    dues = {"h0": s.at(10, 15), "h1": s.at(10, 45), "h2": s.at(10, 20), "h3": UNTIL + DAY}
    for number, (handoff, due) in enumerate(dues.items()):
        s.add(
            EventType.HANDOFF,
            s.at(10, number),
            conversation=f"c{number}",
            handoff=handoff,
            first_response_due=due.isoformat(),
        )
    for handoff in ("h0", "h1"):  # h0 answered after its due time, h1 before
        s.add(EventType.AGENT_REPLY, s.at(10, 30), handoff=handoff, conversation="c", first="1")
    sla = compute(s.events, T0, UNTIL).sla
    assert (sla.first_response_met, sla.first_response_breaches) == (1, 2)  # h1; h0 and h2
    assert sla.first_response_not_yet_due == 1  # h3: due after the period
    assert sla.first_response_compliance == pytest.approx(1 / 3)


def test_a_handoff_closed_into_another_is_not_judged() -> None:
    """A public handoff closed into the customer's open one in private (handoff.follow) gets no
    reply nor resolution of its own: its due times pass without a breach, its case is judged in
    the handoff it joined."""
    s = Script()
    for number in range(2):
        s.add(
            EventType.HANDOFF,
            s.at(10, number),
            conversation=f"c{number}",
            handoff=f"h{number}",
            first_response_due=s.at(10, 15).isoformat(),
            resolution_due=s.at(12).isoformat(),
        )
    s.add(EventType.MERGED, s.at(10, 5), handoff="h1", conversation="c1", into="h0")
    s.add(EventType.AGENT_REPLY, s.at(10, 10), handoff="h0", conversation="c0", first="1")
    s.add(EventType.RESOLVED, s.at(11), handoff="h0", conversation="c0")
    sla = compute(s.events, T0, UNTIL).sla
    assert (sla.handoffs, sla.merged) == (1, 1)
    assert (sla.first_response_met, sla.first_response_breaches) == (1, 0)
    assert (sla.resolution_met, sla.resolution_breaches) == (1, 0)
    assert sla.first_response_compliance == sla.resolution_compliance == 1.0
    unmerged = [e for e in s.events if e["type"] != EventType.MERGED]
    late = compute(unmerged, T0, UNTIL).sla  # without the merge h1 is late on both targets
    assert (late.handoffs, late.merged, late.first_response_breaches) == (2, 0, 1)
    assert late.resolution_breaches == 1


def test_satisfaction(kpis: Kpis) -> None:
    s = kpis.satisfaction
    assert (s.ratings, s.average, s.csat) == (2, pytest.approx(3.5), pytest.approx(0.5))
    assert s.distribution == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}
    assert (s.feedback, s.helpful, s.helpful_share) == (2, 1, pytest.approx(0.5))


def test_costs(kpis: Kpis) -> None:
    c = kpis.cost
    assert (c.bot_replies, c.bot_cost_total) == (4, pytest.approx(0.02))
    # the bot settled A with 2 replies at 0.005
    assert (c.bot_conversations, c.bot_conversation_replies) == (1, 2)
    assert c.bot_cost_per_conversation == pytest.approx(0.01)
    # handling from the claim: h1 11:05:00 -> 11:22:02 (1022 s), h2 12:20:07 -> 14:00:07 (100 min)
    minutes = 1022 / 60 + 100
    assert c.human_conversations == 2
    assert c.handling_minutes == pytest.approx(minutes)
    assert c.human_cost_total == pytest.approx(minutes * 0.80)
    assert c.human_cost_per_conversation == pytest.approx(minutes * 0.80 / 2)
    assert c.human_to_bot_ratio == pytest.approx(minutes * 0.80 / 2 / 0.01)
    assert c.estimated_savings == pytest.approx(minutes * 0.80 / 2 - 0.01)


def test_costs_follow_the_unit_costs() -> None:
    c = compute(scenario(), T0, UNTIL, costs=Costs(agent_minute=1.0, bot_message=0.25)).cost
    assert c.bot_cost_per_conversation == pytest.approx(0.5)
    assert c.human_cost_per_conversation == pytest.approx((1022 / 60 + 100) / 2)
    assert (c.agent_minute, c.bot_message) == (1.0, 0.25)


def test_handling_without_a_claim_counts_from_the_handoff() -> None:
    events = [e for e in scenario() if e["type"] != EventType.CLAIMED]
    c = compute(events, T0, UNTIL).cost
    assert c.handling_minutes == pytest.approx(20 + 120)


def test_reach(kpis: Kpis) -> None:
    r = kpis.reach
    assert (r.customers, r.customers_with_followers, r.total_followers) == (3, 2, 25_500)
    assert r.median_followers == pytest.approx(12_750)
    assert (r.influencers, r.influencer_threshold) == (1, 10_000)
    assert (r.public_conversations, r.public_share) == (1, pytest.approx(1 / 3))


def test_trends_against_the_previous_day(kpis: Kpis) -> None:
    t = kpis.trends
    assert t.previous_messages_in == 2
    hashtags = {term.term: (term.count, term.previous, term.growth) for term in t.hashtags}
    assert hashtags == {"#brisaair": (1, 1, 0.0), "#retraso": (1, 0, None)}
    keywords = {term.term: (term.count, term.previous, term.change) for term in t.keywords}
    assert keywords["baggage"] == (1, 2, -1)
    assert next(k for k in t.keywords if k.term == "baggage").growth == pytest.approx(-0.5)
    assert [term.term for term in t.trending_hashtags] == ["#retraso"]
    assert [term.term for term in t.trending_keywords] == [
        "allowance",
        "refund",
        "retraso",
        "vuelo",
    ]
    assert [(d.term, d.count) for d in t.departments] == [
        ("refunds", 2),
        ("baggage", 1),
        ("flights", 1),
    ]
    assert [(a.term, a.count) for a in t.articles] == [("baggage-allowance", 1), ("delays", 1)]
    assert "late" not in keywords  # after the period


def test_trends_without_the_previous_period_count_everything_as_new() -> None:
    t = compute(scenario(), T0 + dt.timedelta(hours=10), UNTIL + dt.timedelta(hours=10)).trends
    # the previous 24 h now hold A, B and C; the period only D
    assert [(k.term, k.count, k.previous) for k in t.keywords] == [("late", 1, 0)]
    assert t.previous_messages_in == 3


def test_delivery(kpis: Kpis) -> None:
    d = kpis.delivery
    assert (d.delivered, d.failed, d.failure_rate) == (3, 1, pytest.approx(0.25))
    assert d.failed_by_channel == {"webchat": 1}


def test_filter_by_channel_attributes_events_without_one() -> None:
    k = compute(scenario(), T0, UNTIL, Filters(channel="SOCIAL"))
    assert k.volume.messages_in == 1 and k.volume.conversations == 1
    assert k.escalations.handoffs == 1
    assert k.satisfaction.csat == pytest.approx(1.0)
    assert k.sla.first_response_breaches == 0  # h2's breach belongs to webchat
    assert k.response_times.human_first_response.median_seconds == pytest.approx(240)
    assert k.cost.handling_minutes == pytest.approx(1022 / 60)  # the claim has no channel
    assert k.reach.influencers == 1 and k.reach.public_share == pytest.approx(1.0)
    assert k.period.filters == {"channel": "SOCIAL", "language": None, "department": None}


def test_filter_by_language() -> None:
    k = compute(scenario(), T0, UNTIL, Filters(language="en"))
    assert k.volume.messages_in == 2
    assert k.volume.by_channel == {"telegram": 1, "webchat": 1}
    # ratings carry no language: C's comes through its conversation
    assert (k.satisfaction.ratings, k.satisfaction.csat) == (1, 0.0)
    assert k.sla.first_response_compliance == 0.0
    assert [t.term for t in k.trends.hashtags] == []


def test_filter_by_department_uses_the_handoff() -> None:
    k = compute(scenario(), T0, UNTIL, Filters(department="refunds"))
    # messages of B and C (their conversations went to refunds), not A's
    assert k.volume.messages_in == 2
    assert k.escalations.handoffs == 2
    # ratings carry no department: both handoffs went to refunds
    assert (k.satisfaction.ratings, k.satisfaction.csat) == (2, 0.5)
    # B's bot reply was about flights: only C's bot reply is in the refunds slice
    assert k.deflection.bot_conversations == 1 and k.deflection.deflected == 0


def test_filter_by_department_sees_handoffs_elsewhere() -> None:
    flights = compute(scenario(), T0, UNTIL, Filters(department="flights"))
    # B's bot answer was about flights, but B went to refunds: not deflected
    assert (flights.deflection.bot_conversations, flights.deflection.deflected) == (1, 0)
    assert flights.deflection.deflection_rate == 0.0
    assert flights.escalations.handoffs == 0 and flights.sla.first_response_compliance is None
    baggage = compute(scenario(), T0, UNTIL, Filters(department="baggage"))
    assert baggage.deflection.deflection_rate == 1.0
    assert baggage.cost.bot_cost_per_conversation == pytest.approx(0.01)
    assert baggage.satisfaction.helpful_share == 1.0


def test_a_filter_nothing_matches() -> None:
    k = compute(scenario(), T0, UNTIL, Filters(channel="fax"))
    assert k.volume.messages_in == 0 and k.deflection.deflection_rate is None


def test_no_data_gives_zeros_and_none() -> None:
    k = compute([], T0, UNTIL)
    assert k.volume.messages_in == 0 and k.volume.by_channel == {}
    assert k.response_times.bot_first_response.median_seconds is None
    assert k.response_times.human_resolution.p90_seconds is None
    for rate in (
        k.deflection.deflection_rate,
        k.deflection.bot_involvement_resolution,
        k.sla.first_response_compliance,
        k.sla.resolution_compliance,
        k.satisfaction.csat,
        k.satisfaction.average,
        k.satisfaction.helpful_share,
        k.cost.bot_cost_per_conversation,
        k.cost.human_cost_per_conversation,
        k.cost.human_to_bot_ratio,
        k.cost.estimated_savings,
        k.reach.median_followers,
        k.reach.public_share,
        k.delivery.failure_rate,
    ):
        assert rate is None
    assert json.loads(json.dumps(asdict(k)))["volume"]["messages_in"] == 0


def test_order_does_not_matter_and_later_events_are_ignored() -> None:
    shuffled = scenario()
    random.Random(7).shuffle(shuffled)
    assert asdict(compute(shuffled, T0, UNTIL)) == asdict(compute(scenario(), T0, UNTIL))


def test_work_after_the_end_is_not_measured() -> None:
    k = compute(scenario(), T0, T0 + dt.timedelta(hours=3))  # ends at 13:00: h2 still open
    assert k.response_times.human_resolution.count == 1
    assert k.response_times.human_resolution.median_seconds == pytest.approx(1200)
    assert k.cost.human_conversations == 1
    assert k.satisfaction.ratings == 1


def test_malformed_events_are_skipped() -> None:
    events = [*scenario(), {"type": "message_in"}, {"at": "yesterday", "type": "message_in"}]
    assert compute(events, T0, UNTIL).volume.messages_in == 3


def test_naive_datetimes_are_utc() -> None:
    naive = compute(scenario(), T0.replace(tzinfo=None), UNTIL.replace(tzinfo=None))
    assert asdict(naive) == asdict(compute(scenario(), T0, UNTIL))


def test_an_empty_period_is_refused() -> None:
    with pytest.raises(ValueError, match="after its start"):
        compute([], T0, T0)


def test_timeseries_per_hour() -> None:
    rows = timeseries(scenario(), T0, T0 + dt.timedelta(hours=5), dt.timedelta(hours=1))
    assert [r["start"] for r in rows] == [
        (T0 + dt.timedelta(hours=h)).isoformat() for h in range(5)
    ]
    assert [r["messages_in"] for r in rows] == [1, 1, 1, 0, 0]
    assert [r["handoffs"] for r in rows] == [0, 1, 1, 0, 0]
    assert [r["deflection_rate"] for r in rows] == [1.0, 0.0, 0.0, None, None]
    assert [r["bot_first_response_median"] for r in rows] == [2.0, 4.0, 6.0, None, None]
    assert [r["human_first_response_median"] for r in rows] == [None, 240.0, 1800.0, None, None]
    assert [r["csat"] for r in rows] == [None, 1.0, None, None, 0.0]


def test_timeseries_measures_across_buckets_and_trims_the_last() -> None:
    rows = timeseries(
        scenario(),
        T0 + dt.timedelta(hours=2),
        T0 + dt.timedelta(hours=2, minutes=45),
        dt.timedelta(minutes=30),
    )
    assert (
        len(rows) == 2 and rows[-1]["end"] == (T0 + dt.timedelta(hours=2, minutes=45)).isoformat()
    )
    # h2 opened at 12:00:07, first reply at 12:30:07: in the next bucket, still measured
    assert rows[0]["human_first_response_median"] == 1800.0
    assert rows[1]["handoffs"] == 0


def test_timeseries_filters_and_checks_the_bucket() -> None:
    rows = timeseries(scenario(), T0, UNTIL, DAY, Filters(language="es"))
    assert rows[0]["messages_in"] == 1 and rows[0]["csat"] == 1.0
    with pytest.raises(ValueError, match="longer than zero"):
        timeseries([], T0, UNTIL, dt.timedelta(0))


def test_quantile_and_ratio() -> None:
    assert quantile([], 0.5) is None
    assert quantile([7.0], 0.9) == 7.0
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert quantile([10.0, 0.0], 0.9) == pytest.approx(9.0)
    assert ratio(1, 0) is None and ratio(0, 4) == 0.0

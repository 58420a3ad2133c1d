"""How soon a person must look: a score from who is asking, how they feel and who is watching.

The score adds points for each signal the care plans name, and keeps the reason for each so the
card can say why ("12,400 followers +20", "urgent: denuncia +30"). The level follows from the
score: a complaint from an angry influencer on a viral post is urgent; a calm question asked in
private is low. Pure: the routing file supplies the VIP list, the urgent keywords and the
follower threshold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from handoff.requests import Priority, Reason
from handoff.sentiment import sentiment

REASON_POINTS = {
    Reason.COMPLAINT: 40,  # high on its own: a calm "my bag never arrived" is a complaint too
    Reason.SENSITIVE_TOPIC: 40,  # as much as a complaint: "my lawyer" is high however calm
    Reason.ASKED_FOR_PERSON: 10,
    Reason.REPEATED_FAILURE: 10,
    Reason.PERSONAL_CASE: 10,
    Reason.NEGATIVE_FEEDBACK: 10,
    Reason.LOW_CONFIDENCE: 5,
}
LEVELS = ((70, Priority.URGENT), (40, Priority.HIGH), (10, Priority.NORMAL))
VIP_POINTS = 40
URGENT_POINTS = 30
PUBLIC_POINTS = 5
MAX_INFLUENCE_POINTS = 30
MAX_VIRALITY_POINTS = 25
NEGATIVE_MOOD = "negative sentiment"
"""The reason a negative mood leaves in the score; the desk reads it (`handoff.relay`)."""
URGENT_WORDS = "urgent:"
"""How the reason for urgent words starts ("urgent: denuncia"); the desk reads it too."""


@dataclass(frozen=True)
class Signals:
    """What the score is computed from."""

    reason: Reason
    public: bool
    customer_texts: tuple[str, ...]
    followers: int = 0
    metrics: Mapping[str, int] | None = None  # replies, likes, reposts, quotes of the post
    vip: bool = False
    urgent_keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Score:
    """The score, its level and one reason per signal that counted."""

    points: int
    priority: Priority
    reasons: tuple[str, ...]


def influence_points(followers: int, threshold: int) -> int:
    """Followers count from the threshold on, 10 more per tenfold (10k: 10, 25k: 13, 100k: 20)."""
    if followers < threshold or threshold <= 0:
        return 0
    return min(MAX_INFLUENCE_POINTS, 10 + int(10 * math.log10(followers / threshold)))


def virality_points(metrics: Mapping[str, int] | None) -> int:
    """Reposts and quotes spread a post more than replies, replies more than likes."""
    if not metrics:
        return 0
    weight = {"reposts": 3, "quotes": 3, "replies": 2, "likes": 0.2}
    reach = sum(weight.get(name, 0) * max(0, int(count)) for name, count in metrics.items())
    if reach < 10:
        return 0
    return min(MAX_VIRALITY_POINTS, int(8 * math.log10(reach)))


def level(points: int) -> Priority:
    """The priority a score reaches."""
    for threshold, priority in LEVELS:
        if points >= threshold:
            return priority
    return Priority.LOW


def raised(priority: Priority) -> Priority:
    """One level up (urgent stays urgent): what an SLA breach does."""
    order = list(Priority)
    return order[min(len(order) - 1, order.index(priority) + 1)]


def score(signals: Signals, influencer_followers: int) -> Score:
    """Add up the signals; each that counts leaves its reason."""
    parts: list[tuple[int, str]] = [
        (REASON_POINTS[signals.reason], signals.reason.value.replace("_", " "))
    ]
    if signals.vip:
        parts.append((VIP_POINTS, "VIP"))
    if signals.urgent_keywords:
        parts.append((URGENT_POINTS, f"{URGENT_WORDS} {', '.join(signals.urgent_keywords[:3])}"))
    mood = sentiment(list(signals.customer_texts))
    if mood.label == "negative":
        parts.append((int(10 + 10 * -mood.score), NEGATIVE_MOOD))
    influence = influence_points(signals.followers, influencer_followers)
    if influence:
        parts.append((influence, f"{signals.followers:,} followers"))
    virality = virality_points(signals.metrics)
    if virality:
        spread = ", ".join(f"{v} {k}" for k, v in (signals.metrics or {}).items() if v)
        parts.append((virality, f"viral post ({spread})"))
    if signals.public:
        parts.append((PUBLIC_POINTS, "public post"))
    points = sum(p for p, _ in parts)
    reasons = tuple(f"{why} +{p}" for p, why in sorted(parts, key=lambda part: -part[0]))
    return Score(points=points, priority=level(points), reasons=reasons)

"""What the actions share in one action-server process: settings, Redis, the knowledge base."""

from __future__ import annotations

from functools import lru_cache

import redis

from actions.gate import GateConfig
from actions.off_topic import OffTopicExamples
from handoff.announcements import Announcements
from handoff.routing import Routing, live_routing
from kb_index.service import KnowledgeBase
from relevo.redis_conn import connect
from relevo.settings import Settings, get_settings


@lru_cache(maxsize=1)
def redis_client() -> redis.Redis:
    """The action server's Redis connection (opened on first use, checked; rides out blips)."""
    return connect(get_settings(), ride_out=True)


def routing() -> Routing:
    """The operator's routing file (re-read when it changes; a broken edit keeps the last good)."""
    return live_routing(get_settings().routing_file)


@lru_cache(maxsize=1)
def announcements() -> Announcements:
    """The operator's incident notices, read again at most once a second."""
    return Announcements(redis_client(), max_age=1.0)


@lru_cache(maxsize=1)
def knowledge_base() -> KnowledgeBase:
    """The knowledge base, loaded once; it loads each new version as soon as it is published."""
    knowledge_base = KnowledgeBase.from_settings(get_settings(), redis_client())
    knowledge_base.follow()
    return knowledge_base


@lru_cache(maxsize=1)
def off_topic_examples() -> OffTopicExamples:
    """Rasa's out-of-scope examples and the not-covered list (`current()` follows its edits)."""
    settings = get_settings()
    return OffTopicExamples(
        knowledge_base().embedder, settings.nlu_dir / "data", settings.kb_not_covered_file
    )


def gate_config(settings: Settings | None = None) -> GateConfig:
    """The gate's thresholds from the settings."""
    settings = settings or get_settings()
    return GateConfig(
        min_score=settings.answer_min_score,
        min_margin=settings.answer_min_margin,
        min_score_out_of_scope=settings.answer_min_score_out_of_scope,
        min_score_suggest=settings.suggest_min_score,
        suggest_within=settings.suggest_within,
        max_suggestions=settings.suggest_max,
        off_topic_gap=settings.off_topic_gap,
        on_topic_gap=settings.on_topic_gap,
        title_words=settings.answer_title_words,
    )

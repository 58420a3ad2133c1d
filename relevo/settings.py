"""One settings class for every process, read from `RELEVO_*` variables and a `.env` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PREPARE_PATH = "/relevo/prepare"  # the action server's route (actions.prepare)
MAX_PREPARE_CHARS = 4000  # what it encodes ahead: up to the default max_message_chars


class Settings(BaseSettings):
    """Configuration of Relevo. Each field is the variable `RELEVO_<FIELD>` (see README)."""

    model_config = SettingsConfigDict(
        env_prefix="RELEVO_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(default=Path("data"), description="Index, Redis data and logs.")
    redis_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL", "RELEVO_REDIS_URL"),
        description="Any Redis 6+ (redis://, rediss://) or a Sentinel group "
        "(redis+sentinel://host:port,.../service/db); unset: an embedded redis-server, localhost.",
    )
    embedded_redis_port: int = Field(default=6391, description="Port of the embedded Redis.")
    embedded_redis_autostart: bool = Field(
        default=True,
        description="Start the embedded Redis when it is not running; false under `relevo up`, "
        "whose process manager runs it, so the other processes wait for it instead.",
    )

    kb_dir: Path = Field(default=Path("kb/articles"), description="The Markdown articles.")
    kb_eval_file: Path = Field(default=Path("kb/eval/queries.yaml"))
    kb_not_covered_file: Path = Field(
        default=Path("kb/not-covered.yml"),
        description="Questions no article answers, per language: off-topic evidence beside "
        "Rasa's out-of-scope examples (the action server reads it again when it changes).",
    )
    kb_public_url: str = Field(
        default="http://127.0.0.1:8080/kb/articles",
        description="Base URL of the articles that answers link to.",
    )
    embedding_model: str = Field(
        default="use-multilingual",
        description="'use-multilingual', 'minilm' or 'st:<path or hub name>'.",
    )
    embedding_threads: int = Field(
        default=1,
        ge=1,
        le=64,
        description="BLAS threads that encode a customer's question (use-multilingual).",
    )
    kb_chunk_words: int = Field(default=120, ge=20, le=1000)
    kb_chunk_overlap: int = Field(default=25, ge=0, le=200)
    kb_approx_min_chunks: int = Field(
        default=20_000, description="From this many chunks on, search uses the IVF index."
    )
    kb_ivf_nprobe: int = Field(default=24, ge=1)
    kb_lexical_weight: float = Field(
        default=0.2, ge=0.0, le=1.0, description="Weight of BM25 in the fused ranking."
    )
    kb_second_chunk_weight: float = Field(
        default=0.3, ge=0.0, le=1.0, description="Share of an article's second best passage."
    )
    kb_translation_weight: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Share of a translation's score in its topic's."
    )
    kb_adapter_mix: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="How far the example questions' map moves a query (0: off; see docs).",
    )
    kb_adapter_ridge: float = Field(
        default=1.0, gt=0.0, description="Regularisation of that map towards the identity."
    )
    kb_reload_interval: float = Field(
        default=1.0, description="Seconds between checks of the index version in Redis."
    )
    default_language: Literal["es", "en"] = "en"

    answer_min_score: float = Field(
        default=1.0, description="The top hit's fused score needed to answer (see docs)."
    )
    answer_min_margin: float = Field(
        default=0.25, description="How far the top hit must lead the runner-up to answer."
    )
    answer_title_words: int = Field(
        default=2,
        ge=0,
        description="Answer without the lead when the question names this many words of the "
        "top article's title, more than of the next ones' (0: off; see docs).",
    )
    answer_min_score_out_of_scope: float = Field(
        default=1.4, description="The top score needed when Rasa thinks the message is off-topic."
    )
    off_topic_gap: float = Field(
        default=0.05,
        description="A message this much nearer (cosine) an out-of-scope NLU example than the "
        "best passage is off-topic whatever Rasa says.",
    )
    on_topic_gap: float = Field(
        default=-0.1,
        description="Rasa's out-of-scope intent is overruled when the best passage is nearer "
        "than any out-of-scope example by more than this.",
    )
    suggest_min_score: float = Field(
        default=0.8,
        description="Without a sure answer, hits scoring at least this are offered to choose from.",
    )
    suggest_within: float = Field(
        default=0.25,
        ge=0,
        description="An offered article scores at most this far below the first one offered.",
    )
    suggest_max: int = Field(
        default=3, ge=0, le=5, description="How many articles to offer at most (0: never offer)."
    )
    opening_hours_topic: str | None = Field(
        default="contact-hours",
        description="The article that answers a question about opening hours: its id without "
        "the language suffix (unset: such questions search the knowledge base).",
    )
    public_reply_chars: int = Field(default=280, description="Length limit of a public reply.")
    routing_file: Path | None = Field(
        default=None,
        description="The operator's routing file: departments, calendars, SLA targets, VIPs "
        "(unset: config/routing.yml of the installation).",
    )
    care_phone: str | None = Field(
        default="+34 910 000 123",  # the demo brand's, as its contact article says
        description="Told to customers when no agent is on shift (unset: not offered).",
    )
    care_form_url: str | None = Field(
        default="https://www.brisa-air.example/contact",
        description="A contact form offered when no agent is on shift (unset: not offered).",
    )
    retention_days: int = Field(
        default=90,
        ge=1,
        description="Days a conversation's transcript and handoff records are kept after the "
        "last message (Rasa's tracker too).",
    )
    customer_messages_per_minute: int = Field(
        default=20,
        ge=1,
        description="A customer's messages per minute the assistant answers; the rest are kept "
        "in the log, unanswered (one polite notice), against floods and spam.",
    )
    cost_agent_minute: float = Field(
        default=0.80, ge=0, description="Cost of one minute of an agent, for reports."
    )
    cost_bot_message: float = Field(
        default=0.005, ge=0, description="Cost of one message of the assistant, for reports."
    )
    cost_currency: str = Field(
        default="EUR",
        min_length=1,
        max_length=8,
        description="The currency of the two costs above, shown beside every cost.",
    )
    sla_check_seconds: float = Field(
        default=15.0, gt=0, description="How often the SLA monitor looks at due times."
    )
    handoff_reopen_minutes: int = Field(
        default=120,
        ge=0,
        description="A customer who writes this soon after a resolution reopens the handoff: "
        "queued again, and the agent who had it takes it back by replying; later, the bot "
        "starts anew.",
    )

    rasa_url: str = Field(
        default="",
        description="The Rasa server (unset: http://127.0.0.1:<RELEVO_RASA_PORT>, the one "
        "`make run` starts).",
    )
    rasa_port: int = Field(default=5005, description="Port `make run` serves Rasa on.")
    rasa_token: SecretStr | None = Field(
        default=None, description="Enables Rasa's HTTP API (off without it)."
    )
    rasa_workers: int = Field(
        default=1,
        ge=1,
        description="Rasa server processes (Sanic workers) sharing its port; each holds the "
        "model (about 850 MB). Two served 30 turns/s on a 2-core machine, one 20.",
    )
    rasa_timeout: float = Field(default=15.0, description="Seconds to wait for one Rasa turn.")
    rasa_state_memo: bool = Field(
        default=True,
        description="Rasa computes each dialogue state of a conversation once "
        "(nlu/relevo_states.py) instead of the whole history on every prediction; off only "
        "to rule it out.",
    )
    action_port: int = Field(default=5055, description="Port of the action server.")
    action_host: str = Field(
        default="127.0.0.1",
        description="Where the action server is reached (its service name in a container).",
    )

    prepare_searches: bool = Field(
        default=True,
        description="The gateway hands each customer message to the action server as it sends "
        "it to Rasa, and the message is encoded for the knowledge-base search while Rasa reads "
        "it (actions/prepare.py).",
    )

    @model_validator(mode="after")
    def _rasa_url_follows_the_port(self) -> Self:
        """Without RELEVO_RASA_URL, the gateway talks to the Rasa server `make run` starts."""
        if not self.rasa_url:
            self.rasa_url = f"http://127.0.0.1:{self.rasa_port}"
        return self

    @field_validator("model_cache_dir", "routing_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """An empty value is unset: `RELEVO_MODEL_CACHE_DIR=` means no cache.

        It was the current folder, and trained models landed in the checkout's root.
        """
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def action_url(self) -> str:
        """The action server's base URL."""
        return f"http://{self.action_host}:{self.action_port}"

    @property
    def prepare_url(self) -> str | None:
        """Where the gateway hands messages to encode ahead of their turn (None: off)."""
        return f"{self.action_url}{PREPARE_PATH}" if self.prepare_searches else None

    models_dir: Path = Field(default=Path("models"), description="Trained Rasa models.")
    model_cache_dir: Path | None = Field(
        default=Path.home() / ".cache" / "relevo" / "models",
        description="Models shared between checkouts, keyed by the hash of nlu/ (empty: none).",
    )
    rasa_venv: Path = Field(default=Path(".venv-rasa"), description="Rasa's Python 3.10 env.")
    nlu_dir: Path = Field(default=Path("nlu"), description="The Rasa project.")

    public_url: str = Field(
        default="http://127.0.0.1:8080",
        description="The gateway's public address (web chat links in invitations).",
    )
    max_message_chars: int = Field(
        default=4000, ge=1, description="Longer customer messages are declined politely."
    )
    outbox_max_attempts: int = Field(
        default=8, ge=1, description="Delivery attempts before a message is dead-lettered."
    )
    outbox_backoff_seconds: float = Field(
        default=0.5, gt=0, description="First retry delay; doubles each attempt, with jitter."
    )
    outbox_backoff_max_seconds: float = Field(default=60.0, gt=0)
    assistant_concurrency: int = Field(
        default=32, ge=1, description="Conversations a gateway sends to Rasa at the same time."
    )

    telegram_token: SecretStr | None = Field(
        default=None, description="Turns the Telegram channel on (a token from @BotFather)."
    )
    telegram_api_url: str = Field(
        default="https://api.telegram.org/bot", description="The Bot API base (tests: emulator)."
    )
    telegram_file_url: str = Field(default="https://api.telegram.org/file/bot")
    telegram_mode: Literal["polling", "webhook"] = Field(
        default="polling", description="Long polling, or a webhook at /channels/telegram/webhook."
    )
    telegram_webhook_url: str | None = Field(
        default=None, description="Public HTTPS URL of /channels/telegram/webhook (webhook mode)."
    )
    telegram_webhook_secret: SecretStr | None = Field(
        default=None, description="Checked in X-Telegram-Bot-Api-Secret-Token (webhook mode)."
    )
    telegram_rate_per_second: float = Field(
        default=25.0, gt=0, description="Bot-wide sending rate (Telegram allows about 30/s)."
    )

    social_secret: SecretStr | None = Field(
        default=None, description="HMAC key of POST /channels/social/events (off without it)."
    )
    social_max_skew_seconds: int = Field(
        default=300, description="How old a signed social event may be."
    )
    social_brand_handle: str = Field(default="brisaair", description="The brand's @handle.")
    social_brand_author_id: str | None = Field(
        default=None, description="The brand's author id (replies to its posts are listened to)."
    )
    social_listen: list[str] = Field(
        default=["#brisaair", "brisa air"],
        description="Hashtags and keywords the brand listens for (JSON list).",
    )
    social_outbound_url: str | None = Field(
        default=None, description="Connector webhook that publishes public replies (else logged)."
    )
    social_outbound_secret: SecretStr | None = Field(
        default=None, description="Signs outbound replies; defaults to the social secret."
    )
    social_rate_per_second: float = Field(default=5.0, gt=0)

    slack_bot_token: SecretStr | None = Field(
        default=None, description="With the signing secret and channel, turns the Slack desk on."
    )
    slack_signing_secret: SecretStr | None = Field(default=None)
    slack_channel: str | None = Field(default=None, description="Channel id of the desk.")
    slack_app_token: SecretStr | None = Field(
        default=None, description="An app-level token (xapp-...): Socket Mode instead of HTTP."
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/", description="Slack's Web API (tests: an emulator)."
    )

    console_token: SecretStr | None = Field(
        default=None,
        description="Agents' login to the web console at /console (the desk when Slack is off). "
        "Unset: a random one is generated once into <data_dir>/console-token (mode 0600), and "
        "`relevo up` prints the console's address with it.",
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8080, description="Port of the gateway (web chat, APIs).")
    log_level: str = "INFO"

    @property
    def slack_enabled(self) -> bool:
        """Whether the Slack desk is configured."""
        return bool(self.slack_bot_token and self.slack_signing_secret and self.slack_channel)

    @property
    def index_dir(self) -> Path:
        """Where index versions live."""
        return self.data_dir / "index"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()

"""Structured logging: one line per event, the `extra` fields appended as key=value.

Lines carry ids, never messages; as a second guard, any personal data that slips into a line
(an exception quoting a payload) is redacted before it is written.
"""

from __future__ import annotations

import functools
import logging
import re

from relevo.pii import redact

_BOT_TOKEN = re.compile(r"(/bot)\d+:[\w-]+")  # Telegram's Bot API puts the token in the path

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's copy of the message with colours
}


class KeyValueFormatter(logging.Formatter):
    """`time level logger message key=value ...`."""

    def format(self, record: logging.LogRecord) -> str:
        """Append the record's extra fields to the usual line, each part cleaned."""
        line = super().format(record)
        stamp = getattr(record, "asctime", "")  # set when the format shows the time
        head, body = (stamp, line[len(stamp) :]) if line.startswith(stamp) else ("", line)
        parts = [head, _clean(body)]
        fields = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        parts.extend(f" {k}={_clean(repr(v))}" for k, v in sorted(fields.items()))
        return "".join(parts)


def _without_secrets(text: str) -> str:
    """`text` without personal data or bot tokens."""
    return _BOT_TOKEN.sub(r"\1<token>", redact(text))


_cached_without_secrets = functools.lru_cache(maxsize=4096)(_without_secrets)


def _clean(text: str) -> str:
    """`text` without personal data or bot tokens.

    Lines repeat the same words and ids (a conversation's id is in every line of its turn), so
    short parts are cleaned once: checking whole lines was 8% of the gateway's CPU under load.
    """
    return _without_secrets(text) if len(text) > 200 else _cached_without_secrets(text)


def configure(level: str = "INFO") -> None:
    """Send logs to stderr in the key=value format."""
    handler = logging.StreamHandler()
    handler.setFormatter(KeyValueFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx's request lines carry bot tokens in their URLs; faiss's loader says which CPU
    # instructions it found at every start ("AVX512", which reads as a booking code).
    for chatty in ("httpx", "httpcore", "faiss.loader"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))

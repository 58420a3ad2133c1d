r"""Lone surrogates out of what customers send. Pure.

JSON may carry half of a UTF-16 pair (`"\ud800"`: what a browser makes of a cut emoji); Python
decodes it into a string that cannot be encoded as UTF-8, so nothing could store or send it.
Every door that parses JSON passes the result through `scrub`, which puts U+FFFD in its place.
"""

from __future__ import annotations

import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub_text(text: str) -> str:
    """The text with each lone surrogate replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def scrub(value: Any) -> Any:
    """`scrub_text` applied to every string of parsed JSON (keys included)."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, list):
        return [scrub(item) for item in value]
    if isinstance(value, dict):
        return {scrub(key): scrub(item) for key, item in value.items()}
    return value

"""HMAC signatures of Relevo's own webhooks: the social events API and outbound replies.

The scheme is Slack's and Stripe's: `v1=` + hex HMAC-SHA256 of `<timestamp>.<raw body>`, with the
Unix timestamp in its own header, so a captured request cannot be replayed after the allowed skew.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

TIMESTAMP_HEADER = "X-Relevo-Timestamp"
SIGNATURE_HEADER = "X-Relevo-Signature"
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


class SignatureError(ValueError):
    """Why a signed request was refused (the text is safe to return to the caller)."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value of `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={digest.hexdigest()}"


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """Both headers for a request with `body`."""
    timestamp = int(now if now is not None else time.time())
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(
    secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    max_skew: int,
    now: float | None = None,
) -> None:
    """Raise SignatureError unless the request is signed with `secret` and fresh."""
    if not timestamp or not signature:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
    if not _UNIX_SECONDS.fullmatch(timestamp):
        raise SignatureError(f"{TIMESTAMP_HEADER} must be Unix seconds (up to 12 digits)")
    sent_at = int(timestamp)
    age = int(now if now is not None else time.time()) - sent_at  # whole seconds, as sent
    if age < -max_skew:  # the sender's clock is ahead: "stale" and a negative age misled
        raise SignatureError(
            f"timestamp is {-age} s in the future (clock skew?), at most {max_skew} s allowed"
        )
    if age > max_skew:
        raise SignatureError(f"stale timestamp: {age} s old, at most {max_skew} s allowed")
    if not hmac.compare_digest(sign(secret, sent_at, body).encode(), signature.strip().encode()):
        raise SignatureError("signature does not match the body")

"""Slack's request signature, shared by the sender (which signs) and tests (which check).

Slack signs every HTTP request it sends to an app so the app can reject
forgeries and replays; the simulated sender must sign byte for byte the same
way or the bot's verification would be tested against a different algorithm.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_VERSION = "v0"


def signature(signing_secret: str, timestamp: str, body: str | bytes) -> str:
    """The ``X-Slack-Signature`` value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    base = f"{SIGNATURE_VERSION}:{timestamp}:".encode() + raw
    digest = hmac.new(signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


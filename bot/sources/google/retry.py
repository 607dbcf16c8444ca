"""The one retry policy for the bot's reads from Google APIs.

A transient 503 or a dropped connection is worth one more quick try inside a
user's command; more than that belongs to the scheduler's next cycle, and the
whole attempt never runs past the configured request timeout.
"""

from __future__ import annotations

from google.api_core.retry import Retry, if_transient_error

FIRST_DELAY_SECONDS = 0.25
MAX_DELAY_SECONDS = 1.0


def bounded_retry(timeout_seconds: float) -> Retry:
    return Retry(
        predicate=if_transient_error,
        initial=FIRST_DELAY_SECONDS,
        maximum=MAX_DELAY_SECONDS,
        multiplier=2.0,
        timeout=timeout_seconds,
    )

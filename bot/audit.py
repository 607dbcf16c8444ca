"""The audit trail: one JSON line per command, whoever ran it and however it ended.

Access to a cluster's logs and SSH hints is sensitive, so who asked what, from
where, and what happened must be answerable later from the log alone. Each
line is self-contained JSON (logger ``k8s_chatops.audit``) so a log pipeline
can index it without parsing prose.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from bot.clock import Clock, SystemClock
from bot.commands.invocation import Invocation
from bot.commands.router import Outcome

AUDIT_LOGGER = "k8s_chatops.audit"
MAX_LOGGED_LINE = 500
# Slack tokens pasted into a command line must not end up in the log.
_TOKEN = re.compile(r"\bx(?:ox[abeoprs]|app)-[A-Za-z0-9-]+")


def redact(text: str) -> str:
    return _TOKEN.sub("[redacted-token]", text)


def command_record(invocation: Invocation, outcome: Outcome, duration_seconds: float, clock: Clock) -> dict[str, Any]:
    """The audit fields of one finished command."""
    line = redact(invocation.text)
    if len(line) > MAX_LOGGED_LINE:
        line = line[:MAX_LOGGED_LINE] + "…"
    record: dict[str, Any] = {
        "event": "command",
        "time": clock.now().isoformat(),
        "user_id": invocation.user_id,
        "user_name": invocation.user_name,
        "channel_id": invocation.channel_id,
        "channel_name": invocation.channel_name,
        "origin": invocation.origin,
        "command": outcome.command,
        "line": line,
        "cluster": outcome.cluster,
        "outcome": outcome.outcome,
        "duration_ms": round(duration_seconds * 1000, 1),
    }
    if outcome.reference:
        record["reference"] = outcome.reference
    return record


class AuditLog:
    """Writes the audit lines; the clock is injected so simulated runs log simulated time."""

    def __init__(self, clock: Clock | None = None, logger: logging.Logger | None = None) -> None:
        self._clock = clock or SystemClock()
        self._logger = logger or logging.getLogger(AUDIT_LOGGER)

    def command(self, invocation: Invocation, outcome: Outcome, duration_seconds: float) -> None:
        record = command_record(invocation, outcome, duration_seconds, self._clock)
        self._logger.info(json.dumps(record, ensure_ascii=False, sort_keys=True))

"""Run one invocation through the router and record it: audit line and metrics.

Every way a command arrives (slash command, mention, button) passes here, so
"every command is audit-logged and counted" holds by construction rather than
by each listener remembering to do it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bot.audit import AuditLog
from bot.commands.invocation import Invocation
from bot.commands.reply import Reply
from bot.commands.router import Outcome, Router
from bot.metrics import Metrics, metrics as default_metrics


@dataclass
class CommandRunner:
    router: Router
    audit: AuditLog = field(default_factory=AuditLog)
    metrics: Metrics = field(default_factory=lambda: default_metrics)

    def run(self, invocation: Invocation) -> tuple[Reply, Outcome]:
        started = time.monotonic()
        reply, outcome = self.router.run(invocation)
        elapsed = time.monotonic() - started
        self.audit.command(invocation, outcome, elapsed)
        self.metrics.command_done(outcome.command, outcome.outcome, elapsed)
        return reply, outcome

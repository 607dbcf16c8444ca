"""Run one command line end to end: parse, authorize, resolve the cluster, answer.

Every path out of here is a ``Reply``: expected failures become one clear
sentence, unexpected ones are logged with their trace and shown as a short
apology with a reference, so no stack trace ever reaches Slack.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.clock import Clock
from bot.clusters import ClusterRegistry
from bot.commands.context import CommandContext
from bot.commands.invocation import Invocation
from bot.commands.parse import ParsedCommand, parse
from bot.commands.registry import CommandSpec, Registry, registry as default_registry
from bot.commands.reply import Reply
from bot.commands.explain import explained
from bot.errors import BadInput, ChatOpsError, Forbidden, Unreachable
from bot.render.errors import error_reply, help_reply, internal_error_reply
from bot.settings import Settings

log = logging.getLogger(__name__)

# Returns None to allow, or a sentence saying what is needed.
Authorizer = Callable[[CommandSpec, Invocation], str | None]


@dataclass
class Outcome:
    """What happened, for the audit log and metrics."""

    command: str
    outcome: str
    cluster: str = ""
    reference: str = ""


@dataclass
class Router:
    settings: Settings
    clusters: ClusterRegistry
    clock: Clock
    registry: Registry = field(default_factory=lambda: default_registry)
    authorize: Authorizer | None = None
    services: dict[str, Any] = field(default_factory=dict)

    def run(self, invocation: Invocation) -> tuple[Reply, Outcome]:
        command_name = "?"
        cluster_name = ""
        context: CommandContext | None = None
        try:
            parsed = self._parse(invocation)
            if parsed.spec is None or parsed.wants_help:
                return help_reply(self.registry, parsed.spec, self.settings.slack.command), Outcome(
                    parsed.spec.name if parsed.spec else "help", "ok"
                )
            spec = parsed.spec
            command_name = spec.name
            if self.authorize is not None:
                refusal = self.authorize(spec, invocation)
                if refusal:
                    raise Forbidden(refusal)
            context = CommandContext(
                invocation=invocation,
                settings=self.settings,
                clusters=self.clusters,
                clock=self.clock,
                public=parsed.public,
                services=self.services,
            )
            if spec.needs_cluster:
                wanted = parsed.cluster or invocation.defaults.get("cluster")
                context.cluster = self.clusters.resolve(
                    wanted, channel_id=invocation.channel_id, channel_name=invocation.channel_name
                )
                cluster_name = context.cluster.name
            reply = spec.handler(context, parsed.args)
            reply.public = reply.public or parsed.public
            return reply, Outcome(command_name, reply.outcome, cluster_name)
        except ChatOpsError as exc:
            if isinstance(exc, Unreachable) and context is not None and context.cluster is not None:
                exc = explained(exc, context.cluster, self.clock)
            usage = exc.usage if isinstance(exc, BadInput) else None
            return error_reply(exc, usage, self.settings.slack.command), Outcome(command_name, exc.kind, cluster_name)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("command failed", extra={"reference": reference, "command": command_name})
            return internal_error_reply(reference), Outcome(command_name, "error", cluster_name, reference)

    def identify(self, text: str) -> CommandSpec | None:
        """The command a line names, without running it (None when it names none)."""
        try:
            return self._parse(Invocation(text=text)).spec
        except ChatOpsError:
            return None

    def _parse(self, invocation: Invocation) -> ParsedCommand:
        return parse(invocation.text, self.registry)

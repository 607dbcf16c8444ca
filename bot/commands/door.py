"""The one door every command passes, however it arrived: parse, authorize, run, audit, meter.

Slash commands, mentions, buttons (the incident buttons included) and the
local console all hand an ``Invocation`` to ``Door.run``; none of them can
skip a step, because the steps are one chain here, in the manner of bolt's
middleware: each step does its part and calls the next. Every path out is a
``Reply``: expected failures become one clear sentence, unexpected ones are
logged with their trace and shown as a short apology with a reference, so no
stack trace ever reaches Slack.

Access to a cluster's logs and SSH hints is sensitive, so who asked what,
from where, and what happened must be answerable later from the log alone:
one self-contained JSON line per command (logger ``k8s_chatops.audit``).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.analysis.operations import explain_unreachable
from bot.blocks import SECTION_TEXT_BUDGET, Reply, escape, truncate
from bot.clock import Clock, SystemClock
from bot.clusters import ClusterHandle, ClusterRegistry
from bot.commands.access import AccessPolicy
from bot.commands.registry import (
    AlertCommands,
    CommandContext,
    CommandSpec,
    Invocation,
    ParsedArgs,
    Registry,
    help_reply,
    parse,
)
from bot.errors import KUBERNETES, BadInput, ChatOpsError, Forbidden, Unreachable
from bot.metrics import Metrics
from bot.metrics import metrics as default_metrics
from bot.settings import Settings

log = logging.getLogger(__name__)

@dataclass
class Outcome:
    """What happened, for the audit log and metrics."""

    command: str
    outcome: str
    cluster: str = ""
    reference: str = ""


@dataclass(frozen=True)
class Answer:
    reply: Reply
    outcome: Outcome
    private: bool  # only the asker may see it: refused, or sensitive by the access rules


@dataclass
class Call:
    """One command on its way through the door; each step fills in what it learned."""

    invocation: Invocation
    outcome: Outcome = field(default_factory=lambda: Outcome("?", "ok"))
    spec: CommandSpec | None = None
    args: ParsedArgs = field(default_factory=ParsedArgs)
    cluster_name: str | None = None
    public: bool = False
    context: CommandContext | None = None


Next = Callable[[], Reply]
Step = Callable[[Call, Next], Reply]


class Door:
    """Runs invocations through the chain of steps, ending in the command's handler."""

    def __init__(
        self,
        settings: Settings,
        clusters: ClusterRegistry,
        clock: Clock,
        registry: Registry,
        *,
        access: AccessPolicy | None = None,
        alerts: AlertCommands | None = None,
        audit: AuditLog | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.clusters = clusters
        self.clock = clock
        self.registry = registry
        self.access = access or AccessPolicy(settings.access)
        self.alerts = alerts
        self.audit = audit or AuditLog(clock)
        self.metrics = metrics or default_metrics
        self.steps: Sequence[Step] = (
            self._record, self._contain_errors, self._parse, self._authorize, self._resolve_cluster
        )

    def run(self, invocation: Invocation) -> Answer:
        call = Call(invocation)

        def step(index: int) -> Reply:
            if index == len(self.steps):
                return self._dispatch(call)
            return self.steps[index](call, lambda: step(index + 1))

        reply = step(0)
        private = call.outcome.outcome == "forbidden" or (
            call.spec is not None and self.access.is_sensitive(call.spec)
        )
        return Answer(reply, call.outcome, private)

    def identify(self, text: str) -> CommandSpec | None:
        return self.registry.identify(text)

    def lane(self, text: str, *, channel_id: str = "", channel_name: str = "", cluster: str | None = None) -> str:
        """The cluster a command line will ask, as far as it can be told before running it; "" otherwise.

        The answer pool shares its workers out by this (``AnswerPool``); a
        command that fails to parse or resolve runs in the common lane and
        fails there with its own sentence.
        """
        try:
            parsed = parse(text, self.registry)
            if parsed.spec is None or not parsed.spec.needs_cluster:
                return ""
            wanted = parsed.cluster or cluster
            return self.clusters.resolve(wanted, channel_id=channel_id, channel_name=channel_name).name
        except ChatOpsError:
            return ""

    # -- the steps, outermost first ----------------------------------------------------

    def _record(self, call: Call, next_step: Next) -> Reply:
        """Audit line and metrics for every command, whatever became of it."""
        started = time.monotonic()
        reply = next_step()
        call.outcome.outcome = reply.outcome
        elapsed = time.monotonic() - started
        self.audit.command(call.invocation, call.outcome, elapsed)
        self.metrics.command_done(call.outcome.command, call.outcome.outcome, elapsed)
        return reply

    def _contain_errors(self, call: Call, next_step: Next) -> Reply:
        """Expected failures become their sentence; anything else an apology with a reference."""
        try:
            return next_step()
        except ChatOpsError as exc:
            if isinstance(exc, Unreachable) and call.context is not None and call.context.cluster is not None:
                exc = explained(exc, call.context.cluster, self.clock)
            usage = exc.usage if isinstance(exc, BadInput) else None
            return error_reply(exc, usage, self.settings.slack.command)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            call.outcome.reference = reference
            log.exception("command failed", extra={"reference": reference, "command": call.outcome.command})
            return internal_error_reply(reference)

    def _parse(self, call: Call, next_step: Next) -> Reply:
        parsed = parse(call.invocation.text, self.registry)
        if parsed.spec is None or parsed.wants_help:
            call.outcome.command = parsed.spec.name if parsed.spec else "help"
            return help_reply(self.registry, parsed.spec, self.settings.slack.command)
        call.spec, call.args, call.public = parsed.spec, parsed.args, parsed.public
        call.cluster_name = parsed.cluster
        call.outcome.command = parsed.spec.name
        return next_step()

    def _authorize(self, call: Call, next_step: Next) -> Reply:
        assert call.spec is not None
        refusal = self.access(call.spec, call.invocation)
        if refusal:
            raise Forbidden(refusal)
        return next_step()

    def _resolve_cluster(self, call: Call, next_step: Next) -> Reply:
        assert call.spec is not None
        invocation = call.invocation
        call.context = CommandContext(
            invocation=invocation,
            settings=self.settings,
            clusters=self.clusters,
            clock=self.clock,
            registry=self.registry,
            public=call.public,
            alerts=self.alerts,
        )
        if call.spec.needs_cluster:
            wanted = call.cluster_name or invocation.defaults.get("cluster")
            call.context.cluster = self.clusters.resolve(
                wanted, channel_id=invocation.channel_id, channel_name=invocation.channel_name
            )
            call.outcome.cluster = call.context.cluster.name
        elif call.spec.cluster_scoped and call.cluster_name:  # only when asked: these act on every cluster otherwise
            call.context.cluster = self.clusters.get(call.cluster_name)
            call.outcome.cluster = call.context.cluster.name
        return next_step()

    def _dispatch(self, call: Call) -> Reply:
        assert call.spec is not None and call.context is not None
        reply = call.spec.handler(call.context, call.args)
        reply.public = reply.public or call.public
        return reply


# -- failures as replies -------------------------------------------------------------------

_ICONS = {
    "bad_input": ":warning:",
    "not_found": ":mag:",
    "forbidden": ":no_entry:",
    "unreachable": ":electric_plug:",
    "not_configured": ":gear:",
}


def error_reply(error: ChatOpsError, usage: str | None, slash: str) -> Reply:
    """One sentence (names in backticks, the rest escaped) and the usage line when it helps."""
    sentence = truncate(str(error), SECTION_TEXT_BUDGET)
    icon = _ICONS.get(error.kind, ":x:")
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=f"{icon} {escape(sentence)}"))]
    plain = sentence
    if usage:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"Usage: `{escape(slash)} {escape(usage)}`")]))
        plain += f"\nUsage: {slash} {usage}"
    return Reply(text=escape(sentence), blocks=list(blocks), plain=plain, ok=False, outcome=error.kind)


def internal_error_reply(reference: str) -> Reply:
    sentence = f"Something went wrong on the bot's side (reference `{reference}`); the details are in its log."
    return Reply(
        text=sentence,
        blocks=[SectionBlock(text=MarkdownTextObject(text=f":x: {sentence}"))],
        plain=sentence.replace("`", ""),
        ok=False,
        outcome="error",
    )


def explained(error: Unreachable, handle: ClusterHandle, clock: Clock) -> Unreachable:
    """``error`` with GKE's reason appended when the Kubernetes API is what failed and GKE knows why.

    A bare 503 sends people hunting; during a zonal cluster's control-plane
    upgrade the answer is already in GKE's operations. Asked only on this
    error path, so a healthy cluster never pays for it.
    """
    if error.service != KUBERNETES or handle.gke is None:
        return error
    try:
        cluster = handle.gke_cluster()
        reason = explain_unreachable(cluster, handle.gke.list_operations(), clock.now())
    except ChatOpsError as exc:  # GKE cannot say either: the first error stands alone
        log.info("no GKE view of %s: %s", handle.name, exc)
        return error
    if reason is None:
        return error
    first = str(error).rstrip()
    joiner = " " if first.endswith((".", "!", "?")) else ". "
    return Unreachable(f"{first}{joiner}{reason}", service=error.service, reason=error.reason)


# -- the audit trail -------------------------------------------------------------------------

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

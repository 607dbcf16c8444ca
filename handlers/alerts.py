"""`alerts`: open incidents, acknowledge, mute and unmute, recording who did it; an incident's summary.

Thin on purpose: the alert service (``context.alerts``) acts and
``bot.alerts.render`` draws; this module connects the command line to both.
The incident's own buttons run these same commands, so a click passes the
same access rules and audit; its answer is the edited parent, which everyone
sees, so a click that worked says nothing more to the clicker.
"""

from __future__ import annotations

import re

from bot.alerts import render
from bot.blocks import Reply, code, escape
from bot.commands.registry import (
    AlertCommands,
    Arg,
    CommandContext,
    CommandSet,
    ParsedArgs,
)
from bot.commands.validate import duration, positive_int, shown
from bot.errors import BadInput, NotConfigured

commands = CommandSet()

_TARGET = re.compile(r"^(\d{1,9}|[a-z][a-z0-9-]{0,39})$")


def _service(context: CommandContext) -> AlertCommands:
    service = context.alerts
    if service is None:
        raise NotConfigured(
            "Alerts are not running on this bot (`alerts.enabled` is off, or no alert channel is configured)."
        )
    return service


def _who(context: CommandContext) -> str:
    return context.invocation.who


def _where(cluster: str | None) -> tuple[str, str]:
    """" on `batch`" (and its plain form) for a mute of one cluster; nothing for one of every cluster."""
    return (f" on {code(cluster)}", f" on {cluster}") if cluster else ("", "")


def _scope(context: CommandContext) -> str | None:
    """The cluster named with `--cluster`, which narrows a kind's mute to it; None means every cluster."""
    return context.cluster.name if context.cluster is not None else None


def _target(value: str) -> str:
    """An incident number (`12`, `#12`) or a finding kind (`pending-pods`)."""
    cleaned = value.strip().lstrip("#").lower()
    if not _TARGET.match(cleaned):
        raise BadInput(f"`{shown(value)}` is neither an incident number nor a kind such as `pending-pods`.")
    return cleaned


def _incident_id(value: str) -> int:
    return positive_int(value.strip().lstrip("#"), maximum=999_999_999)


def _answer(context: CommandContext, sentence: str, plain: str) -> Reply:
    text, blocks = render.confirmation(sentence)
    return Reply(text=text, blocks=blocks, plain=plain, public=True, quiet=context.invocation.origin == "button")


@commands.command(
    "alerts",
    "Open incidents, with links to their threads (every cluster's, or one's with --cluster)",
    needs_cluster=False,
    cluster_scoped=True,
    examples=("alerts", "alerts --cluster batch"),
)
def list_alerts(context: CommandContext, args: ParsedArgs) -> Reply:
    rows = _service(context).open_incidents(_scope(context))
    now = context.clock.now()
    text, blocks = render.incident_list(rows, now)
    return Reply(text=text, blocks=blocks, plain=render.incident_list_plain(rows, now))


@commands.command(
    "alerts ack",
    "Acknowledge an incident: you are on it",
    args=(Arg("ID", help="Incident number, as shown by `alerts`", parse=_incident_id),),
    needs_cluster=False,
    examples=("alerts ack 12",),
)
def acknowledge(context: CommandContext, args: ParsedArgs) -> Reply:
    incident = _service(context).acknowledge(args.ID, _who(context))
    first = incident.acknowledged_by or _who(context)
    if first != _who(context):  # someone was faster (their Slack still showed the button)
        sentence = f"Incident #{incident.id} was already acknowledged by {render.user_mention(first)}."
        return Reply(text=sentence, plain=f"Incident #{incident.id} was already acknowledged by {first}.",
                     ok=False, outcome="conflict")
    sentence = f"Incident #{incident.id} ({escape(incident.title)}) is acknowledged by {render.user_mention(first)}."
    return _answer(context, sentence, f"Incident #{incident.id} acknowledged by {first}.")


@commands.command(
    "alerts resolve",
    "Resolve an incident by hand: its thread gets the timeline",
    args=(Arg("ID", help="Incident number, as shown by `alerts`", parse=_incident_id),),
    needs_cluster=False,
    examples=("alerts resolve 12",),
)
def resolve(context: CommandContext, args: ParsedArgs) -> Reply:
    incident = _service(context).resolve(args.ID, _who(context))
    sentence = f"Incident #{incident.id} ({escape(incident.title)}) is resolved by {render.user_mention(_who(context))}."
    return _answer(context, sentence, f"Incident #{incident.id} resolved.")


@commands.command(
    "alerts mute",
    "Silence an incident or a kind of finding (on every cluster, or one with --cluster) for a while; state is still tracked",
    args=(
        Arg("TARGET", help="Incident number or kind (pending-pods, unregistered-vms, ...)", parse=_target),
        Arg("DURATION", help="15m, 2h, 1d (at most 30d)", parse=duration),
    ),
    needs_cluster=False,
    cluster_scoped=True,
    examples=("alerts mute 12 1h", "alerts mute pending-pods 30m", "alerts mute pending-pods 2h --cluster batch"),
)
def mute(context: CommandContext, args: ParsedArgs) -> Reply:
    result = _service(context).mute(args.TARGET, args.DURATION, _who(context), _scope(context))
    until = render.clock_time(result.until) if result.until else "further notice"
    where, where_plain = _where(result.cluster)
    return _answer(
        context,
        f"Muted {code(result.target)}{where} until {until} (by {render.user_mention(_who(context))}).",
        f"Muted {result.target}{where_plain} until {until}.",
    )


@commands.command(
    "alerts unmute",
    "End a mute early",
    args=(Arg("TARGET", help="Incident number or kind", parse=_target),),
    needs_cluster=False,
    cluster_scoped=True,
    examples=("alerts unmute pending-pods", "alerts unmute pending-pods --cluster batch"),
)
def unmute(context: CommandContext, args: ParsedArgs) -> Reply:
    result = _service(context).unmute(args.TARGET, _who(context), _scope(context))
    where, where_plain = _where(result.cluster)
    return _answer(
        context, f"{code(result.target)} is no longer muted{where}.", f"{result.target} is no longer muted{where_plain}."
    )


@commands.command(
    "alerts summary",
    "Post an incident as Markdown in its thread, for the postmortem: timeline, who acknowledged, evidence, duration, links",
    args=(Arg("ID", help="Incident number, as shown by `alerts` or in the incident's parent", parse=_incident_id),),
    needs_cluster=False,
    examples=("alerts summary 12",),
)
def summary(context: CommandContext, args: ParsedArgs) -> Reply:
    incident = _service(context).summary(args.ID, _who(context))
    return _answer(
        context,
        f"The postmortem summary of incident #{incident.id} ({escape(incident.title)}) is posted in its thread.",
        f"Summary of incident #{incident.id} posted in its thread.",
    )

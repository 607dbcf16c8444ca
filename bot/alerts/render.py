"""Block Kit for the alert channel: parent messages, thread updates, timelines, the digest.

Only this module decides how an incident looks; the engine hands it plain
values and posts whatever comes back. Every piece of API or user text goes
through ``escape`` because node names and messages come from the cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.alerts.evidence import EVIDENCE_EVENT
from bot.blocks import (
    MAX_FIELD_TEXT,
    RUN_COMMAND,
    SECTION_TEXT_BUDGET,
    command_button,
    escape,
    link,
    on_cluster,
    plural,
    truncate,
)
from bot.model.findings import NODES_NOT_READY, UNREGISTERED_VMS, ZONE_NOT_READY, Finding

SECTION_LIMIT = SECTION_TEXT_BUDGET
SEVERITY_ICON = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
# The incident's own buttons are commands like every other button (``alerts ack 12``), so a
# click passes the same access rules and audit as the typed command; these are their action ids.
ACK_ACTION = f"{RUN_COMMAND}:ack"
RESOLVE_ACTION = f"{RUN_COMMAND}:resolve"
MUTE_ACTION = f"{RUN_COMMAND}:mute"
SUMMARY_ACTION = f"{RUN_COMMAND}:summary"
MUTE_BUTTON_DURATION = "1h"


def parent_marker(incident_id: int) -> str:
    """The block_id that identifies an incident's parent message, even when its ts was never learned."""
    return f"k8s-chatops-incident-{incident_id}"


@dataclass(frozen=True)
class IncidentState:
    """What a parent message shows: the incident as it stands now."""

    id: int
    cluster: str
    kind: str
    scope: str
    severity: str
    title: str
    detail: str
    fix: str
    since: datetime
    facts: dict[str, Any]
    status: str  # open | resolved
    resolved_at: datetime | None = None
    acknowledged_by: str | None = None
    muted_until: datetime | None = None
    peak_severity: str = ""  # the highest severity it reached; "" when it never rose

    @property
    def informational(self) -> bool:
        """Only ever info (a healthy upgrade): one message kept current, nothing to acknowledge."""
        return SEVERITY_RANK.get(self.peak_severity or self.severity, 0) == 0 and self.severity == "info"


def rises(old: str, new: str) -> bool:
    return SEVERITY_RANK.get(new, 0) > SEVERITY_RANK.get(old, 0)


@dataclass(frozen=True)
class TimelineLine:
    at: datetime
    kind: str
    text: str
    actor: str = ""


Message = tuple[str, list[Block]]


def human_duration(span: timedelta) -> str:
    seconds = max(int(span.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    text = " ".join(p for p in parts if p)
    return text or f"{secs}s"


def clock_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def user_mention(user_id: str) -> str:
    """A mention when it is a Slack user ID, escaped text otherwise."""
    if user_id.startswith(("U", "W")) and user_id.isalnum():
        return f"<@{user_id}>"
    return escape(user_id)


def _state_line(state: IncidentState, now: datetime) -> str:
    if state.status == "resolved" and state.resolved_at is not None:
        return f":white_check_mark: Resolved after {human_duration(state.resolved_at - state.since)}"
    parts = [f"Open for {human_duration(now - state.since)}"]
    if state.acknowledged_by:
        parts.append(f"acknowledged by {user_mention(state.acknowledged_by)}")
    if state.muted_until and state.muted_until > now:
        parts.append(f"muted until {clock_time(state.muted_until)}")
    return " · ".join(parts)


# Whose logs answer the next question about a machine an incident names: a VM that never registered
# says why in kube-proxy's (it cannot reach the control plane); a node that is not Ready, in its kubelet's.
# Other incidents name machines only in passing (the nodes an upgrade is replacing): no machine buttons.
MACHINE_LOGS = {UNREGISTERED_VMS: "kube-proxy", NODES_NOT_READY: "kubelet", ZONE_NOT_READY: "kubelet"}


def drilldown_buttons(state: IncidentState) -> list[ButtonElement]:
    """Commands that answer the next question: which zones, which pods, what did the machine log."""
    cluster = state.cluster
    buttons = [
        command_button("Nodes by zone", on_cluster("nodes", cluster), key="nodes"),
        command_button("Pending pods", on_cluster("pods --pending -A", cluster), key="pods"),
    ]
    component = MACHINE_LOGS.get(state.kind)
    machines = list(state.facts.get("vms") or state.facts.get("nodes") or [])
    if component and machines:
        vm = str(machines[0])
        buttons.append(
            command_button(
                f"{component} logs of {truncate(vm, 40)}",
                on_cluster(f"logs node {vm} --component {component}", cluster),
                key="logs",
            )
        )
        buttons.append(command_button("SSH hint", on_cluster(f"ssh {vm}", cluster), key="ssh"))
    return buttons


def parent_message(state: IncidentState, now: datetime) -> Message:
    icon = SEVERITY_ICON.get(state.severity, ":white_circle:")
    if state.status == "resolved":
        icon = ":white_check_mark:"
    where = f"{escape(state.scope)} · " if state.scope else ""
    label = "RESOLVED" if state.status == "resolved" else state.severity.upper()
    # The cluster leads: in a fleet's channel it is the first thing a reader needs.
    headline = f"{icon} *{escape(label)}* · *{escape(state.cluster)}* · {escape(state.title)}"
    blocks: list[Block] = [
        SectionBlock(block_id=parent_marker(state.id), text=MarkdownTextObject(text=truncate(headline, SECTION_LIMIT))),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"{where}since {clock_time(state.since)} · {_state_line(state, now)} · #{state.id}"
                )
            ]
        ),
    ]
    if state.detail:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate(escape(state.detail), SECTION_LIMIT))))
    if state.fix and state.status != "resolved":
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text=truncate("*Fix:* " + escape(state.fix), SECTION_LIMIT)))
        )
    blocks.append(ActionsBlock(block_id="drilldown", elements=drilldown_buttons(state)))
    if state.status == "resolved" and not state.informational:
        blocks.append(
            ActionsBlock(
                block_id="incident",
                elements=[command_button("Postmortem summary", f"alerts summary {state.id}", key="summary")],
            )
        )
    if state.status != "resolved" and not state.informational:
        blocks.append(
            ActionsBlock(
                block_id="incident",
                elements=[
                    *(
                        []
                        if state.acknowledged_by
                        else [command_button("Acknowledge", f"alerts ack {state.id}", key="ack", style="primary")]
                    ),
                    command_button("Resolve", f"alerts resolve {state.id}", key="resolve"),
                    command_button(
                        f"Mute {MUTE_BUTTON_DURATION}", f"alerts mute {state.id} {MUTE_BUTTON_DURATION}", key="mute"
                    ),
                ],
            )
        )
    status = "RESOLVED" if state.status == "resolved" else state.severity.upper()
    return f"[{status}] {escape(state.cluster)}: {escape(state.title)}", blocks


def thread_update(state: IncidentState, changes: Sequence[str]) -> Message:
    lines = "\n".join(f"• {escape(c)}" for c in changes)
    text = f"Update: {escape(state.title)}"
    body = f"*{text}*\n{lines}" if lines else f"*{text}*"
    return text, [SectionBlock(text=MarkdownTextObject(text=truncate(body, SECTION_LIMIT)))]


def escalation(state: IncidentState, before: str, changes: Sequence[str]) -> Message:
    """The reply that also goes to the channel when an incident gets worse."""
    icon = SEVERITY_ICON.get(state.severity, ":white_circle:")
    text = f"[{state.severity.upper()}] {escape(state.cluster)}: {escape(state.title)} (was {before.upper()})"
    body = (
        f"{icon} *Now {escape(state.severity.upper())}* (was {escape(before.upper())}) · "
        f"*{escape(state.cluster)}* · {escape(state.title)}"
    )
    if changes:
        body += "\n" + "\n".join(f"• {escape(c)}" for c in changes)
    if state.fix:
        body += f"\n*Fix:* {escape(state.fix)}"
    return text, [SectionBlock(text=MarkdownTextObject(text=truncate(body, SECTION_LIMIT)))]


def reopened(state: IncidentState, resolved_at: datetime, now: datetime) -> Message:
    """The reply that also goes to the channel when a resolved incident comes back."""
    icon = SEVERITY_ICON.get(state.severity, ":white_circle:")
    gap = human_duration(now - resolved_at)
    text = f"[{state.severity.upper()}] {escape(state.cluster)}: back {gap} after it resolved: {escape(state.title)}"
    body = f"{icon} *Back* {gap} after it resolved · *{escape(state.cluster)}* · {escape(state.title)}"
    return text, [SectionBlock(text=MarkdownTextObject(text=truncate(body, SECTION_LIMIT)))]


def thread_note(text: str) -> Message:
    """A one-line thread note, e.g. who acknowledged."""
    return text, [SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_LIMIT)))]


def resolution_timeline(state: IncidentState, timeline: Sequence[TimelineLine]) -> Message:
    duration = human_duration((state.resolved_at or state.since) - state.since)
    rows = []
    for line in timeline:
        who = f" by {user_mention(line.actor)}" if line.actor else ""
        what = f": {escape(line.text)}" if line.text and line.kind != EVIDENCE_EVENT else ""  # the evidence is its own reply
        rows.append(f"`{line.at.strftime('%H:%M')}` {escape(line.kind)}{who}{what}")
    body = f"*Resolved after {duration}*\n" + "\n".join(rows)
    return f"Resolved after {duration}: {escape(state.title)}", [
        SectionBlock(text=MarkdownTextObject(text=truncate(body, SECTION_LIMIT)))
    ]


@dataclass(frozen=True)
class IncidentSummary:
    """One row of `alerts` and of the digest."""

    id: int
    cluster: str
    kind: str
    severity: str
    title: str
    since: datetime
    acknowledged_by: str | None
    muted_until: datetime | None
    permalink: str | None


def _summary_line(row: IncidentSummary, now: datetime) -> str:
    icon = SEVERITY_ICON.get(row.severity, ":white_circle:")
    title = link(row.permalink, row.title) if row.permalink else escape(row.title)
    extra = [f"since {clock_time(row.since)} ({human_duration(now - row.since)})"]
    extra.append(f"acknowledged by {user_mention(row.acknowledged_by)}" if row.acknowledged_by else "not acknowledged")
    if row.muted_until and row.muted_until > now:
        extra.append(f"muted until {clock_time(row.muted_until)}")
    return f"{icon} *#{row.id}* {escape(row.cluster)} · {title}\n      {' · '.join(extra)}"


def incident_list(rows: Sequence[IncidentSummary], now: datetime, limit: int = 20) -> Message:
    if not rows:
        text = ":white_check_mark: No open incidents."
        return text, [SectionBlock(text=MarkdownTextObject(text=text))]
    lines = [_summary_line(r, now) for r in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"…and {len(rows) - limit} more")
    text = f"{len(rows)} open incident{'s' if len(rows) != 1 else ''}"
    return text, [
        HeaderBlock(text=text),
        SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(lines), SECTION_LIMIT))),
    ]


# Clusters with something to say get a section each in the digest; beyond this many they are counted.
DIGEST_CLUSTER_SECTIONS = 40
DIGEST_LINES_PER_CLUSTER = 8


def digest(
    day: datetime,
    incidents: Sequence[IncidentSummary],
    standing: Sequence[Finding],
    unreachable: Sequence[str],
    clusters: Sequence[str] = (),
) -> Message:
    """The daily summary, grouped by cluster: what is open and what is configured against availability.

    On a fleet the reader's question is "which clusters need me": a cluster
    with nothing to say is one name in the closing line, not a section.
    """
    names = list(dict.fromkeys([*clusters, *(r.cluster for r in incidents), *(f.cluster for f in standing), *unreachable]))
    open_by: dict[str, list[IncidentSummary]] = {name: [] for name in names}
    found_by: dict[str, list[Finding]] = {name: [] for name in names}
    for row in incidents:
        open_by[row.cluster].append(row)
    for finding in standing:
        found_by[finding.cluster].append(finding)
    troubled = [n for n in names if open_by[n] or found_by[n] or n in unreachable]
    quiet = [n for n in names if n not in troubled]
    text = f"Daily digest {day.strftime('%Y-%m-%d')}"
    overview = [plural(len(incidents), "open incident"), plural(len(standing), "configuration finding")]
    if len(names) > 1:
        overview.insert(0, plural(len(names), "cluster"))
    if unreachable:
        overview.append(f"{len(unreachable)} could not be checked")
    blocks: list[Block] = [HeaderBlock(text=text), _context(" · ".join(overview))]
    if not incidents:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=":white_check_mark: No open incidents.")))
    for name in troubled[:DIGEST_CLUSTER_SECTIONS]:
        lines = [_summary_line(r, day) for r in open_by[name]]
        for finding in found_by[name]:
            icon = SEVERITY_ICON.get(finding.severity, ":white_circle:")
            fix = f"\n      _Fix:_ {escape(finding.fix)}" if finding.fix else ""
            lines.append(f"{icon} {escape(finding.title)}{fix}")
        if name in unreachable:
            lines.append(":electric_plug: GKE could not be asked for its configuration.")
        if len(lines) > DIGEST_LINES_PER_CLUSTER:
            lines = [*lines[:DIGEST_LINES_PER_CLUSTER], f"…and {len(lines) - DIGEST_LINES_PER_CLUSTER} more"]
        head = f"*{escape(name)}* · " + " · ".join(
            (plural(len(open_by[name]), "open incident"), plural(len(found_by[name]), "finding"))
        )
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate("\n".join([head, *lines]), SECTION_LIMIT))))
    more = troubled[DIGEST_CLUSTER_SECTIONS:]
    if more:
        names_more = ", ".join(escape(n) for n in more)
        blocks.append(_context(f"…and {plural(len(more), 'more cluster')} with something open: {names_more}"))
    if quiet and len(names) > 1:
        names_quiet = ", ".join(escape(n) for n in quiet)
        blocks.append(_context(f":white_check_mark: Nothing open in {plural(len(quiet), 'cluster')}: {names_quiet}"))
    return text, blocks


def _context(mrkdwn: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(mrkdwn, MAX_FIELD_TEXT))])


def incident_list_plain(rows: Sequence[IncidentSummary], now: datetime) -> str:
    """The console rendering of `alerts`."""
    if not rows:
        return "No open incidents."
    lines = []
    for row in rows:
        ack = f"acknowledged by {row.acknowledged_by}" if row.acknowledged_by else "not acknowledged"
        lines.append(
            f"#{row.id} [{row.severity}] {row.cluster}: {row.title} (since {clock_time(row.since)}, {ack})"
            + (f" {row.permalink}" if row.permalink else "")
        )
    return "\n".join(lines)


def confirmation(sentence: str) -> Message:
    """A one-sentence answer to `alerts ack|mute|unmute`; ``sentence`` is already escaped."""
    return sentence, [SectionBlock(text=MarkdownTextObject(text=truncate(sentence, SECTION_LIMIT)))]

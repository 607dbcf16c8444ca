"""Nodes that are not Ready: one node, a node that flaps, most of a zone.

A node's trouble is a *stretch*. It begins when the node is first seen
NotReady (or Unknown) and ends only once the node has stayed Ready for
``recovery_seconds``. A brief Ready inside a stretch does not reset when the
trouble began; when the node goes NotReady again it is a *flap*, counted.
So a node that is NotReady two minutes, Ready two, NotReady two... is seen
for what it is (one flapping node) instead of as many short troubles that
each hide inside the grace period.

What must be remembered between cycles is kept as first-seen marks:

- ``node:NAME``: when the stretch began;
- ``node-ready:NAME``: when the node was first seen Ready again within it;
- ``node-flap:NAME:K``: when it went NotReady again for the K-th time.

Flaps shorter than the check interval are not seen: the checks sample.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.alerts.snapshot import ClusterSnapshot
from bot.alerts.upgrade_checks import nodes_in_upgrade
from bot.analysis.operations import duration
from bot.model.findings import NODES_NOT_READY, ZONE_NOT_READY, Finding
from bot.model.kube import Node
from bot.settings import AlertConfig

AUTOSCALER_DELETE_TAINT = "ToBeDeletedByClusterAutoscaler"
MARK_PREFIXES = ("node:", "node-ready:", "node-flap:")
# A node Ready at the moment is still reported while its stretch lasts once it flapped this often.
FLAPS_TO_HOLD = 1
# Zones this small are judged node by node: one node down is not a zone down.
ZONE_MIN_NODES = 2
LISTED = 10  # node lines shown in one message; the rest are counted

Key = tuple[str, str, str]


@dataclass(frozen=True)
class NodeTrouble:
    """One node's current stretch of trouble."""

    node: Node
    since: datetime  # the stretch began (first seen NotReady, or the condition's own time when earlier)
    flaps: int  # times it went NotReady again within the stretch
    ready_since: datetime | None  # Ready now, since then; None while NotReady
    down_since: datetime  # this NotReady spell began (the last flap, or the stretch)

    @property
    def down(self) -> bool:
        return self.ready_since is None

    @property
    def flapping(self) -> bool:
        return self.flaps > 0


@dataclass(frozen=True)
class NodeVerdict:
    findings: list[Finding]
    held: frozenset[Key]  # trouble seen, not yet past its grace period: not a clean check
    settling: frozenset[Key]  # trouble just cleared, not yet stable: may not resolve yet


def expected_not_ready(node: Node) -> bool:
    """Nodes someone is already taking away: cordoned, being deleted, or marked by the autoscaler."""
    return node.unschedulable or node.deleting or any(t.key == AUTOSCALER_DELETE_TAINT for t in node.taints)


def troubled_nodes(snapshot: ClusterSnapshot) -> list[Node]:
    upgrading = {n.name for n in nodes_in_upgrade(snapshot)}
    return [
        n
        for n in snapshot.nodes
        if n.readiness != "Ready" and not expected_not_ready(n) and n.name not in upgrading
    ]


@dataclass
class _History:
    since: datetime | None = None
    ready: datetime | None = None
    flaps: dict[int, datetime] | None = None


def _histories(marks: Mapping[str, datetime]) -> dict[str, _History]:
    found: dict[str, _History] = {}
    for subject, at in marks.items():
        if subject.startswith("node:"):
            found.setdefault(subject.removeprefix("node:"), _History()).since = at
        elif subject.startswith("node-ready:"):
            found.setdefault(subject.removeprefix("node-ready:"), _History()).ready = at
        elif subject.startswith("node-flap:"):
            name, _, number = subject.removeprefix("node-flap:").rpartition(":")
            if name and number.isdigit():
                history = found.setdefault(name, _History())
                history.flaps = {**(history.flaps or {}), int(number): at}
    return found


def node_marks(snapshot: ClusterSnapshot, marks: Mapping[str, datetime] | None, settings: AlertConfig) -> dict[str, datetime]:
    """The node marks to keep after this snapshot (idempotent: applying it twice changes nothing)."""
    now = snapshot.taken_at
    recovery = timedelta(seconds=settings.recovery_seconds)
    histories = _histories(marks or {})
    troubled = {n.name for n in troubled_nodes(snapshot)}
    present = {n.name for n in snapshot.nodes}
    kept: dict[str, datetime] = {}
    for name in sorted(troubled | set(histories)):
        history = histories.get(name, _History())
        flaps = dict(history.flaps or {})
        if name in troubled:
            kept[f"node:{name}"] = history.since or now
            if history.since is not None and history.ready is not None:  # Ready at the last look: NotReady again
                flaps[max(flaps, default=0) + 1] = now
        else:
            if name not in present or history.since is None:
                continue  # the node is gone, or only stray marks are left
            ready = history.ready or now
            if now - ready >= recovery:
                continue  # stable long enough: the stretch is over
            kept[f"node:{name}"] = history.since
            kept[f"node-ready:{name}"] = ready
        kept.update({f"node-flap:{name}:{k}": at for k, at in flaps.items()})
    return kept


def node_troubles(snapshot: ClusterSnapshot, marks: Mapping[str, datetime] | None, settings: AlertConfig) -> list[NodeTrouble]:
    """Every node in a stretch of trouble: NotReady now, or Ready again but not yet for long."""
    histories = _histories(node_marks(snapshot, marks, settings))
    troubles = []
    for node in snapshot.nodes:
        history = histories.get(node.name)
        if history is None or history.since is None:
            continue
        ready = node.condition("Ready")
        since = history.since
        if history.ready is None and ready is not None and ready.last_transition is not None and not history.flaps:
            since = min(since, ready.last_transition)  # NotReady since before the bot first looked
        flaps = history.flaps or {}
        troubles.append(
            NodeTrouble(
                node=node,
                since=since,
                flaps=len(flaps),
                ready_since=history.ready,
                down_since=flaps[max(flaps)] if flaps else since,
            )
        )
    return troubles


def judge_nodes(snapshot: ClusterSnapshot, marks: Mapping[str, datetime] | None, settings: AlertConfig) -> NodeVerdict:
    grace = timedelta(seconds=settings.notready_grace_seconds)
    now = snapshot.taken_at
    troubles = node_troubles(snapshot, marks, settings)
    overdue = [t for t in troubles if now - t.since >= grace]
    reported = [t for t in overdue if t.down or t.flaps >= FLAPS_TO_HOLD]
    held: set[Key] = set()
    settling: set[Key] = set()
    node_key: Key = (snapshot.cluster, NODES_NOT_READY, "")

    findings: list[Finding] = []
    in_failed_zone: set[str] = set()
    for zone, members in sorted(_by_zone(snapshot.nodes).items()):
        down = [t for t in troubles if t.node.zone == zone and t.down]
        if len(members) < ZONE_MIN_NODES or 2 * len(down) <= len(members):
            continue
        late = [t for t in down if now - t.since >= grace]
        if 2 * len(late) <= len(members):
            held.add((snapshot.cluster, ZONE_NOT_READY, zone))
            continue
        in_failed_zone |= {t.node.name for t in down}
        findings.append(_zone_finding(snapshot, zone, members, down, grace))
    if in_failed_zone:
        held.add(node_key)  # those nodes are told in the zone's incident; the node incident waits, quietly
    reported = [t for t in reported if t.node.name not in in_failed_zone]
    if reported:
        findings.append(_nodes_finding(snapshot, reported, grace))
    if any(t.down and t not in overdue and t.node.name not in in_failed_zone for t in troubles):
        held.add(node_key)
    if any(not t.down and t.flapping and t not in reported for t in troubles):
        settling.add(node_key)  # it flapped: one quiet spell of Ready is not yet a recovery
    return NodeVerdict(findings, frozenset(held), frozenset(settling))


def _by_zone(nodes: Iterable[Node]) -> dict[str, list[Node]]:
    zones: dict[str, list[Node]] = {}
    for node in nodes:
        if node.zone:
            zones.setdefault(node.zone, []).append(node)
    return zones


def _condition_text(node: Node) -> str:
    """"KubeletNotReady: PLEG is not healthy", as the node's Ready condition says it."""
    ready = node.condition("Ready")
    if ready is None:
        return "no Ready condition reported"
    return ": ".join(part for part in (ready.reason, ready.message.strip()) if part)


def _node_line(trouble: NodeTrouble, now: datetime) -> str:
    node = trouble.node
    where = f"{node.name} ({node.zone or 'no zone'}, {node.pool or 'no pool'})"
    if trouble.down:
        spell = now - trouble.down_since
        lasting = f"for {duration(spell)}" if spell >= timedelta(minutes=1) else "again just now"
        # Unknown follows NotReady when the kubelet goes silent: the spell is one, its state the latest.
        line = f"{where}: " + (f"NotReady {lasting}" if node.readiness == "NotReady" else f"Unknown, not Ready {lasting}")
        condition = _condition_text(node)
        if condition:
            line += f" — {condition}"
    else:
        line = f"{where}: Ready again for {duration(now - (trouble.ready_since or now))}"
    if trouble.flapping:
        line += (
            f"; flapping: NotReady {trouble.flaps + 1} times in {duration(now - trouble.since)}"
            f" ({trouble.flaps} flap{'s' if trouble.flaps != 1 else ''})"
        )
    return line


def listed(lines: list[str], limit: int = LISTED) -> list[str]:
    """The first ``limit`` lines, and how many more there are."""
    if len(lines) <= limit:
        return lines
    return [*lines[:limit], f"… and {len(lines) - limit} more"]


def _nodes_finding(snapshot: ClusterSnapshot, reported: list[NodeTrouble], grace: timedelta) -> Finding:
    now = snapshot.taken_at
    reported = sorted(reported, key=lambda t: (not t.flapping, t.since, t.node.name))
    count = len(reported)
    flapping = [t for t in reported if t.flapping]
    nodes = "node" if count == 1 else "nodes"
    if flapping and len(flapping) == count:
        title = (
            f"Node {reported[0].node.name} is flapping between Ready and NotReady"
            if count == 1
            else f"{count} nodes flapping between Ready and NotReady"
        )
    elif flapping:
        title = f"{count} {nodes} NotReady or flapping{_for_more_than(grace)}"
    else:
        title = f"{count} {nodes} NotReady{_for_more_than(grace)}"
        reasons = {_reason(t.node) for t in reported}
        if len(reasons) == 1 and "" not in reasons:
            title += f" ({reasons.pop()})"
    all_down = count == len(snapshot.nodes) and all(t.down for t in reported)
    return Finding(
        kind=NODES_NOT_READY,
        severity="critical" if all_down else "warning",
        cluster=snapshot.cluster,
        title=title,
        detail="\n".join(listed([_node_line(t, now) for t in reported])),
        fix=_fix(reported),
        since=min(t.since for t in reported),
        facts={
            "count": count,
            "nodes": [t.node.name for t in reported],
            "zones": sorted({t.node.zone for t in reported if t.node.zone}),
            "flaps": sum(t.flaps for t in reported),
            "reasons": sorted({_reason(t.node) for t in reported if t.down and _reason(t.node)}),
        },
    )


def _reason(node: Node) -> str:
    ready = node.condition("Ready")
    return ready.reason if ready is not None else ""


def _fix(reported: list[NodeTrouble]) -> str:
    first = reported[0]
    name = first.node.name
    ready = first.node.condition("Ready")
    reason = ready.reason if ready is not None and first.down else ""
    message = (ready.message if ready is not None else "").lower()
    if first.flapping:
        return (
            f"A node that keeps flapping has a kubelet or container runtime that keeps failing, or runs out of memory: "
            f"read `logs node {name} --component kubelet`. If it goes on, cordon and drain it "
            f"(`kubectl drain {name} --ignore-daemonsets`) so GKE's auto-repair recreates the VM."
        )
    if first.node.readiness == "Unknown" or reason == "NodeStatusUnknown":
        return (
            f"The kubelet stopped posting status: the VM may be stopped, preempted or cut off from the control plane. "
            f"Check the VM (`ssh {name}` shows the way in) and read `logs node {name} --component kubelet`; "
            "GKE's auto-repair recreates a node that stays unhealthy."
        )
    if "pleg" in message or "container runtime" in message:
        return (
            f"The container runtime is not answering: read `logs node {name} --component kubelet`; "
            "restarting containerd on the node (or recreating the VM) usually clears it."
        )
    return "Look at the kubelet and kube-proxy logs of the node; SSH in through IAP if they say nothing."


def _zone_finding(
    snapshot: ClusterSnapshot, zone: str, members: list[Node], down: list[NodeTrouble], grace: timedelta
) -> Finding:
    now = snapshot.taken_at
    down = sorted(down, key=lambda t: t.node.name)
    states = sorted({t.node.readiness for t in down})
    state = " or ".join(states)
    everything = len(down) == len(members)
    title = f"Zone {zone}: {'all' if everything else len(down)} of {len(members)} nodes {state}{_for_more_than(grace)}"
    lines = [
        f"{'Every' if everything else 'Most'} node of {zone} is not Ready: the likely cause is the zone "
        "(or its network), not the nodes one by one."
    ]
    lines += listed([_node_line(t, now) for t in down])
    return Finding(
        kind=ZONE_NOT_READY,
        severity="critical",
        cluster=snapshot.cluster,
        title=title,
        detail="\n".join(lines),
        fix=(
            f"Check Google Cloud's status for {zone} and the zone's VMs (`nodes` shows them by zone). Pods on these "
            "nodes are evicted after 5 minutes and must fit in the other zones: watch `pods --pending -A`."
        ),
        scope=zone,
        since=min(t.since for t in down),
        facts={"count": len(down), "total": len(members), "nodes": [t.node.name for t in down], "zones": [zone]},
    )


def _for_more_than(grace: timedelta) -> str:
    """" for more than 5m", or nothing when there is no grace period (a one-off check)."""
    return f" for more than {duration(grace)}" if grace > timedelta(0) else ""

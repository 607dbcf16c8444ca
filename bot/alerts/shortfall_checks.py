"""Node shortfall: pods that cannot be placed, VMs that never became nodes, pools that cannot grow.

Each check waits out its grace period per subject (a pod, a node, a VM), using
the cluster's own timestamps where it has them and the store's first-seen
marks where it does not, so a restart never resets the clock. Nodes that are
not Ready are judged in ``node_checks``.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from bot.alerts.snapshot import ClusterSnapshot
from bot.analysis import unschedulable
from bot.analysis.nodes import registration_by_zone
from bot.analysis.pending import group_pending, pending_reason
from bot.model.findings import (
    AUTOSCALER_AT_MAX,
    PENDING_PODS,
    UNREGISTERED_VMS,
    Finding,
)
from bot.model.gke import region_of
from bot.model.kube import Pod
from bot.settings import AlertConfig

LISTED_GROUPS = 8  # scheduler reasons shown in one message; the rest are counted
LISTED_VMS = 10  # VM names shown per zone; the rest are counted


def _earliest(*moments: datetime | None) -> datetime | None:
    known = [m for m in moments if m is not None]
    return min(known) if known else None


def _minutes(span: timedelta) -> str:
    return f"{int(span.total_seconds() // 60)}m"


def unschedulable_since(pod: Pod) -> datetime | None:
    condition = pod.unschedulable
    if condition is None:
        return None
    return condition.last_transition or pod.created


def overdue_pending(snapshot: ClusterSnapshot, settings: AlertConfig) -> list[Pod]:
    """Pods the scheduler could not place for longer than the grace period."""
    grace = timedelta(seconds=settings.pending_grace_seconds)
    overdue = []
    for pod in snapshot.pending_pods:
        since = unschedulable_since(pod)
        if since is not None and not pod.deleting and snapshot.taken_at - since >= grace:
            overdue.append(pod)
    return overdue


def pending_pods(snapshot: ClusterSnapshot, settings: AlertConfig) -> list[Finding]:
    overdue = overdue_pending(snapshot, settings)
    if not overdue:
        return []
    groups = group_pending(overdue, list(snapshot.events))
    since = min(s for p in overdue if (s := unschedulable_since(p)) is not None)
    lines = []
    for group in groups[:LISTED_GROUPS]:
        line = f"{len(group.pods)} × {group.reason}"
        if group.autoscaler:
            line += f"\n    autoscaler: {group.autoscaler}"
        lines.append(line)
    if len(groups) > LISTED_GROUPS:
        lines.append(f"… and {len(groups) - LISTED_GROUPS} more reasons ({sum(len(g.pods) for g in groups[LISTED_GROUPS:])} pods)")
    count = len(overdue)
    reasons = [g.reason for g in groups]
    # The biggest group names the cause; the fix fits each cause (more room helps only a shortage of room).
    title = f"{count} pod{'s' if count != 1 else ''} unschedulable{_for_more_than(timedelta(seconds=settings.pending_grace_seconds))}"
    title += f": {unschedulable.summary(reasons[0])}"
    return [
        Finding(
            kind=PENDING_PODS,
            severity="warning",
            cluster=snapshot.cluster,
            title=title,
            detail="\n".join(lines),
            fix=" ".join(unschedulable.fixes(reasons)),
            since=since,
            facts={
                "count": count,
                "reasons": reasons,
                "namespaces": sorted({p.namespace for p in overdue}),
                "short_of_room": any(unschedulable.short_of_room(r) for r in reasons),
            },
        )
    ]


def short_of_room(pods: list[Pod]) -> list[Pod]:
    """The pods more nodes could place: the scheduler found too little room, not a mismatch no node can fix."""
    return [p for p in pods if unschedulable.short_of_room(pending_reason(p)[0])]


def unregistered_vms(snapshot: ClusterSnapshot, marks: dict[str, datetime], settings: AlertConfig) -> list[Finding]:
    if snapshot.gke is None:
        return []
    grace = timedelta(seconds=settings.unregistered_grace_seconds)
    now = snapshot.taken_at
    registrations = registration_by_zone(list(snapshot.nodes), list(snapshot.vms), list(snapshot.gke.node_pools))
    by_pool: dict[str, list[tuple[str, str, datetime, int, int]]] = {}
    for reg in registrations:
        for vm in reg.unregistered:
            since = _earliest(vm.created, marks.get(f"vm:{vm.name}")) or now
            if now - since >= grace:
                by_pool.setdefault(reg.pool, []).append((reg.zone, vm.name, since, reg.registered, reg.vms))
    findings = []
    control_zone = "" if snapshot.gke.regional else snapshot.gke.location
    for pool, rows in sorted(by_pool.items()):
        zones = sorted({zone for zone, *_ in rows})
        vms = sorted(name for _, name, *_ in rows)
        per_zone = Counter(zone for zone, *_ in rows)
        lines = []
        for zone in zones:
            registered, total = next((r, t) for z, _, _, r, t in rows if z == zone)
            in_zone = [n for z, n, *_ in rows if z == zone]
            names = ", ".join(in_zone[:LISTED_VMS]) + (f" and {len(in_zone) - LISTED_VMS} more" if len(in_zone) > LISTED_VMS else "")
            lines.append(f"{zone}: {registered} of {total} running VMs registered; never registered: {names}")
        # Commands rather than "the button below": the same text is printed by `check --once`.
        fix = (
            f"Read why it did not register: `logs node {vms[0]} --component kube-proxy` (and `--component kubelet`), "
            f"or get onto it with `ssh {vms[0]}`."
        )
        if control_zone and any(z != control_zone for z in zones):
            lines.append(
                f"The cluster is zonal (control plane in {control_zone}) and the missing nodes are in other zones."
            )
            fix += f" The lasting fix for this shape is a regional cluster (Terraform `location = \"{region_of(control_zone)}\"`); `cluster` says why."
        findings.append(
            Finding(
                kind=UNREGISTERED_VMS,
                severity="critical",
                cluster=snapshot.cluster,
                title=f"{len(vms)} VM{'s' if len(vms) != 1 else ''} of node pool {pool} running but never registered as nodes in {', '.join(zones)}",
                detail="\n".join(lines),
                fix=fix,
                scope=pool,
                since=min(row[2] for row in rows),
                facts={"count": len(vms), "zones": zones, "vms": vms, "per_zone": dict(per_zone)},
            )
        )
    return findings


def autoscaler_at_max(snapshot: ClusterSnapshot, settings: AlertConfig) -> list[Finding]:
    """Pools at their autoscaling maximum while pods wait for room (pods no new node could take do not count)."""
    waiting = short_of_room(overdue_pending(snapshot, settings))
    if snapshot.gke is None or not waiting:
        return []
    waiting_since = min((s for p in waiting if (s := unschedulable_since(p)) is not None), default=snapshot.taken_at)
    findings = []
    registrations = registration_by_zone(list(snapshot.nodes), list(snapshot.vms), list(snapshot.gke.node_pools))
    for pool in snapshot.gke.node_pools:
        limit = pool.max_nodes()
        if limit is None:
            continue
        vms = sum(r.vms + len(r.changing) for r in registrations if r.pool == pool.name)
        size = vms or sum(1 for n in snapshot.nodes if n.pool == pool.name)
        if size < limit:
            continue
        nodes = sum(1 for n in snapshot.nodes if n.pool == pool.name)
        findings.append(
            Finding(
                kind=AUTOSCALER_AT_MAX,
                severity="warning",
                cluster=snapshot.cluster,
                title=f"Node pool {pool.name} is at its autoscaling maximum ({limit}) while pods wait",
                detail=f"{size} VMs ({nodes} registered as nodes) of at most {limit}.",
                fix="Raise the pool's maximum, or find out why its VMs do not become nodes.",
                scope=pool.name,
                since=waiting_since,
                facts={"size": size, "max": limit},
            )
        )
    return findings


def trouble_subjects(snapshot: ClusterSnapshot) -> list[str]:
    """Subjects whose first-seen time the store should remember this cycle (nodes: ``node_checks``)."""
    subjects: list[str] = []
    if snapshot.gke is not None and snapshot.vms_known:
        registrations = registration_by_zone(list(snapshot.nodes), list(snapshot.vms), list(snapshot.gke.node_pools))
        subjects += [f"vm:{vm.name}" for reg in registrations for vm in reg.unregistered]
    return subjects


def _for_more_than(grace: timedelta) -> str:
    """" for more than 5m", or nothing when there is no grace period (a one-off check)."""
    return f" for more than {_minutes(grace)}" if grace > timedelta(0) else ""

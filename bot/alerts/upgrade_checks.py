"""Control-plane and node-pool upgrades, and a control plane that does not answer.

On a zonal cluster a master upgrade takes the only control plane away: the
Kubernetes API answers 503 until it is done. That is the finding, not the
503s, so an unreachable API explained by such an upgrade is folded into the
upgrade incident instead of raising a second, vaguer one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.alerts.snapshot import ClusterSnapshot
from bot.analysis.operations import (
    duration,
    explain_unreachable,
    progress_percent,
    regional_fix,
    target_version,
)
from bot.model.findings import (
    CONTROL_PLANE_UNREACHABLE,
    MASTER_UPGRADE,
    NODE_POOL_UPGRADE,
    Finding,
    Severity,
)
from bot.model.gke import Operation
from bot.model.kube import Node, Pod
from bot.settings import AlertConfig

DONE_VISIBLE_FOR = timedelta(minutes=10)  # a finished upgrade is reported once, then resolves
FAILED_VISIBLE_FOR = timedelta(hours=24)
STALL_AFTER = timedelta(minutes=30)
LONG_GRACE_SECONDS = 600


def at_version(node: Node, target: str) -> bool:
    """Kubelets report ``v1.31.1-gke.1``, GKE says ``1.31.1-gke.1``."""
    return bool(target) and node.kubelet_version.lstrip("v") == target.lstrip("v")


def failed(op: Operation) -> bool:
    return bool(op.error) or op.status == "ABORTING"


def zonal_master_upgrade(snapshot: ClusterSnapshot) -> Operation | None:
    """The running master upgrade that makes a zonal cluster's API unavailable, if any."""
    if snapshot.gke is None or snapshot.gke.regional:
        return None
    running = snapshot.running_operations("UPGRADE_MASTER")
    return running[0] if running else None


def master_upgrade(snapshot: ClusterSnapshot) -> list[Finding]:
    gke = snapshot.gke
    if gke is None:
        return []
    now = snapshot.taken_at
    ops = [op for op in snapshot.operations if op.type == "UPGRADE_MASTER" and _visible(op, now)]
    if not ops:
        return []
    op = ops[0]  # newest first
    status = "FAILED" if failed(op) else op.status
    to = target_version(op)
    versions = f"{gke.master_version} → {to}" if to and to != gke.master_version else (to or gke.master_version)
    started = op.started or now
    took = duration((op.ended or now) - started)
    percent = progress_percent(op)
    lines = [f"Control-plane upgrade {versions}: {status.lower()}" + (f", {percent}%" if percent is not None else "")]
    lines.append(f"Started {started.strftime('%H:%M UTC')}, {'took' if op.ended else 'running for'} {took}.")
    if op.running:
        if gke.regional:
            lines.append("The cluster is regional: the Kubernetes API stays available during the upgrade.")
        else:
            lines.append(
                f"The cluster is zonal (one control plane in {gke.location}): the Kubernetes API is unavailable "
                "until the upgrade finishes, so kubectl, deploys and the autoscaler wait, and the bot's other checks pause."
            )
            if not snapshot.reachable:
                lines.append(f"The API answers: {snapshot.kube_error}")
    if op.error:
        lines.append(f"Error: {op.error}")
    severity: Severity = "critical" if failed(op) else ("warning" if op.running and not gke.regional else "info")
    title = {
        "FAILED": f"Control-plane upgrade to {to or 'a new version'} failed",
        "DONE": f"Control-plane upgrade to {to or 'a new version'} finished after {took}",
    }.get(status, f"Control-plane upgrade to {to or 'a new version'} is {status.lower()}")
    if op.running and not gke.regional:
        title += ": the Kubernetes API is down meanwhile (zonal cluster)"
    return [
        Finding(
            kind=MASTER_UPGRADE,
            severity=severity,
            cluster=snapshot.cluster,
            title=title,
            detail="\n".join(lines),
            fix="" if gke.regional else regional_fix(gke),
            scope=op.name,
            since=started,
            facts={
                "status": status,
                "from": gke.master_version,
                "to": to,
                "progress": f"{percent // 25 * 25}%" if percent is not None else None,  # news in 25% steps
                "api": "available" if snapshot.reachable else "unavailable",
                "final": status == "DONE",  # a finished upgrade resolves its incident at once
                "zonal": not gke.regional,
            },
        )
    ]


def _visible(op: Operation, now: datetime) -> bool:
    if op.running:
        return True
    if op.ended is None:
        return False
    return now - op.ended <= (FAILED_VISIBLE_FOR if failed(op) else DONE_VISIBLE_FOR)


def upgrading_pools(snapshot: ClusterSnapshot) -> set[str]:
    return {op.node_pool for op in snapshot.running_operations("UPGRADE_NODES") if op.node_pool}


def node_pool_upgrades(snapshot: ClusterSnapshot, marks: dict[str, datetime]) -> list[Finding]:
    gke = snapshot.gke
    if gke is None:
        return []
    findings = []
    now = snapshot.taken_at
    for op in snapshot.running_operations("UPGRADE_NODES"):
        pool = next((p for p in gke.node_pools if p.name == op.node_pool), None)
        target = target_version(op) or (pool.version if pool else "")
        nodes = [n for n in snapshot.nodes if n.pool == op.node_pool]
        done = sum(1 for n in nodes if at_version(n, target))
        in_flight = sorted(n.name for n in nodes if n.unschedulable or n.readiness != "Ready")
        percent = progress_percent(op)
        if percent is None and nodes:
            percent = int(100 * done / len(nodes))
        step_since = marks.get(f"progress:{op.name}:{done}", now)
        stalled = now - step_since >= STALL_AFTER
        lines = [f"{done} of {len(nodes)} nodes at {target or 'the target version'}."]
        if in_flight:
            lines.append(f"Being replaced now (expected to be cordoned or NotReady): {', '.join(in_flight[:10])}")
        blockers = upgrade_blockers(snapshot, op.node_pool) if stalled else []
        if stalled:
            lines.append(f"No progress for {duration(now - step_since)}.")
            lines.extend(f"Blocker: {b}" for b in blockers)
        findings.append(
            Finding(
                kind=NODE_POOL_UPGRADE,
                severity="warning" if stalled else "info",
                cluster=snapshot.cluster,
                title=f"Node pool {op.node_pool} upgrading to {target or 'a new version'}: {done}/{len(nodes)} nodes"
                + (" (stalled)" if stalled else ""),
                detail="\n".join(lines),
                fix="Relax the blocking disruption budgets or move the bare pods." if blockers else "",
                scope=op.node_pool,
                since=op.started or now,
                facts={
                    "status": "STALLED" if stalled else op.status,
                    "progress": f"{percent // 25 * 25}%" if percent is not None else None,  # news in 25% steps
                    "nodes_done": done,
                    "nodes": in_flight,
                    "blockers": blockers,
                },
            )
        )
    return findings


def progress_subjects(snapshot: ClusterSnapshot) -> list[str]:
    """Mark subjects that remember when each upgrade last made progress."""
    subjects = []
    for op in snapshot.running_operations("UPGRADE_NODES"):
        target = target_version(op)
        pool = next((p for p in (snapshot.gke.node_pools if snapshot.gke else ()) if p.name == op.node_pool), None)
        target = target or (pool.version if pool else "")
        done = sum(1 for n in snapshot.nodes if n.pool == op.node_pool and at_version(n, target))
        subjects.append(f"progress:{op.name}:{done}")
    return subjects


def upgrade_blockers(snapshot: ClusterSnapshot, pool: str) -> list[str]:
    """What keeps nodes from draining: budgets allowing no disruption, bare pods, long grace periods."""
    blockers = [
        f"PodDisruptionBudget {b.namespace}/{b.name} allows 0 disruptions ({b.current_healthy}/{b.expected_pods} healthy)"
        for b in snapshot.disruption_budgets
        if b.disruptions_allowed == 0
    ]
    draining_nodes = {n.name for n in snapshot.nodes if n.pool == pool and n.unschedulable}
    pods: list[Pod] = [p for p in snapshot.draining_pods if p.node_name in draining_nodes]
    blockers += [f"bare pod {p.key} (no controller recreates it)" for p in pods if not p.owner_kind]
    blockers += [
        f"pod {p.key} has terminationGracePeriodSeconds {p.termination_grace_seconds}"
        for p in pods
        if p.termination_grace_seconds > LONG_GRACE_SECONDS
    ]
    return blockers[:10]


def nodes_in_upgrade(snapshot: ClusterSnapshot) -> list[Node]:
    pools = upgrading_pools(snapshot)
    return [n for n in snapshot.nodes if n.pool in pools]


def control_plane_unreachable(snapshot: ClusterSnapshot, marks: dict[str, datetime], settings: AlertConfig) -> list[Finding]:
    if snapshot.reachable or zonal_master_upgrade(snapshot) is not None:
        return []
    since = marks.get("unreachable", snapshot.taken_at)
    if snapshot.taken_at - since < timedelta(seconds=settings.interval_seconds):
        return []  # one failed cycle is a blip; two in a row is an outage
    if not snapshot.is_gke or not snapshot.gke_known:
        why = "Nothing else is known (no GKE view of this cluster)."
    else:
        why = explain_unreachable(snapshot.gke, snapshot.operations, snapshot.taken_at) or "GKE reports no operation that explains it."
    return [
        Finding(
            kind=CONTROL_PLANE_UNREACHABLE,
            severity="critical",
            cluster=snapshot.cluster,
            title=f"Kubernetes API unreachable for {duration(snapshot.taken_at - since)}",
            detail=f"{snapshot.kube_error}\n{why}",
            since=since,
            facts={"reason": why},
        )
    ]

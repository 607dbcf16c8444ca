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
from bot.model.kube import DisruptionBudget, Node, Pod
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


def state_of(op: Operation) -> str:
    """RUNNING, DONE, FAILED (DONE with an error) or ROLLING BACK (GKE's ABORTING), as people say it."""
    if op.status == "ABORTING":
        return "ROLLING BACK"
    if op.error and not op.running:
        return "FAILED"
    return op.status


def what_gke_said(op: Operation) -> list[str]:
    """GKE's error and its status message, each once (they are often the same sentence)."""
    lines = []
    if op.error:
        lines.append(f"GKE's error: {op.error}")
    if op.status_message and op.status_message.strip() != op.error.strip():
        lines.append(f"GKE's status message: {op.status_message}")
    return lines


def _progress(percent: int | None) -> str | None:
    """The percentage exactly as GKE reports it: the parent and the thread say the same number."""
    return f"{percent}%" if percent is not None else None


def master_upgrade(snapshot: ClusterSnapshot) -> list[Finding]:
    gke = snapshot.gke
    if gke is None:
        return []
    now = snapshot.taken_at
    ops = [op for op in snapshot.operations if op.type == "UPGRADE_MASTER" and _visible(op, now)]
    if not ops:
        return []
    op = ops[0]  # newest first
    status = state_of(op)
    to = target_version(op)
    target = to or "a new version"
    versions = f"{gke.master_version} → {to}" if to and to != gke.master_version else (to or gke.master_version)
    started = op.started or now
    took = duration((op.ended or now) - started)
    percent = progress_percent(op)
    lines = [f"Control-plane upgrade {versions}: {status.lower()}" + (f", {percent}%" if percent is not None else "")]
    lines.append(f"Started {started.strftime('%H:%M UTC')}, {'took' if op.ended else 'running for'} {took}.")
    lines += what_gke_said(op)
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
    broken = failed(op)
    severity: Severity = "critical" if broken else ("warning" if op.running and not gke.regional else "info")
    title = {
        "FAILED": f"Control-plane upgrade to {target} failed",
        "ROLLING BACK": f"Control-plane upgrade to {target} failed: GKE is rolling it back",
        "DONE": f"Control-plane upgrade to {target} finished after {took}",
    }.get(status, f"Control-plane upgrade to {target} is {status.lower()}")
    if op.running and not gke.regional:
        title += ": the Kubernetes API is down meanwhile (zonal cluster)"
    if broken:
        fix = _failed_upgrade_fix(op, gke.name, gke.master_version, to, rolling_back=status == "ROLLING BACK")
    else:
        fix = "" if gke.regional else regional_fix(gke)
    return [
        Finding(
            kind=MASTER_UPGRADE,
            severity=severity,
            cluster=snapshot.cluster,
            title=title,
            detail="\n".join(lines),
            fix=fix,
            scope=op.name,
            since=started,
            facts={
                "status": status,
                "from": gke.master_version,
                "to": to,
                "progress": _progress(percent),
                "api": "available" if snapshot.reachable else "unavailable",
                "final": status == "DONE",  # a finished upgrade resolves its incident at once
                "once": status == "FAILED",  # a failure stays until someone resolves it, and then stays resolved
                "zonal": not gke.regional,
            },
        )
    ]


def _failed_upgrade_fix(op: Operation, cluster: str, current: str, to: str, *, rolling_back: bool) -> str:
    """What to do about an upgrade that failed: what GKE said, then try again once that is fixed."""
    where = f"--location {op.location}" if op.location else ""
    kept = f" (it keeps {current})" if current else ""
    first = (
        f"GKE is rolling the control plane back{kept}; wait for the rollback to end before anything else. "
        if rolling_back
        else f"The control plane stays on its version{kept}. "
    )
    again = f"--cluster-version {to} " if to else ""
    return (
        first
        + f"Fix what GKE's error names (read the whole operation: `gcloud container operations describe {op.name} {where}`), "
        + f"then start the upgrade again: `gcloud container clusters upgrade {cluster} --master {again}{where}`. "
        + "If it fails the same way, open a case with Google Cloud support quoting the operation."
    ).replace("  ", " ")


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
    newest: dict[str, Operation] = {}
    for op in snapshot.operations:  # newest first: one operation per pool, the latest
        if op.type == "UPGRADE_NODES" and op.node_pool and _visible(op, now):
            newest.setdefault(op.node_pool, op)
    for op in newest.values():
        pool = next((p for p in gke.node_pools if p.name == op.node_pool), None)
        target = target_version(op) or (pool.version if pool else "")
        nodes = [n for n in snapshot.nodes if n.pool == op.node_pool]
        done = sum(1 for n in nodes if at_version(n, target))
        status = state_of(op)
        percent = progress_percent(op)
        if percent is None and nodes and op.running:
            percent = int(100 * done / len(nodes))
        started = op.started or now
        if not op.running:
            findings.append(_finished_pool_upgrade(snapshot, op, status, target, percent, started))
            continue
        in_flight = sorted(n.name for n in nodes if n.unschedulable or n.readiness != "Ready")
        step_since = marks.get(f"progress:{op.name}:{done}", now)
        stalled = status == "RUNNING" and now - step_since >= STALL_AFTER
        lines = [f"{done} of {len(nodes)} nodes at {target or 'the target version'}."]
        if percent is not None:
            lines[0] += f" GKE reports {percent}% done."
        if in_flight:
            shown = ", ".join(in_flight[:10]) + (f" and {len(in_flight) - 10} more" if len(in_flight) > 10 else "")
            lines.append(f"Being replaced now (expected to be cordoned or NotReady): {shown}")
        lines += what_gke_said(op)
        blockers = upgrade_blockers(snapshot, op.node_pool) if stalled else []
        if stalled:
            lines.append(f"No progress for {duration(now - step_since)}.")
            lines.extend(f"Blocker: {b}" for b in blockers[:10])
            if len(blockers) > 10:
                lines.append(f"… and {len(blockers) - 10} more blockers")
        rolling_back = status == "ROLLING BACK"
        findings.append(
            Finding(
                kind=NODE_POOL_UPGRADE,
                severity="critical" if rolling_back else ("warning" if stalled else "info"),
                cluster=snapshot.cluster,
                title=f"Node pool {op.node_pool} upgrading to {target or 'a new version'}: {done}/{len(nodes)} nodes"
                + (" (stalled)" if stalled else "")
                + (": failed, GKE is rolling it back" if rolling_back else ""),
                detail="\n".join(lines),
                fix=_unblock(blockers),
                scope=op.node_pool,
                since=started,
                facts={
                    "status": "STALLED" if stalled else status,
                    "progress": _progress(percent),
                    "nodes_done": done,
                    "nodes": in_flight,
                    "blockers": blockers[:10],
                },
            )
        )
    return findings


def _finished_pool_upgrade(
    snapshot: ClusterSnapshot, op: Operation, status: str, target: str, percent: int | None, started: datetime
) -> Finding:
    """An upgrade of a node pool that GKE ended: finished (the incident ends with it) or failed (it stays)."""
    took = duration((op.ended or snapshot.taken_at) - started)
    version = target or "a new version"
    lines = [f"Node-pool upgrade to {version}: {status.lower()}" + (f", {percent}%" if percent is not None else "")]
    lines.append(f"Started {started.strftime('%H:%M UTC')}, took {took}.")
    lines += what_gke_said(op)
    broken = status == "FAILED"
    return Finding(
        kind=NODE_POOL_UPGRADE,
        severity="critical" if broken else "info",
        cluster=snapshot.cluster,
        title=f"Node pool {op.node_pool} upgrade to {version} " + (f"failed after {took}" if broken else f"finished after {took}"),
        detail="\n".join(lines),
        fix=(
            f"Fix what GKE's error names (`gcloud container operations describe {op.name} --location {op.location}`), "
            f"then upgrade the pool again: `gcloud container node-pools upgrade {op.node_pool} --cluster {snapshot.gke.name if snapshot.gke else snapshot.cluster} --location {op.location}`."
            if broken
            else ""
        ),
        scope=op.node_pool,
        since=started,
        facts={"status": status, "progress": _progress(percent), "final": not broken, "once": broken},
    )


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


def covers(budget: DisruptionBudget, pod: Pod) -> bool:
    """Whether the budget counts the pod: its namespace, and every label of its selector."""
    return pod.namespace == budget.namespace and all(pod.labels.get(k) == v for k, v in budget.match_labels.items())


def upgrade_blockers(snapshot: ClusterSnapshot, pool: str) -> list[str]:
    """What keeps the pool's cordoned nodes from draining: budgets allowing no disruption, bare pods, long grace periods.

    A budget blocks only when it covers a pod still on a node being drained: one at zero disruptions
    elsewhere (another pool, a node not reached yet) holds nothing up now, and naming it would send
    people to relax the wrong budget. Without the pods of the draining nodes (none read), every
    budget at zero is named, as a budget that may be the one.
    """
    draining_nodes = {n.name for n in snapshot.nodes if n.pool == pool and n.unschedulable}
    pods: list[Pod] = [p for p in snapshot.draining_pods if p.node_name in draining_nodes]
    movable = [p for p in pods if p.owner_kind not in ("DaemonSet", "Node")]
    blockers: list[str] = []
    for budget in snapshot.disruption_budgets:
        if budget.disruptions_allowed != 0:
            continue
        held = [p for p in movable if covers(budget, p)]
        if pods and not held:
            continue
        line = (
            f"PodDisruptionBudget {budget.namespace}/{budget.name} allows 0 disruptions "
            f"({budget.current_healthy}/{budget.expected_pods} healthy)"
        )
        if held:
            line += f", holding {_listed([p.key for p in held], 3)} on {_listed(sorted({p.node_name for p in held}), 3)}"
        blockers.append(line)
    blockers += [f"bare pod {p.key} (no controller recreates it)" for p in pods if not p.owner_kind]
    blockers += [
        f"pod {p.key} has terminationGracePeriodSeconds {p.termination_grace_seconds}"
        for p in pods
        if p.termination_grace_seconds > LONG_GRACE_SECONDS
    ]
    return blockers


def _unblock(blockers: list[str]) -> str:
    """What lets the drain go on, for the blockers named: GKE keeps retrying the evictions meanwhile."""
    budgets = [b.split(" allows", 1)[0].removeprefix("PodDisruptionBudget ") for b in blockers if b.startswith("PodDisruptionBudget")]
    steps = []
    if budgets:
        steps.append(
            f"Let one pod go: relax PodDisruptionBudget {_listed(budgets, 3)} (a lower minAvailable or a higher "
            "maxUnavailable), or give its workload one more replica than the budget needs"
        )
    if any(b.startswith("bare pod") for b in blockers):
        steps.append("move or delete the bare pods (nothing recreates them, so the drain will not evict them)")
    if any("terminationGracePeriodSeconds" in b for b in blockers):
        steps.append("expect the pods with a long termination grace period to take that long")
    if not steps:
        return ""
    return "; ".join(steps) + ". GKE retries the drain and the upgrade goes on by itself."


def _listed(names: list[str], limit: int) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


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

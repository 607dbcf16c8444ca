"""`cluster`: the GKE configuration behind availability: location type, versions, pools, operations, findings."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from bot.analysis.cluster_config import config_findings
from bot.blocks import (
    MessageBuilder,
    Reply,
    age,
    code,
    columns,
    escape,
    fallback_text,
    plural,
)
from bot.commands.registry import CommandContext, CommandSet, ParsedArgs
from bot.errors import ChatOpsError, NotConfigured
from bot.model.findings import Finding
from bot.model.gke import GkeCluster, NodePool, Operation

commands = CommandSet()


@dataclass(frozen=True)
class PoolRow:
    pool: NodePool
    registered: int | None  # nodes carrying the pool's label; None when the Kubernetes API did not answer


@dataclass(frozen=True)
class ClusterResult:
    cluster: str
    now: datetime
    gke: GkeCluster
    pools: tuple[PoolRow, ...]
    operations: tuple[Operation, ...]  # running first, then the recent ones
    findings: tuple[Finding, ...]
    kube_error: str = ""  # why node counts are missing (the API is down during a zonal upgrade)


MAX_DONE_OPERATIONS = 5


@commands.command(
    "cluster",
    "GKE configuration: zonal or regional, versions, release channel, maintenance window, node pools, operations, findings",
    examples=("cluster", "cluster --cluster prod"),
)
def cluster(context: CommandContext, args: ParsedArgs) -> Reply:
    handle = context.handle
    if handle.gke is None:
        raise NotConfigured(
            f"`{handle.name}` is not configured as a GKE cluster; add `gke:` (project, location, cluster) "
            "to its configuration to see its location type, versions and operations."
        )
    gke = handle.gke_cluster()
    operations = handle.gke.list_operations()
    running = [op for op in operations if op.running]
    done = [op for op in operations if not op.running][:MAX_DONE_OPERATIONS]
    kube_error = ""
    per_pool: Counter[str] | None
    try:
        view = context.handle.watched()
        per_pool = Counter(n.pool for n in (view.nodes if view is not None else handle.kube.list_nodes()))
    except ChatOpsError as exc:
        per_pool = None
        kube_error = str(exc)
    result = ClusterResult(
        cluster=handle.name,
        now=context.clock.now(),
        gke=gke,
        pools=tuple(PoolRow(p, per_pool[p.name] if per_pool is not None else None) for p in gke.node_pools),
        operations=tuple(running + done),
        findings=tuple(config_findings(gke, handle.name)),
        kube_error=kube_error,
    )
    return render_cluster(result)


_SEVERITY_ICON = {"critical": ":red_circle:", "warning": ":warning:", "info": ":information_source:"}


def render_cluster(result: ClusterResult) -> Reply:
    g = result.gke
    out = MessageBuilder()
    out.header(f"Cluster {result.cluster} ({g.name}, {g.location_type})")
    out.section(
        "",
        fields=[
            f"*Location*\n{escape(g.location)} ({g.location_type})",
            f"*Status*\n{escape(g.status)}" + (f": {escape(g.status_message)}" if g.status_message else ""),
            f"*Control plane*\n{code(g.master_version)}",
            f"*Nodes*\n{code(g.node_version)}",
            f"*Release channel*\n{escape(g.release_channel or 'none')}",
            f"*Maintenance window*\n{escape(g.maintenance_window or 'none')}",
            f"*Node zones*\n{escape(', '.join(g.locations))}",
            f"*Project*\n{escape(g.project)}",
        ],
    )
    if result.kube_error:
        out.context(f":electric_plug: Kubernetes API: {escape(result.kube_error)}")
    running = [op for op in result.operations if op.running]
    if running:
        out.section("*Running operations*\n" + "\n".join(_operation_mrkdwn(op, result) for op in running))
        if not g.regional and any(op.type == "UPGRADE_MASTER" for op in running):
            out.section(":rotating_light: *The control plane is being upgraded on a zonal cluster: the Kubernetes API is unavailable until it finishes.*")
    out.divider()
    out.lines([_pool_mrkdwn(row) for row in result.pools], noun="node pools", reserve=6 + len(result.findings))
    for finding in result.findings:
        out.section(_finding_mrkdwn(finding))
    if not result.findings:
        out.context(":white_check_mark: No findings: nothing in this cluster's configuration needs fixing.")
    done = [op for op in result.operations if not op.running]
    if done:
        out.context("Recent operations: " + " · ".join(_operation_mrkdwn(op, result) for op in done))
    summary = f"{result.cluster} is {g.location_type} ({g.location}), control plane {g.master_version}; {plural(len(result.findings), 'finding')}"
    return Reply(text=fallback_text(escape(summary)), blocks=out.build(), plain=_plain(result))


def _autoscaling(pool: NodePool) -> str:
    a = pool.autoscaling
    if not a.enabled:
        return "autoscaling off"
    if a.total_max is not None:
        return f"autoscaling {a.total_min or 0}-{a.total_max} in total"
    return f"autoscaling {a.min_nodes}-{a.max_nodes} per zone"


def _pool_mrkdwn(row: PoolRow) -> str:
    p = row.pool
    size = "nodes unknown" if row.registered is None else f"{row.registered} nodes registered"
    return (
        f"• {code(p.name)} {escape(p.machine_type)} · {code(p.version)} · {escape(p.status)} · "
        f"zones {escape(', '.join(p.locations))} · {_autoscaling(p)} · {size}"
    )


def _progress(op: Operation) -> str:
    if not op.progress:
        return ""
    return " (" + ", ".join(f"{k} {v}" for k, v in sorted(op.progress.items())) + ")"


def _operation_mrkdwn(op: Operation, result: ClusterResult) -> str:
    when = f"started {age(op.started, result.now)} ago" if op.running else f"{op.status.lower()}"
    error = f": {escape(op.error)}" if op.error else ""
    return f"{code(op.type)} on {escape(op.target)} {when}{escape(_progress(op))}{error}"


def _finding_mrkdwn(f: Finding) -> str:
    text = f"{_SEVERITY_ICON.get(f.severity, '')} *{escape(f.title)}*"
    if f.detail:
        text += f"\n{escape(f.detail)}"
    if f.fix:
        text += f"\n*Fix:* {escape(f.fix)}"
    return text


def _plain(result: ClusterResult) -> str:
    g = result.gke
    lines = [
        f"Cluster {result.cluster} ({g.name} in {g.project})",
        f"  location:            {g.location} ({g.location_type})",
        f"  status:              {g.status}{': ' + g.status_message if g.status_message else ''}",
        f"  control plane:       {g.master_version}",
        f"  nodes:               {g.node_version}",
        f"  release channel:     {g.release_channel or 'none'}",
        f"  maintenance window:  {g.maintenance_window or 'none'}",
    ]
    if result.kube_error:
        lines.append(f"  Kubernetes API:      {result.kube_error}")
    lines += ["", "Node pools:"]
    lines.append(
        columns(
            ("POOL", "VERSION", "ZONES", "AUTOSCALING", "NODES"),
            [
                (r.pool.name, r.pool.version, ",".join(r.pool.locations), _autoscaling(r.pool), "?" if r.registered is None else str(r.registered))
                for r in result.pools
            ],
        )
    )
    if result.operations:
        lines += ["", "Operations:"]
        lines.append(
            columns(
                ("TYPE", "STATUS", "TARGET", "STARTED", "PROGRESS"),
                [(o.type, o.status, o.target, age(o.started, result.now) + " ago", _progress(o).strip(" ()")) for o in result.operations],
            )
        )
    for f in result.findings:
        lines += ["", f"[{f.severity}] {f.title}"]
        if f.detail:
            lines.append(f"  {f.detail}")
        if f.fix:
            lines.append(f"  Fix: {f.fix}")
    return "\n".join(lines)

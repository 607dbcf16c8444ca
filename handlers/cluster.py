"""`cluster`: the GKE configuration behind availability: location type, versions, pools, operations, findings."""

from __future__ import annotations

from collections import Counter

from bot.analysis.cluster_config import config_findings
from bot.commands.context import CommandContext
from bot.commands.registry import ParsedArgs, command
from bot.commands.reply import Reply
from bot.errors import ChatOpsError, NotConfigured
from bot.render.cluster import render_cluster
from bot.results.cluster import ClusterResult, PoolRow
from handlers.common import watched

MAX_DONE_OPERATIONS = 5


@command(
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
    gke = handle.gke.get_cluster()
    operations = handle.gke.list_operations()
    running = [op for op in operations if op.running]
    done = [op for op in operations if not op.running][:MAX_DONE_OPERATIONS]
    kube_error = ""
    per_pool: Counter[str] | None
    try:
        view = watched(context)
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

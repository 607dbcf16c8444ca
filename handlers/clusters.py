"""`clusters`: every configured cluster, reachable or not and why."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bot.clusters import ClusterHandle
from bot.commands.context import CommandContext
from bot.commands.registry import ParsedArgs, command
from bot.commands.reply import Reply
from bot.clock import Clock
from bot.commands.explain import explained
from bot.errors import ChatOpsError, Unreachable
from bot.render.clusters import render_clusters
from bot.results.clusters import ClustersResult, ClusterStatus


def _status(handle: ClusterHandle, clock: Clock) -> ClusterStatus:
    """One probe per cluster; the reader applies the cluster's own request timeout."""
    gke = handle.config.gke
    location = gke.location if gke else ""
    base = dict(
        name=handle.name,
        gke=gke is not None,
        location=location,
        location_type=("regional" if location.count("-") == 1 else "zonal") if gke else "",
        cloud_logging=handle.logs is not None,
    )
    try:
        return ClusterStatus(reachable=True, version=handle.kube.server_version(), **base)
    except Unreachable as exc:
        return ClusterStatus(reachable=False, reason=str(explained(exc, handle, clock)), **base)
    except ChatOpsError as exc:
        return ClusterStatus(reachable=False, reason=str(exc), **base)
    except Exception as exc:  # a probe must never break the whole list
        return ClusterStatus(reachable=False, reason=f"unexpected error: {type(exc).__name__}", **base)


@command("clusters", "Configured clusters, reachable or not and why", needs_cluster=False, examples=("clusters",))
def clusters(context: CommandContext, args: ParsedArgs) -> Reply:
    handles = list(context.clusters)
    # Probes run side by side so one unreachable cluster costs its timeout once, not once per cluster.
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(handles)))) as pool:
        statuses = tuple(pool.map(lambda handle: _status(handle, context.clock), handles))
    return render_clusters(ClustersResult(statuses))

"""What several command handlers need: log links, pool VMs, SSH hints, common flags.

These are thin: each reads from a source and hands the snapshot to an
analysis function or a result; no decisions are made here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.analysis.ssh import SshHint, ssh_hint
from bot.clusters import ClusterHandle
from bot.commands.registry import CommandContext, Flag, ParsedArgs
from bot.commands.validate import duration, free_text, namespace, positive_int, severity
from bot.errors import BadInput, NotConfigured, NotFound
from bot.model.gke import GkeCluster, ManagedVm
from bot.model.kube import Node
from bot.sources.contracts import LogQuery
from bot.sources.google.compute_parse import pools_by_group


@dataclass(frozen=True)
class LogLink:
    """A Logs Explorer link for one component of one node (or a pod, or the autoscaler)."""

    label: str
    url: str


NODE_COMPONENTS = ("kubelet", "kube-proxy", "container-runtime", "node-problem-detector")
LINK_COMPONENTS = ("kubelet", "kube-proxy", "container-runtime")
LINK_WINDOW = timedelta(hours=1)
MAX_LOG_LINES = 500

SINCE_FLAG = Flag("--since", metavar="DURATION", help="How far back: 15m, 1h, 2d (default 1h)", default=timedelta(hours=1), parse=duration)
SEVERITY_FLAG = Flag("--severity", metavar="LEVEL", help="At least this severity: info, warning, error, ...", parse=severity)
GREP_FLAG = Flag("--grep", metavar="TEXT", help="Only lines containing TEXT (quote it if it has spaces)", parse=free_text)
LIMIT_FLAG = Flag(
    "--limit",
    metavar="N",
    help=f"At most N lines, 1 to {MAX_LOG_LINES} (default 50)",
    default=50,
    parse=lambda v: positive_int(v, maximum=MAX_LOG_LINES),
)


NAMESPACE_FLAG = Flag("--namespace", "-n", metavar="NS", help="Only this namespace (default: all)", parse=namespace)
ALL_NAMESPACES_FLAG = Flag("--all-namespaces", "-A", takes_value=False, help="All namespaces (the default)")


def chosen_namespace(args: ParsedArgs) -> str | None:
    """The namespace of ``-n``, or None for all; ``-n`` with ``-A`` is a contradiction, said so."""
    if args.get("namespace") and args.get("all_namespaces"):
        raise BadInput("Use either `-n NAMESPACE` or `-A`, not both.")
    ns: str | None = args.get("namespace")
    return ns


def require_namespace(handle: ClusterHandle, ns: str | None) -> None:
    """An empty answer for ``-n NS`` must not hide a typo: say when the namespace does not exist."""
    if ns and not handle.kube.namespace_exists(ns):
        raise NotFound(f"Namespace `{ns}` does not exist in cluster {handle.name}.")


def span(delta: timedelta) -> str:
    """A look-back window as people write it: 90s, 15m, 1h, 2h30m, 2d."""
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{value}{unit}" for value, unit in ((days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")) if value]
    return "".join(parts[:2]) or "0s"


def node_log_links(handle: ClusterHandle, name: str, context: CommandContext) -> tuple[LogLink, ...]:
    if handle.logs is None:
        return ()
    since = context.clock.now() - LINK_WINDOW
    return tuple(
        LogLink(label=component, url=handle.logs.explorer_url(LogQuery(target="node", since=since, node=name, component=component)))
        for component in LINK_COMPONENTS
    )


def gke_cluster_or_none(handle: ClusterHandle) -> GkeCluster | None:
    return handle.gke_cluster() if handle.gke is not None else None


def pool_vms(handle: ClusterHandle, cluster: GkeCluster, pools: list[str] | None = None) -> list[ManagedVm]:
    """The VMs of the cluster's node pools (all, or the named ones), from their instance groups."""
    if handle.compute is None:
        return []
    urls = [url for pool in cluster.node_pools if pools is None or pool.name in pools for url in pool.instance_groups]
    return handle.group_vms(urls, pools_by_group(cluster)) if urls else []


def find_pool_vm(handle: ClusterHandle, cluster: GkeCluster, name: str) -> ManagedVm | None:
    return next((vm for vm in pool_vms(handle, cluster) if vm.name == name), None)


def ssh_for(handle: ClusterHandle, target: str, zone: str, *, registered: bool, gke: GkeCluster | None = None) -> SshHint:
    config = handle.config.gke
    if config is None:
        raise NotConfigured(
            f"`{handle.name}` is not configured as a GKE cluster, so there is no IAP SSH to offer; "
            "add its project and location under `gke:` in the configuration."
        )
    project = gke.project if gke is not None else config.project
    return ssh_hint(
        cluster=handle.name,
        target=target,
        zone=zone,
        project=project,
        gke_cluster=gke.name if gke is not None else config.cluster,
        gke_location=gke.location if gke is not None else config.location,
        registered=registered,
    )


def node_zone(node: Node) -> str:
    instance = node.gce_instance
    return node.zone or (instance[1] if instance else "")

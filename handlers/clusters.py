"""`clusters`: every configured cluster at once, reachable or not and why, with its nodes and open incidents.

On a fleet this is the first thing people ask, so it must answer promptly
however the fleet is doing: every cluster is probed side by side, each with
its own request timeout, and the answer waits at most ``ANSWER_SECONDS``; a
cluster that has not answered by then is shown as not answering, whatever
its own timeout. Node counts come from the watch cache where the alerts keep
one (no list per cluster), incident counts from the incident store.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from bot.blocks import MessageBuilder, Reply, code, columns, escape, fallback_text, plural
from bot.clock import Clock
from bot.clusters import ClusterHandle
from bot.commands.door import explained
from bot.commands.registry import CommandContext, CommandSet, ParsedArgs
from bot.errors import ChatOpsError, Unreachable
from bot.model.gke import is_region

commands = CommandSet()

ANSWER_SECONDS = 3.0
SILENT = f"no answer within {ANSWER_SECONDS:g} s (its API is slow or hanging)"
MAX_PROBES = 32  # clusters probed at once


@dataclass(frozen=True)
class ClusterStatus:
    name: str
    reachable: bool
    version: str = ""  # the API server's version when reachable
    reason: str = ""  # why not, when unreachable
    gke: bool = False
    location: str = ""
    location_type: str = ""  # zonal | regional | "" when not GKE
    cloud_logging: bool = False
    nodes_ready: int | None = None  # from the watch cache; None when no synced cache holds them
    nodes_total: int | None = None
    incidents: Mapping[str, int] | None = None  # open incidents by severity; None without alerts


@dataclass(frozen=True)
class ClustersResult:
    clusters: tuple[ClusterStatus, ...]


def _configured(handle: ClusterHandle) -> ClusterStatus:
    """What the configuration says of a cluster, before anything is asked of it."""
    gke = handle.config.gke
    location = gke.location if gke else ""
    return ClusterStatus(
        name=handle.name,
        reachable=False,
        gke=gke is not None,
        location=location,
        location_type=("regional" if is_region(location) else "zonal") if gke else "",
        cloud_logging=handle.config.uses_cloud_logging,
    )


def _status(handle: ClusterHandle, clock: Clock) -> ClusterStatus:
    """One probe per cluster; the reader applies the cluster's own request timeout."""
    base = _configured(handle)
    try:
        version = handle.kube.server_version()
        if handle.watch is not None and handle.watch.synced:  # the API answers, so the cache is current
            nodes = handle.watch.snapshot().nodes
            ready = sum(1 for node in nodes if node.readiness == "Ready")
            return replace(base, reachable=True, version=version, nodes_ready=ready, nodes_total=len(nodes))
        return replace(base, reachable=True, version=version)
    except Unreachable as exc:
        return replace(base, reason=str(explained(exc, handle, clock)))
    except ChatOpsError as exc:
        return replace(base, reason=str(exc))
    except Exception as exc:  # a probe must never break the whole list
        return replace(base, reason=f"unexpected error: {type(exc).__name__}")


@commands.command(
    "clusters",
    "Every configured cluster at once: reachable or not and why, version, nodes ready, open incidents",
    needs_cluster=False,
    examples=("clusters",),
)
def clusters(context: CommandContext, args: ParsedArgs) -> Reply:
    handles = list(context.clusters)
    counts = context.alerts.incident_counts() if context.alerts is not None else None
    pool = ThreadPoolExecutor(max_workers=max(1, min(MAX_PROBES, len(handles))), thread_name_prefix="probe")
    try:
        futures = [pool.submit(_status, handle, context.clock) for handle in handles]
        concurrent.futures.wait(futures, timeout=ANSWER_SECONDS)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a hanging probe finishes on its own, unwaited
    statuses = []
    for handle, future in zip(handles, futures, strict=True):
        status = future.result() if future.done() and not future.cancelled() else replace(_configured(handle), reason=SILENT)
        if counts is not None:
            status = replace(status, incidents=dict(counts.get(handle.name, {})))
        statuses.append(status)
    return render_clusters(ClustersResult(tuple(statuses)))


def _kind(s: ClusterStatus) -> str:
    return f"GKE {s.location_type} ({s.location})" if s.gke else "Kubernetes"


def _nodes(s: ClusterStatus) -> str:
    if s.nodes_total is None or s.nodes_ready is None:
        return ""
    return f"{s.nodes_ready:,}/{s.nodes_total:,} nodes Ready"


def _incidents(s: ClusterStatus) -> str:
    if s.incidents is None:
        return ""
    total = sum(s.incidents.values())
    if not total:
        return "no open incidents"
    worst = next((level for level in ("critical", "warning", "info") if s.incidents.get(level)), "")
    return f"{plural(total, 'open incident')}" + (f" ({s.incidents[worst]} {worst})" if worst else "")


def render_clusters(result: ClustersResult) -> Reply:
    out = MessageBuilder()
    out.header("Configured clusters")
    if not result.clusters:
        out.section("No cluster is configured: add one under `clusters:` in the configuration.")
    # The ones that need someone first: unreachable, then those with open incidents, then the rest, by name.
    ordered = sorted(
        result.clusters,
        key=lambda s: (s.reachable, -sum((s.incidents or {}).values()), s.name),
    )
    lines = []
    for s in ordered:
        state = f":large_green_circle: reachable, {code(s.version)}" if s.reachable else f":red_circle: unreachable: {escape(s.reason)}"
        extra = " · ".join(part for part in (_nodes(s), _incidents(s)) if part)
        lines.append(f"• *{escape(s.name)}* · {escape(_kind(s))} · {state}" + (f" · {escape(extra)}" if extra else ""))
    out.lines(lines, noun="clusters")
    up = sum(1 for s in result.clusters if s.reachable)
    open_total = sum(sum((s.incidents or {}).values()) for s in result.clusters)
    plain = columns(
        ("CLUSTER", "KIND", "STATE", "NODES READY", "INCIDENTS"),
        [
            (
                s.name,
                _kind(s),
                f"reachable ({s.version})" if s.reachable else f"unreachable: {s.reason}",
                _nodes(s).removesuffix(" nodes Ready") or "-",
                _incidents(s) or "-",
            )
            for s in ordered
        ],
    ) or "No cluster is configured."
    summary = f"{up} of {len(result.clusters)} clusters reachable"
    if any(s.incidents is not None for s in result.clusters):
        summary += f", {plural(open_total, 'open incident')}"
    return Reply(text=fallback_text(summary), blocks=out.build(), plain=plain)

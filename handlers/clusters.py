"""`clusters`: every configured cluster, reachable or not and why."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from bot.blocks import MessageBuilder, Reply, code, columns, escape, fallback_text
from bot.clock import Clock
from bot.clusters import ClusterHandle
from bot.commands.door import explained
from bot.commands.registry import CommandContext, CommandSet, ParsedArgs
from bot.errors import ChatOpsError, Unreachable
from bot.model.gke import is_region

commands = CommandSet()


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


@dataclass(frozen=True)
class ClustersResult:
    clusters: tuple[ClusterStatus, ...]


def _status(handle: ClusterHandle, clock: Clock) -> ClusterStatus:
    """One probe per cluster; the reader applies the cluster's own request timeout."""
    gke = handle.config.gke
    location = gke.location if gke else ""
    base = ClusterStatus(
        name=handle.name,
        reachable=False,
        gke=gke is not None,
        location=location,
        location_type=("regional" if is_region(location) else "zonal") if gke else "",
        cloud_logging=handle.logs is not None,
    )
    try:
        return replace(base, reachable=True, version=handle.kube.server_version())
    except Unreachable as exc:
        return replace(base, reason=str(explained(exc, handle, clock)))
    except ChatOpsError as exc:
        return replace(base, reason=str(exc))
    except Exception as exc:  # a probe must never break the whole list
        return replace(base, reason=f"unexpected error: {type(exc).__name__}")


@commands.command("clusters", "Configured clusters, reachable or not and why", needs_cluster=False, examples=("clusters",))
def clusters(context: CommandContext, args: ParsedArgs) -> Reply:
    handles = list(context.clusters)
    # Probes run side by side so one unreachable cluster costs its timeout once, not once per cluster.
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(handles)))) as pool:
        statuses = tuple(pool.map(lambda handle: _status(handle, context.clock), handles))
    return render_clusters(ClustersResult(statuses))


def _kind(s: ClusterStatus) -> str:
    return f"GKE {s.location_type} ({s.location})" if s.gke else "Kubernetes"


def render_clusters(result: ClustersResult) -> Reply:
    out = MessageBuilder()
    out.header("Configured clusters")
    if not result.clusters:
        out.section("No cluster is configured: add one under `clusters:` in the configuration.")
    lines = []
    for s in result.clusters:
        state = f":large_green_circle: reachable, {code(s.version)}" if s.reachable else f":red_circle: unreachable: {escape(s.reason)}"
        lines.append(f"• *{escape(s.name)}* · {escape(_kind(s))} · {state}")
    out.lines(lines, noun="clusters")
    up = sum(1 for s in result.clusters if s.reachable)
    plain = columns(
        ("CLUSTER", "KIND", "STATE"),
        [(s.name, _kind(s), f"reachable ({s.version})" if s.reachable else f"unreachable: {s.reason}") for s in result.clusters],
    ) or "No cluster is configured."
    return Reply(text=fallback_text(f"{up} of {len(result.clusters)} clusters reachable"), blocks=out.build(), plain=plain)

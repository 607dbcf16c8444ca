"""One check cycle's view of a cluster, fetched once and then only read.

Each API is asked once per cycle with server-side selectors (pending pods
only, events only of the reasons checks read), so a cycle costs a handful of
requests even on a very large cluster. With a watch cache (the scheduler
keeps one per cluster) nodes and pending pods come from memory and the
Kubernetes API is only asked whether it answers; the node pools' VM lists,
which change slowly and are only judged after a grace period of minutes,
are reused for a while. Each source may fail on its own: the GKE API can
report an UPGRADE_MASTER operation RUNNING while the Kubernetes API answers
503, and the checks need both halves of that picture.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from bot.analysis.pending import AUTOSCALER_EVENT_SELECTORS
from bot.clock import Clock
from bot.clusters import ClusterHandle
from bot.errors import ChatOpsError
from bot.model.gke import GkeCluster, ManagedVm, Operation
from bot.model.kube import DisruptionBudget, Event, Node, Pod
from bot.sources.google.compute_parse import pools_by_group

if TYPE_CHECKING:
    from bot.sources.kube.cache import KubeCache

log = logging.getLogger(__name__)

T = TypeVar("T")

# Events the checks read are the autoscaler's view of pending pods (AUTOSCALER_EVENT_SELECTORS). The
# scheduler's own FailedScheduling events are not asked for: each pending pod's PodScheduled condition
# carries the same message, and on a big cluster they are a megabyte and more per cycle that no check read.
# Pods on this many draining nodes at most are read to name what blocks a node-pool upgrade.
MAX_DRAINING_NODES = 10
# Creation times of at most this many newly seen unregistered VMs are read per cycle (one request each).
MAX_VM_LOOKUPS = 20


@dataclass(frozen=True)
class ClusterSnapshot:
    cluster: str
    taken_at: datetime
    kube_error: str = ""  # "" when the Kubernetes API answered
    gke_error: str = ""  # "" when the GKE API answered or the cluster is not GKE
    compute_error: str = ""
    is_gke: bool = False
    nodes: tuple[Node, ...] = ()
    pending_pods: tuple[Pod, ...] = ()
    events: tuple[Event, ...] = ()
    disruption_budgets: tuple[DisruptionBudget, ...] = ()
    draining_pods: tuple[Pod, ...] = ()  # pods on cordoned nodes of a pool being upgraded
    gke: GkeCluster | None = None
    operations: tuple[Operation, ...] = ()
    vms: tuple[ManagedVm, ...] = ()
    vms_fetched_at: datetime | None = None

    @property
    def reachable(self) -> bool:
        return not self.kube_error

    @property
    def gke_known(self) -> bool:
        return self.is_gke and self.gke is not None and not self.gke_error

    @property
    def vms_known(self) -> bool:
        return self.gke_known and not self.compute_error

    def running_operations(self, op_type: str) -> list[Operation]:
        return [op for op in self.operations if op.type == op_type and op.running]


def _attempt(fetch: Callable[[], T], what: str, errors: list[str]) -> T | None:
    """Run one fetch; a failure is recorded as a sentence, never raised into the cycle."""
    try:
        return fetch()
    except ChatOpsError as exc:
        errors.append(str(exc))
        log.info("%s failed: %s", what, exc)
        return None


def take_snapshot(
    handle: ClusterHandle,
    clock: Clock,
    *,
    cache: KubeCache | None = None,
    previous: ClusterSnapshot | None = None,
    vms_max_age: timedelta = timedelta(0),
) -> ClusterSnapshot:
    """Fetch what the checks read; ``previous`` lends its VM list while younger than ``vms_max_age``."""
    now = clock.now()
    gke_errors: list[str] = []
    compute_errors: list[str] = []
    kube_errors: list[str] = []

    gke_cluster: GkeCluster | None = None
    operations: list[Operation] = []
    vms: list[ManagedVm] = []
    vms_fetched_at: datetime | None = None
    if handle.gke is not None:
        gke_cluster = _attempt(handle.gke.get_cluster, "GKE cluster", gke_errors)
        if gke_cluster is not None:
            operations = _attempt(handle.gke.list_operations, "GKE operations", gke_errors) or []
        if gke_cluster is not None and handle.compute is not None:
            groups = [url for pool in gke_cluster.node_pools for url in pool.instance_groups]
            earlier = previous.vms_fetched_at if previous is not None and not previous.compute_error else None
            if previous is not None and earlier is not None and now - earlier < vms_max_age:
                vms, vms_fetched_at = list(previous.vms), earlier
            elif groups:
                owners = pools_by_group(gke_cluster)
                fetched_vms = _attempt(lambda: handle.compute.list_managed_vms(groups, pools=owners), "managed VMs", compute_errors)  # type: ignore[union-attr]
                vms, vms_fetched_at = fetched_vms or [], (now if fetched_vms is not None else None)

    if cache is not None and cache.synced:
        nodes, pending_from_cache = _from_cache(handle, cache, kube_errors)
    else:
        nodes, pending_from_cache = _attempt(handle.kube.list_nodes, "nodes", kube_errors), None
    pending: list[Pod] = []
    events: list[Event] = []
    budgets: list[DisruptionBudget] = []
    draining: list[Pod] = []
    pending_failed = False
    if nodes is not None:
        if pending_from_cache is not None:
            fetched: list[Pod] | None = pending_from_cache
        else:
            fetched = _attempt(lambda: handle.kube.list_pods(field_selector="status.phase=Pending"), "pending pods", kube_errors)
        pending_failed = fetched is None
        pending = fetched or []
        # The autoscaler's events only explain pods the scheduler could not place; pods bound to a node and
        # still starting are Pending too, and on a big cluster some always are.
        if any(pod.unschedulable is not None for pod in pending):
            for selector in AUTOSCALER_EVENT_SELECTORS:
                found = _attempt(
                    partial(handle.kube.list_events, field_selector=selector), f"events {selector}", kube_errors
                )
                events.extend(found or [])
        upgrading_pools = {op.node_pool for op in operations if op.type == "UPGRADE_NODES" and op.running}
        if upgrading_pools:
            budgets = _attempt(handle.kube.list_disruption_budgets, "disruption budgets", kube_errors) or []
            cordoned = [n for n in nodes if n.pool in upgrading_pools and n.unschedulable][:MAX_DRAINING_NODES]
            for node in cordoned:
                on_node = _attempt(
                    partial(handle.kube.list_pods, field_selector=f"spec.nodeName={node.name}"),
                    f"pods on {node.name}",
                    kube_errors,
                )
                draining.extend(on_node or [])
    if nodes is not None and vms and handle.compute is not None:
        vms = _with_creation_times(handle, vms, nodes, previous, compute_errors)
    kube_error = kube_errors[0] if (nodes is None or pending_failed) and kube_errors else ""
    return ClusterSnapshot(
        cluster=handle.name,
        taken_at=now,
        kube_error=kube_error,
        gke_error=gke_errors[0] if gke_errors else "",
        compute_error=compute_errors[0] if compute_errors else "",
        is_gke=handle.gke is not None,
        nodes=tuple(nodes or ()),
        pending_pods=tuple(pending),
        events=tuple(events),
        disruption_budgets=tuple(budgets),
        draining_pods=tuple(draining),
        gke=gke_cluster,
        operations=tuple(operations),
        vms=tuple(vms),
        vms_fetched_at=vms_fetched_at,
    )


def _with_creation_times(
    handle: ClusterHandle, vms: list[ManagedVm], nodes: list[Node], previous: ClusterSnapshot | None, errors: list[str]
) -> list[ManagedVm]:
    """Fill in when each running VM without a node was created.

    The instance-group listing has no creation time, and without one a VM that
    has run unregistered for hours would wait out the whole grace period again
    after every restart of the bot. Times already known (from the previous
    cycle) are reused, so a VM costs one request once.
    """
    registered = {node.name for node in nodes}
    wanted = [vm for vm in vms if vm.created is None and vm.status == "RUNNING" and vm.name not in registered]
    if not wanted:
        return vms
    earlier = previous.vms if previous is not None else ()
    filled = _attempt(
        lambda: handle.compute.with_created(wanted, known=earlier, limit=MAX_VM_LOOKUPS),  # type: ignore[union-attr]
        "VM creation times",
        errors,
    )
    by_name = {vm.name: vm for vm in filled or ()}
    return [by_name.get(vm.name, vm) for vm in vms]


def _from_cache(handle: ClusterHandle, cache: KubeCache, errors: list[str]) -> tuple[list[Node] | None, list[Pod] | None]:
    """Nodes and pending pods from the watch cache, after one cheap request proves the API still answers.

    A watch stream can outlive the server's ability to answer new requests
    (a control plane going down mid-upgrade); the version request is what
    notices, so the checks never judge a cluster from a frozen cache.
    """
    if _attempt(handle.kube.server_version, "API server version", errors) is None:
        return None, None
    held = cache.snapshot()
    return list(held.nodes), [pod for pod in held.pods if pod.phase == "Pending"]

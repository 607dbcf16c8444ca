"""One check cycle's view of a cluster, fetched once and then only read.

Each API is asked once per cycle with server-side selectors (pending pods
only, events only of the reasons checks read), so a cycle costs a handful of
requests even on a very large cluster. Each source may fail on its own: the
GKE API can report an UPGRADE_MASTER operation RUNNING while the Kubernetes
API answers 503, and the checks need both halves of that picture.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from bot.clock import Clock
from bot.sources.compute_parse import pools_by_group
from bot.clusters import ClusterHandle
from bot.errors import ChatOpsError
from bot.model.gke import GkeCluster, ManagedVm, Operation
from bot.model.kube import DisruptionBudget, Event, Node, Pod

log = logging.getLogger(__name__)

T = TypeVar("T")

# Events the checks read: the scheduler's reason and the autoscaler's view of pending pods.
EVENT_REASONS = ("FailedScheduling", "TriggeredScaleUp", "NotTriggerScaleUp", "FailedScaleUp")
# Pods on this many draining nodes at most are read to name what blocks a node-pool upgrade.
MAX_DRAINING_NODES = 10


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


def take_snapshot(handle: ClusterHandle, clock: Clock) -> ClusterSnapshot:
    now = clock.now()
    gke_errors: list[str] = []
    compute_errors: list[str] = []
    kube_errors: list[str] = []

    gke_cluster: GkeCluster | None = None
    operations: list[Operation] = []
    vms: list[ManagedVm] = []
    if handle.gke is not None:
        gke_cluster = _attempt(handle.gke.get_cluster, "GKE cluster", gke_errors)
        if gke_cluster is not None:
            operations = _attempt(handle.gke.list_operations, "GKE operations", gke_errors) or []
        if gke_cluster is not None and handle.compute is not None:
            groups = [url for pool in gke_cluster.node_pools for url in pool.instance_groups]
            if groups:
                owners = pools_by_group(gke_cluster)
                vms = _attempt(lambda: handle.compute.list_managed_vms(groups, pools=owners), "managed VMs", compute_errors) or []  # type: ignore[union-attr]

    nodes = _attempt(handle.kube.list_nodes, "nodes", kube_errors)
    pending: list[Pod] = []
    events: list[Event] = []
    budgets: list[DisruptionBudget] = []
    draining: list[Pod] = []
    pending_failed = False
    if nodes is not None:
        fetched = _attempt(lambda: handle.kube.list_pods(field_selector="status.phase=Pending"), "pending pods", kube_errors)
        pending_failed = fetched is None
        pending = fetched or []
        if pending:
            for reason in EVENT_REASONS:
                found = _attempt(
                    lambda r=reason: handle.kube.list_events(field_selector=f"reason={r}"), f"{reason} events", kube_errors
                )
                events.extend(found or [])
        upgrading_pools = {op.node_pool for op in operations if op.type == "UPGRADE_NODES" and op.running}
        if upgrading_pools:
            budgets = _attempt(handle.kube.list_disruption_budgets, "disruption budgets", kube_errors) or []
            cordoned = [n for n in nodes if n.pool in upgrading_pools and n.unschedulable][:MAX_DRAINING_NODES]
            for node in cordoned:
                on_node = _attempt(
                    lambda n=node: handle.kube.list_pods(field_selector=f"spec.nodeName={n.name}"),
                    f"pods on {node.name}",
                    kube_errors,
                )
                draining.extend(on_node or [])
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
    )

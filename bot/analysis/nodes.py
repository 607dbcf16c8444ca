"""Node health at a glance: counts per zone and pool, version skew, conditions in trouble, VMs that never joined.

A zone whose nodes are all NotReady, or a pool two minors behind its control
plane, is invisible in a flat node list of hundreds; these summaries are what
the `nodes` answer and the NotReady check are built on.

Registration sets the Compute view (the node pools' VMs) against the
Kubernetes view (nodes), zone by zone: nothing in the Kubernetes API shows a
node that never arrived, so that comparison is the only way to see VMs that
run (and are billed) but never registered.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from bot.model.gke import ManagedVm, NodePool
from bot.model.kube import Node

_MINOR = re.compile(r"^v?(\d+)\.(\d+)")


@dataclass(frozen=True)
class NodeCounts:
    """Nodes of one pool in one zone, by state. Cordoned nodes are counted in their readiness too."""

    zone: str
    pool: str
    total: int = 0
    ready: int = 0
    not_ready: int = 0
    unknown: int = 0
    cordoned: int = 0
    versions: dict[str, int] = field(default_factory=dict)  # kubelet version -> nodes


@dataclass(frozen=True)
class VersionSkew:
    version: str
    nodes: int
    minors_behind: int | None  # None when either version cannot be read


@dataclass(frozen=True)
class NodeProblem:
    """One thing wrong with one node: not Ready, or a condition that is True and should not be."""

    node: str
    zone: str
    pool: str
    condition: str  # "Ready" for readiness problems, else the condition type
    status: str  # "NotReady" / "Unknown" for Ready, else the condition's status
    reason: str
    message: str
    since: datetime | None


def minor_version(version: str) -> tuple[int, int] | None:
    """(1, 30) from "v1.30.5-gke.1014001" or "1.30"; None when unreadable."""
    match = _MINOR.match(version.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def minors_behind(version: str, control_plane: str) -> int | None:
    node, plane = minor_version(version), minor_version(control_plane)
    if node is None or plane is None or node[0] != plane[0]:
        return None
    return plane[1] - node[1]


def count_nodes(nodes: list[Node]) -> list[NodeCounts]:
    """One row per (zone, pool), sorted; nodes without labels land under "" (shown as unknown)."""
    groups: dict[tuple[str, str], list[Node]] = defaultdict(list)
    for node in nodes:
        groups[(node.zone, node.pool)].append(node)
    rows = []
    for (zone, pool), members in sorted(groups.items()):
        readiness = Counter(n.readiness for n in members)
        rows.append(
            NodeCounts(
                zone=zone,
                pool=pool,
                total=len(members),
                ready=readiness["Ready"],
                not_ready=readiness["NotReady"],
                unknown=readiness["Unknown"],
                cordoned=sum(1 for n in members if n.unschedulable),
                versions=dict(sorted(Counter(n.kubelet_version for n in members).items())),
            )
        )
    return rows


def total_counts(rows: list[NodeCounts]) -> NodeCounts:
    versions: Counter[str] = Counter()
    for row in rows:
        versions.update(row.versions)
    return NodeCounts(
        zone="",
        pool="",
        total=sum(r.total for r in rows),
        ready=sum(r.ready for r in rows),
        not_ready=sum(r.not_ready for r in rows),
        unknown=sum(r.unknown for r in rows),
        cordoned=sum(r.cordoned for r in rows),
        versions=dict(sorted(versions.items())),
    )


def version_skew(nodes: list[Node], control_plane_version: str) -> list[VersionSkew]:
    """Kubelet versions in use and how many minors each is behind the control plane, oldest first."""
    counts = Counter(n.kubelet_version for n in nodes)
    skews = [VersionSkew(v, c, minors_behind(v, control_plane_version)) for v, c in counts.items()]
    skews.sort(key=lambda s: (-(s.minors_behind or 0), s.version))
    return skews


def node_problems(nodes: list[Node]) -> list[NodeProblem]:
    """Readiness problems and pressure / node-problem-detector conditions that are True.

    A condition with status False is the healthy state for every condition
    but Ready (node-problem-detector reports KernelDeadlock=False all day), so
    it is never a problem.
    """
    problems = []
    for node in sorted(nodes, key=lambda n: n.name):
        if node.readiness != "Ready":
            ready = node.condition("Ready")
            problems.append(
                NodeProblem(
                    node=node.name,
                    zone=node.zone,
                    pool=node.pool,
                    condition="Ready",
                    status=node.readiness,
                    reason=ready.reason if ready else "NoReadyCondition",
                    message=ready.message if ready else "The kubelet has not reported a Ready condition.",
                    since=ready.last_transition if ready else node.created,
                )
            )
        for condition in node.problem_conditions:
            problems.append(
                NodeProblem(
                    node=node.name,
                    zone=node.zone,
                    pool=node.pool,
                    condition=condition.type,
                    status=condition.status,
                    reason=condition.reason,
                    message=condition.message,
                    since=condition.last_transition,
                )
            )
    return problems


def is_problem_node(node: Node) -> bool:
    return node.readiness != "Ready" or node.unschedulable or bool(node.problem_conditions)


# -- registration: VMs against nodes ------------------------------------------------------

# A VM in these states is not expected to be a node (yet, or any more).
_STEADY_ACTION = "NONE"
_STEADY_STATUS = "RUNNING"


@dataclass(frozen=True)
class ZoneRegistration:
    """One pool in one zone: its steady VMs, how many became nodes, and which did not.

    ``vms`` counts only VMs the group is not acting on and that are running:
    a VM being created has not had its chance to register yet, and one being
    deleted has already left, so neither says anything about registration.
    Those are listed in ``changing`` instead of being silently dropped.
    """

    pool: str
    zone: str
    vms: int
    registered: int
    unregistered: tuple[ManagedVm, ...]
    changing: tuple[ManagedVm, ...] = ()

    @property
    def shortfall(self) -> bool:
        return bool(self.unregistered)


def exclusion_reason(vm: ManagedVm) -> str | None:
    """Why a VM is left out of the registered/unregistered comparison, or None when it counts."""
    if vm.current_action and vm.current_action != _STEADY_ACTION:
        return f"the instance group is {vm.current_action.lower()} it"
    if vm.status and vm.status != _STEADY_STATUS:
        return f"it is {vm.status.lower()}"
    return None


def instance_group_name(url: str) -> str:
    """The last path segment of an instanceGroupManagers (or instanceGroups) URL."""
    return url.rstrip("/").rsplit("/", 1)[-1]


def registration_by_zone(
    nodes: list[Node], vms: list[ManagedVm], pools: list[NodePool] | None = None
) -> list[ZoneRegistration]:
    """Per (pool, zone): VMs against the nodes that carry their names.

    A VM is registered when a node has its name (GKE names nodes after their
    instances) or a ``gce://`` provider ID pointing at it. With ``pools``,
    every zone a pool spans appears even without VMs, so "0 VMs" is visible too.
    """
    node_names = {n.name for n in nodes}
    provider_instances = {(inst[1], inst[2]) for n in nodes if (inst := n.gce_instance) is not None}
    group_pool = _group_to_pool(pools or [])

    by_key: dict[tuple[str, str], list[ManagedVm]] = defaultdict(list)
    for pool in pools or []:
        for zone in pool.locations:
            by_key[(pool.name, zone)]
    for vm in vms:
        pool_name = vm.pool or group_pool.get(vm.instance_group, "") or vm.instance_group
        by_key[(pool_name, vm.zone)].append(vm)

    result = []
    for (pool_name, zone), zone_vms in sorted(by_key.items()):
        steady = [vm for vm in zone_vms if exclusion_reason(vm) is None]
        changing = tuple(sorted((vm for vm in zone_vms if exclusion_reason(vm) is not None), key=lambda v: v.name))
        unregistered = tuple(
            sorted(
                (vm for vm in steady if vm.name not in node_names and (vm.zone, vm.name) not in provider_instances),
                key=lambda v: v.name,
            )
        )
        result.append(
            ZoneRegistration(
                pool=pool_name,
                zone=zone,
                vms=len(steady),
                registered=len(steady) - len(unregistered),
                unregistered=unregistered,
                changing=changing,
            )
        )
    return result


def unregistered_vms(registrations: list[ZoneRegistration]) -> list[ManagedVm]:
    return [vm for reg in registrations for vm in reg.unregistered]


def _group_to_pool(pools: list[NodePool]) -> dict[str, str]:
    return {instance_group_name(url): pool.name for pool in pools for url in pool.instance_groups}

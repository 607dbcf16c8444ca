"""Which node-pool VMs became Kubernetes nodes, zone by zone.

The incident this bot exists for: VMs in a node pool's instance groups were
running (and billed) in two zones but never registered as nodes. Nothing in
the Kubernetes API shows a node that never arrived, so the only way to see it
is to set the Compute view (VMs) against the Kubernetes view (nodes).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from bot.model.gke import ManagedVm, NodePool
from bot.model.kube import Node

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

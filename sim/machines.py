"""One machine, three APIs: a node is built from its VM's record.

A GKE node is a Compute instance that registered with the control plane.
Compute holds the record (``GoogleState.add_managed_instance``); the Node
object repeats its facts: the instance id in the
``container.googleapis.com/instance_id`` annotation, ``networkIP`` as the
InternalIP, the NAT address as the ExternalIP (only when the VM has one),
the VM's alias IP range as the pod range, the zone and project in the
providerID, the machine type in the instance-type labels. The node registers
a little after its VM was created, never before.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sim.kube import builders as kube

Json = dict[str, Any]

REGISTRATION_DELAY = timedelta(seconds=52)  # boot, kubelet start-up and TLS bootstrap


def vm_created(vm: Json) -> datetime:
    return datetime.fromisoformat(vm["creationTimestamp"])


def vm_zone(vm: Json) -> str:
    return str(vm["zone"]).rsplit("/", 1)[-1]


def vm_project(vm: Json) -> str:
    return str(vm["selfLink"]).split("/projects/", 1)[1].split("/", 1)[0]


def internal_ip(vm: Json) -> str:
    return str(vm["networkInterfaces"][0]["networkIP"])


def nat_ip(vm: Json) -> str | None:
    """The VM's external address, or None when it has no access config with one."""
    for nic in vm.get("networkInterfaces", []):
        for access in nic.get("accessConfigs", []):
            if access.get("natIP"):
                return str(access["natIP"])
    return None


def pod_range(vm: Json) -> str | None:
    ranges = vm["networkInterfaces"][0].get("aliasIpRanges") or []
    return str(ranges[0]["ipCidrRange"]) if ranges else None


def registered_at(vm: Json) -> datetime:
    """When the VM's kubelet created its Node object."""
    return vm_created(vm) + REGISTRATION_DELAY


def node_for_instance(
    vm: Json,
    *,
    pool: str,
    version: str,
    cpu: str,
    memory: str,
    ready: bool = True,
    unschedulable: bool = False,
    registered: datetime | None = None,
) -> Json:
    """The Node this VM registers as; every fact it shares with the VM is read from ``vm``."""
    return kube.make_node(
        vm["name"],
        pool=pool,
        zone=vm_zone(vm),
        project=vm_project(vm),
        ready=ready,
        version=version,
        cpu=cpu,
        memory=memory,
        unschedulable=unschedulable,
        created=max(registered or registered_at(vm), registered_at(vm)),
        machine_type=str(vm["machineType"]).rsplit("/", 1)[-1],
        instance_id=str(vm["id"]),
        internal_ip=internal_ip(vm),
        external_ip=nat_ip(vm) or False,
        pod_cidr=pod_range(vm),
    )

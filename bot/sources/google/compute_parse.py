"""Compute Engine URLs and messages to the bot's ``ManagedVm``.

VMs are matched to nodes and groups to node pools by (zone, name), never by
whole URLs: GKE spells instance group URLs with www.googleapis.com while
Compute answers with compute.googleapis.com, and either may use the project
number instead of its id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.model.gke import GkeCluster, ManagedVm

if TYPE_CHECKING:  # the library's types cost about 90 MB to import; only the Compute source loads them, on first use
    from google.cloud import compute_v1


@dataclass(frozen=True)
class ZonalName:
    """A zonal Compute resource, from its URL: ``.../projects/P/zones/Z/COLLECTION/NAME``."""

    project: str
    zone: str
    collection: str
    name: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.zone, self.name)


def parse_zonal_url(url: str) -> ZonalName | None:
    parts = url.rstrip("/").split("/")
    try:
        at = parts.index("zones")
        project = parts[parts.index("projects") + 1]
        return ZonalName(project=project, zone=parts[at + 1], collection=parts[at + 2], name=parts[at + 3])
    except (ValueError, IndexError):
        return None


def pools_by_group(cluster: GkeCluster) -> dict[tuple[str, str], str]:
    """(zone, instance group name) -> node pool, from the GKE API's instanceGroupUrls."""
    found: dict[tuple[str, str], str] = {}
    for pool in cluster.node_pools:
        for url in pool.instance_groups:
            group = parse_zonal_url(url)
            if group is not None:
                found[group.key] = pool.name
    return found


def pool_from_group_name(group: str, cluster: str) -> str:
    """Best guess from GKE's naming, gke-CLUSTER-POOL-HASH-grp; "" when the name does not fit.

    GKE shortens long cluster and pool names in group names, so this is only
    the fallback when the cluster's pools are not at hand.
    """
    prefix = f"gke-{cluster}-"
    if not (group.startswith(prefix) and group.endswith("-grp")):
        return ""
    middle = group.removeprefix(prefix).removesuffix("-grp")
    pool, _, _hash = middle.rpartition("-")
    return pool


def parse_managed_instance(
    member: compute_v1.ManagedInstance | Any, *, group: ZonalName, pools: Mapping[tuple[str, str], str], cluster: str
) -> ManagedVm:
    """``member`` as the client library gives it, or its raw protobuf message (``ManagedInstance.pb``).

    Both spell the fields alike; reading the raw message skips proto-plus's
    per-field conversion, which costs more than the rest of this function
    on a listing of thousands of VMs.
    """
    instance = parse_zonal_url(member.instance)
    return ManagedVm(
        name=instance.name if instance else member.name,
        zone=instance.zone if instance else group.zone,
        instance_group=group.name,
        status=member.instance_status or "",
        current_action=member.current_action or "",
        pool=pools.get(group.key) or pool_from_group_name(group.name, cluster),
        id=str(member.id) if member.id else "",
    )


def creator_group(instance: compute_v1.Instance) -> ZonalName | None:
    """The instance group manager that made the VM, from its ``created-by`` metadata."""
    for item in instance.metadata.items:
        if item.key == "created-by":
            return parse_zonal_url(item.value)
    return None



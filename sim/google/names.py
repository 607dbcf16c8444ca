"""Resource names and URLs as GKE and Compute spell them.

Kept in one place because the bot matches VMs to nodes and node pools to
instance groups by these strings: a typo here would hide the very shortfall
the project exists to show.
"""

from __future__ import annotations

import hashlib
import re

COMPUTE_ROOT = "https://www.googleapis.com/compute/v1"
CONTAINER_ROOT = "https://container.googleapis.com/v1"

_ZONE = re.compile(r"^[a-z]+-[a-z]+\d+-[a-z]$")


def is_zone(location: str) -> bool:
    """GKE locations are zones ("us-west1-a", a zonal cluster) or regions ("us-west1")."""
    return bool(_ZONE.match(location))


def region_of(location: str) -> str:
    return location.rsplit("-", 1)[0] if is_zone(location) else location


def version_key(version: str) -> tuple[int, ...]:
    """How GKE versions order: "1.30.5-gke.1014001" by its numbers, the GKE patch last."""
    return tuple(int(part) for part in version.replace("-gke.", ".").split(".") if part.isdigit())


def pool_hash(cluster: str, pool: str, zone: str) -> str:
    """The 8 hex digits GKE puts in a node pool's per-zone instance group name; stable here."""
    return hashlib.sha256(f"{cluster}/{pool}/{zone}".encode()).hexdigest()[:8]


def instance_group_name(cluster: str, pool: str, zone: str) -> str:
    return f"gke-{cluster}-{pool}-{pool_hash(cluster, pool, zone)}-grp"


def instance_name(cluster: str, pool: str, zone: str, suffix: str) -> str:
    """A node-pool VM name, which is also its Kubernetes node name once it registers."""
    return f"gke-{cluster}-{pool}-{pool_hash(cluster, pool, zone)}-{suffix}"


def instance_group_manager_url(project: str, zone: str, igm: str) -> str:
    return f"{COMPUTE_ROOT}/projects/{project}/zones/{zone}/instanceGroupManagers/{igm}"


def instance_group_url(project: str, zone: str, igm: str) -> str:
    return f"{COMPUTE_ROOT}/projects/{project}/zones/{zone}/instanceGroups/{igm}"


def instance_url(project: str, zone: str, name: str) -> str:
    return f"{COMPUTE_ROOT}/projects/{project}/zones/{zone}/instances/{name}"


def zone_url(project: str, zone: str) -> str:
    return f"{COMPUTE_ROOT}/projects/{project}/zones/{zone}"


def machine_type_url(project: str, zone: str, machine_type: str) -> str:
    return f"{COMPUTE_ROOT}/projects/{project}/zones/{zone}/machineTypes/{machine_type}"


def container_location_path(project: str, location: str) -> str:
    """Zonal resources keep GKE's legacy "zones/" spelling in their selfLinks."""
    kind = "zones" if is_zone(location) else "locations"
    return f"{CONTAINER_ROOT}/projects/{project}/{kind}/{location}"


def numeric_id(*parts: str) -> str:
    """A stable 19-digit id, as Compute gives every resource (a string in JSON)."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return str(10**18 + int.from_bytes(digest[:8], "big") % (9 * 10**18))

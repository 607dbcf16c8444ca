"""Addresses and ids of the default VPC network, derived the same way by every API.

A GKE node is one machine seen through three APIs: Compute's instance (its
``id``, ``networkIP`` and NAT address), Kubernetes' Node (the
``container.googleapis.com/instance_id`` annotation, the InternalIP and
ExternalIP addresses) and GKE's node pool. Compute owns the record; the
functions here say how its facts are derived, so a node built without a VM
at hand (in a unit test) still agrees with the VM Compute would make.

Every project's ``default`` network is in auto mode: one subnet per region,
a /20 from 10.128.0.0/9 whose base is fixed per region. The table holds the
ranges of the regions a scenario is likely to name; any other region gets a
/20 of its own from 10.240.0.0/12, picked by name, and says so in its
``description``.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Collection

from sim.google import names

IPv4Network = ipaddress.IPv4Network

# The auto-mode default network's subnet per region (primary range).
DEFAULT_SUBNETS: dict[str, str] = {
    "us-central1": "10.128.0.0/20",
    "europe-west1": "10.132.0.0/20",
    "us-west1": "10.138.0.0/20",
    "asia-east1": "10.140.0.0/20",
    "us-east1": "10.142.0.0/20",
    "asia-northeast1": "10.146.0.0/20",
    "asia-southeast1": "10.148.0.0/20",
    "us-east4": "10.150.0.0/20",
    "australia-southeast1": "10.152.0.0/20",
    "europe-west2": "10.154.0.0/20",
    "europe-west3": "10.156.0.0/20",
    "southamerica-east1": "10.158.0.0/20",
    "asia-south1": "10.160.0.0/20",
    "northamerica-northeast1": "10.162.0.0/20",
    "europe-west4": "10.164.0.0/20",
    "europe-north1": "10.166.0.0/20",
    "us-west2": "10.168.0.0/20",
    "asia-east2": "10.170.0.0/20",
    "europe-west6": "10.172.0.0/20",
    "asia-northeast2": "10.174.0.0/20",
    "asia-northeast3": "10.178.0.0/20",
    "us-west3": "10.180.0.0/20",
    "us-west4": "10.182.0.0/20",
    "asia-southeast2": "10.184.0.0/20",
}
FALLBACK_POOL = ipaddress.IPv4Network("10.240.0.0/12")

# One block of Google's external addresses per region, for ephemeral NAT IPs and
# public control-plane endpoints; other regions draw from a generic Google block.
EXTERNAL_BLOCKS: dict[str, str] = {
    "us-west1": "34.82.0.0/15",
    "us-central1": "35.192.0.0/14",
    "us-east1": "35.196.0.0/15",
    "europe-west1": "35.195.0.0/16",
}
FALLBACK_EXTERNAL = ipaddress.IPv4Network("34.64.0.0/11")


def _digest(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("/".join(parts).encode()).digest()[:8], "big")


def has_default_range(region: str) -> bool:
    return region in DEFAULT_SUBNETS


def subnet(region: str) -> IPv4Network:
    """The primary range of the ``default`` subnet in ``region`` (a /20)."""
    known = DEFAULT_SUBNETS.get(region)
    if known:
        return ipaddress.IPv4Network(known)
    slots = FALLBACK_POOL.num_addresses // 4096
    base = int(FALLBACK_POOL.network_address) + (_digest("subnet", region) % slots) * 4096
    return ipaddress.IPv4Network((base, 20))


def gateway(region: str) -> str:
    """The subnet's gateway: its second address, as on every GCP subnet."""
    return str(subnet(region).network_address + 1)


def usable(network: IPv4Network) -> int:
    """Addresses a VM may get: all but the network, gateway and the last two (GCP reserves four)."""
    return network.num_addresses - 4


def preferred_ip(region: str, key: str, network: IPv4Network | None = None) -> int:
    """Where in the subnet the address of ``key`` (a VM's project/zone/name) is looked for first."""
    net = network or subnet(region)
    return int(net.network_address) + 2 + _digest("ip", key) % usable(net)


def allocate_ip(region: str, key: str, taken: Collection[int]) -> tuple[str, IPv4Network]:
    """A free address of the region's subnet for ``key``, and the subnet it came from.

    Start at the key's preferred address and take the next free one
    (``taken`` holds addresses as integers). A subnet that is full is
    expanded one prefix bit at a time, as ``gcloud compute networks subnets
    expand-ip-range`` does, so a generated 5,000-node cluster still gets
    addresses in its region's range.
    """
    net = subnet(region)
    while True:
        first = preferred_ip(region, key, net)
        base, size = int(net.network_address) + 2, usable(net)
        for step in range(size):
            candidate = base + (first - base + step) % size
            if candidate not in taken:
                return dotted(candidate), net
        if net.prefixlen <= 16:
            raise ValueError(f"the default subnet of {region} is full")
        net = net.supernet()


def dotted(address: int) -> str:
    """An IPv4 address as text (much quicker than going through ipaddress)."""
    return f"{address >> 24 & 255}.{address >> 16 & 255}.{address >> 8 & 255}.{address & 255}"


def as_int(address: str) -> int:
    a, b, c, d = (int(part) for part in address.split("."))
    return a << 24 | b << 16 | c << 8 | d


def default_internal_ip(zone: str, project: str, name: str) -> str:
    """The address a VM gets when nothing else holds its preferred one (see ``allocate_ip``)."""
    region = names.region_of(zone)
    return str(ipaddress.IPv4Address(preferred_ip(region, f"{project}/{zone}/{name}")))


def external_ip(region: str, *key: str) -> str:
    """An ephemeral external address from the region's Google block."""
    block = ipaddress.IPv4Network(EXTERNAL_BLOCKS[region]) if region in EXTERNAL_BLOCKS else FALLBACK_EXTERNAL
    offset = 256 + _digest("nat", region, *key) % (block.num_addresses - 512)
    return str(block.network_address + offset)


def instance_id(project: str, zone: str, name: str) -> str:
    """The 19-digit id Compute gives the VM, which GKE copies into its node's annotations."""
    return names.numeric_id(project, zone, name)


def network_url(project: str) -> str:
    return f"{names.COMPUTE_ROOT}/projects/{project}/global/networks/default"


def subnetwork_url(project: str, region: str) -> str:
    return f"{names.COMPUTE_ROOT}/projects/{project}/regions/{region}/subnetworks/default"

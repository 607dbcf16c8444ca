"""Compute Engine's regions and zones, and a project's own record, as Compute describes them.

``gcloud compute zones list`` and the aggregated instance list walk every
zone, so the simulated Compute API needs them: the zones of the regions in
``network.DEFAULT_SUBNETS`` (their real letters), plus any zone the world's
VMs use. A project's number is derived from its id, and its default service
account (the one GKE's VMs run as) from that number.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta
from typing import Any

from sim.google import names
from sim.google.timestamps import parse_timestamp

PROJECT_LEAD = timedelta(days=30)  # a project is made a while before anything in it

# Zone letters per region: not every region has a, b and c.
ZONE_LETTERS: dict[str, str] = {
    "us-central1": "abcf",
    "us-east1": "bcd",
    "europe-west1": "bcd",
    "us-east4": "abc",
    "us-west1": "abc",
    "us-west2": "abc",
    "us-west3": "abc",
    "us-west4": "abc",
    "europe-west2": "abc",
    "europe-west3": "abc",
    "europe-west4": "abc",
    "europe-west6": "abc",
    "europe-north1": "abc",
    "asia-east1": "abc",
    "asia-east2": "abc",
    "asia-northeast1": "abc",
    "asia-northeast2": "abc",
    "asia-northeast3": "abc",
    "asia-south1": "abc",
    "asia-southeast1": "abc",
    "asia-southeast2": "abc",
    "australia-southeast1": "abc",
    "southamerica-east1": "abc",
    "northamerica-northeast1": "abc",
}
EPOCH = "1969-12-31T16:00:00.000-08:00"  # what Compute gives as the creation time of its zones and regions


def zones(also: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Every known zone, with ``also`` (zones in use) added, sorted as Compute lists them."""
    known = {f"{region}-{letter}" for region, letters in ZONE_LETTERS.items() for letter in letters}
    return sorted(known | set(also))


def _number(*parts: str, digits: int) -> str:
    value = int.from_bytes(hashlib.sha256("/".join(parts).encode()).digest()[:8], "big")
    return str(10 ** (digits - 1) + value % (9 * 10 ** (digits - 1)))


def fingerprint(*parts: str) -> str:
    """Compute's fingerprints are 8 bytes, base64-encoded ("PaB2N4lNEo0=")."""
    return base64.b64encode(hashlib.sha256("/".join(parts).encode()).digest()[:8]).decode()


def zone_resource(project: str, zone: str) -> dict[str, Any]:
    region = names.region_of(zone)
    return {
        "kind": "compute#zone",
        "id": _number("zone", zone, digits=4),
        "creationTimestamp": EPOCH,
        "name": zone,
        "description": zone,
        "status": "UP",
        "region": f"{names.COMPUTE_ROOT}/projects/{project}/regions/{region}",
        "selfLink": names.zone_url(project, zone),
        "availableCpuPlatforms": ["Intel Broadwell", "Intel Cascade Lake", "AMD Milan", "AMD Rome"],
        "supportsPzs": False,
    }


def project_number(project: str) -> str:
    """The 12-digit number Google gives a project, fixed per project id here."""
    return _number("project", project, digits=12)


def default_service_account(project: str) -> str:
    return f"{project_number(project)}-compute@developer.gserviceaccount.com"


def project_resource(project: str, created: str) -> dict[str, Any]:
    """Compute's view of the project (``gcloud compute project-info describe``)."""
    return {
        "kind": "compute#project",
        "id": _number("project-id", project, digits=19),
        "creationTimestamp": created,
        "name": project,
        "commonInstanceMetadata": {"kind": "compute#metadata", "fingerprint": fingerprint("metadata", project)},
        "quotas": [
            {"metric": "CPUS_ALL_REGIONS", "limit": 32, "usage": 0},
            {"metric": "SNAPSHOTS", "limit": 5000, "usage": 0},
            {"metric": "NETWORKS", "limit": 15, "usage": 1},
            {"metric": "FIREWALLS", "limit": 200, "usage": 4},
            {"metric": "IMAGES", "limit": 2000, "usage": 0},
        ],
        "selfLink": f"{names.COMPUTE_ROOT}/projects/{project}",
        "defaultServiceAccount": default_service_account(project),
        "xpnProjectStatus": "UNSPECIFIED_XPN_PROJECT_STATUS",
        "defaultNetworkTier": "PREMIUM",
        "vmDnsSetting": "ZONAL_ONLY",
    }


def project_created(clusters: list[dict[str, Any]], instances: list[dict[str, Any]], now: datetime) -> datetime:
    """When the project was created: a month before its first cluster or VM (or before now, when empty)."""
    moments = [parse_timestamp(c["createTime"]) for c in clusters if c.get("createTime")]
    moments += [parse_timestamp(v["creationTimestamp"]) for v in instances]
    return min([m for m in moments if m is not None], default=now) - PROJECT_LEAD

"""GKE and Compute Engine facts about a cluster, slimmed from the Google APIs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


def is_region(location: str) -> bool:
    """A GKE location is a region (us-west1: a regional cluster) or a zone (us-west1-a: a zonal one)."""
    return location.count("-") == 1


def region_of(location: str) -> str:
    """"us-west1" from "us-west1-a"; a region is returned unchanged."""
    return location if is_region(location) else location.rsplit("-", 1)[0]


@dataclass(frozen=True, slots=True)
class Autoscaling:
    enabled: bool
    min_nodes: int = 0  # per zone
    max_nodes: int = 0  # per zone
    total_min: int | None = None  # whole pool, when set instead
    total_max: int | None = None
    location_policy: str = ""


@dataclass(frozen=True, slots=True)
class NodePool:
    name: str
    locations: tuple[str, ...]
    version: str
    status: str
    machine_type: str
    autoscaling: Autoscaling
    initial_node_count: int
    instance_groups: tuple[str, ...]  # instanceGroupManagers URLs, one per zone

    def max_nodes(self, zones: int | None = None) -> int | None:
        """The pool's upper bound across its zones, None without autoscaling."""
        if not self.autoscaling.enabled:
            return None
        if self.autoscaling.total_max is not None:
            return self.autoscaling.total_max
        return self.autoscaling.max_nodes * (zones if zones is not None else len(self.locations))


@dataclass(frozen=True, slots=True)
class GkeCluster:
    project: str
    name: str
    location: str
    locations: tuple[str, ...]  # zones of the nodes
    status: str  # RUNNING, RECONCILING, DEGRADED, ERROR, ...
    status_message: str
    master_version: str
    node_version: str
    release_channel: str  # RAPID | REGULAR | STABLE | EXTENDED | "" (none)
    maintenance_window: str  # human summary, "" when none
    endpoint: str
    node_pools: tuple[NodePool, ...]
    autoprovisioning: bool = False
    # Maintenance exclusions, one phrase each: "holiday-freeze: 2026-12-20 00:00 to 2027-01-05 00:00 UTC (no upgrades)".
    maintenance_exclusions: tuple[str, ...] = ()

    @property
    def regional(self) -> bool:
        return is_region(self.location)

    @property
    def location_type(self) -> str:
        return "regional" if self.regional else "zonal"


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    type: str  # UPGRADE_MASTER, UPGRADE_NODES, ...
    status: str  # PENDING | RUNNING | DONE | ABORTING
    location: str
    target: str  # the targetLink's last path segments, e.g. clusters/prod/nodePools/default
    started: datetime | None
    ended: datetime | None
    detail: str = ""
    error: str = ""  # the operation's error (google.rpc.Status) message, "" when none
    progress: dict[str, int] = field(default_factory=dict)  # metric name -> value
    status_message: str = ""  # GKE's own sentence about how it went (often the error again)

    @property
    def running(self) -> bool:
        return self.status in ("PENDING", "RUNNING", "ABORTING")

    @property
    def node_pool(self) -> str:
        """The pool a node-pool operation acts on, "" otherwise."""
        parts = self.target.split("/")
        return parts[parts.index("nodePools") + 1] if "nodePools" in parts[:-1] else ""


@dataclass(frozen=True, slots=True)
class ManagedVm:
    """A VM in a node pool's managed instance group."""

    name: str
    zone: str
    instance_group: str  # the group's name
    status: str  # RUNNING, PROVISIONING, STAGING, STOPPING, TERMINATED, ...
    current_action: str  # NONE, CREATING, RECREATING, DELETING, ...
    created: datetime | None = None
    pool: str = ""
    id: str = ""  # Compute's instance id: a VM recreated under the same name gets a new one

    @property
    def identity(self) -> tuple[str, str, str]:
        """What names one VM once and for all: its creation time never changes for it."""
        return (self.zone, self.name, self.id)


@dataclass(frozen=True, slots=True)
class SerialOutput:
    """What a VM wrote to a serial port (port 1 is its console), as Compute Engine keeps it.

    Compute keeps the last megabyte; ``start`` is where ``contents`` begins
    among every byte the port ever wrote and ``next`` where the next read
    would begin, so a tail asked for with a negative start says how much came
    before it.
    """

    instance: str
    zone: str
    contents: str
    start: int = 0
    next: int = 0

    def last_lines(self, count: int) -> list[str]:
        """The last ``count`` complete lines, without the partial first line of a tail that began mid-line."""
        lines = self.contents.splitlines()
        if self.start > 0 and lines and not self.contents.startswith("\n"):
            lines = lines[1:]  # the tail began inside a line
        return [line.rstrip() for line in lines if line.strip()][-count:] if count > 0 else []

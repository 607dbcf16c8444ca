"""The `nodes` and `node NAME` answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.analysis.nodes import NodeCounts, NodeProblem, VersionSkew
from bot.analysis.registration import ZoneRegistration
from bot.model.gke import ManagedVm
from bot.model.kube import Event, Node, Pod, Resources
from bot.results.links import LogLink, SshHint


@dataclass(frozen=True)
class ZoneRow:
    """One pool in one zone: the Kubernetes view and, on GKE, the Compute view."""

    zone: str
    pool: str
    counts: NodeCounts | None
    registration: ZoneRegistration | None = None


@dataclass(frozen=True)
class NodesResult:
    cluster: str
    now: datetime
    rows: tuple[ZoneRow, ...]
    total: NodeCounts
    control_plane_version: str
    skew: tuple[VersionSkew, ...]
    problems: tuple[NodeProblem, ...]
    unregistered: tuple[ManagedVm, ...] = ()
    gke: bool = False
    problems_only: bool = False
    filters: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    vm_count: int | None = None  # node-pool VMs before --problems hides rows; None: count the rows


@dataclass(frozen=True)
class NodeDetail:
    cluster: str
    now: datetime
    node: Node
    pods: tuple[Pod, ...]
    requested: Resources
    events: tuple[Event, ...]
    log_links: tuple[LogLink, ...] = ()
    ssh: SshHint | None = None
    control_plane_version: str = ""


@dataclass(frozen=True)
class UnregisteredVmDetail:
    """`node NAME` for a pool VM that never became a node."""

    cluster: str
    now: datetime
    vm: ManagedVm
    log_links: tuple[LogLink, ...] = ()
    ssh: SshHint | None = None

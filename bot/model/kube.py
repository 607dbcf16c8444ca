"""Kubernetes objects, slimmed to what the bot reasons about."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Labels GKE puts on nodes; also set by most other providers' tooling.
POOL_LABELS = ("cloud.google.com/gke-nodepool", "eks.amazonaws.com/nodegroup", "agentpool", "node-pool")
ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")

# Conditions whose status True means trouble (node-problem-detector adds more).
PRESSURE_CONDITIONS = ("MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable")


@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: str  # "True" | "False" | "Unknown"
    reason: str = ""
    message: str = ""
    last_transition: datetime | None = None
    last_heartbeat: datetime | None = None


@dataclass(frozen=True, slots=True)
class Taint:
    key: str
    effect: str
    value: str = ""
    time_added: datetime | None = None  # set for NoExecute taints: evictions count from it


@dataclass(frozen=True, slots=True)
class Toleration:
    """A pod's toleration; ``seconds`` (tolerationSeconds) bounds how long a NoExecute taint is tolerated."""

    key: str = ""  # "" with operator Exists: every taint
    operator: str = "Equal"  # Equal | Exists
    value: str = ""
    effect: str = ""  # "" : every effect
    seconds: int | None = None

    def tolerates(self, taint: Taint) -> bool:
        if self.effect and self.effect != taint.effect:
            return False
        if self.operator == "Exists":
            return not self.key or self.key == taint.key
        return self.key == taint.key and self.value == taint.value


@dataclass(frozen=True, slots=True)
class Resources:
    """CPU in millicores, memory in bytes, pods as a count."""

    cpu_m: int = 0
    memory: int = 0
    pods: int = 0


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    uid: str
    created: datetime | None
    pool: str  # "" when no known pool label
    zone: str  # "" when no zone label
    kubelet_version: str
    unschedulable: bool
    # From a list or the watch cache: Ready and the conditions that are not False; from get_node: all.
    conditions: tuple[Condition, ...]
    taints: tuple[Taint, ...] = ()
    allocatable: Resources = field(default_factory=Resources)
    capacity: Resources = field(default_factory=Resources)
    provider_id: str = ""  # gce://project/zone/instance on GKE
    internal_ip: str = ""
    instance_type: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    deleting: bool = False

    def condition(self, kind: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == kind), None)

    @property
    def readiness(self) -> str:
        """"Ready", "NotReady" or "Unknown" (kubelet stopped posting status)."""
        ready = self.condition("Ready")
        if ready is None or ready.status == "Unknown":
            return "Unknown"
        return "Ready" if ready.status == "True" else "NotReady"

    @property
    def problem_conditions(self) -> tuple[Condition, ...]:
        """Conditions that say something is wrong: any non-Ready condition that is True."""
        return tuple(c for c in self.conditions if c.type != "Ready" and c.status == "True")

    @property
    def gce_instance(self) -> tuple[str, str, str] | None:
        """(project, zone, instance) from a ``gce://`` provider ID."""
        if not self.provider_id.startswith("gce://"):
            return None
        parts = self.provider_id.removeprefix("gce://").split("/")
        return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None


@dataclass(frozen=True, slots=True)
class ContainerState:
    name: str
    image: str
    ready: bool
    restart_count: int
    state: str  # "running" | "waiting" | "terminated" | "unknown"
    reason: str = ""  # CrashLoopBackOff, ImagePullBackOff, OOMKilled, Completed, ...
    message: str = ""
    started: datetime | None = None
    last_reason: str = ""  # of the last termination
    last_exit_code: int | None = None
    last_finished: datetime | None = None
    init: bool = False


@dataclass(frozen=True, slots=True)
class Pod:
    namespace: str
    name: str
    uid: str
    phase: str  # Pending | Running | Succeeded | Failed | Unknown
    node_name: str
    created: datetime | None
    labels: dict[str, str] = field(default_factory=dict)
    owner_kind: str = ""  # ReplicaSet, StatefulSet, DaemonSet, Job, Node, "" for bare pods
    owner_name: str = ""
    reason: str = ""  # status.reason, e.g. Evicted
    message: str = ""
    conditions: tuple[Condition, ...] = ()
    containers: tuple[ContainerState, ...] = ()
    requests: Resources = field(default_factory=Resources)
    termination_grace_seconds: int = 30
    deleting: bool = False
    tolerations: tuple[Toleration, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def condition(self, kind: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == kind), None)

    @property
    def unschedulable(self) -> Condition | None:
        """The PodScheduled=False condition with the scheduler's reason, if any."""
        scheduled = self.condition("PodScheduled")
        if scheduled is not None and scheduled.status == "False":
            return scheduled
        return None

    @property
    def restarts(self) -> int:
        return sum(c.restart_count for c in self.containers)


@dataclass(frozen=True, slots=True)
class Event:
    namespace: str
    name: str
    kind: str  # involved object kind
    object_name: str
    object_namespace: str
    reason: str
    message: str
    type: str  # Normal | Warning
    count: int
    first_seen: datetime | None
    last_seen: datetime | None
    source: str = ""  # reporting component: default-scheduler, cluster-autoscaler, kubelet, ...


@dataclass(frozen=True, slots=True)
class DisruptionBudget:
    namespace: str
    name: str
    disruptions_allowed: int
    current_healthy: int
    desired_healthy: int
    expected_pods: int
    match_labels: dict[str, str] = field(default_factory=dict)


WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


@dataclass(frozen=True, slots=True)
class Workload:
    """A Deployment, StatefulSet or DaemonSet: what it wants, what it has, and its own account of why.

    The counts mean the same for every kind: ``desired`` replicas (for a
    DaemonSet, the nodes that should run one), ``current`` pods that exist
    (scheduled, for a DaemonSet), ``ready``, ``updated`` to the newest
    template and ``available`` (ready for at least minReadySeconds).
    """

    kind: str  # one of WORKLOAD_KINDS
    namespace: str
    name: str
    uid: str
    created: datetime | None
    desired: int
    current: int
    ready: int
    updated: int
    available: int
    generation: int = 0
    observed_generation: int = 0
    conditions: tuple[Condition, ...] = ()
    selector: str = ""  # the label selector of its pods, as the API's labelSelector parameter spells it
    images: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    paused: bool = False
    strategy: str = ""  # RollingUpdate, Recreate, OnDelete
    progress_deadline_seconds: int | None = None
    misscheduled: int = 0  # DaemonSet pods on nodes that should not run one
    current_revision: str = ""  # StatefulSet revisions: they differ while an update rolls
    update_revision: str = ""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def condition(self, kind: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == kind), None)


@dataclass(frozen=True, slots=True)
class Usage:
    """What metrics.k8s.io measured for a node or a pod (its containers summed): CPU in millicores, memory in bytes."""

    name: str
    namespace: str = ""  # "" for a node
    cpu_m: int = 0
    memory: int = 0
    timestamp: datetime | None = None
    window_seconds: float = 0.0

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

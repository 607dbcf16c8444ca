"""What a scenario says, and what loading one gives: the data every scenario module shares.

The YAML file is read into ``ScenarioSpec`` (the cluster, its node pools, its
workloads, its timeline of ``StepSpec``); ``populate`` turns a spec into a
filled world and returns a ``Scenario``, which the timeline then plays. This
module imports none of them, so ``populate`` and ``timeline`` both build on it
and ``scenario`` ties them together, with every import going one way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field

from sim.world import World

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_offset(text: str | int) -> timedelta:
    """``30m``, ``2h``, ``45s``, ``3d`` or a number of seconds."""
    if isinstance(text, int):
        return timedelta(seconds=text)
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 15m, 2h, 3d)")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


class PoolSpec(BaseModel):
    name: str
    machine_type: str = "e2-standard-4"
    cpu: str = "4"
    memory: str = "16Gi"
    nodes_per_zone: int = Field(1, ge=0)
    autoscaling: dict[str, int] | None = None  # {min, max} per zone
    unregistered_zones: list[str] = Field(default_factory=list)
    zones: list[str] | None = None  # default: the cluster's locations
    vm_age: str = "1d"
    version: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)  # node labels GKE sets from the pool's config
    taints: list[str] = Field(default_factory=list)  # kubectl's notation: "dedicated=gpu:NoSchedule"


class ClusterSpec(BaseModel):
    name: str
    location: str
    locations: list[str]
    version: str = "1.30.5-gke.1014001"
    release_channel: str | None = "REGULAR"
    maintenance_window: dict[str, str] | None = None
    # How the API is down while a zonal control plane is replaced: connections refused (nothing listens),
    # accepted and never answered, or a 503 Status.
    master_outage: Literal["refuse", "timeout", "503"] = "refuse"


class SpreadSpec(BaseModel):
    """A topologySpreadConstraint with whenUnsatisfiable DoNotSchedule over the workload's own pods."""

    key: str = "topology.kubernetes.io/zone"
    max_skew: int = Field(1, ge=1)


class WorkloadSpec(BaseModel):
    namespace: str
    name: str
    replicas: int = Field(1, ge=0)
    cpu: str = "100m"
    memory: str = "128Mi"
    image: str | None = None
    # What the scheduler weighs besides room: a pod that matches no node stays Pending with its words.
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[dict[str, Any]] = Field(default_factory=list)  # Kubernetes' shape: key, operator, value, effect
    claim: str | None = None  # a PersistentVolumeClaim that is not bound
    scheduler_message: str | None = None  # Pending with exactly this FailedScheduling message
    topology_spread: SpreadSpec | None = None

    @property
    def constrained(self) -> bool:
        return bool(
            self.node_selector or self.tolerations or self.claim or self.scheduler_message or self.topology_spread
        )


class StepSpec(BaseModel):
    at: str
    do: Literal[
        "start_operation",
        "progress_operation",
        "finish_operation",
        "fail_operation",
        "abort_operation",
        "node_not_ready",
        "node_unknown",
        "node_ready",
        "zone_down",
        "zone_up",
        "create_pods",
        "control_plane_down",
        "control_plane_up",
        "cordon",
        "uncordon",
        "drain",
        "evict_pods",
        "delete_pods",
        "rollout",
        "add_nodes",
        "remove_node",
        "set_pdb",
    ]
    params: dict[str, Any] = Field(default_factory=dict)


class ExpectedIncident(BaseModel):
    """An incident the bot must open: its kind, the worst severity it reaches, what it must and must not say."""

    kind: str
    severity: Literal["info", "warning", "critical"]
    scope: str | None = None
    words: list[str] = Field(default_factory=list)  # in its parent (any version) or its thread
    not_words: list[str] = Field(default_factory=list)
    broadcast: bool | None = None  # a reply of its thread was also sent to the channel (or, False, never)
    max_messages: int | None = None  # its post, edits, thread replies and replies also sent to the channel
    first_alert_by: str | None = None  # its parent posted by then, from the start (``16m``: grace period + one check)


class Expectations(BaseModel):
    """What replaying the scenario through the bot must give; kept as data beside the scenario."""

    play: str | None = None  # how long to replay; default: 20 minutes past the last step
    incidents: list[ExpectedIncident] = Field(default_factory=list)
    absent: list[str] = Field(default_factory=list)  # kinds that must open no incident at all
    max_messages: int | None = None  # in the alert channel: posts, edits, thread replies and broadcasts
    healthy: bool = False  # nothing at all may be posted


class ScenarioSpec(BaseModel):
    name: str
    summary: str = ""
    project: str = "demo-project"
    cluster: ClusterSpec
    node_pools: list[PoolSpec]
    workloads: list[WorkloadSpec] = Field(default_factory=list)
    timeline: list[StepSpec] = Field(default_factory=list)
    expect: Expectations = Field(default_factory=Expectations)


def _step_from_yaml(raw: dict[str, Any]) -> dict[str, Any]:
    """Steps are written flat in YAML (``{at, do, type, ...}``); keep the extras as params."""
    known = {"at", "do"}
    return {"at": str(raw.get("at", "0s")), "do": raw.get("do"), "params": {k: v for k, v in raw.items() if k not in known}}


def _repeated(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """A step with ``every`` (and ``for`` or ``times``) as the plain steps it stands for.

    ``{at: 5m, every: 6m, for: 30m, do: node_not_ready}`` runs at 5m, 11m, 17m,
    23m and 29m: every start before ``at + for``. ``times: 5`` counts instead.
    """
    step = dict(raw)
    every = step.pop("every", None)
    span = step.pop("for", None)
    times = step.pop("times", None)
    if every is None:
        if span is not None or times is not None:
            raise ValueError(f"a step with `for` or `times` needs `every`: {raw!r}")
        return [step]
    interval = parse_offset(every)
    if interval <= timedelta(0):
        raise ValueError(f"`every` must be positive: {raw!r}")
    if (span is None) == (times is None):
        raise ValueError(f"a repeating step needs exactly one of `for` and `times`: {raw!r}")
    start = parse_offset(str(step.get("at", "0s")))
    count = int(times) if times is not None else -(-parse_offset(span) // interval)
    return [{**step, "at": f"{int((start + k * interval).total_seconds())}s"} for k in range(count)]


def available() -> list[str]:
    folder = resources.files("sim") / "scenarios"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_spec(name_or_path: str) -> ScenarioSpec:
    """A scenario by name (one shipped in sim/scenarios) or by path to a YAML file."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        text = path.read_text()
    else:
        if name_or_path not in available():
            raise ValueError(f"unknown scenario {name_or_path!r}; shipped: {', '.join(available())}")
        text = (resources.files("sim") / "scenarios" / f"{name_or_path}.yaml").read_text()
    raw = yaml.safe_load(text)
    steps = [plain for step in raw.get("timeline") or [] for plain in _repeated(step)]
    # Stable: steps due at the same moment keep the order they were written in.
    steps.sort(key=lambda step: parse_offset(str(step.get("at", "0s"))))
    raw["timeline"] = [_step_from_yaml(step) for step in steps]
    return ScenarioSpec.model_validate(raw)


@dataclass
class Scenario:
    """A loaded scenario bound to a world; ``sim.timeline`` plays its steps as the clock advances."""

    spec: ScenarioSpec
    world: World
    started: datetime
    node_names: list[str]
    vm_names: dict[str, list[str]]  # zone -> VM names
    unregistered_vms: dict[str, list[str]]  # zone -> VM names without a node
    next_step: int = 0  # index of the first timeline step not yet applied
    target_versions: dict[str, str] = field(default_factory=dict)  # upgrade operation name -> version it installs
    # (namespace, name) of pods Pending under a literal scheduler_message: the scheduler's retries leave them be.
    held_pending: set[tuple[str, str]] = field(default_factory=set)

    @property
    def cluster_name(self) -> str:
        return self.spec.cluster.name

    @property
    def location(self) -> str:
        return self.spec.cluster.location

    @property
    def project(self) -> str:
        return self.spec.project

    @property
    def zonal(self) -> bool:
        return self.spec.cluster.location.count("-") == 2

    def step_times(self) -> list[datetime]:
        return [self.started + parse_offset(step.at) for step in self.spec.timeline]

    def end(self) -> datetime:
        times = self.step_times()
        return max(times) if times else self.started

"""Snapshot builders and in-memory readers: fixtures for the analysis and command tests.

The readers are plain classes honouring the source Protocols: they answer
from snapshot objects and record what they were asked (selectors, log
queries), so a test can check that a command asks the server for the right
thing. The sources have their own tests against the simulated world.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from bot.blocks import Reply
from bot.clusters import ClusterHandle, ClusterRegistry
from bot.commands.door import Door
from bot.commands.registry import Invocation
from bot.errors import NotFound, Unreachable
from bot.model.gke import Autoscaling, GkeCluster, ManagedVm, NodePool, Operation, SerialOutput
from bot.model.kube import Condition, ContainerState, Event, Node, Pod, Resources, Usage, Workload
from bot.model.logs import LogLine
from bot.settings import ClusterConfig, GkeConfig, Settings
from bot.sources.contracts import LogQuery

NOW = datetime(2024, 11, 5, 12, 0, tzinfo=UTC)
PROJECT = "shop-project"
ZONES = ("us-west1-a", "us-west1-b", "us-west1-c")
GROUP_URL = "https://www.googleapis.com/compute/v1/projects/{p}/zones/{z}/instanceGroupManagers/gke-shop-prod-default-pool-{s}-grp"


class FixedClock:
    def __init__(self, now: datetime = NOW) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


def make_node(
    name: str,
    zone: str = "us-west1-a",
    pool: str = "default-pool",
    *,
    ready: str = "True",
    version: str = "v1.30.5-gke.1014001",
    cordoned: bool = False,
    extra_conditions: tuple[Condition, ...] = (),
    cpu_m: int = 3920,
) -> Node:
    conditions = (
        Condition("Ready", ready, "KubeletReady" if ready == "True" else "KubeletNotReady", "", NOW - timedelta(hours=2)),
        Condition("MemoryPressure", "False", "KubeletHasSufficientMemory"),
        Condition("KernelDeadlock", "False", "KernelHasNoDeadlock"),
    ) + extra_conditions
    return Node(
        name=name,
        uid=f"uid-{name}",
        created=NOW - timedelta(hours=2),
        pool=pool,
        zone=zone,
        kubelet_version=version,
        unschedulable=cordoned,
        conditions=conditions,
        allocatable=Resources(cpu_m=cpu_m, memory=14 * 2**30, pods=110),
        capacity=Resources(cpu_m=4000, memory=16 * 2**30, pods=110),
        provider_id=f"gce://{PROJECT}/{zone}/{name}",
    )


def make_pod(
    namespace: str,
    name: str,
    *,
    phase: str = "Running",
    node: str = "",
    unschedulable_message: str = "",
    waiting: str = "",
    restarts: int = 0,
    last_reason: str = "",
    cpu_m: int = 500,
    reason: str = "",
) -> Pod:
    conditions: tuple[Condition, ...] = ()
    if unschedulable_message:
        conditions = (Condition("PodScheduled", "False", "Unschedulable", unschedulable_message),)
    state = "waiting" if waiting or phase == "Pending" else ("running" if phase == "Running" else "terminated")
    container = ContainerState(
        name="app",
        image="registry.example/app:1",
        ready=phase == "Running" and not waiting,
        restart_count=restarts,
        state=state,
        reason=waiting,
        last_reason=last_reason,
        last_exit_code=137 if last_reason == "OOMKilled" else None,
    )
    return Pod(
        namespace=namespace,
        name=name,
        uid=f"uid-{name}",
        phase=phase,
        node_name=node,
        created=NOW - timedelta(minutes=40),
        labels={"app": name.rsplit("-", 1)[0]},
        owner_kind="ReplicaSet",
        owner_name=name.rsplit("-", 1)[0],
        reason=reason,
        conditions=conditions,
        containers=(container,),
        requests=Resources(cpu_m=cpu_m, memory=2**30),
    )


def make_event(kind: str, namespace: str, name: str, reason: str, message: str, *, minutes_ago: int = 1, type_: str = "Normal", source: str = "") -> Event:
    when = NOW - timedelta(minutes=minutes_ago)
    return Event(
        namespace=namespace,
        name=f"{name}.{reason}.{minutes_ago}",
        kind=kind,
        object_name=name,
        object_namespace=namespace,
        reason=reason,
        message=message,
        type=type_,
        count=1,
        first_seen=when,
        last_seen=when,
        source=source,
    )


def make_workload(
    kind: str,
    namespace: str,
    name: str,
    *,
    desired: int = 3,
    ready: int | None = None,
    updated: int | None = None,
    available: int | None = None,
    stuck: bool = False,
    generation: int = 1,
    observed: int | None = None,
) -> Workload:
    """A workload whose counts are full unless told otherwise; ``stuck`` adds ProgressDeadlineExceeded."""
    ready = desired if ready is None else ready
    conditions: tuple[Condition, ...] = ()
    if kind == "Deployment":
        available_now = desired if available is None else available
        conditions = (
            Condition("Available", "True" if available_now >= desired else "False",
                      "MinimumReplicasAvailable" if available_now >= desired else "MinimumReplicasUnavailable",
                      "Deployment has minimum availability." if available_now >= desired else "Deployment does not have minimum availability."),
            Condition("Progressing", "False", "ProgressDeadlineExceeded", f'ReplicaSet "{name}-7d4b9c6f5" has timed out progressing.')
            if stuck else Condition("Progressing", "True", "NewReplicaSetAvailable", f'ReplicaSet "{name}-7d4b9c6f5" has successfully progressed.'),
        )
    return Workload(
        kind=kind,
        namespace=namespace,
        name=name,
        uid=f"uid-{kind}-{name}",
        created=NOW - timedelta(days=3),
        desired=desired,
        current=desired,
        ready=ready,
        updated=desired if updated is None else updated,
        available=ready if available is None else available,
        generation=generation,
        observed_generation=generation if observed is None else observed,
        conditions=conditions,
        selector=f"app={name}",
        images=(f"registry.example/{name}:1",),
        labels={"app": name},
        strategy="RollingUpdate",
        progress_deadline_seconds=600 if kind == "Deployment" else None,
    )


def make_vm(name: str, zone: str, *, action: str = "NONE", status: str = "RUNNING", age: timedelta = timedelta(hours=2)) -> ManagedVm:
    suffix = {"us-west1-a": "1a2b", "us-west1-b": "3c4d", "us-west1-c": "5e6f"}.get(zone, "0000")
    return ManagedVm(
        name=name,
        zone=zone,
        instance_group=f"gke-shop-prod-default-pool-{suffix}-grp",
        status=status,
        current_action=action,
        created=NOW - age,
        pool="default-pool",
    )


def make_pool(name: str = "default-pool", zones: tuple[str, ...] = ZONES, version: str = "1.30.5-gke.1014001") -> NodePool:
    suffixes = {"us-west1-a": "1a2b", "us-west1-b": "3c4d", "us-west1-c": "5e6f"}
    return NodePool(
        name=name,
        locations=zones,
        version=version,
        status="RUNNING",
        machine_type="e2-standard-4",
        autoscaling=Autoscaling(enabled=True, min_nodes=1, max_nodes=3),
        initial_node_count=1,
        instance_groups=tuple(GROUP_URL.format(p=PROJECT, z=z, s=suffixes.get(z, "0000")) for z in zones),
    )


def make_cluster(location: str = "us-west1-a", *, pools: tuple[NodePool, ...] | None = None, release_channel: str = "REGULAR", window: str = "daily at 03:00 UTC for 4h", master: str = "1.30.5-gke.1014001") -> GkeCluster:
    return GkeCluster(
        project=PROJECT,
        name="shop-prod",
        location=location,
        locations=ZONES,
        status="RUNNING",
        status_message="",
        master_version=master,
        node_version="1.30.5-gke.1014001",
        release_channel=release_channel,
        maintenance_window=window,
        endpoint="10.0.0.2",
        node_pools=pools if pools is not None else (make_pool(),),
    )


# --- the zonal-shortfall shape: a zonal cluster, VMs in b and c never became nodes ---

def shortfall_nodes() -> list[Node]:
    return [make_node("gke-shop-prod-default-pool-1a2b-x1", "us-west1-a")]


def shortfall_vms() -> list[ManagedVm]:
    return [
        make_vm("gke-shop-prod-default-pool-1a2b-x1", "us-west1-a"),
        make_vm("gke-shop-prod-default-pool-3c4d-y1", "us-west1-b"),
        make_vm("gke-shop-prod-default-pool-3c4d-y2", "us-west1-b"),
        make_vm("gke-shop-prod-default-pool-5e6f-z1", "us-west1-c"),
    ]


INSUFFICIENT = "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."


def shortfall_pods() -> list[Pod]:
    node = "gke-shop-prod-default-pool-1a2b-x1"
    pods = [make_pod("shop", f"web-{i}", node=node, cpu_m=900) for i in range(3)]
    pods += [make_pod("shop", f"checkout-{i}", phase="Pending", unschedulable_message=INSUFFICIENT) for i in range(2)]
    pods += [make_pod("shop", "worker-0", phase="Pending", unschedulable_message=INSUFFICIENT)]
    pods += [make_pod("shop", "cron-0", node=node, waiting="CrashLoopBackOff", restarts=12, last_reason="OOMKilled")]
    return pods


def shortfall_workloads() -> list[Workload]:
    return [
        make_workload("Deployment", "shop", "web", desired=3),
        make_workload("Deployment", "shop", "checkout", desired=2, ready=0, stuck=True),
        make_workload("StatefulSet", "shop", "worker", desired=1, ready=0),
        make_workload("Deployment", "shop", "cron", desired=1, ready=0),
    ]


def shortfall_events() -> list[Event]:
    return [
        make_event("Pod", "shop", "checkout-0", "NotTriggerScaleUp", "pod didn't trigger scale-up: 1 max node group size reached", minutes_ago=2, source="cluster-autoscaler"),
        make_event("Pod", "shop", "checkout-0", "FailedScheduling", INSUFFICIENT, minutes_ago=1, type_="Warning", source="default-scheduler"),
        make_event("Node", "", "gke-shop-prod-default-pool-1a2b-x1", "NodeReady", "Node is ready", minutes_ago=100),
    ]


# --- fakes of the source Protocols ---

def _field_match(obj_fields: dict[str, str], selector: str | None) -> bool:
    if not selector:
        return True
    for term in selector.split(","):
        key, _, value = term.partition("=")
        if key.endswith("!"):
            if obj_fields.get(key[:-1]) == value:
                return False
        elif obj_fields.get(key) != value:
            return False
    return True


def _label_match(labels: dict[str, str], selector: str | None) -> bool:
    """Equality terms only (``a=b,c=d``): what the fakes' workloads select their pods by."""
    if not selector:
        return True
    return all(labels.get(key) == value for key, _, value in (term.partition("=") for term in selector.split(",")))


@dataclass
class FakeKube:
    nodes: list[Node] = field(default_factory=list)
    pods: list[Pod] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    version: str = "v1.30.5-gke.1014001"
    down: bool = False
    log_lines: list[LogLine] = field(default_factory=list)
    calls: list[tuple] = field(default_factory=list)
    workloads: list[Workload] = field(default_factory=list)
    node_usage: list[Usage] | None = None  # None: the cluster serves no metrics API
    pod_usage: list[Usage] | None = None
    namespaces: set[str] | None = None  # None: every namespace the pods, events and workloads name

    def server_version(self) -> str:
        if self.down:
            raise Unreachable("The Kubernetes API did not answer within 10s.", service="kubernetes", reason="timeout")
        return self.version

    def list_nodes(self, *, label_selector: str | None = None, field_selector: str | None = None) -> list[Node]:
        self.calls.append(("list_nodes", label_selector, field_selector))
        return [n for n in self.nodes if _field_match({"metadata.name": n.name}, field_selector)]

    def get_node(self, name: str) -> Node:
        self.calls.append(("get_node", name))
        for node in self.nodes:
            if node.name == name:
                return node
        raise NotFound(f"No node named `{name}`.")

    def list_pods(self, *, namespace: str | None = None, label_selector: str | None = None, field_selector: str | None = None) -> list[Pod]:
        self.calls.append(("list_pods", namespace, label_selector, field_selector))
        return [
            p
            for p in self.pods
            if (namespace is None or p.namespace == namespace)
            and _field_match({"status.phase": p.phase, "spec.nodeName": p.node_name}, field_selector)
            and _label_match(p.labels, label_selector)
        ]

    def get_pod(self, namespace: str, name: str) -> Pod:
        for pod in self.pods:
            if (pod.namespace, pod.name) == (namespace, name):
                return pod
        raise NotFound(f"No pod `{namespace}/{name}`.")

    def list_events(self, *, namespace: str | None = None, field_selector: str | None = None) -> list[Event]:
        self.calls.append(("list_events", namespace, field_selector))
        return [
            e
            for e in self.events
            if (namespace is None or e.namespace == namespace)
            and _field_match(
                {"involvedObject.kind": e.kind, "involvedObject.name": e.object_name, "involvedObject.namespace": e.object_namespace, "reason": e.reason, "type": e.type},
                field_selector,
            )
        ]

    def list_disruption_budgets(self, *, namespace: str | None = None) -> list:
        return []

    def namespace_exists(self, name: str) -> bool:
        self.calls.append(("namespace_exists", name))
        if self.namespaces is not None:
            return name in self.namespaces
        known = {p.namespace for p in self.pods} | {e.namespace for e in self.events} | {w.namespace for w in self.workloads}
        return name in known | {"default", "kube-system"}

    def _workloads(self, kind: str, namespace: str | None, label_selector: str | None) -> list[Workload]:
        self.calls.append((f"list_{kind.lower()}s", namespace, label_selector))
        return [
            w for w in self.workloads
            if w.kind == kind and (namespace is None or w.namespace == namespace) and _label_match(w.labels, label_selector)
        ]

    def list_deployments(self, *, namespace: str | None = None, label_selector: str | None = None) -> list[Workload]:
        return self._workloads("Deployment", namespace, label_selector)

    def list_statefulsets(self, *, namespace: str | None = None, label_selector: str | None = None) -> list[Workload]:
        return self._workloads("StatefulSet", namespace, label_selector)

    def list_daemonsets(self, *, namespace: str | None = None, label_selector: str | None = None) -> list[Workload]:
        return self._workloads("DaemonSet", namespace, label_selector)

    def _get_workload(self, kind: str, namespace: str, name: str) -> Workload:
        self.calls.append((f"get_{kind.lower()}", namespace, name))
        for w in self.workloads:
            if (w.kind, w.namespace, w.name) == (kind, namespace, name):
                return w
        raise NotFound(f"{kind} `{namespace}/{name}` was not found.")

    def get_deployment(self, namespace: str, name: str) -> Workload:
        return self._get_workload("Deployment", namespace, name)

    def get_statefulset(self, namespace: str, name: str) -> Workload:
        return self._get_workload("StatefulSet", namespace, name)

    def get_daemonset(self, namespace: str, name: str) -> Workload:
        return self._get_workload("DaemonSet", namespace, name)

    def node_metrics(self) -> list[Usage] | None:
        self.calls.append(("node_metrics",))
        return None if self.node_usage is None else list(self.node_usage)

    def pod_metrics(self, *, namespace: str | None = None) -> list[Usage] | None:
        self.calls.append(("pod_metrics", namespace))
        if self.pod_usage is None:
            return None
        return [u for u in self.pod_usage if namespace is None or u.namespace == namespace]

    def pod_log(self, namespace: str, name: str, *, container: str | None = None, tail_lines: int = 100, since_seconds: int | None = None) -> list[LogLine]:
        self.calls.append(("pod_log", namespace, name, container, tail_lines, since_seconds))
        return self.log_lines[:tail_lines]


@dataclass
class FakeGke:
    cluster: GkeCluster
    operations: list[Operation] = field(default_factory=list)

    def get_cluster(self) -> GkeCluster:
        return self.cluster

    def list_operations(self) -> list[Operation]:
        return self.operations


@dataclass
class FakeCompute:
    vms: list[ManagedVm] = field(default_factory=list)
    asked: list[list[str]] = field(default_factory=list)
    created: datetime | None = None  # what instances.get would say for VMs listed without it
    consoles: dict[str, str] = field(default_factory=dict)  # VM name -> its serial port output

    def list_managed_vms(self, instance_group_urls: list[str], *, pools: Any = None) -> list[ManagedVm]:
        self.asked.append(list(instance_group_urls))
        names = {u.rsplit("/", 1)[-1] for u in instance_group_urls}
        return [vm for vm in self.vms if vm.instance_group in names]

    def with_created(self, vms: Any, *, known: Any = (), limit: int | None = None) -> list[ManagedVm]:
        times = {vm.name: vm.created for vm in known if vm.created}
        return [replace(vm, created=vm.created or times.get(vm.name) or self.created) for vm in vms]

    def serial_port_tail(self, zone: str, name: str, *, max_bytes: int = 16384) -> SerialOutput:
        """What ``consoles`` holds for the VM (by name); a VM without one answers as Compute's 404 would."""
        if name not in self.consoles:
            raise NotFound(f"VM {name} in {zone} was not found.")
        text = self.consoles[name][-max_bytes:]
        return SerialOutput(instance=name, zone=zone, contents=text, start=0, next=len(text))


@dataclass
class FakeLogs:
    lines: list[LogLine] = field(default_factory=list)
    queries: list[LogQuery] = field(default_factory=list)

    def query(self, query: LogQuery) -> list[LogLine]:
        self.queries.append(query)
        return self.lines[: query.limit]

    def filter_for(self, query: LogQuery) -> str:
        return f'resource.type="k8s_node" resource.labels.node_name="{query.node}"'

    def explorer_url(self, query: LogQuery) -> str:
        return "https://console.cloud.google.com/logs/query;query=" + quote(self.filter_for(query)) + f"?project={PROJECT}"


def gke_settings(name: str = "prod", location: str = "us-west1-a") -> Settings:
    return Settings(clusters=[ClusterConfig(name=name, gke=GkeConfig(project=PROJECT, location=location, cluster="shop-prod"))])


def shortfall_handle(name: str = "prod", **overrides) -> ClusterHandle:
    kube = overrides.pop("kube", None) or FakeKube(
        nodes=shortfall_nodes(), pods=shortfall_pods(), events=shortfall_events(), workloads=shortfall_workloads()
    )
    cluster = overrides.pop("cluster", None) or make_cluster()
    return ClusterHandle(
        config=gke_settings(name, cluster.location).clusters[0],
        kube=kube,
        gke=overrides.pop("gke", None) or FakeGke(cluster),
        compute=overrides.pop("compute", None) or FakeCompute(shortfall_vms()),
        logs=overrides.pop("logs", FakeLogs([LogLine(NOW, "ERROR", "kube-proxy: failed to start proxier", "gke-shop-prod-default-pool-3c4d-y1")])),
    )


def plain_handle(name: str = "lab", kube: FakeKube | None = None) -> ClusterHandle:
    return ClusterHandle(config=ClusterConfig(name=name), kube=kube or FakeKube(nodes=[make_node("lab-1", zone="", pool="")]))


def ask(text: str, *handles: ClusterHandle, settings: Settings | None = None) -> Reply:
    """Send ``text`` through the door the way the console or Slack would."""
    from handlers import command_registry

    handles = handles or (shortfall_handle(),)
    settings = settings or Settings(clusters=[h.config for h in handles])
    door = Door(settings, ClusterRegistry(list(handles)), FixedClock(), command_registry())
    return door.run(Invocation(text=text)).reply

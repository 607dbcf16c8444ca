"""Large GKE clusters for benchmarks and for trying the bot at scale.

A scenario spells a small incident by hand; the benchmark needs a cluster of
thousands of nodes that looks like a busy production one: a regional cluster
whose node pools spread over zones, many namespaces owned by teams, workloads
of many replicas, and the usual background of trouble (about 1% of pods
Pending with the scheduler's reason, some crash-looping, failing to pull or
killed for memory, a few nodes NotReady or cordoned, a handful of node-pool
VMs that never registered). Objects come from the shared builders and are
loaded with ``KubeStore.bulk_load``, so 150,000 pods load in seconds.

Everything is derived from ``seed``: the same arguments give the same world.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sim import machines
from sim.clock import rfc3339
from sim.google import builders as logs
from sim.google import names
from sim.kube import addons
from sim.kube import builders as kube
from sim.world import World

VERSION = "1.30.5-gke.1014001"
ZONE_LETTERS = "abcfdeghij"  # us-central1 has a, b, c and f; the rest only matter for zones > 4
POOL_SHAPES = (  # (name, machine type, cpu, memory)
    ("default-pool", "e2-standard-8", "8", "32Gi"),
    ("highmem-pool", "n2-highmem-8", "8", "64Gi"),
    ("batch-pool", "e2-standard-16", "16", "64Gi"),
    ("spot-pool", "e2-standard-4", "4", "16Gi"),
)
TEAMS = ("payments", "search", "checkout", "identity", "data", "platform", "growth", "ml", "mobile", "ads")
APPS = (
    "api", "web", "worker", "gateway", "cache", "indexer", "scheduler", "frontend", "backend", "consumer",
    "exporter", "cron", "auth", "billing", "notifier", "router", "ingest", "renderer", "feed", "session",
)
PODS_PER_NAMESPACE = 1500
MAX_NAMESPACES = 200
MAX_REPLICAS = 60
_ALNUM = string.ascii_lowercase + string.digits
# What a bad day looks like, as shares of the workload pods.
PENDING_SHARE = 0.01
CRASHLOOP_SHARE = 0.003
IMAGE_PULL_SHARE = 0.001
OOM_SHARE = 0.002


@dataclass
class GeneratedCluster:
    """What the generator made, named so tests and the benchmark can ask about it."""

    project: str
    cluster: str
    location: str
    zones: list[str]
    pools: list[str]
    node_names: list[str]
    vms_by_zone: dict[str, list[str]]  # every node-pool VM, registered or not
    unregistered_vms: list[str]
    not_ready_nodes: list[str]
    cordoned_nodes: list[str]
    namespaces: list[str]
    pod_count: int
    pending_pods: list[str] = field(default_factory=list)  # "namespace/name"
    crashloop_pods: list[str] = field(default_factory=list)
    image_pull_pods: list[str] = field(default_factory=list)
    oom_pods: list[str] = field(default_factory=list)

    @property
    def node_count(self) -> int:
        return len(self.node_names)

    @property
    def problem_pods(self) -> list[str]:
        return self.pending_pods + self.crashloop_pods + self.image_pull_pods + self.oom_pods


@dataclass(frozen=True)
class _Vm:
    name: str
    zone: str
    pool: int


def generate(
    world: World,
    *,
    nodes: int,
    pods: int,
    cluster: str = "big-prod",
    location: str = "us-central1",
    zones: int = 3,
    pools: int = 2,
    seed: int = 0,
) -> GeneratedCluster:
    """Fill ``world`` with a GKE cluster of ``nodes`` registered nodes and exactly ``pods`` pods."""
    if nodes < 1 or pods < 0:
        raise ValueError("a generated cluster needs at least one node and a non-negative number of pods")
    if not 1 <= zones <= len(ZONE_LETTERS) or pools < 1:
        raise ValueError(f"zones must be 1..{len(ZONE_LETTERS)} and pools at least 1")
    rng = random.Random(seed)
    project = world.project
    now = world.clock.now()
    zonal = names.is_zone(location)
    region = names.region_of(location)
    zone_names = [location] if zonal else [f"{region}-{letter}" for letter in ZONE_LETTERS[:zones]]
    shapes = [_pool_shape(index) for index in range(pools)]
    pool_names = [shape[0] for shape in shapes]

    vms = _vms(rng, cluster, zone_names, pool_names, nodes)
    stray = _unregistered(rng, cluster, zone_names, pool_names, nodes, {vm.name for vm in vms})
    sick = rng.sample(range(nodes), _share(nodes, 0.002, 1)) if nodes > 1 else []
    not_ready = {vms[i].name for i in sick}
    cordon_pool = [i for i in range(nodes) if vms[i].name not in not_ready]
    cordoned = {vms[i].name for i in rng.sample(cordon_pool, min(len(cordon_pool) - 1, _share(nodes, 0.001, 1)))} if len(cordon_pool) > 1 else set()

    with world.lock:
        created = now - timedelta(days=12)
        resource = _cluster_resource(cluster, location, zone_names, shapes, vms, stray)
        resource["createTime"] = (created - timedelta(minutes=6)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        world.google.add_cluster(resource)
        world.kube.bind_version(lambda: _master_version(world, location, cluster))
        late = {vm.name for vm in stray}
        records: dict[str, dict[str, Any]] = {}
        for vm in sorted(vms + stray, key=lambda v: (v.zone, v.pool, v.name)):
            igm = names.instance_group_name(cluster, pool_names[vm.pool], vm.zone)
            started = now - timedelta(hours=3) if vm.name in late else created
            records[vm.name] = world.google.add_managed_instance(vm.zone, igm, vm.name, created=started)
        _unregistered_logs(world, project, location, cluster, stray, now)

        world.kube.bulk_load("nodes", (
            machines.node_for_instance(
                records[vm.name], pool=pool_names[vm.pool], ready=vm.name not in not_ready,
                version=f"v{VERSION}", cpu=shapes[vm.pool][2], memory=shapes[vm.pool][3],
                unschedulable=vm.name in cordoned,
            )
            for vm in vms
        ))
        world.kube.bulk_load("leases", (
            kube.node_lease({"metadata": {"name": vm.name}}, renewed=machines.registered_at(records[vm.name])) for vm in vms
        ))

        daemons = 2 if pods >= 4 * nodes else (1 if pods >= 2 * nodes else 0)
        workload_pods = pods - daemons * nodes
        namespaces = _namespaces(rng, workload_pods)
        world.kube.bulk_load("namespaces", (
            {"metadata": {"name": ns, "labels": labels, "creationTimestamp": rfc3339(created - timedelta(minutes=5))}}
            for ns, labels in [("default", {}), ("kube-node-lease", {}), ("kube-public", {}), ("kube-system", {}), *namespaces]
        ))
        result = GeneratedCluster(
            project=project, cluster=cluster, location=location, zones=zone_names, pools=pool_names,
            node_names=[vm.name for vm in vms],
            vms_by_zone={zone: [vm.name for vm in vms + stray if vm.zone == zone] for zone in zone_names},
            unregistered_vms=[vm.name for vm in stray], not_ready_nodes=sorted(not_ready), cordoned_nodes=sorted(cordoned),
            namespaces=[ns for ns, _ in namespaces], pod_count=pods,
        )
        schedulable = [vm.name for vm in vms if vm.name not in not_ready and vm.name not in cordoned] or [vms[0].name]
        pending_message = (
            f"0/{nodes} nodes are available: {len(cordoned)} node(s) were unschedulable, "
            f"{len(not_ready)} node(s) had untolerated taint {{node.kubernetes.io/unreachable: }}, "
            f"{max(nodes - len(cordoned) - len(not_ready), 0)} Insufficient cpu. preemption: 0/{nodes} nodes are available: "
            f"{max(nodes - len(cordoned) - len(not_ready), 0)} No preemption victims found for incoming pod."
        )
        events: list[dict[str, Any]] = []
        world.kube.bulk_load("pods", _all_pods(
            rng, result, vms, daemons, namespaces, workload_pods, schedulable, pending_message, now, events,
        ))
        events += _node_events(result, now)
        world.kube.bulk_load("events", events)
    return result


def _master_version(world: World, location: str, cluster: str) -> str | None:
    """/version is GKE's currentMasterVersion, as in a loaded scenario."""
    version = (world.google.get_cluster(location, cluster) or {}).get("currentMasterVersion")
    return f"v{version}" if version else None


# -- shapes ---------------------------------------------------------------------------


def _pool_shape(index: int) -> tuple[str, str, str, str]:
    if index < len(POOL_SHAPES):
        return POOL_SHAPES[index]
    return (f"pool-{index}", "e2-standard-8", "8", "32Gi")


def _share(total: int, share: float, least: int) -> int:
    return max(least, round(total * share))


def _suffix(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(_ALNUM, k=length))


def _vms(rng: random.Random, cluster: str, zones: list[str], pools: list[str], count: int) -> list[_Vm]:
    """``count`` VMs spread evenly over every (pool, zone) group, the first pools taking the remainder."""
    groups = [(p, z) for p in range(len(pools)) for z in zones]
    taken: set[str] = set()
    made: list[_Vm] = []
    for index in range(count):
        pool, zone = groups[index % len(groups)]
        made.append(_Vm(_unique_vm(rng, cluster, pools[pool], zone, taken), zone, pool))
    return made


def _unique_vm(rng: random.Random, cluster: str, pool: str, zone: str, taken: set[str]) -> str:
    while True:
        name = names.instance_name(cluster, pool, zone, _suffix(rng, 4))
        if name not in taken:
            taken.add(name)
            return name


def _unregistered(rng: random.Random, cluster: str, zones: list[str], pools: list[str], nodes: int, taken: set[str]) -> list[_Vm]:
    """A handful of VMs of the first pool, in the zones away from the first, that never became nodes."""
    away = zones[1:] or zones
    count = min(8, _share(nodes, 0.001, 2))
    return [
        _Vm(_unique_vm(rng, cluster, pools[0], away[i % len(away)], taken), away[i % len(away)], 0) for i in range(count)
    ]


def _cluster_resource(
    cluster: str, location: str, zones: list[str], shapes: list[tuple[str, str, str, str]], vms: list[_Vm], stray: list[_Vm]
) -> dict[str, Any]:
    per_zone = [max(1, -(-sum(1 for vm in vms + stray if vm.pool == i) // len(zones))) for i in range(len(shapes))]
    return {
        "name": cluster,
        "location": location,
        "locations": zones,
        "currentMasterVersion": VERSION,
        "initialClusterVersion": VERSION,
        "currentNodeVersion": VERSION,
        "releaseChannel": {"channel": "REGULAR"},
        "autoscaling": {"autoscalingProfile": "BALANCED"},
        "maintenancePolicy": {"window": {"dailyMaintenanceWindow": {"startTime": "03:00", "duration": "PT4H"}}},
        "nodePools": [
            {
                "name": name,
                "locations": zones,
                "initialNodeCount": per_zone[index],
                "config": {"machineType": machine},
                "version": VERSION,
                "autoscaling": {"enabled": True, "minNodeCount": 1, "maxNodeCount": per_zone[index] + 10, "locationPolicy": "BALANCED"},
            }
            for index, (name, machine, _cpu, _memory) in enumerate(shapes)
        ],
    }


def _namespaces(rng: random.Random, workload_pods: int) -> list[tuple[str, dict[str, str]]]:
    count = max(3, min(MAX_NAMESPACES, workload_pods // PODS_PER_NAMESPACE))
    made = []
    for index in range(count):
        team = TEAMS[index % len(TEAMS)]
        env = ("prod", "staging", "dev")[rng.randrange(3) if index >= len(TEAMS) else 0]
        made.append((f"{team}-{env}-{index:03d}", {"team": team, "env": env}))
    return made


# -- pods and events ------------------------------------------------------------------------


def _all_pods(
    rng: random.Random,
    result: GeneratedCluster,
    vms: list[_Vm],
    daemons: int,
    namespaces: list[tuple[str, dict[str, str]]],
    workload_pods: int,
    schedulable: list[str],
    pending_message: str,
    now: datetime,
    events: list[dict[str, Any]],
) -> Iterator[dict[str, Any]]:
    """Daemon pods on every node, then the teams' workloads; fills the result's problem lists and ``events``."""
    created = now - timedelta(days=12)
    for vm in vms:
        # kube-proxy, then fluentbit-gke: as many as the pod count leaves room for
        yield from addons.node_daemon_pods(vm.name, version=f"v{VERSION}", created=created + timedelta(minutes=1))[:daemons]
    troubles = _troubles(rng, workload_pods)
    index = 0
    per_namespace = _split(workload_pods, len(namespaces))
    for (namespace, ns_labels), quota in zip(namespaces, per_namespace, strict=True):
        apps = iter(rng.sample(APPS, len(APPS)))
        left = quota
        while left > 0:
            replicas = min(left, rng.randint(3, MAX_REPLICAS))
            app = next(apps, None) or f"svc-{_suffix(rng, 3)}"
            replica_set = f"{app}-{_suffix(rng, 10)}"
            labels = {"app": app, "team": ns_labels["team"], "pod-template-hash": replica_set.rsplit("-", 1)[1]}
            image = f"us-docker.pkg.dev/{result.project}/{ns_labels['team']}/{app}:2.{rng.randint(0, 40)}.{rng.randint(0, 9)}"
            for _ in range(replicas):
                name = f"{replica_set}-{_suffix(rng, 5)}"
                key = f"{namespace}/{name}"
                trouble = troubles.get(index)
                index += 1
                common: dict[str, Any] = dict(labels=labels, image=image, owner=("ReplicaSet", replica_set), created=now - timedelta(hours=rng.randint(1, 200)))
                if trouble == "pending":
                    result.pending_pods.append(key)
                    yield kube.make_pod(namespace, name, phase="Pending", cpu="4", memory="8Gi", unschedulable_message=pending_message, **common)
                    events.append(kube.make_event(
                        namespace, kind="Pod", name=name, reason="FailedScheduling", message=pending_message, type="Warning",
                        source="default-scheduler", count=rng.randint(2, 30), first=now - timedelta(minutes=25), last=now,
                    ))
                    continue
                node = schedulable[rng.randrange(len(schedulable))]
                if trouble == "crashloop":
                    result.crashloop_pods.append(key)
                    yield kube.make_pod(namespace, name, node=node, restarts=rng.randint(5, 80), waiting_reason="CrashLoopBackOff", **common)
                elif trouble == "image":
                    result.image_pull_pods.append(key)
                    yield kube.make_pod(namespace, name, node=node, phase="Pending", waiting_reason="ImagePullBackOff",
                                        **{**common, "image": image.rsplit(":", 1)[0] + ":does-not-exist"})
                elif trouble == "oom":
                    result.oom_pods.append(key)
                    yield kube.make_pod(namespace, name, node=node, restarts=rng.randint(1, 12), last_termination="OOMKilled", memory="256Mi", **common)
                else:
                    yield kube.make_pod(namespace, name, node=node, **common)
            left -= replicas


def _troubles(rng: random.Random, workload_pods: int) -> dict[int, str]:
    """Which workload pod (by position) has which problem; every kind at least once when there is room."""
    wanted = [
        ("pending", _share(workload_pods, PENDING_SHARE, 2)),
        ("crashloop", _share(workload_pods, CRASHLOOP_SHARE, 1)),
        ("image", _share(workload_pods, IMAGE_PULL_SHARE, 1)),
        ("oom", _share(workload_pods, OOM_SHARE, 1)),
    ]
    total = min(workload_pods, sum(count for _, count in wanted))
    positions = rng.sample(range(workload_pods), total) if workload_pods else []
    chosen: dict[int, str] = {}
    cursor = 0
    for kind, count in wanted:
        for position in positions[cursor:cursor + count]:
            chosen[position] = kind
        cursor += count
    return chosen


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _node_events(result: GeneratedCluster, now: datetime) -> list[dict[str, Any]]:
    made = []
    for node in result.not_ready_nodes:
        made.append(kube.make_event(
            "default", kind="Node", name=node, reason="NodeNotReady", message=f"Node {node} status is now: NodeNotReady",
            type="Normal", source="node-controller", first=now - timedelta(minutes=12), last=now - timedelta(minutes=12),
        ))
    for node in result.cordoned_nodes:
        made.append(kube.make_event(
            "default", kind="Node", name=node, reason="NodeNotSchedulable", message=f"Node {node} status is now: NodeNotSchedulable",
            type="Normal", source="kubelet", host=node, first=now - timedelta(hours=2), last=now - timedelta(hours=2),
        ))
    return made


def _unregistered_logs(world: World, project: str, location: str, cluster: str, stray: list[_Vm], now: datetime) -> None:
    """Each VM that never registered says why, as the seed incident's VMs did."""
    endpoint = (world.google.get_cluster(location, cluster) or {}).get("endpoint", "")
    entries = []
    for vm in stray:
        where = {"location": location, "cluster": cluster, "node": vm.name}
        for minutes in (30, 20, 10):
            at = now - timedelta(minutes=minutes)
            entries.append(logs.node_log(
                project, log="kube-proxy", severity="ERROR", at=at,
                text=f'E{at:%m%d %H:%M:%S}.104213       1 server.go:1013] "Failed to retrieve node info" err="nodes \\"{vm.name}\\" not found"',
                **where,
            ))
            entries.append(logs.node_log(
                project, log="kubelet", severity="ERROR", at=at + timedelta(seconds=5),
                text=f'"Unable to register node with API server" err="Post \\"https://{endpoint}/api/v1/nodes\\": dial tcp {endpoint}:443: i/o timeout" node="{vm.name}"',
                **where,
            ))
    world.google.add_log_entries(entries)

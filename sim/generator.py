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

``generate_fleet`` makes many such clusters in one project (``sim.fleet``):
zonal and regional ones in several regions, each with its own pod range,
most of them quiet (nothing the bot alerts on) and a few in trouble, so an
alert that fires on the wrong cluster, or on every cluster, shows.
"""

from __future__ import annotations

import ipaddress
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sim import machines
from sim.clock import rfc3339
from sim.google import builders as logs
from sim.google import geography, names
from sim.kube import addons
from sim.kube import builders as kube
from sim.world import World

if TYPE_CHECKING:
    from sim.fleet import Fleet

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


@dataclass
class GeneratedFleet:
    """What ``generate_fleet`` made: each cluster's own account, and which ones are in trouble."""

    project: str
    clusters: dict[str, GeneratedCluster]  # in the fleet's order
    troubles: dict[str, str]  # cluster -> "unregistered-zone" or "busy"; the others are quiet

    @property
    def quiet(self) -> list[str]:
        return [name for name in self.clusters if name not in self.troubles]


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
    quiet: bool = False,
    unregistered_zone: str | None = None,
    pod_range: str | None = None,
) -> GeneratedCluster:
    """Fill ``world`` with a GKE cluster of ``nodes`` registered nodes and exactly ``pods`` pods.

    ``quiet`` leaves out the background trouble the bot alerts on (Pending
    pods, NotReady and cordoned nodes, VMs that never registered), keeping
    only crash loops and the like that no check watches. ``unregistered_zone``
    makes every pool VM of that zone of a regional cluster run without ever
    becoming a node, kube-proxy failing at start-up, as in the seed incident;
    ``nodes`` are then the ones registered in the other zones. ``pod_range``
    is the cluster's ``clusterIpv4Cidr`` (GKE's default when None), which a
    fleet sets apart per cluster.
    """
    if nodes < 1 or pods < 0:
        raise ValueError("a generated cluster needs at least one node and a non-negative number of pods")
    if not 1 <= zones <= len(ZONE_LETTERS) or pools < 1:
        raise ValueError(f"zones must be 1..{len(ZONE_LETTERS)} and pools at least 1")
    rng = random.Random(seed)
    project = world.project
    now = world.clock.now()
    zone_names = zones_of(location, zones)
    if unregistered_zone is not None and (unregistered_zone not in zone_names or len(zone_names) < 2):
        raise ValueError(f"{unregistered_zone} is not one of the zones of a regional cluster: {', '.join(zone_names)}")
    shapes = [_pool_shape(index) for index in range(pools)]
    pool_names = [shape[0] for shape in shapes]

    registering = [zone for zone in zone_names if zone != unregistered_zone]
    vms = _vms(rng, cluster, registering, pool_names, nodes)
    taken = {vm.name for vm in vms}
    stray = [] if quiet else _unregistered(rng, cluster, registering, pool_names, nodes, taken)
    if unregistered_zone is not None:
        stray += _zone_unregistered(rng, cluster, unregistered_zone, len(registering), pool_names, vms, taken)
    sick = rng.sample(range(nodes), _share(nodes, 0.002, 1)) if nodes > 1 and not quiet else []
    not_ready = {vms[i].name for i in sick}
    cordon_pool = [i for i in range(nodes) if vms[i].name not in not_ready]
    cordoned = {vms[i].name for i in rng.sample(cordon_pool, min(len(cordon_pool) - 1, _share(nodes, 0.001, 1)))} if len(cordon_pool) > 1 and not quiet else set()

    with world.lock:
        created = now - timedelta(days=12)
        resource = _cluster_resource(cluster, location, zone_names, shapes, vms, stray)
        if pod_range is not None:
            resource["clusterIpv4Cidr"] = pod_range
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
            rng, result, vms, daemons, namespaces, workload_pods, schedulable, pending_message, now, events, pending=not quiet,
        ))
        events += _node_events(result, now)
        world.kube.bulk_load("events", events)
    return result


def zones_of(location: str, count: int = 3) -> list[str]:
    """The zone of a zonal cluster, or ``count`` zones of a region with the letters Compute gives them."""
    if names.is_zone(location):
        return [location]
    known = geography.ZONE_LETTERS.get(location, "")
    letters = known + "".join(letter for letter in ZONE_LETTERS if letter not in known)
    return [f"{location}-{letter}" for letter in letters[:count]]


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


def _zone_unregistered(
    rng: random.Random, cluster: str, zone: str, registering: int, pools: list[str], vms: list[_Vm], taken: set[str]
) -> list[_Vm]:
    """Every VM each pool runs in ``zone``: as many as it has, on average, in each zone where VMs registered."""
    made = []
    for index, pool in enumerate(pools):
        count = -(-sum(1 for vm in vms if vm.pool == index) // registering)
        made += [_Vm(_unique_vm(rng, cluster, pool, zone, taken), zone, index) for _ in range(count)]
    return made


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
    *,
    pending: bool = True,
) -> Iterator[dict[str, Any]]:
    """Daemon pods on every node, then the teams' workloads; fills the result's problem lists and ``events``."""
    created = now - timedelta(days=12)
    for vm in vms:
        # kube-proxy, then fluentbit-gke: as many as the pod count leaves room for
        yield from addons.node_daemon_pods(vm.name, version=f"v{VERSION}", created=created + timedelta(minutes=1))[:daemons]
    troubles = _troubles(rng, workload_pods, pending=pending)
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
            # A ReplicaSet's pods are created together and are alike but for name, uid and node: one built
            # pod is the template of the healthy ones, which keeps 15,000 pods per cluster cheap to make.
            common: dict[str, Any] = dict(labels=labels, image=image, owner=("ReplicaSet", replica_set), created=now - timedelta(hours=rng.randint(1, 200)))
            template: dict[str, Any] | None = None
            for _ in range(replicas):
                name = f"{replica_set}-{_suffix(rng, 5)}"
                key = f"{namespace}/{name}"
                trouble = troubles.get(index)
                index += 1
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
                    if template is None:
                        template = kube.make_pod(namespace, replica_set, node=node, **common)
                    yield _replica(template, name, node, _uid(rng))
            left -= replicas


def _replica(template: dict[str, Any], name: str, node: str, uid: str) -> dict[str, Any]:
    """Another pod like ``template``: nested parts are shared, which is safe as the store serializes it at once."""
    return {
        **template,
        "metadata": {**template["metadata"], "name": name, "uid": uid},
        "spec": {**template["spec"], "nodeName": node},
    }


def _uid(rng: random.Random) -> str:
    hexed = f"{rng.getrandbits(128):032x}"
    return f"{hexed[:8]}-{hexed[8:12]}-4{hexed[13:16]}-{hexed[16:20]}-{hexed[20:]}"


def _troubles(rng: random.Random, workload_pods: int, *, pending: bool = True) -> dict[int, str]:
    """Which workload pod (by position) has which problem; every kind at least once when there is room."""
    wanted = [
        ("pending", _share(workload_pods, PENDING_SHARE, 2) if pending else 0),
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
        where: dict[str, Any] = {"location": location, "cluster": cluster, "node": vm.name}
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


# -- fleets ---------------------------------------------------------------------------

FLEET_REGIONS = ("us-central1", "us-west1", "us-east1", "europe-west1", "asia-east1")
FLEET_POD_RANGES = ipaddress.IPv4Network("10.0.0.0/9")  # below the auto-mode node subnets (10.128.0.0/9)
TROUBLES = ("unregistered-zone", "busy")


def generate_fleet(
    fleet: Fleet,
    *,
    clusters: int,
    nodes: int,
    pods: int,
    prefix: str = "fleet",
    seed: int = 0,
    troubles: dict[str, str] | None = None,
) -> GeneratedFleet:
    """Add ``clusters`` generated clusters of ``nodes`` nodes and ``pods`` pods each to ``fleet``.

    Clusters are named ``fleet-01``, ``fleet-02``, ... and take turns over
    five regions, every third one zonal (its region's first zone) and the
    others regional over three zones, so no region's node subnet runs out.
    Each gets a pod range of its own. ``troubles`` says which clusters are in
    trouble and how: "unregistered-zone" (a regional cluster whose VMs in its
    last zone never register) or "busy" (the generator's usual bad day:
    Pending pods, NotReady and cordoned nodes, a few VMs that never
    registered); by default the second cluster has the first and the third
    the second, and every other cluster is quiet.
    """
    if clusters < 1:
        raise ValueError("a fleet needs at least one cluster")
    cluster_names = [f"{prefix}-{index:02d}" for index in range(1, clusters + 1)]
    if troubles is None:
        troubles = dict(zip(cluster_names[1:3], TROUBLES, strict=False))
    unknown = {name: kind for name, kind in troubles.items() if name not in cluster_names or kind not in TROUBLES}
    if unknown:
        raise ValueError(f"troubles must name clusters of the fleet and be one of {', '.join(TROUBLES)}: {unknown}")
    ranges = _pod_ranges(clusters, nodes)
    made: dict[str, GeneratedCluster] = {}
    for index, name in enumerate(cluster_names):
        region = FLEET_REGIONS[index % len(FLEET_REGIONS)]
        trouble = troubles.get(name)
        zonal = index % 3 == 2 and trouble != "unregistered-zone"
        location = zones_of(region, 1)[0] if zonal else region
        world = fleet.add(name)
        made[name] = generate(
            world, nodes=nodes, pods=pods, cluster=name, location=location, seed=seed + index,
            quiet=trouble != "busy", pod_range=str(ranges[index]),
            unregistered_zone=zones_of(region)[-1] if trouble == "unregistered-zone" else None,
        )
    return GeneratedFleet(project=fleet.project, clusters=made, troubles=dict(troubles))


def _pod_ranges(clusters: int, nodes: int) -> list[ipaddress.IPv4Network]:
    """One pod range per cluster, a /14 as GKE's default or larger, with a /24 for every VM a cluster may hold."""
    wanted = max(1024, 2 * nodes)  # registered nodes, a zone's VMs that never register, and room to grow
    prefix = min(14, 24 - (wanted - 1).bit_length())
    size = 2 ** (32 - prefix)
    if clusters * size > FLEET_POD_RANGES.num_addresses:
        raise ValueError(f"{clusters} clusters of {nodes} nodes do not fit their pod ranges in {FLEET_POD_RANGES}")
    base = int(FLEET_POD_RANGES.network_address)
    return [ipaddress.IPv4Network((base + index * size, prefix)) for index in range(clusters)]

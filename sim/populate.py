"""Fill a world from a scenario spec: the GKE cluster, its VMs, nodes, pods, events and logs.

What is derived rather than written in the scenario, the way the real system
derives it: VMs exist in every zone of a node pool, but only the zones not
listed as ``unregistered_zones`` get Node objects; pods are placed first-fit
by CPU and what does not fit is Pending with the scheduler's message and the
autoscaler's verdict; VMs that never registered log why from kube-proxy and
the kubelet.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sim.google import builders as logs
from sim.google import names
from sim.kube import builders as kube
from sim.scenario_spec import PoolSpec, Scenario, ScenarioSpec, parse_offset
from sim.scheduling import NodeRoom, cpu_millicores, place
from sim.world import World

SYSTEM_CPU_M = 180  # kube-proxy and the logging agent on every node
ALLOCATABLE_CPU_M = {"2": 1930, "4": 3920, "8": 7910, "16": 15890}


def _suffix(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:4]


def populate(world: World, spec: ScenarioSpec) -> Scenario:
    now = world.clock.now()
    cluster = spec.cluster
    world.google.add_cluster(_cluster_resource(spec))
    vm_names: dict[str, list[str]] = {}
    unregistered: dict[str, list[str]] = {}
    node_names: list[str] = []
    rooms: list[NodeRoom] = []
    for namespace in sorted({"default", "kube-system", *(w.namespace for w in spec.workloads)}):
        world.kube.upsert("namespaces", {"metadata": {"name": namespace}})
    for pool in spec.node_pools:
        created = now - parse_offset(pool.vm_age)
        for zone in pool.zones or cluster.locations:
            igm = names.instance_group_name(cluster.name, pool.name, zone)
            for index in range(pool.nodes_per_zone):
                vm = names.instance_name(cluster.name, pool.name, zone, _suffix(cluster.name, pool.name, zone, str(index)))
                world.google.add_managed_instance(zone, igm, vm, created=created)
                vm_names.setdefault(zone, []).append(vm)
                if zone in pool.unregistered_zones:
                    unregistered.setdefault(zone, []).append(vm)
                    _unregistered_vm_logs(world, spec, vm, created, now)
                    continue
                world.kube.upsert("nodes", _node(spec, pool, zone, vm, created))
                node_names.append(vm)
                rooms.append(NodeRoom(vm, ALLOCATABLE_CPU_M.get(pool.cpu, cpu_millicores(pool.cpu) - 80) - SYSTEM_CPU_M))
                _system_pods(world, vm, created)
                _healthy_node_logs(world, spec, vm, now)
    _workloads(world, spec, rooms, now)
    return Scenario(spec=spec, world=world, started=now, node_names=node_names, vm_names=vm_names, unregistered_vms=unregistered)


def _cluster_resource(spec: ScenarioSpec) -> dict[str, Any]:
    cluster = spec.cluster
    resource: dict[str, Any] = {
        "name": cluster.name,
        "location": cluster.location,
        "locations": list(cluster.locations),
        "currentMasterVersion": cluster.version,
        "initialClusterVersion": cluster.version,
        "currentNodeVersion": cluster.version,
        "nodePools": [_pool_resource(spec, pool) for pool in spec.node_pools],
        "autoscaling": {"autoscalingProfile": "BALANCED"},
    }
    if cluster.release_channel:
        resource["releaseChannel"] = {"channel": cluster.release_channel}
    if cluster.maintenance_window:
        resource["maintenancePolicy"] = {
            "window": {
                "dailyMaintenanceWindow": {
                    "startTime": cluster.maintenance_window.get("start_time", "03:00"),
                    "duration": cluster.maintenance_window.get("duration", "PT4H"),
                }
            }
        }
    return resource


def _pool_resource(spec: ScenarioSpec, pool: PoolSpec) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "name": pool.name,
        "locations": list(pool.zones or spec.cluster.locations),
        "initialNodeCount": pool.nodes_per_zone,
        "config": {"machineType": pool.machine_type},
        "version": pool.version or spec.cluster.version,
    }
    if pool.autoscaling:
        resource["autoscaling"] = {
            "enabled": True,
            "minNodeCount": pool.autoscaling.get("min", 0),
            "maxNodeCount": pool.autoscaling.get("max", pool.nodes_per_zone),
            "locationPolicy": "BALANCED",
        }
    return resource


def _node(spec: ScenarioSpec, pool: PoolSpec, zone: str, name: str, created: datetime) -> dict[str, Any]:
    return kube.make_node(
        name,
        pool=pool.name,
        zone=zone,
        project=spec.project,
        version=f"v{pool.version or spec.cluster.version}",
        cpu=pool.cpu,
        memory=pool.memory,
        created=created,
        machine_type=pool.machine_type,
    )


def _system_pods(world: World, node: str, created: datetime) -> None:
    for prefix, cpu in (("kube-proxy", "100m"), ("fluentbit-gke", "80m")):
        pod = kube.make_pod(
            "kube-system",
            f"{prefix}-{node}" if prefix == "kube-proxy" else f"{prefix}-{_suffix(node)}",
            node=node,
            labels={"k8s-app": prefix},
            cpu=cpu,
            created=created,
            owner=("Node", node) if prefix == "kube-proxy" else ("DaemonSet", prefix),
        )
        world.kube.upsert("pods", pod)


def _workloads(world: World, spec: ScenarioSpec, rooms: list[NodeRoom], now: datetime) -> None:
    wanted: list[tuple[str, int]] = []
    by_key: dict[str, tuple[Any, str]] = {}
    for workload in spec.workloads:
        replica_set = f"{workload.name}-{_suffix(workload.namespace, workload.name)}c9d"
        for index in range(workload.replicas):
            name = f"{replica_set}-{_suffix(replica_set, str(index))}x"
            key = f"{workload.namespace}/{name}"
            wanted.append((key, cpu_millicores(workload.cpu)))
            by_key[key] = (workload, replica_set)
    placement = place(wanted, rooms)
    pool_max = {p.name: (p.autoscaling or {}).get("max") for p in spec.node_pools}
    at_max = all(m is not None and m <= p.nodes_per_zone for p, m in zip(spec.node_pools, pool_max.values(), strict=False))
    groups = [names.instance_group_name(spec.cluster.name, p.name, z) for p in spec.node_pools for z in (p.zones or spec.cluster.locations)]
    for key, (workload, replica_set) in by_key.items():
        namespace, name = key.split("/", 1)
        node = placement.assigned.get(key)
        pod = kube.make_pod(
            namespace,
            name,
            node=node,
            phase="Running" if node else "Pending",
            labels={"app": workload.name, "pod-template-hash": replica_set.rsplit("-", 1)[-1]},
            cpu=workload.cpu,
            memory=workload.memory,
            image=workload.image or f"us-docker.pkg.dev/{spec.project}/shop/{workload.name}:1.4.2",
            created=now - timedelta(minutes=20),
            owner=("ReplicaSet", replica_set),
            unschedulable_message=placement.unschedulable.get(key),
        )
        world.kube.upsert("pods", pod)
        if node:
            world.kube.set_pod_log(namespace, name, workload.name, _app_lines(workload.name, now))
            continue
        message = placement.unschedulable[key]
        world.kube.upsert("events", kube.make_event(
            namespace, kind="Pod", name=name, reason="FailedScheduling", message=message,
            type="Warning", source="default-scheduler", count=4, first=now - timedelta(minutes=19), last=now,
        ))
        if at_max:
            verdict = "pod didn't trigger scale-up: " + f"{len(groups)} max node group size reached"
            world.kube.upsert("events", kube.make_event(
                namespace, kind="Pod", name=name, reason="NotTriggerScaleUp", message=verdict,
                type="Normal", source="cluster-autoscaler", count=3, first=now - timedelta(minutes=19), last=now,
            ))
        else:
            world.kube.upsert("events", kube.make_event(
                namespace, kind="Pod", name=name, reason="TriggeredScaleUp",
                message=f"pod triggered scale-up: [{{{groups[0]} 1->2 (max: 3)}}]",
                type="Normal", source="cluster-autoscaler", count=1, first=now - timedelta(minutes=19), last=now,
            ))
    pending = [key.split("/", 1) for key in placement.unschedulable]
    if pending and at_max:
        world.google.add_log_entries([
            logs.autoscaler_log(
                spec.project, location=spec.cluster.location, cluster=spec.cluster.name,
                payload=logs.no_scale_up_payload("no.scale.up.mig.failing.predicate", pods=[(ns, n) for ns, n in pending], groups=groups),
                at=now - timedelta(minutes=minute),
            )
            for minute in (15, 10, 5, 1)
        ])


def _app_lines(app: str, now: datetime) -> list[tuple[datetime, str]]:
    return [
        (now - timedelta(minutes=15), f"{app} starting, version 1.4.2"),
        (now - timedelta(minutes=14, seconds=50), "listening on :8080"),
        (now - timedelta(minutes=2), "GET /healthz 200 0.4ms"),
    ]


def _healthy_node_logs(world: World, spec: ScenarioSpec, node: str, now: datetime) -> None:
    where = {"location": spec.cluster.location, "cluster": spec.cluster.name, "node": node}
    world.google.add_log_entries([
        logs.node_log(spec.project, log="kube-proxy", text="Successfully retrieved node IP(s)", at=now - timedelta(minutes=40), **where),
        logs.node_log(spec.project, log="kube-proxy", text="Using iptables Proxier", at=now - timedelta(minutes=40), **where),
        logs.node_log(spec.project, log="kubelet", text="Successfully registered node " + node, at=now - timedelta(minutes=41), **where),
    ])


def _unregistered_vm_logs(world: World, spec: ScenarioSpec, vm: str, created: datetime, now: datetime) -> None:
    """What the incident's VMs logged: kube-proxy cannot start, the kubelet cannot register."""
    where = {"location": spec.cluster.location, "cluster": spec.cluster.name, "node": vm}
    entries = []
    moment = max(created + timedelta(minutes=2), now - timedelta(minutes=50))
    while moment < now:
        entries.append(logs.node_log(
            spec.project, log="kube-proxy", severity="ERROR", at=moment,
            text=f'E{moment:%m%d %H:%M:%S}.104213       1 server.go:1013] "Failed to retrieve node info" err="nodes \\"{vm}\\" not found"',
            **where,
        ))
        entries.append(logs.node_log(
            spec.project, log="kube-proxy", severity="ERROR", at=moment + timedelta(seconds=1),
            text=f'E{moment:%m%d %H:%M:%S}.105877       1 run.go:74] "command failed" err="failed complete: timed out waiting for the node to register"',
            **where,
        ))
        entries.append(logs.node_log(
            spec.project, log="kubelet", severity="ERROR", at=moment + timedelta(seconds=5),
            text=f'"Unable to register node with API server" err="Post \\"https://10.128.0.2/api/v1/nodes\\": dial tcp 10.128.0.2:443: i/o timeout" node="{vm}"',
            **where,
        ))
        entries.append(logs.node_log(
            spec.project, log="kube-proxy", severity="INFO", at=moment + timedelta(seconds=30),
            text="Restarting kube-proxy after failure (back-off 5m0s)", **where,
        ))
        moment += timedelta(minutes=5)
    world.google.add_log_entries(entries)

"""Fill a world from a scenario spec: the GKE cluster, its VMs, nodes, pods, events and logs.

What is derived rather than written in the scenario, the way the real system
derives it: VMs exist in every zone of a node pool, but only the zones not
listed as ``unregistered_zones`` get Node objects, each built from its VM's
record (``sim.machines``) with a Lease in kube-node-lease; the cluster was
created before its first VM; kube-system runs its real pods, whose requests
count against the nodes; workload pods are spread over zones and nodes by
CPU (``sim.scheduling``) and what does not fit is Pending with the
scheduler's message and the autoscaler's verdict; VMs that never registered
log why from kube-proxy and the kubelet.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sim import machines
from sim.clock import rfc3339
from sim.google import builders as logs
from sim.google import names
from sim.kube import addons, podlogs
from sim.kube import builders as kube
from sim.scenario_spec import PoolSpec, Scenario, ScenarioSpec, parse_offset
from sim.scheduling import NodeRoom, cpu_millicores, place
from sim.world import World

CLUSTER_LEAD = timedelta(minutes=6)  # the control plane is up this long before the first node-pool VM
SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")


def _suffix(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:4]


def populate(world: World, spec: ScenarioSpec) -> Scenario:
    now = world.clock.now()
    cluster = spec.cluster
    oldest = min((now - parse_offset(pool.vm_age) for pool in spec.node_pools), default=now)
    cluster_created = oldest - CLUSTER_LEAD
    world.google.add_cluster(_cluster_resource(spec, cluster_created))
    world.kube.bind_version(lambda: _control_plane_version(world, spec))
    vm_names: dict[str, list[str]] = {}
    unregistered: dict[str, list[str]] = {}
    node_names: list[str] = []
    rooms: list[NodeRoom] = []
    for namespace in SYSTEM_NAMESPACES:
        world.kube.upsert("namespaces", {"metadata": {"name": namespace, "creationTimestamp": rfc3339(cluster_created + timedelta(minutes=1))}})
    cluster_resource = world.google.get_cluster(cluster.location, cluster.name) or {}
    for service in addons.cluster_services(cluster_resource.get("servicesIpv4Cidr", "34.118.224.0/20"),
                                           rfc3339(cluster_created + timedelta(minutes=1))):
        world.kube.upsert("services", service)
    for namespace in sorted({w.namespace for w in spec.workloads} - set(SYSTEM_NAMESPACES)):
        world.kube.upsert("namespaces", {"metadata": {"name": namespace, "creationTimestamp": rfc3339(oldest + timedelta(minutes=5))}})
    for pool in spec.node_pools:
        created = now - parse_offset(pool.vm_age)
        for zone in pool.zones or cluster.locations:
            igm = names.instance_group_name(cluster.name, pool.name, zone)
            for index in range(pool.nodes_per_zone):
                vm_name = names.instance_name(cluster.name, pool.name, zone, _suffix(cluster.name, pool.name, zone, str(index)))
                vm = world.google.add_managed_instance(zone, igm, vm_name, created=created)
                vm_names.setdefault(zone, []).append(vm_name)
                _vm_boot_logs(world, spec, vm, zone, created)
                if zone in pool.unregistered_zones:
                    unregistered.setdefault(zone, []).append(vm_name)
                    _unregistered_vm_logs(world, spec, vm_name, created, now)
                    continue
                version = f"v{pool.version or spec.cluster.version}"
                node = world.kube.upsert("nodes", machines.node_for_instance(vm, pool=pool.name, version=version, cpu=pool.cpu, memory=pool.memory))
                registered = machines.registered_at(vm)
                world.kube.upsert("leases", kube.node_lease(node, renewed=registered))
                node_names.append(vm_name)
                allocatable = cpu_millicores(node["status"]["allocatable"]["cpu"])
                rooms.append(NodeRoom(vm_name, allocatable - addons.daemon_cpu_m(), zone=zone))
                for pod in addons.node_daemon_pods(vm_name, version=version, created=registered + timedelta(seconds=5)):
                    world.kube.upsert("pods", pod)
                _healthy_node_logs(world, spec, vm_name, registered)
    _cluster_addons(world, spec, rooms, cluster_created)
    _workloads(world, spec, rooms, now)
    return Scenario(spec=spec, world=world, started=now, node_names=node_names, vm_names=vm_names, unregistered_vms=unregistered)


def _control_plane_version(world: World, spec: ScenarioSpec) -> str | None:
    """What the Kubernetes API's /version says: GKE's current master version, with a "v"."""
    cluster = world.google.get_cluster(spec.cluster.location, spec.cluster.name)
    version = (cluster or {}).get("currentMasterVersion")
    return f"v{version}" if version else None


def _cluster_addons(world: World, spec: ScenarioSpec, rooms: list[NodeRoom], cluster_created: datetime) -> None:
    """kube-dns, konnectivity-agent and metrics-server, scheduled before any workload."""
    wanted: list[tuple[str, int, str]] = []
    by_name: dict[str, addons.Addon] = {}
    for addon in addons.ADDONS:
        for name in addons.addon_pod_names(addon, spec.cluster.name, addons.replicas(addon, len(rooms))):
            wanted.append((name, addon.cpu_m, addon.name))
            by_name[name] = addon
    placement = place(wanted, rooms)
    first_node = min((world.kube.get("nodes", None, room.name) or {}).get("metadata", {}).get("creationTimestamp", "") for room in rooms) if rooms else ""
    created = max(cluster_created + timedelta(minutes=2), _parse(first_node) or cluster_created)
    for name, addon in by_name.items():
        world.kube.upsert("pods", addons.addon_pod(
            addon, spec.cluster.name, name, node=placement.assigned.get(name), created=created,
            message=placement.unschedulable.get(name),
        ))


def _parse(text: str) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _cluster_resource(spec: ScenarioSpec, created: datetime) -> dict[str, Any]:
    cluster = spec.cluster
    resource: dict[str, Any] = {
        "name": cluster.name,
        "createTime": created.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
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


def _workloads(world: World, spec: ScenarioSpec, rooms: list[NodeRoom], now: datetime) -> None:
    wanted: list[tuple[str, int, str]] = []
    by_key: dict[str, tuple[Any, str]] = {}
    for workload in spec.workloads:
        replica_set = f"{workload.name}-{_suffix(workload.namespace, workload.name)}c9d"
        for index in range(workload.replicas):
            name = f"{replica_set}-{_suffix(replica_set, str(index))}x"
            key = f"{workload.namespace}/{name}"
            wanted.append((key, cpu_millicores(workload.cpu), f"{workload.namespace}/{workload.name}"))
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


def write_pod_logs(world: World, spec: ScenarioSpec) -> None:
    """What every running container has printed so far, told by its image, in ``kubectl logs`` and as
    ``k8s_container`` entries in Cloud Logging alike (the same lines, the stream naming the log).

    Containers whose log a scenario or a test set already keep it.
    """
    now = world.clock.now()
    endpoint = (world.google.get_cluster(spec.cluster.location, spec.cluster.name) or {}).get("endpoint", "")
    entries = []
    for pod in world.kube.items("pods"):
        meta = pod["metadata"]
        namespace, name = meta.get("namespace", "default"), meta["name"]
        for container in (c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or ()):
            if world.kube.pod_log(namespace, name, container):
                continue
            lines = podlogs.lines_for(pod, container, now, endpoint=endpoint)
            if not lines:
                continue
            world.kube.set_pod_log(namespace, name, container, [(at, text) for at, text, _ in lines])
            entries += [
                logs.container_log(
                    spec.project, location=spec.cluster.location, cluster=spec.cluster.name, namespace=namespace,
                    pod=name, container=container, text=text, stream=stream, severity=_severity(text),
                    pod_labels=meta.get("labels") or {}, node=pod["spec"]["nodeName"], at=at,
                )
                for at, text, stream in lines
            ]
    world.google.add_log_entries(entries)


def _severity(text: str) -> str:
    """GKE reads a klog line's level letter; other lines are INFO."""
    head = text[:5]
    if len(head) == 5 and head[0] in "IWEF" and head[1:].isdigit():
        return {"I": "INFO", "W": "WARNING", "E": "ERROR", "F": "CRITICAL"}[head[0]]
    return "INFO"


def _vm_boot_logs(world: World, spec: ScenarioSpec, vm: dict[str, Any], zone: str, created: datetime) -> None:
    """The ``gce_instance`` lines every GKE VM writes as it boots: the guest agent and the startup scripts."""
    where = {"zone": zone, "instance": vm["name"], "instance_id": str(vm["id"])}
    world.google.add_log_entries([
        logs.vm_log(spec.project, log="GCEGuestAgent", text="GCE Agent Started (version 20240528.00)", at=created + timedelta(seconds=21), **where),
        logs.vm_log(spec.project, log="GCEMetadataScripts", text="Starting startup scripts (version 20240528.00).", at=created + timedelta(seconds=23), **where),
        logs.vm_log(spec.project, log="GCEMetadataScripts", text="Found startup-script in metadata.", at=created + timedelta(seconds=23), **where),
        logs.vm_log(spec.project, log="GCEMetadataScripts", text="Finished running startup scripts.", at=created + timedelta(seconds=41), **where),
    ])


def _healthy_node_logs(world: World, spec: ScenarioSpec, node: str, registered: datetime) -> None:
    """A node that registered said so, and its kube-proxy started right after."""
    where = {"location": spec.cluster.location, "cluster": spec.cluster.name, "node": node}
    world.google.add_log_entries([
        logs.node_log(spec.project, log="kubelet", text="Successfully registered node " + node, at=registered, **where),
        logs.node_log(spec.project, log="kube-proxy", text="Successfully retrieved node IP(s)", at=registered + timedelta(seconds=9), **where),
        logs.node_log(spec.project, log="kube-proxy", text="Using iptables Proxier", at=registered + timedelta(seconds=9), **where),
    ])


def _unregistered_vm_logs(world: World, spec: ScenarioSpec, vm: str, created: datetime, now: datetime) -> None:
    """What the incident's VMs logged: kube-proxy cannot start, the kubelet cannot register."""
    where = {"location": spec.cluster.location, "cluster": spec.cluster.name, "node": vm}
    entries = []
    moment = max(created + timedelta(minutes=2), now - timedelta(minutes=50))
    endpoint = (world.google.get_cluster(spec.cluster.location, spec.cluster.name) or {}).get("endpoint", "")
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
            text=f'"Unable to register node with API server" err="Post \\"https://{endpoint}/api/v1/nodes\\": dial tcp {endpoint}:443: i/o timeout" node="{vm}"',
            **where,
        ))
        entries.append(logs.node_log(
            spec.project, log="kube-proxy", severity="INFO", at=moment + timedelta(seconds=30),
            text="Restarting kube-proxy after failure (back-off 5m0s)", **where,
        ))
        moment += timedelta(minutes=5)
    world.google.add_log_entries(entries)

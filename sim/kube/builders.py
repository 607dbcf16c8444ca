"""Builders for realistic GKE-flavoured Kubernetes objects.

Scenarios, the large-cluster generator and tests all need nodes, pods,
events and PDBs that look like what a GKE cluster really returns (the labels
the bot groups by, providerIDs it maps to VMs, node-problem-detector
conditions, container states it classifies), so they are built in one place.
Timestamps left out are filled by the store from the simulated clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import Any

from sim.clock import DEFAULT_START, rfc3339
from sim.google import network

# Conditions node-problem-detector adds on GKE, all healthy by default.
NPD_CONDITIONS = (
    ("FrequentUnregisterNetDevice", "NoFrequentUnregisterNetDevice", "node is functioning properly"),
    ("FrequentKubeletRestart", "NoFrequentKubeletRestart", "kubelet is functioning properly"),
    ("FrequentDockerRestart", "NoFrequentDockerRestart", "docker is functioning properly"),
    ("FrequentContainerdRestart", "NoFrequentContainerdRestart", "containerd is functioning properly"),
    ("KernelDeadlock", "KernelHasNoDeadlock", "kernel has no deadlock"),
    ("ReadonlyFilesystem", "FilesystemIsNotReadOnly", "Filesystem is not read-only"),
    ("CorruptDockerOverlay2", "NoCorruptDockerOverlay2", "docker overlay2 is functioning properly"),
)


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def _number(text: str, digits: int) -> str:
    return str(int.from_bytes(_digest(text)[:8], "big"))[:digits]


def pod_ip_in(pod_cidr: str, key: str, taken: Collection[str] = ()) -> str:
    """A free address of a node's pod range for the pod ``key`` (what the CNI plugin hands out)."""
    base_text, _, bits = pod_cidr.partition("/")
    base = network.as_int(base_text)
    size = 2 ** (32 - int(bits or 32)) - 3  # not the network, the gateway (.1) nor the broadcast address
    first = int.from_bytes(_digest(key)[:4], "big") % size
    for step in range(size):
        candidate = network.dotted(base + 2 + (first + step) % size)
        if candidate not in taken:
            return candidate
    return network.dotted(base + 2 + first)


def fill_pod_addresses(pod: dict[str, Any], node: dict[str, Any] | None, taken: set[str] | None = None) -> None:
    """Give a scheduled pod the addresses its kubelet would report: hostIP(s) and an IP of the node's pod range."""
    status = pod.get("status")
    if not isinstance(status, dict) or not (pod.get("spec") or {}).get("nodeName") or "startTime" not in status:
        return
    if node is None:
        return
    if "hostIP" not in status:
        internal = next((a["address"] for a in node.get("status", {}).get("addresses", []) if a.get("type") == "InternalIP"), None)
        if internal:
            status["hostIP"] = internal
            status["hostIPs"] = [{"ip": internal}]
    cidr = (node.get("spec") or {}).get("podCIDR")
    if "podIP" not in status and cidr:
        meta = pod.get("metadata") or {}
        status["podIP"] = pod_ip_in(cidr, f"{meta.get('namespace')}/{meta.get('name')}", taken or ())
        status["podIPs"] = [{"ip": status["podIP"]}]
    if taken is not None and status.get("podIP"):
        taken.add(status["podIP"])


def _fake_uuid(text: str) -> str:
    hexed = _digest(text).hex()
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:32]}"


def region_of(zone: str) -> str:
    return zone.rsplit("-", 1)[0]


def node_uid(name: str) -> str:
    """A node's metadata.uid, derived from its name so its mirror pods can point at it."""
    return str(_fake_uuid(f"node/{name}"))


# Kubelet-owned conditions: the node controller turns them Unknown when the kubelet goes silent.
KUBELET_CONDITIONS = ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")


def allocatable_cpu_m(cpu: str) -> int:
    """GKE's CPU reservation: 6% of the first core, 1% of the second, 0.5% of the next two, 0.25% above."""
    total = int(cpu[:-1]) if cpu.endswith("m") else int(float(cpu) * 1000)
    tiers = ((0, 1000, 0.06), (1000, 2000, 0.01), (2000, 4000, 0.005), (4000, 10**9, 0.0025))
    reserved = sum(max(min(total, high) - low, 0) * share for low, high, share in tiers)
    return total - round(reserved)


def unknown_conditions(conditions: list[dict[str, Any]], at: datetime) -> list[dict[str, Any]]:
    """What the node controller writes when a kubelet stops posting: its conditions turn Unknown.

    Heartbeats stay at the last one the kubelet sent; transitions are now.
    """
    changed = []
    for condition in conditions:
        condition = dict(condition)
        if condition.get("type") in KUBELET_CONDITIONS:
            condition.update(status="Unknown", reason="NodeStatusUnknown", message="Kubelet stopped posting node status.",
                             lastTransitionTime=rfc3339(at))
        changed.append(condition)
    return changed


def not_ready_taints(ready_status: str, at: datetime) -> list[dict[str, str]]:
    """The node lifecycle controller's taints for a Ready condition of False or Unknown."""
    if ready_status == "True":
        return []
    key = "node.kubernetes.io/unreachable" if ready_status == "Unknown" else "node.kubernetes.io/not-ready"
    return [
        {"key": key, "effect": "NoSchedule", "timeAdded": rfc3339(at)},
        {"key": key, "effect": "NoExecute", "timeAdded": rfc3339(at)},
    ]


def node_condition(kind: str, status: str, reason: str, message: str, at: datetime) -> dict[str, str]:
    return {
        "type": kind,
        "status": status,
        "lastHeartbeatTime": rfc3339(at),
        "lastTransitionTime": rfc3339(at),
        "reason": reason,
        "message": message,
    }


def _allocatable_memory(memory: str) -> str:
    """GKE reserves a slice of memory for the system; roughly 80% is allocatable."""
    if memory.endswith("Gi"):
        return f"{int(float(memory[:-2]) * 1024 * 1024 * 0.8)}Ki"
    return memory


def make_node(
    name: str,
    *,
    pool: str,
    zone: str,
    project: str,
    ready: bool = True,
    version: str = "v1.30.5-gke.1014001",
    cpu: str = "4",
    memory: str = "16Gi",
    unschedulable: bool = False,
    created: datetime | None = None,
    conditions: list[dict[str, str]] | None = None,
    machine_type: str = "e2-standard-4",
    labels: dict[str, str] | None = None,
    instance_id: str | None = None,
    internal_ip: str | None = None,
    external_ip: str | bool = True,
    pod_cidr: str | None = None,
) -> dict[str, Any]:
    """A GKE node; ``conditions`` replaces the generated ones entirely when given.

    The facts the node repeats from its VM (instance id, internal and
    external addresses, pod range) default to what Compute derives for a VM
    of that name (``sim.google.network``); ``sim.machines.node_for_instance``
    passes the VM's own. ``external_ip=False``: the VM has no NAT address.
    """
    at = created or DEFAULT_START
    region = region_of(zone)
    if instance_id is None:
        instance_id = network.instance_id(project, zone, name)
    if internal_ip is None:
        internal_ip = network.default_internal_ip(zone, project, name)
    if external_ip is True:
        external_ip = network.external_ip(region, project, zone, name)
    if conditions is None:
        conditions = [node_condition(kind, "False", reason, message, at) for kind, reason, message in NPD_CONDITIONS]
        conditions.append(node_condition("NetworkUnavailable", "False", "RouteCreated", "NodeController create implicit route", at))
        conditions += [
            node_condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available", at),
            node_condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", at),
            node_condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available", at),
        ]
        conditions.append(node_condition("Ready", "True", "KubeletReady", "kubelet is posting ready status. AppArmor enabled", at))
        if not ready:
            conditions = unknown_conditions(conditions, at)
    node_labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/instance-type": machine_type,
        "beta.kubernetes.io/os": "linux",
        "cloud.google.com/gke-boot-disk": "pd-balanced",
        "cloud.google.com/gke-container-runtime": "containerd",
        "cloud.google.com/gke-nodepool": pool,
        "cloud.google.com/gke-os-distribution": "cos",
        "cloud.google.com/machine-family": machine_type.split("-")[0],
        "failure-domain.beta.kubernetes.io/region": region,
        "failure-domain.beta.kubernetes.io/zone": zone,
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": machine_type,
        "topology.gke.io/zone": zone,
        "topology.kubernetes.io/region": region,
        "topology.kubernetes.io/zone": zone,
        **(labels or {}),
    }
    spec: dict[str, Any] = {
        "podCIDR": pod_cidr or f"10.{_digest(name)[2] % 200 + 20}.{_digest(name)[3]}.0/24",
        "providerID": f"gce://{project}/{zone}/{name}",
    }
    spec["podCIDRs"] = [spec["podCIDR"]]
    if unschedulable:
        spec["unschedulable"] = True
        spec["taints"] = [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule", "timeAdded": rfc3339(at)}]
    ready_status = next((c.get("status", "True") for c in conditions if c.get("type") == "Ready"), "True")
    if ready_status != "True":
        spec.setdefault("taints", []).extend(not_ready_taints(ready_status, at))
    addresses = [{"type": "InternalIP", "address": internal_ip}]
    if external_ip:
        addresses.append({"type": "ExternalIP", "address": str(external_ip)})
    addresses += [
        {"type": "InternalDNS", "address": f"{name}.{zone}.c.{project}.internal"},
        {"type": "Hostname", "address": f"{name}.{zone}.c.{project}.internal"},
    ]
    metadata: dict[str, Any] = {
        "name": name,
        "uid": node_uid(name),
        "labels": node_labels,
        "annotations": {
            "container.googleapis.com/instance_id": instance_id,
            "node.alpha.kubernetes.io/ttl": "0",
            "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        },
    }
    if created is not None:
        metadata["creationTimestamp"] = rfc3339(created)
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": metadata,
        "spec": spec,
        "status": {
            "addresses": addresses,
            "allocatable": {"cpu": f"{allocatable_cpu_m(cpu)}m", "ephemeral-storage": "47060071478", "memory": _allocatable_memory(memory), "pods": "110"},
            "capacity": {"cpu": cpu, "ephemeral-storage": "98831908Ki", "memory": memory, "pods": "110"},
            "conditions": conditions,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": _fake_uuid(name + "/boot"),
                "containerRuntimeVersion": "containerd://1.7.22",
                "kernelVersion": "6.1.100+",
                "kubeProxyVersion": version,
                "kubeletVersion": version,
                "machineID": _digest(name + "/machine").hex()[:32],
                "operatingSystem": "linux",
                "osImage": "Container-Optimized OS from Google",
                "systemUUID": _fake_uuid(name + "/system"),
            },
        },
    }


def _pod_condition(kind: str, status: str, at: datetime, reason: str | None = None, message: str | None = None) -> dict[str, Any]:
    condition: dict[str, Any] = {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": rfc3339(at)}
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def _container_status(
    name: str, image: str, *, phase: str, scheduled: bool, at: datetime, restarts: int, waiting_reason: str | None, last_termination: str | None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "image": image, "imageID": "", "restartCount": restarts, "started": False, "ready": False}
    if waiting_reason or (phase == "Pending" and scheduled):
        reason = waiting_reason or "ContainerCreating"
        state: dict[str, Any] = {"waiting": {"reason": reason}}
        if reason == "CrashLoopBackOff":
            state["waiting"]["message"] = f"back-off 5m0s restarting failed container={name}"
        elif reason in ("ImagePullBackOff", "ErrImagePull"):
            state["waiting"]["message"] = f'Back-off pulling image "{image}"'
        entry["state"] = state
    elif phase == "Running":
        entry.update(state={"running": {"startedAt": rfc3339(at)}}, ready=True, started=True)
    elif phase in ("Succeeded", "Failed"):
        code = 0 if phase == "Succeeded" else 1
        entry["state"] = {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error", "startedAt": rfc3339(at), "finishedAt": rfc3339(at)}}
    if last_termination or restarts:
        reason = last_termination or "Error"
        entry["lastState"] = {
            "terminated": {
                "exitCode": 137 if reason == "OOMKilled" else 1,
                "reason": reason,
                "startedAt": rfc3339(at - timedelta(minutes=2)),
                "finishedAt": rfc3339(at - timedelta(minutes=1)),
            }
        }
    entry["imageID"] = f"{image.split(':')[0]}@sha256:{_digest(image).hex()}"
    return entry


def make_pod(
    namespace: str,
    name: str,
    *,
    node: str | None = None,
    phase: str = "Running",
    labels: dict[str, str] | None = None,
    containers: Iterable[str] | None = None,
    image: str = "us-docker.pkg.dev/demo-project/apps/web:1.4.2",
    cpu: str = "100m",
    memory: str = "128Mi",
    restarts: int = 0,
    waiting_reason: str | None = None,
    last_termination: str | None = None,
    unschedulable_message: str | None = None,
    owner: tuple[str, str] | None = None,
    created: datetime | None = None,
    host_ip: str | None = None,
    pod_ip: str | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A pod in one of the states the bot classifies.

    ``phase="Pending"`` without ``node`` is unschedulable (PodScheduled False with
    the scheduler's message); with a node its containers are still being created.
    ``waiting_reason`` ("CrashLoopBackOff", "ImagePullBackOff", ...) and
    ``last_termination`` ("OOMKilled", "Error") shape the container statuses.
    ``owner`` is (kind, name): a ("Node", name) owner is a mirror pod's node.
    ``host_ip`` and ``pod_ip`` are the node's InternalIP and an address of its
    pod range (by default the store fills them in from the node).
    """
    at = created or DEFAULT_START
    names = list(containers or ["app"])
    scheduled = node is not None
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": container,
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
            }
            for container in names
        ],
        "dnsPolicy": "ClusterFirst",
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
        "priority": 0,
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "serviceAccount": "default",
        "serviceAccountName": "default",
        "terminationGracePeriodSeconds": 30,
        "tolerations": [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        ],
    }
    if node:
        spec["nodeName"] = node
    statuses = [
        _container_status(c, image, phase=phase, scheduled=scheduled, at=at, restarts=restarts, waiting_reason=waiting_reason, last_termination=last_termination)
        for c in names
    ]
    all_ready = all(s["ready"] for s in statuses)
    status: dict[str, Any] = {"phase": phase, "qosClass": "Burstable"}
    if not scheduled:
        message = unschedulable_message or "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
        status["conditions"] = [_pod_condition("PodScheduled", "False", at, "Unschedulable", message)]
    else:
        ready = "True" if all_ready else "False"
        status["conditions"] = [
            _pod_condition("PodReadyToStartContainers", "True" if phase != "Pending" else "False", at),
            _pod_condition("Initialized", "True", at),
            _pod_condition("Ready", ready, at, None if all_ready else "ContainersNotReady", None if all_ready else f"containers with unready status: [{' '.join(s['name'] for s in statuses if not s['ready'])}]"),
            _pod_condition("ContainersReady", ready, at, None if all_ready else "ContainersNotReady"),
            _pod_condition("PodScheduled", "True", at),
        ]
        status.update(containerStatuses=statuses, startTime=rfc3339(at))
        # Without them, the store fills both from the node, as its kubelet reports them.
        if host_ip:
            status["hostIP"] = host_ip
            status["hostIPs"] = [{"ip": host_ip}]
        if pod_ip:
            status["podIP"] = pod_ip
            status["podIPs"] = [{"ip": pod_ip}]
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": dict(labels or {})}
    if annotations:
        metadata["annotations"] = dict(annotations)
    if owner:
        kind, owner_name = owner
        if kind == "Node":
            reference = {"apiVersion": "v1", "kind": "Node", "name": owner_name, "uid": node_uid(owner_name), "controller": True}
        else:
            reference = {"apiVersion": "apps/v1", "kind": kind, "name": owner_name, "uid": _fake_uuid(f"{namespace}/{owner_name}"),
                         "controller": True, "blockOwnerDeletion": True}
        metadata["ownerReferences"] = [reference]
    if created is not None:
        metadata["creationTimestamp"] = rfc3339(created)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status}


def make_event(
    namespace: str,
    *,
    kind: str,
    name: str,
    reason: str,
    message: str,
    type: str = "Normal",
    count: int = 1,
    first: datetime | None = None,
    last: datetime | None = None,
    source: str = "kubelet",
    host: str | None = None,
    uid: str | None = None,
    object_namespace: str | None = None,
    event_name: str | None = None,
) -> dict[str, Any]:
    """A core/v1 Event about ``kind``/``name``.

    Node events live in "default" with the node's name as involvedObject.uid,
    which is what the kubelet really sends.
    """
    first_at = first or DEFAULT_START
    last_at = last or first_at
    involved: dict[str, Any] = {"kind": kind, "name": name, "apiVersion": "v1"}
    if kind == "Node":
        involved["uid"] = uid or name
    else:
        involved["namespace"] = object_namespace or namespace
        if uid:
            involved["uid"] = uid
    origin: dict[str, str] = {"component": source}
    if host:
        origin["host"] = host
    suffix = format(int(first_at.timestamp() * 1e9) + int(_number(reason + message, 6)), "x")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": event_name or f"{name}.{suffix}", "namespace": namespace},
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "type": type,
        "count": count,
        "firstTimestamp": rfc3339(first_at),
        "lastTimestamp": rfc3339(last_at),
        "source": origin,
        "reportingComponent": source,
        "reportingInstance": host or "",
    }


def make_pdb(
    namespace: str,
    name: str,
    *,
    selector: dict[str, str],
    min_available: int | str | None = None,
    max_unavailable: int | str | None = None,
    expected_pods: int = 0,
    healthy: int = 0,
    disruptions_allowed: int | None = None,
) -> dict[str, Any]:
    """A policy/v1 PodDisruptionBudget with a plausible status."""
    spec: dict[str, Any] = {"selector": {"matchLabels": dict(selector)}}
    desired = 0
    if min_available is not None:
        spec["minAvailable"] = min_available
        desired = min_available if isinstance(min_available, int) else 0
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
        desired = expected_pods - max_unavailable if isinstance(max_unavailable, int) else 0
    allowed = disruptions_allowed if disruptions_allowed is not None else max(healthy - desired, 0)
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
        "status": {
            "currentHealthy": healthy,
            "desiredHealthy": desired,
            "disruptionsAllowed": allowed,
            "expectedPods": expected_pods,
            "observedGeneration": 1,
        },
    }


def make_lease(namespace: str, name: str, *, holder: str | None = None, duration_seconds: int = 15, renewed: datetime | None = None) -> dict[str, Any]:
    """A coordination.k8s.io/v1 Lease, e.g. a leader-election lock or a node heartbeat."""
    spec: dict[str, Any] = {"leaseDurationSeconds": duration_seconds}
    if holder:
        spec["holderIdentity"] = holder
        moment = renewed or DEFAULT_START
        spec["acquireTime"] = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        spec["renewTime"] = spec["acquireTime"]
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def node_lease(node: dict[str, Any], *, renewed: datetime) -> dict[str, Any]:
    """The Lease a node's kubelet holds in kube-node-lease and renews every 10 seconds."""
    name = node["metadata"]["name"]
    uid = node["metadata"].get("uid") or node_uid(name)
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": name,
            "namespace": "kube-node-lease",
            "creationTimestamp": rfc3339(renewed),
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": name, "uid": uid}],
        },
        "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": renewed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")},
    }

"""metrics.k8s.io/v1beta1: NodeMetrics and PodMetrics, as metrics-server serves them through the aggregator.

Usage is made up but plausible and steady: each container uses a fixed
share of what it requests (a share drawn from a hash of its pod's uid and
its name, so every read agrees), a container that requests nothing uses a
little, and a node uses what its pods use plus part of what it reserves for
the system. As metrics-server does, only Running pods on Ready nodes have
metrics (a node whose kubelet cannot be scraped has none), quantities are in
nanocores and KiB, and there is no watch and no paging.

``World.faults.metrics_api_missing`` takes the API away (metrics-server not
installed): discovery stops naming the group and its URLs answer 404.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sim.clock import rfc3339
from sim.kube.selectors import field_values, fields_match, labels_match, parse_field_selector, parse_label_selector
from sim.kube.status import KubeError
from sim.kube.store import KubeStore

Json = dict[str, Any]
GROUP, VERSION = "metrics.k8s.io", "v1beta1"
GROUP_VERSION = f"{GROUP}/{VERSION}"
NODE_WINDOW, POD_WINDOW = "20.065s", "15.312s"  # what metrics-server reports: its scrape interval, give or take


def _share(*parts: str, low: float, high: float) -> float:
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return low + (high - low) * int.from_bytes(digest[:4], "big") / 2**32


def _quantity(text: Any) -> float:
    """CPU in cores or memory in bytes from a Kubernetes quantity (the forms the builders write)."""
    value = str(text or "0").strip()
    for suffix, factor in (("Ki", 2**10), ("Mi", 2**20), ("Gi", 2**30), ("Ti", 2**40), ("n", 1e-9), ("u", 1e-6), ("m", 1e-3), ("k", 1e3), ("M", 1e6), ("G", 1e9)):
        if value.endswith(suffix):
            return float(value[: -len(suffix)] or 0) * factor
    try:
        return float(value)
    except ValueError:
        return 0.0


def container_usage(pod: Json, container: Json) -> tuple[float, float]:
    """(cores, bytes) one container uses: a steady share of its requests, or a little when it requests nothing."""
    uid = (pod.get("metadata") or {}).get("uid") or (pod.get("metadata") or {}).get("name", "")
    name = container.get("name", "")
    requests = (container.get("resources") or {}).get("requests") or {}
    cpu_request, memory_request = _quantity(requests.get("cpu")), _quantity(requests.get("memory"))
    cpu = cpu_request * _share(uid, name, "cpu", low=0.15, high=0.95) if cpu_request else _share(uid, name, "cpu", low=0.001, high=0.012)
    memory = (memory_request * _share(uid, name, "memory", low=0.35, high=0.9) if memory_request
              else _share(uid, name, "memory", low=8, high=48) * 2**20)
    return cpu, memory


def _nanocores(cores: float) -> str:
    return f"{int(cores * 1e9)}n"


def _kib(size: float) -> str:
    return f"{int(size / 1024)}Ki"


def _ready(node: Json) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in (node.get("status") or {}).get("conditions") or ())


def _stamp(now: datetime) -> str:
    """When the last scrape happened: metrics-server scrapes every 15 s."""
    return rfc3339(now - timedelta(seconds=now.second % 15 + 3))


def _measured(store: KubeStore) -> tuple[dict[str, Json], list[Json]]:
    """The Ready nodes and the Running pods on them: what metrics-server could scrape."""
    nodes = {n["metadata"]["name"]: n for n in store.items("nodes") if _ready(n)}
    pods = [
        p for p in store.select("pods", fields=parse_field_selector("pods", "status.phase=Running")).objects()
        if (p.get("spec") or {}).get("nodeName") in nodes
    ]
    return nodes, pods


def pod_metrics(pod: Json, now: datetime) -> Json:
    meta = pod.get("metadata") or {}
    containers = []
    for container in (pod.get("spec") or {}).get("containers") or ():
        cpu, memory = container_usage(pod, container)
        containers.append({"name": container.get("name", ""), "usage": {"cpu": _nanocores(cpu), "memory": _kib(memory)}})
    return {
        "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace"), "creationTimestamp": rfc3339(now), "labels": meta.get("labels") or {}},
        "timestamp": _stamp(now),
        "window": POD_WINDOW,
        "containers": containers,
    }


def node_metrics(node: Json, pods: list[Json], now: datetime) -> Json:
    """A node's usage: its pods' plus part of what the node keeps back for the kubelet, the runtime and the OS."""
    meta = node.get("metadata") or {}
    status = node.get("status") or {}
    capacity, allocatable = status.get("capacity") or {}, status.get("allocatable") or {}
    name = meta.get("name", "")
    cpu = (_quantity(capacity.get("cpu")) - _quantity(allocatable.get("cpu"))) * _share(name, "system-cpu", low=0.3, high=0.6)
    memory = (_quantity(capacity.get("memory")) - _quantity(allocatable.get("memory"))) * _share(name, "system-memory", low=0.4, high=0.7)
    for pod in pods:
        for container in (pod.get("spec") or {}).get("containers") or ():
            used_cpu, used_memory = container_usage(pod, container)
            cpu += used_cpu
            memory += used_memory
    return {
        "metadata": {"name": name, "creationTimestamp": rfc3339(now), "labels": meta.get("labels") or {}},
        "timestamp": _stamp(now),
        "window": NODE_WINDOW,
        "usage": {"cpu": _nanocores(cpu), "memory": _kib(memory)},
    }


def _not_found(plural: str, name: str) -> KubeError:
    return KubeError(404, f'{plural}.{GROUP} "{name}" not found', details={"name": name, "group": GROUP, "kind": plural})


def answer(store: KubeStore, plural: str, namespace: str | None, name: str | None, query: dict[str, str]) -> Json:
    """One GET: a list (``name`` None) or one object, of ``plural`` nodes or pods."""
    now = store.clock.now()
    labels = parse_label_selector(query.get("labelSelector"))
    fields = parse_field_selector(plural, query.get("fieldSelector"))
    with store.lock:
        nodes, pods = _measured(store)
    if plural == "nodes":
        on_node: dict[str, list[Json]] = {}
        for pod in pods:
            on_node.setdefault(pod["spec"]["nodeName"], []).append(pod)
        chosen = [n for n in nodes.values() if name is None or n["metadata"]["name"] == name]
        chosen = [n for n in chosen if labels_match(labels, n["metadata"].get("labels") or {}) and fields_match(fields, field_values("nodes", n))]
        items = [node_metrics(n, on_node.get(n["metadata"]["name"], []), now) for n in sorted(chosen, key=lambda n: n["metadata"]["name"])]
        kind = "NodeMetrics"
    else:
        chosen = [
            p for p in pods
            if (namespace is None or p["metadata"].get("namespace") == namespace)
            and (name is None or p["metadata"]["name"] == name)
            and labels_match(labels, p["metadata"].get("labels") or {})
            and fields_match(fields, field_values("pods", p))
        ]
        items = [pod_metrics(p, now) for p in chosen]
        kind = "PodMetrics"
    if name is not None:
        if not items:
            raise _not_found(plural, name)
        return {"kind": kind, "apiVersion": GROUP_VERSION, **items[0]}
    return {"kind": f"{kind}List", "apiVersion": GROUP_VERSION, "metadata": {}, "items": items}


def group() -> Json:
    entry = {"groupVersion": GROUP_VERSION, "version": VERSION}
    return {"name": GROUP, "versions": [entry], "preferredVersion": entry}


def resource_list() -> Json:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": GROUP_VERSION,
        "resources": [
            {"name": "nodes", "singularName": "", "namespaced": False, "kind": "NodeMetrics", "verbs": ["get", "list"]},
            {"name": "pods", "singularName": "", "namespaced": True, "kind": "PodMetrics", "verbs": ["get", "list"]},
        ],
    }


def route(path: str) -> tuple[str, str | None, str | None] | str:
    """(plural, namespace, name) for a metrics URL, or "group" / "resources" for its discovery documents."""
    parts = [p for p in path.split("/") if p][1:]  # after "apis"
    if parts == [GROUP]:
        return "group"
    if parts[:2] != [GROUP, VERSION]:
        raise KubeError(404, "the server could not find the requested resource", details={})
    rest = parts[2:]
    if not rest:
        return "resources"
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    if rest[0] not in ("nodes", "pods") or len(rest) > 2 or (rest[0] == "nodes" and namespace is not None):
        raise KubeError(404, "the server could not find the requested resource", details={})
    return rest[0], namespace, rest[1] if len(rest) > 1 else None

"""The kube-system pods every GKE cluster runs, with their real names, images and owners.

Per node: the kube-proxy mirror pod (``kube-proxy-<node>``, owned by its
Node) and the ``fluentbit-gke`` DaemonSet's pod. Per cluster: the
``kube-dns``, ``konnectivity-agent`` and ``metrics-server`` Deployments'
pods, placed by the scheduler like any other pod. Their CPU requests count
against the node they run on, which is what leaves a node less room than its
allocatable CPU.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sim.kube.builders import make_pod

Json = dict[str, Any]
NODE_CRITICAL = ("system-node-critical", 2000001000)
CLUSTER_CRITICAL = ("system-cluster-critical", 2000000000)


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    cpu: str
    memory: str


@dataclass(frozen=True)
class Addon:
    """A Deployment in kube-system and what each of its pods runs."""

    name: str
    labels: tuple[tuple[str, str], ...]
    containers: tuple[Container, ...]

    @property
    def cpu_m(self) -> int:
        return sum(_millicores(c.cpu) for c in self.containers)


KUBE_PROXY = (Container("kube-proxy", "gke.gcr.io/kube-proxy-amd64:{version}", "100m", "0"),)
FLUENTBIT = (
    Container("fluentbit", "gke.gcr.io/fluent-bit:v1.8.12-gke.36", "50m", "100Mi"),
    Container("fluentbit-gke", "gke.gcr.io/fluent-bit-gke-exporter:v0.26.2-gke.1", "50m", "100Mi"),
)
ADDONS = (
    Addon(
        "kube-dns",
        (("k8s-app", "kube-dns"),),
        (
            Container("kubedns", "gke.gcr.io/k8s-dns-kube-dns:1.23.0-gke.9", "100m", "70Mi"),
            Container("dnsmasq", "gke.gcr.io/k8s-dns-dnsmasq-nanny:1.23.0-gke.9", "150m", "20Mi"),
            Container("sidecar", "gke.gcr.io/k8s-dns-sidecar:1.23.0-gke.9", "10m", "20Mi"),
        ),
    ),
    Addon(
        "konnectivity-agent",
        (("k8s-app", "konnectivity-agent"),),
        (Container("konnectivity-agent", "gke.gcr.io/proxy-agent:v0.30.3-gke.3", "10m", "30Mi"),),
    ),
    Addon(
        "metrics-server-v0.7.1",
        (("k8s-app", "metrics-server"), ("version", "v0.7.1")),
        (
            Container("metrics-server", "gke.gcr.io/metrics-server:v0.7.1-gke.23", "43m", "55Mi"),
            Container("metrics-server-nanny", "gke.gcr.io/addon-resizer:1.8.20-gke.1", "5m", "50Mi"),
        ),
    ),
)


def _millicores(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(float(quantity) * 1000)


def _hex(*parts: str, length: int) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _alnum(*parts: str, length: int) -> str:
    """Kubernetes' random suffixes use consonants and digits; derive one from ``parts``."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    number = int(_hex(*parts, length=16), 16)
    out = []
    for _ in range(length):
        number, digit = divmod(number, len(alphabet))
        out.append(alphabet[digit])
    return "".join(out)


def daemon_cpu_m() -> int:
    """CPU the per-node system pods request on every node."""
    return sum(_millicores(c.cpu) for c in KUBE_PROXY + FLUENTBIT)


def replicas(addon: Addon, nodes: int) -> int:
    """What the add-ons' autoscalers ask for on a small cluster."""
    if addon.name == "kube-dns":
        return 1 if nodes <= 1 else 2
    if addon.name == "konnectivity-agent":
        return max(1, min(nodes, 6))
    return 1


def addon_pod_names(addon: Addon, cluster: str, count: int) -> list[str]:
    replica_set = f"{addon.name}-{_alnum(cluster, addon.name, length=10)}"
    return [f"{replica_set}-{_alnum(cluster, addon.name, str(i), length=5)}" for i in range(count)]


def _shape(pod: Json, containers: tuple[Container, ...], priority: tuple[str, int], *, version: str = "", daemon: bool = False) -> Json:
    """Give a pod built by make_pod its real containers, images, requests and priority."""
    templates = {c["name"]: c for c in pod["spec"]["containers"]}
    statuses = {s["name"]: s for s in pod["status"].get("containerStatuses", [])}
    for wanted in containers:
        image = wanted.image.format(version=version)
        spec = templates[wanted.name]
        spec["image"] = image
        requests = {"cpu": wanted.cpu}
        if wanted.memory != "0":
            requests["memory"] = wanted.memory
        spec["resources"] = {"requests": requests}
        status = statuses.get(wanted.name)
        if status is not None:
            status["image"] = image
            status["imageID"] = f"{image.split(':')[0]}@sha256:{_hex(image, length=64)}"
    pod["spec"]["priorityClassName"], pod["spec"]["priority"] = priority
    if daemon:
        pod["spec"]["tolerations"] = [{"operator": "Exists", "effect": "NoExecute"}, {"operator": "Exists", "effect": "NoSchedule"}]
    pod["status"]["qosClass"] = "Burstable"
    return pod


def node_daemon_pods(node: str, *, version: str, created: datetime) -> list[Json]:
    """kube-proxy (a static pod the kubelet mirrors, owned by its Node) and fluentbit-gke on ``node``."""
    proxy = make_pod(
        "kube-system", f"kube-proxy-{node}", node=node, containers=[c.name for c in KUBE_PROXY],
        labels={"component": "kube-proxy", "tier": "node"}, owner=("Node", node), created=created,
        annotations={
            "kubernetes.io/config.hash": _hex(node, "kube-proxy", length=32),
            "kubernetes.io/config.mirror": _hex(node, "kube-proxy", length=32),
            "kubernetes.io/config.seen": created.strftime("%Y-%m-%dT%H:%M:%S.%f000Z"),
            "kubernetes.io/config.source": "file",
        },
    )
    fluentbit = make_pod(
        "kube-system", f"fluentbit-gke-{_alnum(node, 'fluentbit-gke', length=5)}", node=node,
        containers=[c.name for c in FLUENTBIT], labels={"k8s-app": "fluentbit-gke", "component": "fluentbit-gke"},
        owner=("DaemonSet", "fluentbit-gke"), created=created,
    )
    return [
        _shape(proxy, KUBE_PROXY, NODE_CRITICAL, version=version, daemon=True),
        _shape(fluentbit, FLUENTBIT, NODE_CRITICAL, daemon=True),
    ]


def addon_pod(addon: Addon, cluster: str, name: str, *, node: str | None, created: datetime, message: str | None = None) -> Json:
    replica_set = name.rsplit("-", 1)[0]
    pod = make_pod(
        "kube-system", name, node=node, phase="Running" if node else "Pending",
        containers=[c.name for c in addon.containers],
        labels={**dict(addon.labels), "pod-template-hash": replica_set.rsplit("-", 1)[1]},
        owner=("ReplicaSet", replica_set), created=created, unschedulable_message=message,
    )
    return _shape(pod, addon.containers, CLUSTER_CRITICAL)


def cluster_services(services_cidr: str, created: str) -> list[Json]:
    """The Services every GKE cluster has: ``kubernetes`` in default (the API server, the range's
    first address) and ``kube-dns`` in kube-system (the tenth), which ``kubectl cluster-info`` lists."""
    base = ipaddress.ip_network(services_cidr, strict=False).network_address
    api = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kubernetes", "namespace": "default", "creationTimestamp": created,
                     "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {
            "type": "ClusterIP", "clusterIP": str(base + 1), "clusterIPs": [str(base + 1)],
            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster",
            "sessionAffinity": "None",
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443}],
        },
        "status": {"loadBalancer": {}},
    }
    dns = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system", "creationTimestamp": created,
                     "labels": {"addonmanager.kubernetes.io/mode": "Reconcile", "k8s-app": "kube-dns",
                                "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "KubeDNS"}},
        "spec": {
            "type": "ClusterIP", "clusterIP": str(base + 10), "clusterIPs": [str(base + 10)],
            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster",
            "sessionAffinity": "None", "selector": {"k8s-app": "kube-dns"},
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
            ],
        },
        "status": {"loadBalancer": {}},
    }
    return [api, dns]

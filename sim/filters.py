"""kube-scheduler's filters, enough to say why a pod fits no node in the scheduler's own words.

For each node the real scheduler runs its filter plugins in order and keeps
the first objection (NodeUnschedulable, TaintToleration, NodeAffinity, then
NodeResourcesFit, which names every resource that is short); a PreFilter
failure (an unbound PersistentVolumeClaim) stops it before any node is
looked at. The FailedScheduling message counts the objections over all
nodes, sorted as strings, and adds what preemption found:

    0/6 nodes are available: 3 node(s) didn't match Pod's node affinity/selector,
    3 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/6 nodes are
    available: 6 Preemption is not helpful for scheduling.

PodTopologySpread comes after the resources, as in kube-scheduler's
default order: with ``whenUnsatisfiable: DoNotSchedule`` a node is refused
when placing the pod in its domain (its zone, say) would put more than
``maxSkew`` matching pods above the emptiest eligible domain ("node(s)
didn't match pod topology spread constraints"), or when the node lacks the
topology label ("... (missing required label)"). Eligible domains are those
of the nodes the pod's node selector admits (nodeAffinityPolicy Honor);
taints do not matter (nodeTaintsPolicy Ignore), so the domain of a cordoned
or unreachable zone still counts, with the pods it holds.

Candidates are read from the Kubernetes store as it is (labels, taints,
allocatable minus the requests of the pods already bound, the labels of
those pods), so pods created over a scenario's timeline meet the cluster as
it is then.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sim.world import World

NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
UNBOUND_CLAIM = "pod has unbound immediate PersistentVolumeClaims"
SPREAD = "node(s) didn't match pod topology spread constraints"
SPREAD_MISSING_LABEL = f"{SPREAD} (missing required label)"
_BINARY = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 * 1024}
_DECIMAL = {"k": 1000 / 1024**2, "M": 1000**2 / 1024**2, "G": 1000**3 / 1024**2}


def cpu_m(quantity: str | int | float) -> int:
    text = str(quantity)
    return int(text[:-1]) if text.endswith("m") else int(float(text) * 1000)


def memory_mi(quantity: str | int | float) -> int:
    text = str(quantity)
    for suffix, factor in {**_BINARY, **_DECIMAL}.items():
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * factor)
    return int(float(text) / 1024**2)


@dataclass
class Candidate:
    """A node as the filters see it."""

    name: str
    zone: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, str]] = field(default_factory=list)
    unschedulable: bool = False
    free_cpu_m: int = 0
    free_memory_mi: int = 0
    free_pods: int = 110
    pods: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (namespace, labels) of the pods bound to it


@dataclass(frozen=True)
class Spread:
    """One topologySpreadConstraint with whenUnsatisfiable DoNotSchedule, over the pod's own labels."""

    topology_key: str
    max_skew: int = 1


@dataclass(frozen=True)
class PodNeeds:
    cpu_m: int
    memory_mi: int = 0
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: tuple[dict[str, Any], ...] = ()
    unbound_claim: bool = False
    namespace: str = ""
    labels: dict[str, str] = field(default_factory=dict)  # what spread constraints count (matchLabels)
    spread: tuple[Spread, ...] = ()


def _tolerates(tolerations: tuple[dict[str, Any], ...], taint: dict[str, str]) -> bool:
    for toleration in tolerations:
        if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
            continue
        if toleration.get("operator") == "Exists":
            if not toleration.get("key") or toleration["key"] == taint.get("key"):
                return True
        elif toleration.get("key") == taint.get("key") and str(toleration.get("value", "")) == taint.get("value", ""):
            return True
    return False


def _selected(pod: PodNeeds, node: Candidate) -> bool:
    return all(node.labels.get(key) == value for key, value in pod.node_selector.items())


def _matching(pod: PodNeeds, node: Candidate) -> int:
    """Pods on ``node`` that the pod's spread constraints count: its namespace, its labels."""
    return sum(
        1
        for namespace, labels in node.pods
        if namespace == pod.namespace and all(labels.get(k) == v for k, v in pod.labels.items())
    )


def spread_objection(pod: PodNeeds, node: Candidate, cluster: list[Candidate]) -> list[str]:
    """PodTopologySpread's verdict on ``node``, the domains counted over ``cluster`` (the real nodes)."""
    for constraint in pod.spread:
        domain = node.labels.get(constraint.topology_key)
        if domain is None:
            return [SPREAD_MISSING_LABEL]
        counts: dict[str, int] = {domain: 0}
        for other in cluster:
            where = other.labels.get(constraint.topology_key)
            if where is not None and _selected(pod, other):
                counts[where] = counts.get(where, 0) + _matching(pod, other)
        if counts[domain] + 1 - min(counts.values()) > constraint.max_skew:
            return [SPREAD]
    return []


def objection(pod: PodNeeds, node: Candidate, cluster: list[Candidate] | None = None) -> list[str]:
    """Why ``pod`` cannot go to ``node`` (empty when it can), as the first failing filter says it.

    ``cluster`` is every node, for the constraints that count pods across domains (default: none are counted).
    """
    if node.unschedulable:
        return ["node(s) were unschedulable"]
    for taint in node.taints:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not _tolerates(pod.tolerations, taint):
            return [f"node(s) had untolerated taint {{{taint.get('key', '')}: {taint.get('value', '')}}}"]
    if not _selected(pod, node):
        return ["node(s) didn't match Pod's node affinity/selector"]
    short = []
    if pod.cpu_m > node.free_cpu_m:
        short.append("Insufficient cpu")
    if pod.memory_mi > node.free_memory_mi:
        short.append("Insufficient memory")
    if node.free_pods < 1:
        short.append("Too many pods")
    if short or not pod.spread:
        return short
    return spread_objection(pod, node, cluster if cluster is not None else [node])


def choose(pod: PodNeeds, nodes: list[Candidate]) -> Candidate | None:
    """The fitting node with the most free CPU (the scheduler's least-allocated scoring), or None."""
    if pod.unbound_claim:
        return None
    fitting = [n for n in nodes if not objection(pod, n, nodes)]
    return max(fitting, key=lambda n: (n.free_cpu_m, n.name), default=None)


def take(pod: PodNeeds, node: Candidate) -> None:
    node.free_cpu_m -= pod.cpu_m
    node.free_memory_mi -= pod.memory_mi
    node.free_pods -= 1
    node.pods.append((pod.namespace, dict(pod.labels)))


def failed_scheduling(pod: PodNeeds, nodes: list[Candidate]) -> str:
    """The FailedScheduling message for a pod that fits none of ``nodes``."""
    total = len(nodes)
    if total == 0:
        return "no nodes available to schedule pods"
    if pod.unbound_claim:
        return (
            f"0/{total} nodes are available: {UNBOUND_CLAIM}. "
            f"preemption: 0/{total} nodes are available: {total} {NOT_HELPFUL}."
        )
    reasons: Counter[str] = Counter()
    preemption: Counter[str] = Counter()
    for node in nodes:
        found = objection(pod, node, nodes)
        reasons.update(found)
        # Room, and a skew other pods make, are what preemption could change; the rest no eviction helps.
        resolvable = bool(found) and all(r.startswith(("Insufficient", "Too many")) or r == SPREAD for r in found)
        preemption[NO_VICTIMS if resolvable else NOT_HELPFUL] += 1
    histogram = ", ".join(sorted(f"{count} {reason}" for reason, count in reasons.items()))
    after = ", ".join(sorted(f"{count} {reason}" for reason, count in preemption.items()))
    return f"0/{total} nodes are available: {histogram}. preemption: 0/{total} nodes are available: {after}."


def capacity_short(message: str) -> bool:
    """Whether a FailedScheduling message says resources were short somewhere (more nodes could help)."""
    head = message.split(" preemption:", 1)[0]
    return "Insufficient " in head or "Too many pods" in head


def candidates(world: World) -> list[Candidate]:
    """Every node in the Kubernetes store, with what is left of it after the pods bound to it."""
    used_cpu: Counter[str] = Counter()
    used_memory: Counter[str] = Counter()
    pods: Counter[str] = Counter()
    bound: dict[str, list[tuple[str, dict[str, str]]]] = {}
    for pod in world.kube.items("pods"):
        node = (pod.get("spec") or {}).get("nodeName")
        if not node or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        pods[node] += 1
        meta = pod.get("metadata") or {}
        bound.setdefault(node, []).append((meta.get("namespace", ""), dict(meta.get("labels") or {})))
        for container in pod["spec"].get("containers", []):
            requests = (container.get("resources") or {}).get("requests") or {}
            used_cpu[node] += cpu_m(requests.get("cpu", "0"))
            used_memory[node] += memory_mi(requests.get("memory", "0"))
    found = []
    for node in world.kube.items("nodes"):
        meta, spec, status = node["metadata"], node.get("spec") or {}, node.get("status") or {}
        name = meta["name"]
        allocatable = status.get("allocatable") or {}
        found.append(
            Candidate(
                name=name,
                zone=meta.get("labels", {}).get("topology.kubernetes.io/zone", ""),
                labels=dict(meta.get("labels") or {}),
                taints=[dict(t) for t in spec.get("taints") or []],
                unschedulable=bool(spec.get("unschedulable")),
                free_cpu_m=cpu_m(allocatable.get("cpu", "0")) - used_cpu[name],
                free_memory_mi=memory_mi(allocatable.get("memory", "0")) - used_memory[name],
                free_pods=int(allocatable.get("pods", "110")) - pods[name],
                pods=bound.get(name, []),
            )
        )
    return sorted(found, key=lambda c: c.name)

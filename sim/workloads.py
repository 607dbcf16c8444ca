"""Pods of a workload, created the way the scheduler and the cluster autoscaler would leave them.

Each replica goes to the fitting node with the most room (``sim.filters``);
one that fits nowhere stays Pending under the scheduler's FailedScheduling
message, with the FailedScheduling event and the autoscaler's verdict beside
it: a scale-up when more nodes would help and the pools may still grow,
"max node group size reached" when they may not, and, when no new node
could take the pod at all (a selector, a taint, an unbound claim), the
objections that keep every node group from helping.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import datetime
from typing import Any

from sim import filters
from sim.google import names
from sim.kube import builders as kube
from sim.scenario_spec import ScenarioSpec, WorkloadSpec
from sim.world import World


def _suffix(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:4]


def needs(workload: WorkloadSpec) -> filters.PodNeeds:
    spread = workload.topology_spread
    return filters.PodNeeds(
        cpu_m=filters.cpu_m(workload.cpu),
        memory_mi=filters.memory_mi(workload.memory),
        node_selector=dict(workload.node_selector),
        tolerations=tuple(workload.tolerations),
        unbound_claim=workload.claim is not None,
        namespace=workload.namespace,
        labels={"app": workload.name},
        spread=(filters.Spread(spread.key, spread.max_skew),) if spread else (),
    )


def needs_of(pod: dict[str, Any]) -> filters.PodNeeds:
    """What the scheduler weighs for a pod as stored: its requests, selector, tolerations, claims, spread."""
    spec = pod.get("spec") or {}
    meta = pod.get("metadata") or {}
    requests = [(c.get("resources") or {}).get("requests") or {} for c in spec.get("containers") or ()]
    spread = tuple(
        filters.Spread(str(c.get("topologyKey", "")), int(c.get("maxSkew", 1)))
        for c in spec.get("topologySpreadConstraints") or ()
        if c.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule"
    )
    selectors = [
        (c.get("labelSelector") or {}).get("matchLabels") or {} for c in spec.get("topologySpreadConstraints") or ()
    ]
    return filters.PodNeeds(
        cpu_m=sum(filters.cpu_m(r.get("cpu", "0")) for r in requests),
        memory_mi=sum(filters.memory_mi(r.get("memory", "0")) for r in requests),
        node_selector=dict(spec.get("nodeSelector") or {}),
        tolerations=tuple(spec.get("tolerations") or ()),
        unbound_claim=any("persistentVolumeClaim" in v for v in spec.get("volumes") or ()),
        namespace=str(meta.get("namespace", "")),
        labels=dict(selectors[0]) if selectors else {},
        spread=spread,
    )


def node_groups(spec: ScenarioSpec) -> list[str]:
    return [
        names.instance_group_name(spec.cluster.name, p.name, z)
        for p in spec.node_pools
        for z in (p.zones or spec.cluster.locations)
    ]


def pools_at_max(spec: ScenarioSpec) -> bool:
    """Whether no pool may add a node (every one has reached its autoscaling maximum)."""
    return all(
        p.autoscaling is not None and p.autoscaling.get("max", p.nodes_per_zone) <= p.nodes_per_zone
        for p in spec.node_pools
    )


def template_nodes(spec: ScenarioSpec) -> list[filters.Candidate]:
    """One empty node per node group, as the autoscaler imagines the node a scale-up would add."""
    templates = []
    for pool in spec.node_pools:
        for zone in pool.zones or spec.cluster.locations:
            templates.append(filters.Candidate(
                name=names.instance_group_name(spec.cluster.name, pool.name, zone),
                zone=zone,
                labels={"cloud.google.com/gke-nodepool": pool.name, "topology.kubernetes.io/zone": zone, **pool.labels},
                taints=[taint_of(t) for t in pool.taints],
                free_cpu_m=filters.cpu_m(pool.cpu) - 260,
                free_memory_mi=int(filters.memory_mi(pool.memory) * 0.8),
            ))
    return templates


def autoscaler_verdict(
    spec: ScenarioSpec, pod: filters.PodNeeds, nodes: list[filters.Candidate] | None = None
) -> tuple[str, str]:
    """(event reason, message) the cluster autoscaler writes about a pod the scheduler left Pending.

    ``nodes`` are the cluster's nodes as they are, for constraints that count pods across zones.
    """
    groups = node_groups(spec)
    if pod.unbound_claim:
        return "NotTriggerScaleUp", f"pod didn't trigger scale-up: {len(groups)} {filters.UNBOUND_CLAIM}"
    objections: Counter[str] = Counter()
    for template in template_nodes(spec):
        objections.update(filters.objection(pod, template, [*(nodes or []), template]) or ["fits"])
    if "fits" in objections:  # a new node would take it: the question is only whether one may be added
        if pools_at_max(spec):
            return "NotTriggerScaleUp", f"pod didn't trigger scale-up: {len(groups)} max node group size reached"
        return "TriggeredScaleUp", f"pod triggered scale-up: [{{{groups[0]} 1->2 (max: 3)}}]"
    summary = ", ".join(sorted(f"{count} {reason}" for reason, count in objections.items()))
    return "NotTriggerScaleUp", f"pod didn't trigger scale-up: {summary}"


def pending_events(
    world: World,
    spec: ScenarioSpec,
    namespace: str,
    name: str,
    pod: filters.PodNeeds,
    message: str,
    now: datetime,
    nodes: list[filters.Candidate] | None = None,
) -> None:
    """The scheduler's FailedScheduling event and the autoscaler's verdict about one Pending pod."""
    world.kube.upsert("events", kube.make_event(
        namespace, kind="Pod", name=name, reason="FailedScheduling", message=message,
        type="Warning", source="default-scheduler", count=1, first=now, last=now,
    ))
    reason, verdict = autoscaler_verdict(spec, pod, nodes)
    world.kube.upsert("events", kube.make_event(
        namespace, kind="Pod", name=name, reason=reason, message=verdict,
        type="Normal", source="cluster-autoscaler", count=1, first=now, last=now,
    ))


def constrain(pod: dict[str, Any], workload: WorkloadSpec) -> dict[str, Any]:
    """The pod's spec as the workload's template writes it: node selector, tolerations, its claim."""
    spec = pod["spec"]
    if workload.node_selector:
        spec["nodeSelector"] = dict(workload.node_selector)
    if workload.tolerations:
        spec["tolerations"] = [*workload.tolerations, *spec.get("tolerations", [])]
    if workload.claim:
        spec["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": workload.claim}}]
        for container in spec["containers"]:
            container["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    if workload.topology_spread:
        spec["topologySpreadConstraints"] = [{
            "maxSkew": workload.topology_spread.max_skew,
            "topologyKey": workload.topology_spread.key,
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": workload.name}},
        }]
    return pod


def replica_set_name(workload: WorkloadSpec, revision: str = "") -> str:
    """``web-1a2bc9d``: the ReplicaSet of the workload's pod template (a new ``revision``, a new one)."""
    parts = (workload.namespace, workload.name, revision) if revision else (workload.namespace, workload.name)
    return f"{workload.name}-{_suffix(*parts)}c9d"


def create(world: World, spec: ScenarioSpec, workload: WorkloadSpec, now: datetime, *, revision: str = "") -> list[str]:
    """Create the workload's pods against the cluster as it is now; returns the names left Pending.

    The pods are ``replicas`` more of the workload's ReplicaSet: names its pods already hold are skipped.
    """
    replica_set = replica_set_name(workload, revision)
    pod_needs = needs(workload)
    nodes = filters.candidates(world)
    pending = []
    world.kube.upsert("namespaces", {"metadata": {"name": workload.namespace}})
    index = 0
    for _ in range(workload.replicas):
        name = f"{replica_set}-{_suffix(replica_set, str(index))}x"
        while world.kube.get("pods", workload.namespace, name) is not None:
            index += 1
            name = f"{replica_set}-{_suffix(replica_set, str(index))}x"
        index += 1
        node = None if workload.scheduler_message else filters.choose(pod_needs, nodes)
        message = None
        if node is not None:
            filters.take(pod_needs, node)
        else:
            message = workload.scheduler_message or filters.failed_scheduling(pod_needs, nodes)
        pod = kube.make_pod(
            workload.namespace,
            name,
            node=node.name if node else None,
            phase="Running" if node else "Pending",
            labels={"app": workload.name, "pod-template-hash": replica_set.rsplit("-", 1)[-1]},
            cpu=workload.cpu,
            memory=workload.memory,
            image=workload.image or f"us-docker.pkg.dev/{spec.project}/shop/{workload.name}:1.4.2",
            created=now,
            owner=("ReplicaSet", replica_set),
            unschedulable_message=message,
        )
        world.kube.upsert("pods", constrain(pod, workload))
        if message is not None:
            pending.append(name)
            pending_events(world, spec, workload.namespace, name, pod_needs, message, now, nodes)
    return pending


def bind(pod: dict[str, Any], node: str, now: datetime) -> dict[str, Any]:
    """The pod as the scheduler binds it to ``node`` and its kubelet starts it: Running and Ready since ``now``."""
    meta, spec = pod["metadata"], pod["spec"]
    requests = (spec["containers"][0].get("resources") or {}).get("requests") or {}
    started = kube.make_pod(
        meta["namespace"], meta["name"], node=node, phase="Running", labels=meta.get("labels"),
        containers=[c["name"] for c in spec["containers"]], image=spec["containers"][0].get("image", ""),
        cpu=str(requests.get("cpu", "100m")), memory=str(requests.get("memory", "128Mi")), created=now,
    )
    status = pod.setdefault("status", {})
    status.clear()
    status.update(started["status"])
    spec["nodeName"] = node
    return pod


def leave_pending(
    world: World, spec: ScenarioSpec, pod: dict[str, Any], nodes: list[filters.Candidate], now: datetime
) -> dict[str, Any]:
    """The pod Pending with the scheduler's FailedScheduling words for the cluster as it is, and its events."""
    pod_needs = needs_of(pod)
    message = filters.failed_scheduling(pod_needs, nodes)
    meta = pod["metadata"]
    pod["spec"].pop("nodeName", None)
    pod["status"] = kube.make_pod(meta["namespace"], meta["name"], phase="Pending", unschedulable_message=message, created=now)["status"]
    pending_events(world, spec, meta["namespace"], meta["name"], pod_needs, message, now, nodes)
    return pod


def taint_of(text: str) -> dict[str, str]:
    """kubectl's ``key=value:Effect`` (or ``key:Effect``) as a node taint."""
    body, _, effect = text.rpartition(":")
    if not body or effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
        raise ValueError(f"not a taint: {text!r} (write key=value:NoSchedule)")
    key, _, value = body.partition("=")
    return {"key": key, "value": value, "effect": effect}

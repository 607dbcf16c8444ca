"""Timeline steps for what people and controllers change every day: cordons and drains, rollouts, scale-ups, budgets.

Each does what the real actor does, with the reactions that follow it:

- ``cordon`` / ``uncordon``: ``spec.unschedulable`` (the controllers add or
  remove the ``node.kubernetes.io/unschedulable`` taint);
- ``drain``: cordon, then evict every pod but DaemonSet and mirror pods, as
  ``kubectl drain`` and GKE's node upgrades do, through the Eviction API
  (``sim.kube.eviction``, the same code that serves ``pods/eviction``): a
  pod whose PodDisruptionBudget allows no disruption stays (the eviction is
  refused with 429 and retried); an evicted pod's ReplicaSet or StatefulSet
  creates its replacement, which the scheduler places or leaves Pending;
- ``evict_pods``: the pods of a node or a zone evicted without asking any
  budget, as the node lifecycle controller does five minutes after a node
  went unreachable (taint-based eviction), and replaced the same way;
- ``delete_pods``: a workload scaled down (its Pending pods first, then its newest);
- ``rollout``: a Deployment's new pod template: the old ReplicaSet's pods go,
  the new one's are created and placed;
- ``add_nodes``: the cluster autoscaler grows a node pool in a zone: VMs
  join the zone's instance group and register as nodes (with their Lease and
  DaemonSet pods);
- ``remove_node``: a node and its VM go (a scale-down, or a repair), with its pods;
- ``set_pdb``: a policy/v1 PodDisruptionBudget created or changed.

After every step of a timeline (``settle``) the disruption controller
recomputes each budget's status from the pods, and when the step may have
made room (pods gone, nodes added, Ready again or uncordoned) the scheduler
retries the Pending pods, oldest first: those that fit now are bound and
started, the others keep waiting (their PodScheduled condition keeps the
time they became unschedulable and takes the scheduler's new words).
Pods held Pending by a literal ``scheduler_message`` stay Pending.
"""

from __future__ import annotations

import copy
import hashlib
import math
from datetime import datetime, timedelta
from typing import Any

from sim import filters, machines, trouble, workloads
from sim.clock import rfc3339
from sim.google import names
from sim.kube import addons, eviction
from sim.kube import builders as kube
from sim.kube.selectors import parse_field_selector
from sim.kube.status import KubeError
from sim.scenario_spec import PoolSpec, Scenario, SpreadSpec, WorkloadSpec

Json = dict[str, Any]
NODE_LEASES = "kube-node-lease"
# Steps after which the scheduler looks at its Pending pods again: room may have appeared.
RETRY_AFTER = frozenset({
    "node_ready", "zone_up", "uncordon", "delete_pods", "rollout", "add_nodes", "remove_node", "drain", "evict_pods",
})


# -- reading the world --------------------------------------------------------------


def _suffix(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:4]


def _node_name(scenario: Scenario, ref: Any) -> str:
    return scenario.node_names[ref] if isinstance(ref, int) else str(ref)


def _labels(obj: Json) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


def _owner_kind(pod: Json) -> str:
    owners = (pod.get("metadata") or {}).get("ownerReferences") or []
    return str(owners[0].get("kind", "")) if owners else ""


def _pods_on(scenario: Scenario, node: str) -> list[Json]:
    """The pods bound to ``node``, from the store's spec.nodeName index (as the node controllers read them)."""
    return scenario.world.kube.select("pods", fields=parse_field_selector("pods", f"spec.nodeName={node}")).objects()


def _movable(pod: Json) -> bool:
    """What a drain or an eviction takes off a node: not DaemonSet pods, not the kubelet's mirror pods."""
    return _owner_kind(pod) not in ("DaemonSet", "Node")


def _workload_pods(scenario: Scenario, namespace: str, name: str) -> list[Json]:
    return [
        p
        for p in scenario.world.kube.items("pods")
        if p["metadata"].get("namespace") == namespace and _labels(p).get("app") == name
        and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    ]


def _pool(scenario: Scenario, name: str | None) -> PoolSpec:
    pools = scenario.spec.node_pools
    found = next((p for p in pools if p.name == name), None) if name else pools[0]
    if found is None:
        raise ValueError(f"no node pool {name!r} in scenario {scenario.spec.name}")
    return found


def _ready(pod: Json) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions") or ()
    )


# -- the scheduler and the controllers ------------------------------------------------


def reschedule(scenario: Scenario) -> None:
    """The scheduler's retry: every Pending pod not yet bound, oldest first, against the cluster as it is now."""
    world = scenario.world
    now = world.clock.now()
    waiting = sorted(
        (
            p for p in world.kube.items("pods")
            if (p.get("status") or {}).get("phase") == "Pending" and not (p.get("spec") or {}).get("nodeName")
            and (p["metadata"].get("namespace"), p["metadata"]["name"]) not in scenario.held_pending
        ),
        key=lambda p: (p["metadata"].get("creationTimestamp", ""), p["metadata"]["name"]),
    )
    if not waiting:
        return
    nodes = filters.candidates(world)
    for pod in waiting:
        needs = workloads.needs_of(pod)
        if _place(scenario, pod, needs, nodes, now):
            continue
        message = filters.failed_scheduling(needs, nodes)
        for condition in (pod.get("status") or {}).get("conditions") or ():
            if condition.get("type") == "PodScheduled" and condition.get("message") != message:
                condition["message"] = message  # still False: its lastTransitionTime stays
                world.kube.upsert("pods", pod)


def _place(scenario: Scenario, pod: Json, needs: filters.PodNeeds, nodes: list[filters.Candidate], now: datetime) -> bool:
    """Bind ``pod`` where ``filters`` finds room for ``needs``, as the scheduler would; False when no node has it."""
    node = filters.choose(needs, nodes)
    if node is None:
        return False
    filters.take(needs, node)
    scenario.world.kube.upsert("pods", workloads.bind(pod, node.name, now))
    _scheduled_event(scenario, pod, node.name, now)
    return True


def _scheduled_event(scenario: Scenario, pod: Json, node: str, now: datetime) -> None:
    meta = pod["metadata"]
    scenario.world.kube.upsert("events", kube.make_event(
        meta["namespace"], kind="Pod", name=meta["name"], reason="Scheduled",
        message=f"Successfully assigned {meta['namespace']}/{meta['name']} to {node}",
        source="default-scheduler", first=now, last=now,
    ))


def _replace(scenario: Scenario, gone: list[Json]) -> None:
    """What the evicted pods' controllers do: a new pod for each (a StatefulSet's under the same name), placed or Pending."""
    world = scenario.world
    now = world.clock.now()
    nodes = filters.candidates(world)
    for old in gone:
        kind = _owner_kind(old)
        if kind not in ("ReplicaSet", "StatefulSet"):
            continue  # a bare pod has nobody to bring it back
        pod = copy.deepcopy(old)
        meta = pod["metadata"]
        for field in ("uid", "resourceVersion", "deletionTimestamp"):
            meta.pop(field, None)
        if kind == "ReplicaSet":
            owner = meta["ownerReferences"][0]["name"]
            index = 0
            while world.kube.get("pods", meta["namespace"], meta["name"]) is not None or meta["name"] == old["metadata"]["name"]:
                meta["name"] = f"{owner}-{_suffix(owner, 'replacement', old['metadata']['name'], str(index))}r"
                index += 1
        meta["creationTimestamp"] = rfc3339(now)
        if not _place(scenario, pod, workloads.needs_of(pod), nodes, now):
            world.kube.upsert("pods", workloads.leave_pending(world, scenario.spec, pod, nodes, now))


def replace_evicted(scenario: Scenario, gone: list[Json]) -> None:
    """Pods the taint eviction controller deleted: their controllers replace them, then the world settles."""
    _replace(scenario, gone)
    settle(scenario, "evict_pods")


def _delete(scenario: Scenario, pods: list[Json]) -> None:
    for pod in pods:
        scenario.world.kube.delete("pods", pod["metadata"].get("namespace"), pod["metadata"]["name"])


def _budget_selects(budget: Json, pod: Json) -> bool:
    return pod["metadata"].get("namespace") == budget["metadata"].get("namespace") and eviction.selects(
        (budget.get("spec") or {}).get("selector"), _labels(pod)
    )


def _scaled(value: int | str, total: int) -> int:
    """An int, or a percentage of ``total`` rounded up, as the disruption controller reads it."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value)


def budget_status(budget: Json, pods: list[Json]) -> Json:
    """What the disruption controller writes: expected and healthy pods, how many may be disrupted now."""
    spec = budget.get("spec") or {}
    matching = [
        p for p in pods
        if _budget_selects(budget, p) and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    ]
    expected = len(matching)
    healthy = sum(1 for p in matching if _ready(p))
    if "minAvailable" in spec:
        desired = _scaled(spec["minAvailable"], expected)
    else:
        desired = expected - _scaled(spec.get("maxUnavailable", 0), expected)
    desired = max(desired, 0)
    allowed = max(healthy - desired, 0)
    condition = {
        "type": "DisruptionAllowed",
        "status": "True" if allowed else "False",
        "reason": "SufficientPods" if allowed else "InsufficientPods",
        "message": "",
        "observedGeneration": 1,
    }
    return {
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "disruptionsAllowed": allowed,
        "expectedPods": expected,
        "observedGeneration": 1,
        "conditions": [condition],
    }


def refresh_budgets(scenario: Scenario) -> None:
    """The disruption controller: every budget's status from the pods as they are."""
    store = scenario.world.kube
    budgets = store.items("poddisruptionbudgets")
    if not budgets:
        return
    pods = store.items("pods")
    now = rfc3339(scenario.world.clock.now())
    for budget in budgets:
        status = budget_status(budget, pods)
        old = dict(budget.get("status") or {})
        if {k: v for k, v in old.items() if k != "conditions"} == {k: v for k, v in status.items() if k != "conditions"}:
            continue
        before = next((c for c in old.get("conditions") or () if c.get("type") == "DisruptionAllowed"), None)
        status["conditions"][0]["lastTransitionTime"] = (
            before.get("lastTransitionTime", now)
            if before is not None and before.get("status") == status["conditions"][0]["status"]
            else now
        )
        store.upsert("poddisruptionbudgets", {**budget, "status": status})


def settle(scenario: Scenario, step: str) -> None:
    """What follows any step within seconds: the scheduler's retry when room may have appeared, the budgets' status."""
    if step in RETRY_AFTER:
        reschedule(scenario)
    refresh_budgets(scenario)


# -- the steps ------------------------------------------------------------------------


def _set_unschedulable(scenario: Scenario, name: str, cordoned: bool) -> None:
    store = scenario.world.kube
    node = store.get("nodes", None, name)
    if node is None:
        return
    node = copy.deepcopy(node)
    spec = node.setdefault("spec", {})
    if cordoned:
        spec["unschedulable"] = True
    else:
        spec.pop("unschedulable", None)
    store.upsert("nodes", node)


def _cordon(scenario: Scenario, params: dict[str, Any]) -> None:
    _set_unschedulable(scenario, _node_name(scenario, params.get("node", 0)), True)


def _uncordon(scenario: Scenario, params: dict[str, Any]) -> None:
    _set_unschedulable(scenario, _node_name(scenario, params.get("node", 0)), False)


def _drain(scenario: Scenario, params: dict[str, Any]) -> None:
    """Cordon, then evict through the Eviction API (``sim.kube.eviction``, what ``kubectl drain`` calls).

    A budget at zero disruptions answers 429 and the pod stays; ``kubectl drain`` and GKE retry, which
    a scenario writes as the step again.
    """
    name = _node_name(scenario, params.get("node", 0))
    _set_unschedulable(scenario, name, True)
    store = scenario.world.kube
    now = scenario.world.clock.now()
    evicted = []
    for pod in sorted(_pods_on(scenario, name), key=lambda p: (p["metadata"].get("namespace", ""), p["metadata"]["name"])):
        if not _movable(pod):
            continue
        meta = pod["metadata"]
        try:
            eviction.evict(store, meta.get("namespace", ""), meta["name"], pod, now, dry_run=False)
        except KubeError:
            continue  # "Cannot evict pod as it would violate the pod's disruption budget."
        evicted.append(pod)
    _replace(scenario, evicted)


def _evict_pods(scenario: Scenario, params: dict[str, Any]) -> None:
    """Taint-based eviction: the pods of an unreachable node (or a whole zone), budgets or not, replaced elsewhere."""
    if params.get("zone"):
        nodes = trouble.zone_nodes(scenario, str(params["zone"]))
    else:
        nodes = [_node_name(scenario, params.get("node", 0))]
    gone = [p for name in nodes for p in _pods_on(scenario, name) if _movable(p)]
    _delete(scenario, gone)
    _replace(scenario, gone)


def _delete_pods(scenario: Scenario, params: dict[str, Any]) -> None:
    namespace, name = str(params["namespace"]), str(params["name"])
    pods = _workload_pods(scenario, namespace, name)
    # A ReplicaSet scaling down takes the Pending pods first, then the newest.
    pending = [p for p in pods if p["status"].get("phase") == "Pending"]
    running = sorted((p for p in pods if p["status"].get("phase") != "Pending"), key=lambda p: p["metadata"].get("creationTimestamp", ""), reverse=True)
    count = int(params.get("count", len(pods)))
    _delete(scenario, [*pending, *running][:count])


def _rollout(scenario: Scenario, params: dict[str, Any]) -> None:
    """A new pod template: the old pods go and as many of the new ReplicaSet's are created and placed."""
    namespace, name = str(params["namespace"]), str(params["name"])
    old = [p for p in _workload_pods(scenario, namespace, name) if _owner_kind(p) == "ReplicaSet"]
    if not old:
        raise ValueError(f"rollout: no pods of {namespace}/{name} to replace")
    first = old[0]["spec"]
    requests = (first["containers"][0].get("resources") or {}).get("requests") or {}
    spread = (first.get("topologySpreadConstraints") or [None])[0]
    workload = WorkloadSpec(
        namespace=namespace,
        name=name,
        replicas=int(params.get("replicas", len(old))),
        cpu=str(params.get("cpu", requests.get("cpu", "100m"))),
        memory=str(params.get("memory", requests.get("memory", "128Mi"))),
        image=params.get("image") or first["containers"][0].get("image"),
        node_selector=dict(first.get("nodeSelector") or {}),
        topology_spread=SpreadSpec(key=spread["topologyKey"], max_skew=spread["maxSkew"]) if spread else None,
    )
    _delete(scenario, old)
    revision = str(params.get("revision") or rfc3339(scenario.world.clock.now()))
    workloads.create(scenario.world, scenario.spec, workload, scenario.world.clock.now(), revision=revision)


def _add_nodes(scenario: Scenario, params: dict[str, Any]) -> None:
    """The autoscaler's scale-up: new VMs in the zone's instance group, registered as nodes a boot later."""
    world, spec = scenario.world, scenario.spec
    pool = _pool(scenario, params.get("pool"))
    zones = pool.zones or spec.cluster.locations
    zone = str(params.get("zone", zones[0]))
    if zone not in zones:
        raise ValueError(f"add_nodes: node pool {pool.name} has no zone {zone}")
    igm = names.instance_group_name(spec.cluster.name, pool.name, zone)
    now = world.clock.now()
    version = f"v{pool.version or spec.cluster.version}"
    for _ in range(int(params.get("count", 1))):
        index = len(scenario.vm_names.get(zone, []))
        vm_name = names.instance_name(spec.cluster.name, pool.name, zone, _suffix(spec.cluster.name, pool.name, zone, f"up-{index}"))
        while world.google.instance(zone, vm_name) is not None:
            index += 1
            vm_name = names.instance_name(spec.cluster.name, pool.name, zone, _suffix(spec.cluster.name, pool.name, zone, f"up-{index}"))
        vm = world.google.add_managed_instance(zone, igm, vm_name, created=now - machines.REGISTRATION_DELAY)
        node = machines.node_for_instance(vm, pool=pool.name, version=version, cpu=pool.cpu, memory=pool.memory)
        node["metadata"]["labels"].update(pool.labels)
        if pool.taints:
            node.setdefault("spec", {})["taints"] = [workloads.taint_of(t) for t in pool.taints]
        node = world.kube.upsert("nodes", node)
        world.kube.upsert("leases", kube.node_lease(node, renewed=now))
        for pod in addons.node_daemon_pods(vm_name, version=version, created=now + timedelta(seconds=5)):
            world.kube.upsert("pods", pod)
        scenario.vm_names.setdefault(zone, []).append(vm_name)
        scenario.node_names.append(vm_name)


def _remove_node(scenario: Scenario, params: dict[str, Any]) -> None:
    """The node object, its Lease, the pods bound to it and its VM go together."""
    world = scenario.world
    name = _node_name(scenario, params.get("node", 0))
    node = world.kube.get("nodes", None, name)
    if node is None:
        return
    labels = _labels(node)
    _delete(scenario, _pods_on(scenario, name))
    world.kube.delete("leases", NODE_LEASES, name)
    world.kube.delete("nodes", None, name)
    zone = labels.get("topology.kubernetes.io/zone", "")
    pool = labels.get("cloud.google.com/gke-nodepool", "")
    world.google.remove_managed_instance(zone, names.instance_group_name(scenario.spec.cluster.name, pool, zone), name)


def _set_pdb(scenario: Scenario, params: dict[str, Any]) -> None:
    """A PodDisruptionBudget over a workload's pods (``workload``) or a label selector, created or changed."""
    namespace, name = str(params["namespace"]), str(params["name"])
    selector = dict(params.get("selector") or {})
    if params.get("workload"):
        selector["app"] = str(params["workload"])
    if not selector:
        raise ValueError("set_pdb names the pods it covers: `workload` or `selector`")
    if ("min_available" in params) == ("max_unavailable" in params):
        raise ValueError("set_pdb takes exactly one of `min_available` and `max_unavailable`")
    spec: Json = {"selector": {"matchLabels": selector}}
    if "min_available" in params:
        spec["minAvailable"] = params["min_available"]
    else:
        spec["maxUnavailable"] = params["max_unavailable"]
    store = scenario.world.kube
    if store.get("namespaces", None, namespace) is None:
        store.upsert("namespaces", {"metadata": {"name": namespace}})
    budget: Json = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": rfc3339(scenario.world.clock.now())},
        "spec": spec,
    }
    old = store.get("poddisruptionbudgets", namespace, name)
    if old is not None:
        budget["metadata"]["creationTimestamp"] = old["metadata"].get("creationTimestamp", budget["metadata"]["creationTimestamp"])
    budget["status"] = budget_status(budget, store.items("pods"))
    budget["status"]["conditions"][0]["lastTransitionTime"] = rfc3339(scenario.world.clock.now())
    store.upsert("poddisruptionbudgets", budget)


STEPS = {
    "cordon": _cordon,
    "uncordon": _uncordon,
    "drain": _drain,
    "evict_pods": _evict_pods,
    "delete_pods": _delete_pods,
    "rollout": _rollout,
    "add_nodes": _add_nodes,
    "remove_node": _remove_node,
    "set_pdb": _set_pdb,
}

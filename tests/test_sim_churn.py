"""The scenario language's everyday changes: budgets, cordons and drains, evictions, rollouts, scale-ups, spread.

Each test loads a small scenario written here into a world, plays its
timeline on the simulated clock and reads the result back from the stores
the APIs serve (Kubernetes' pods, nodes and PodDisruptionBudgets, Compute's
instance groups), as a client would see it.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim import scenario as scenarios
from sim.google import names
from sim.world import World

BASE: dict[str, Any] = {
    "name": "churn",
    "project": "shop-project",
    "cluster": {"name": "shop-prod", "location": "us-west1", "locations": ["us-west1-a", "us-west1-b", "us-west1-c"]},
    "node_pools": [{"name": "default-pool", "nodes_per_zone": 1, "autoscaling": {"min": 1, "max": 3}, "vm_age": "30d"}],
}


def load(tmp_path: Path, **extra: Any) -> tuple[World, scenarios.Scenario]:
    path = tmp_path / "churn.yaml"
    path.write_text(yaml.safe_dump({**BASE, **extra}))
    world = World()
    return world, scenarios.load(world, str(path))


def at(world: World, scenario: scenarios.Scenario, minutes: int) -> None:
    world.clock.advance(to=scenario.started + timedelta(minutes=minutes))


def pods(world: World, namespace: str, app: str) -> list[dict[str, Any]]:
    return [
        p for p in world.kube.items("pods")
        if p["metadata"]["namespace"] == namespace and p["metadata"].get("labels", {}).get("app") == app
    ]


def phases(world: World, namespace: str, app: str) -> Counter[str]:
    return Counter(p["status"]["phase"] for p in pods(world, namespace, app))


def budget(world: World, namespace: str, name: str) -> dict[str, Any]:
    found = world.kube.get("poddisruptionbudgets", namespace, name)
    assert found is not None
    return found["status"]


def scheduled_message(pod: dict[str, Any]) -> str:
    [condition] = [c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled"]
    return condition["message"]


def test_a_budget_counts_its_pods_and_follows_them(tmp_path):
    world, scenario = load(
        tmp_path,
        workloads=[{"namespace": "shop", "name": "checkout", "replicas": 3, "cpu": "500m"}],
        timeline=[
            {"at": "0s", "do": "set_pdb", "namespace": "shop", "name": "checkout", "workload": "checkout", "min_available": 3},
            {"at": "5m", "do": "node_not_ready", "node": 0},
            {"at": "9m", "do": "set_pdb", "namespace": "shop", "name": "checkout", "workload": "checkout", "max_unavailable": "50%"},
        ],
    )
    status = budget(world, "shop", "checkout")
    assert (status["expectedPods"], status["currentHealthy"], status["desiredHealthy"], status["disruptionsAllowed"]) == (3, 3, 3, 0)
    assert status["conditions"][0]["reason"] == "InsufficientPods"
    at(world, scenario, 5)  # the node's pods are no longer Ready
    status = budget(world, "shop", "checkout")
    assert status["currentHealthy"] == 2 and status["disruptionsAllowed"] == 0
    at(world, scenario, 9)  # maxUnavailable 50% of 3 rounds up to 2: 3 - 2 = 1 must stay
    status = budget(world, "shop", "checkout")
    assert (status["desiredHealthy"], status["disruptionsAllowed"]) == (1, 1)
    at(world, scenario, 10)  # 300 s after the NoExecute taint the pod is evicted and its replacement Ready elsewhere
    status = budget(world, "shop", "checkout")
    assert (status["currentHealthy"], status["disruptionsAllowed"]) == (3, 2)
    raw = world.kube.get("poddisruptionbudgets", "shop", "checkout")
    assert raw is not None and raw["spec"] == {"selector": {"matchLabels": {"app": "checkout"}}, "maxUnavailable": "50%"}


def test_a_drain_evicts_what_its_budgets_allow_and_the_controllers_replace_it(tmp_path):
    world, scenario = load(
        tmp_path,
        workloads=[
            {"namespace": "shop", "name": "web", "replicas": 3, "cpu": "500m"},
            {"namespace": "shop", "name": "checkout", "replicas": 3, "cpu": "500m"},
        ],
        timeline=[
            {"at": "0s", "do": "set_pdb", "namespace": "shop", "name": "checkout", "workload": "checkout", "min_available": 3},
            {"at": "5m", "do": "drain", "node": 0},
        ],
    )
    node = scenario.node_names[0]
    at(world, scenario, 5)
    drained = world.kube.get("nodes", None, node)
    assert drained is not None and drained["spec"]["unschedulable"] is True
    assert any(t["key"] == "node.kubernetes.io/unschedulable" for t in drained["spec"]["taints"])
    left = Counter(p["metadata"]["labels"].get("app") or p["metadata"]["labels"].get("k8s-app") or "system"
                   for p in world.kube.items("pods") if p["spec"].get("nodeName") == node)
    assert left["checkout"] == 1, "its budget allows no disruption: the eviction is refused and the pod stays"
    assert left["web"] == 0, "web has no budget: evicted"
    assert phases(world, "shop", "web") == Counter({"Running": 3}), "its ReplicaSet replaced the evicted pod elsewhere"
    assert all(p["spec"]["nodeName"] != node for p in pods(world, "shop", "web"))
    daemons = [p for p in world.kube.items("pods") if p["spec"].get("nodeName") == node and p["metadata"]["namespace"] == "kube-system"]
    assert daemons, "DaemonSet and mirror pods stay on a drained node"


def test_evicted_pods_pile_up_pending_while_a_zone_is_down_and_schedule_when_it_is_back(tmp_path):
    world, scenario = load(
        tmp_path,
        node_pools=[{"name": "default-pool", "nodes_per_zone": 1, "autoscaling": {"min": 1, "max": 1}, "vm_age": "30d"}],
        workloads=[{"namespace": "shop", "name": "web", "replicas": 18, "cpu": "500m"}],
        timeline=[
            {"at": "5m", "do": "zone_down", "zone": "us-west1-b"},
            {"at": "10m", "do": "evict_pods", "zone": "us-west1-b"},
            {"at": "30m", "do": "zone_up", "zone": "us-west1-b"},
        ],
    )
    at(world, scenario, 10)
    pending = [p for p in pods(world, "shop", "web") if p["status"]["phase"] == "Pending"]
    assert pending, "the other zones are full"
    message = scheduled_message(pending[0])
    assert message.startswith("0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 2 Insufficient cpu.")
    since = [c for c in pending[0]["status"]["conditions"] if c["type"] == "PodScheduled"][0]["lastTransitionTime"]
    at(world, scenario, 30)
    assert phases(world, "shop", "web") == Counter({"Running": 18}), "the scheduler retried once the zone was back"
    assert since.endswith("09:10:00Z")


def test_the_autoscalers_new_nodes_take_the_pending_pods(tmp_path):
    world, scenario = load(
        tmp_path,
        workloads=[{"namespace": "shop", "name": "web", "replicas": 3, "cpu": "500m"}],
        timeline=[
            {"at": "5m", "do": "create_pods", "namespace": "shop", "name": "worker", "replicas": 8, "cpu": "1500m"},
            {"at": "8m", "do": "add_nodes", "pool": "default-pool", "zone": "us-west1-a", "count": 2},
            {"at": "8m", "do": "add_nodes", "pool": "default-pool", "zone": "us-west1-b"},
        ],
    )
    at(world, scenario, 5)
    assert phases(world, "shop", "worker")["Pending"] > 0
    at(world, scenario, 8)
    assert phases(world, "shop", "worker") == Counter({"Running": 8})
    group = names.instance_group_name("shop-prod", "default-pool", "us-west1-a")
    members = world.google.managed_instances("us-west1-a", group) or []
    assert len(members) == 3, "the new VMs joined the zone's instance group"
    nodes = {n["metadata"]["name"] for n in world.kube.items("nodes")}
    assert {m["name"] for m in members} <= nodes, "and registered as nodes"
    assert len(scenario.node_names) == 6
    lease = world.kube.get("leases", "kube-node-lease", members[-1]["name"])
    assert lease is not None


def test_a_removed_node_takes_its_vm_and_pods_with_it(tmp_path):
    world, scenario = load(
        tmp_path,
        workloads=[{"namespace": "shop", "name": "web", "replicas": 3, "cpu": "500m"}],
        timeline=[{"at": "2m", "do": "drain", "node": 2}, {"at": "5m", "do": "remove_node", "node": 2}],
    )
    name = scenario.node_names[2]
    zone = world.kube.get("nodes", None, name)["metadata"]["labels"]["topology.kubernetes.io/zone"]  # type: ignore[index]
    at(world, scenario, 5)
    assert world.kube.get("nodes", None, name) is None
    assert world.google.instance(zone, name) is None
    assert not [p for p in world.kube.items("pods") if p["spec"].get("nodeName") == name]
    assert phases(world, "shop", "web") == Counter({"Running": 3})


def test_a_rollout_replaces_every_pod_with_the_new_templates(tmp_path):
    world, scenario = load(
        tmp_path,
        workloads=[{"namespace": "shop", "name": "web", "replicas": 4, "cpu": "500m"}],
        timeline=[{"at": "5m", "do": "rollout", "namespace": "shop", "name": "web", "image": "web:2", "cpu": "400m"}],
    )
    before = {p["metadata"]["name"] for p in pods(world, "shop", "web")}
    at(world, scenario, 5)
    after = pods(world, "shop", "web")
    assert len(after) == 4 and not before & {p["metadata"]["name"] for p in after}
    assert {p["spec"]["containers"][0]["image"] for p in after} == {"web:2"}
    assert {p["spec"]["containers"][0]["resources"]["requests"]["cpu"] for p in after} == {"400m"}
    assert len({p["metadata"]["ownerReferences"][0]["name"] for p in after}) == 1


def test_scaling_down_takes_the_pending_pods_first_and_the_retry_places_the_rest(tmp_path):
    world, scenario = load(
        tmp_path,
        workloads=[{"namespace": "batch", "name": "report", "replicas": 3, "cpu": "2500m"}],
        timeline=[
            {"at": "5m", "do": "create_pods", "namespace": "shop", "name": "worker", "replicas": 4, "cpu": "1500m"},
            {"at": "6m", "do": "create_pods", "namespace": "shop", "name": "worker", "replicas": 2, "cpu": "1500m"},
            {"at": "10m", "do": "delete_pods", "namespace": "shop", "name": "worker", "count": 2},
            {"at": "12m", "do": "delete_pods", "namespace": "batch", "name": "report"},
        ],
    )
    at(world, scenario, 6)
    assert phases(world, "shop", "worker") == Counter({"Pending": 6}), "more pods of the same ReplicaSet, none fits"
    at(world, scenario, 10)
    assert phases(world, "shop", "worker") == Counter({"Pending": 4})
    at(world, scenario, 12)
    assert phases(world, "batch", "report") == Counter()
    assert phases(world, "shop", "worker") == Counter({"Running": 4}), "the scheduler retried once room was made"


def test_pods_spread_over_zones_wait_in_the_schedulers_words_when_a_zone_is_cordoned(tmp_path):
    world, scenario = load(
        tmp_path,
        node_pools=[{"name": "default-pool", "nodes_per_zone": 2, "autoscaling": {"min": 2, "max": 2}, "vm_age": "30d"}],
        workloads=[{
            "namespace": "shop", "name": "checkout", "replicas": 6, "cpu": "500m",
            "topology_spread": {"key": "topology.kubernetes.io/zone", "max_skew": 1},
        }],
        timeline=[{"at": "5m", "do": "drain", "node": 4}, {"at": "5m", "do": "drain", "node": 5}],
    )
    zones = Counter(
        world.kube.get("nodes", None, p["spec"]["nodeName"])["metadata"]["labels"]["topology.kubernetes.io/zone"]  # type: ignore[index]
        for p in pods(world, "shop", "checkout")
    )
    assert sorted(zones.values()) == [2, 2, 2], "spread evenly at the start"
    constraint = pods(world, "shop", "checkout")[0]["spec"]["topologySpreadConstraints"][0]
    assert constraint["whenUnsatisfiable"] == "DoNotSchedule" and constraint["labelSelector"] == {"matchLabels": {"app": "checkout"}}
    at(world, scenario, 5)
    pending = [p for p in pods(world, "shop", "checkout") if p["status"]["phase"] == "Pending"]
    assert len(pending) == 2
    assert scheduled_message(pending[0]) == (
        "0/6 nodes are available: 2 node(s) were unschedulable, 4 node(s) didn't match pod topology spread constraints. "
        "preemption: 0/6 nodes are available: 2 Preemption is not helpful for scheduling, "
        "4 No preemption victims found for incoming pod."
    )


def test_the_new_steps_say_what_is_wrong_with_them(tmp_path):
    with pytest.raises(ValueError, match="exactly one of `min_available` and `max_unavailable`"):
        load(tmp_path, timeline=[{"at": "0s", "do": "set_pdb", "namespace": "shop", "name": "x", "workload": "x"}])
    with pytest.raises(ValueError, match="has no zone"):
        load(tmp_path, timeline=[{"at": "0s", "do": "add_nodes", "zone": "europe-west1-b"}])

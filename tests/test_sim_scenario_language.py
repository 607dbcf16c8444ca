"""The scenario language: repeating steps, pods placed by the scheduler's filters in its own words, nodes and zones failing, operations that abort.

Each test loads a small scenario written here into a world and reads the
result back as the APIs serve it (the Kubernetes store, GKE's operations).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sim import scenario as scenarios
from sim.scenario_spec import load_spec, parse_offset
from sim.world import World

BASE = {
    "name": "language",
    "project": "shop-project",
    "cluster": {"name": "shop-prod", "location": "us-west1", "locations": ["us-west1-a", "us-west1-b", "us-west1-c"]},
    "node_pools": [{"name": "default-pool", "nodes_per_zone": 1, "autoscaling": {"min": 1, "max": 1}, "vm_age": "30d"}],
}


def write(tmp_path: Path, **extra) -> str:
    path = tmp_path / "language.yaml"
    path.write_text(yaml.safe_dump({**BASE, **extra}))
    return str(path)


def load(tmp_path: Path, **extra) -> tuple[World, scenarios.Scenario]:
    world = World()
    return world, scenarios.load(world, write(tmp_path, **extra))


def pod_message(world: World, namespace: str, prefix: str) -> list[str]:
    found = []
    for pod in world.kube.items("pods"):
        if pod["metadata"]["namespace"] == namespace and pod["metadata"]["name"].startswith(prefix) and pod["status"]["phase"] == "Pending":
            [scheduled] = [c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled"]
            found.append(scheduled["message"])
    return found


def test_a_repeating_step_stands_for_its_plain_steps_in_time_order(tmp_path):
    spec = load_spec(write(tmp_path, timeline=[
        {"at": "5m", "every": "6m", "times": 3, "do": "node_not_ready", "node": 0},
        {"at": "9m", "every": "4m", "for": "10m", "do": "node_ready", "node": 0},
    ]))
    assert [(parse_offset(s.at).seconds // 60, s.do) for s in spec.timeline] == [
        (5, "node_not_ready"), (9, "node_ready"), (11, "node_not_ready"), (13, "node_ready"),
        (17, "node_not_ready"), (17, "node_ready"),
    ]
    with pytest.raises(ValueError, match="exactly one of `for` and `times`"):
        load_spec(write(tmp_path, timeline=[{"at": "1m", "every": "1m", "do": "node_ready"}]))


def test_pods_that_select_a_tainted_pool_get_the_schedulers_own_words(tmp_path):
    pools = [
        BASE["node_pools"][0],
        {"name": "gpu-pool", "nodes_per_zone": 1, "autoscaling": {"min": 1, "max": 1}, "vm_age": "30d",
         "labels": {"workload": "gpu"}, "taints": ["dedicated=gpu:NoSchedule"]},
    ]
    world, loaded = load(tmp_path, node_pools=pools, timeline=[
        {"at": "2m", "do": "create_pods", "namespace": "ml", "name": "trainer", "replicas": 2, "cpu": "1",
         "node_selector": {"workload": "gpu"}},
        {"at": "2m", "do": "create_pods", "namespace": "ml", "name": "tolerant", "replicas": 1, "cpu": "1",
         "node_selector": {"workload": "gpu"}, "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]},
        {"at": "2m", "do": "create_pods", "namespace": "shop", "name": "db", "claim": "data-db-0"},
    ])
    assert pod_message(world, "ml", "trainer") == []
    world.clock.advance(120)
    expected = (
        "0/6 nodes are available: 3 node(s) didn't match Pod's node affinity/selector, 3 node(s) had untolerated taint "
        "{dedicated: gpu}. preemption: 0/6 nodes are available: 6 Preemption is not helpful for scheduling."
    )
    assert pod_message(world, "ml", "trainer") == [expected, expected]
    assert pod_message(world, "ml", "tolerant") == [], "with the toleration it lands on the GPU pool"
    assert pod_message(world, "shop", "db") == [
        "0/6 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/6 nodes are "
        "available: 6 Preemption is not helpful for scheduling."
    ]
    verdicts = [e["message"] for e in world.kube.items("events") if e["metadata"]["namespace"] == "ml" and e["reason"] == "NotTriggerScaleUp"]
    assert verdicts and all(v.startswith("pod didn't trigger scale-up: ") for v in verdicts)
    assert not any("max node group size" in v for v in verdicts), "no new node could take them: size is not the reason"


def test_pods_beyond_the_room_left_wait_for_cpu_and_the_autoscaler_says_the_pool_is_full(tmp_path):
    world, _ = load(tmp_path, timeline=[{"at": "1m", "do": "create_pods", "namespace": "shop", "name": "worker", "replicas": 12, "cpu": "1"}])
    world.clock.advance(60)
    messages = pod_message(world, "shop", "worker")
    assert messages and all(m.startswith("0/3 nodes are available: 3 Insufficient cpu.") for m in messages)
    assert all(m.endswith("3 No preemption victims found for incoming pod.") for m in messages)
    verdicts = {e["message"] for e in world.kube.items("events") if e["metadata"]["namespace"] == "shop" and e["reason"] == "NotTriggerScaleUp"}
    assert verdicts == {"pod didn't trigger scale-up: 3 max node group size reached"}


def _ready(world: World, name: str) -> dict:
    node = world.kube.get("nodes", None, name)
    return next(c for c in node["status"]["conditions"] if c["type"] == "Ready")


def test_a_node_goes_not_ready_then_unknown_with_the_controllers_taints_and_only_real_transitions(tmp_path):
    world, loaded = load(tmp_path, timeline=[
        {"at": "1m", "do": "node_not_ready", "node": 0, "reason": "KubeletNotReady", "message": "PLEG is not healthy"},
        {"at": "2m", "do": "node_not_ready", "node": 0, "reason": "KubeletNotReady", "message": "PLEG is not healthy"},
        {"at": "3m", "do": "node_unknown", "node": 0},
        {"at": "4m", "do": "node_ready", "node": 0},
    ])
    name = loaded.node_names[0]
    world.clock.advance(60)
    ready = _ready(world, name)
    assert (ready["status"], ready["reason"], ready["message"]) == ("False", "KubeletNotReady", "PLEG is not healthy")
    changed = ready["lastTransitionTime"]
    assert [t["key"] for t in world.kube.get("nodes", None, name)["spec"]["taints"]] == ["node.kubernetes.io/not-ready"] * 2
    world.clock.advance(60)
    assert _ready(world, name)["lastTransitionTime"] == changed, "the same status again is no transition"
    world.clock.advance(60)
    ready = _ready(world, name)
    assert (ready["status"], ready["reason"], ready["message"]) == ("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
    assert {t["key"] for t in world.kube.get("nodes", None, name)["spec"]["taints"]} == {"node.kubernetes.io/unreachable"}
    world.clock.advance(60)
    assert _ready(world, name)["status"] == "True"
    assert "taints" not in world.kube.get("nodes", None, name)["spec"]


def test_a_zone_goes_down_and_comes_back(tmp_path):
    world, _ = load(tmp_path, timeline=[{"at": "1m", "do": "zone_down", "zone": "us-west1-b"}, {"at": "5m", "do": "zone_up", "zone": "us-west1-b"}])
    world.clock.advance(60)
    by_zone = {n["metadata"]["labels"]["topology.kubernetes.io/zone"]: _ready(world, n["metadata"]["name"])["status"] for n in world.kube.items("nodes")}
    assert by_zone == {"us-west1-a": "True", "us-west1-b": "Unknown", "us-west1-c": "True"}
    world.clock.advance(240)
    assert {_ready(world, n["metadata"]["name"])["status"] for n in world.kube.items("nodes")} == {"True"}


def test_an_aborted_operation_is_aborting_with_its_status_message_then_failed(tmp_path):
    world, _ = load(tmp_path, timeline=[
        {"at": "1m", "do": "start_operation", "type": "UPGRADE_MASTER", "to_version": "1.31.1-gke.1146000"},
        {"at": "2m", "do": "abort_operation", "type": "UPGRADE_MASTER", "message": "health checks failed", "status_message": "Rolling back."},
        {"at": "3m", "do": "fail_operation", "type": "UPGRADE_MASTER", "message": "health checks failed", "status_message": "Rolled back.", "code": 9},
    ])
    world.clock.advance(120)
    [op] = world.google.operations()
    assert (op["status"], op["statusMessage"], op["error"]["message"]) == ("ABORTING", "Rolling back.", "health checks failed")
    world.clock.advance(60)
    [op] = world.google.operations()
    assert (op["status"], op["statusMessage"], op["error"]) == ("DONE", "Rolled back.", {"code": 9, "message": "health checks failed"})


def test_a_literal_scheduler_message_is_what_the_pending_pods_say(tmp_path):
    message = "0/3 nodes are available: 3 node(s) didn't match pod topology spread constraints."
    world, _ = load(tmp_path, timeline=[{"at": "1m", "do": "create_pods", "namespace": "shop", "name": "spread", "replicas": 2, "scheduler_message": message}])
    world.clock.advance(60)
    assert pod_message(world, "shop", "spread") == [message, message]

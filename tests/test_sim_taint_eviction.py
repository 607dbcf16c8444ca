"""Taint-based eviction: pods leave a NotReady node once their 300 s tolerations run out, as on GKE.

Driven by a scenario's timeline and read with kubectl, as a user would see it:
the ReplicaSet's pods come back on other nodes, the DaemonSet's and the
kube-proxy mirror pod stay on the sick node, and nothing is evicted while
every node of the cluster is down.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.kube.kubeconfig import write_kubeconfig
from sim.scenario import Scenario, load, load_spec
from sim.server import SimServer
from sim.world import World
from tests.kubectl import kubectl_env, require

KUBECTL = require()


BASE: dict[str, Any] = {
    "name": "evictions",
    "project": "shop-project",
    "cluster": {"name": "shop-prod", "location": "us-west1", "locations": ["us-west1-a", "us-west1-b", "us-west1-c"]},
    "node_pools": [{"name": "default-pool", "nodes_per_zone": 2, "vm_age": "3d"}],
    "workloads": [{"namespace": "shop", "name": "web", "replicas": 6, "cpu": "500m"}],
}


def served(tmp_path: Path, timeline: list[dict[str, Any]]) -> Iterator[tuple[Scenario, dict[str, str]]]:
    path = tmp_path / "evictions.yaml"
    path.write_text(yaml.safe_dump({**BASE, "timeline": timeline}))
    world = World(project=load_spec(str(path)).project)
    scenario = load(world, str(path))
    with SimServer(world) as server:
        assert server.endpoints is not None
        config = write_kubeconfig(tmp_path / "config", server.endpoints.kube_tls)
        yield scenario, kubectl_env(tmp_path, config)


@pytest.fixture
def one_sick(tmp_path: Path) -> Iterator[tuple[Scenario, dict[str, str]]]:
    yield from served(tmp_path, [
        {"at": "1m", "do": "node_not_ready", "node": 0, "reason": "KubeletNotReady", "message": "PLEG is not healthy"},
        {"at": "4m", "do": "node_unknown", "node": 0},
    ])


def kubectl_json(env: dict[str, str], *args: str) -> Any:
    assert KUBECTL is not None
    done = subprocess.run([KUBECTL, *args, "-o", "json"], env=env, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def at(scenario: Scenario, seconds: float) -> None:
    scenario.world.clock.advance(to=scenario.started + timedelta(seconds=seconds))


def on_node(env: dict[str, str], node: str) -> dict[str, str]:
    """Pod name -> the kind of its owner, for the pods on ``node``."""
    pods = kubectl_json(env, "get", "pods", "-A", "--field-selector", f"spec.nodeName={node}")["items"]
    return {p["metadata"]["name"]: (p["metadata"].get("ownerReferences") or [{}])[0].get("kind", "") for p in pods}


def test_pods_go_300_s_after_the_first_noexecute_taint_and_come_back_elsewhere(one_sick) -> None:
    scenario, env = one_sick
    sick = scenario.node_names[0]
    before = on_node(env, sick)
    assert "ReplicaSet" in before.values() and {"DaemonSet", "Node"} <= set(before.values())
    at(scenario, 60)
    at(scenario, 240)
    at(scenario, 60 + 299)  # not-ready at 1m, unreachable at 4m: the clock started with the first taint
    assert on_node(env, sick) == before
    at(scenario, 60 + 300)
    after = on_node(env, sick)
    assert set(after.values()) == {"DaemonSet", "Node"}, "fluentbit-gke and kube-proxy tolerate the taints without a limit"
    web = kubectl_json(env, "get", "pods", "-n", "shop", "-l", "app=web")["items"]
    assert len(web) == 6 and all(p["spec"]["nodeName"] != sick and p["status"]["phase"] == "Running" for p in web)
    events = kubectl_json(env, "get", "events", "-n", "shop")["items"]
    evicted = [e for e in events if e["reason"] == "TaintManagerEviction"]
    gone = sorted(name for name, kind in before.items() if kind == "ReplicaSet" and name.startswith("web-"))
    assert sorted(e["involvedObject"]["name"] for e in evicted) == gone
    assert evicted[0]["message"] == f"Marking for deletion Pod shop/{gone[0]}"
    assert evicted[0]["source"]["component"] == "taint-eviction-controller"


def test_nothing_is_evicted_while_every_node_is_down(tmp_path: Path) -> None:
    for scenario, env in served(tmp_path, [{"at": "1m", "do": "zone_down", "zone": z} for z in BASE["cluster"]["locations"]]):
        names = {p["metadata"]["name"] for p in kubectl_json(env, "get", "pods", "-A")["items"]}
        at(scenario, 60)
        at(scenario, 30 * 60)
        still = {p["metadata"]["name"] for p in kubectl_json(env, "get", "pods", "-A")["items"]}
        assert still == names, "the node controller suspects itself, not the nodes"

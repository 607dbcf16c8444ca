"""kubectl drain against the simulated API: evictions through pods/eviction, held back by a disruption budget."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.kube.builders import make_node, make_pdb, make_pod
from sim.kube.kubeconfig import write_kubeconfig
from sim.server import SimServer
from sim.world import World
from tests.kubectl import kubectl_env, require

KUBECTL = require()
PROJECT = "demo-project"
NODE = "gke-prod-default-pool-1a2b-x1"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[World, dict[str, str]]]:
    world = World(project=PROJECT)
    kube = world.kube
    kube.upsert("nodes", make_node(NODE, pool="default-pool", zone="us-west1-a", project=PROJECT))
    for name in ("web-0", "web-1"):
        kube.upsert("pods", make_pod("shop", name, node=NODE, labels={"app": "web"}))
    kube.upsert("pods", make_pod("shop", "cart-0", node=NODE, labels={"app": "cart"}))
    kube.upsert("poddisruptionbudgets", make_pdb("shop", "web", selector={"app": "web"}, min_available=1, expected_pods=2, healthy=2))
    with SimServer(world) as server:
        assert server.endpoints is not None
        config = write_kubeconfig(tmp_path / "config", server.endpoints.kube_tls)
        yield world, kubectl_env(tmp_path, config)


def kubectl(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    return subprocess.run([KUBECTL, *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def pods(world: World) -> list[str]:
    return sorted(p["metadata"]["name"] for p in world.kube.items("pods"))


def test_drain_evicts_what_the_budget_allows_and_is_told_429_for_the_rest(served) -> None:
    world, env = served
    done = kubectl(env, "drain", NODE, "--force", "--ignore-daemonsets", "--timeout=3s")
    assert done.returncode == 1
    assert "Cannot evict pod as it would violate the pod's disruption budget." in done.stderr, done.stderr
    assert "will retry after 5s" in done.stderr
    assert f"node/{NODE} cordoned" in done.stdout
    assert pods(world) in (["web-0"], ["web-1"]), "cart-0 and one web pod evicted, the last web pod kept by its budget"
    [budget] = world.kube.items("poddisruptionbudgets")
    assert budget["status"]["disruptionsAllowed"] == 0
    assert len(budget["status"]["disruptedPods"]) == 1
    node = world.kube.get("nodes", None, NODE)
    assert node is not None and node["spec"]["unschedulable"] is True


def test_drain_without_a_budget_in_the_way_evicts_everything(served) -> None:
    world, env = served
    world.kube.delete("poddisruptionbudgets", "shop", "web")
    done = kubectl(env, "drain", NODE, "--force", "--ignore-daemonsets", "--timeout=20s")
    assert done.returncode == 0, done.stderr
    assert f"node/{NODE} drained" in done.stdout
    assert pods(world) == []


def test_discovery_names_the_eviction_subresource_as_policy_v1(served) -> None:
    _world, env = served
    done = kubectl(env, "get", "--raw", "/api/v1")
    assert '"name":"pods/eviction","singularName":"","namespaced":true,"kind":"Eviction","verbs":["create"],"group":"policy","version":"v1"' in done.stdout

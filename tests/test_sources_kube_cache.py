"""The watch cache: one list per resource, then changes arrive by watch, and a reset means one relist."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.sources.kube.cache import CacheSnapshot, KubeCache
from bot.sources.kube.client import api_client_for_url
from bot.sources.kube.reader import KubeSource
from sim.kube.builders import make_node, make_pod
from sim.server import Endpoints, SimServer
from sim.world import World

PROJECT = "shop-prod"
WAIT = 10.0  # an upper bound for a condition, never a duration the test relies on


@pytest.fixture
def world() -> World:
    world = World(project=PROJECT)
    world.kube.upsert("nodes", make_node("node-a", pool="web", zone="us-west1-a", project=PROJECT))
    world.kube.upsert("pods", make_pod("web", "running", node="node-a"))
    world.kube.upsert("pods", make_pod("web", "stuck", phase="Pending", unschedulable_message="0/1 nodes"))
    return world


@pytest.fixture
def endpoints(world: World) -> Iterator[Endpoints]:
    server = SimServer(world)
    yield server.start()
    server.stop()


@pytest.fixture
def cache(endpoints: Endpoints) -> Iterator[KubeCache]:
    cache = KubeCache(KubeSource("shop", api_client_for_url(endpoints.kube), timeout_seconds=5.0)).start()
    assert cache.wait_until(lambda snap: snap.synced, WAIT)
    yield cache
    cache.stop()


def pod_names(snap: CacheSnapshot) -> set[str]:
    return {pod.key for pod in snap.pods}


def test_the_first_sync_holds_nodes_and_only_problem_pods(cache: KubeCache) -> None:
    snap = cache.snapshot()
    assert [node.name for node in snap.nodes] == ["node-a"]
    assert pod_names(snap) == {"web/stuck"}
    assert cache.stats["lists"] == 2


def test_changes_arrive_by_watch_without_another_list(world: World, cache: KubeCache) -> None:
    world.kube.upsert("pods", make_pod("web", "new-pending", phase="Pending", unschedulable_message="0/1 nodes"))
    world.kube.upsert("nodes", make_node("node-b", pool="web", zone="us-west1-b", project=PROJECT, ready=False))
    assert cache.wait_until(lambda snap: "web/new-pending" in pod_names(snap) and len(snap.nodes) == 2, WAIT)
    world.kube.upsert("pods", make_pod("web", "stuck", node="node-a"))  # scheduled at last: leaves the selector
    world.kube.delete("nodes", None, "node-b")
    assert cache.wait_until(lambda snap: pod_names(snap) == {"web/new-pending"} and len(snap.nodes) == 1, WAIT)
    assert cache.stats["lists"] == 2 and cache.stats["relists"] == 0


def test_a_reset_watch_cache_makes_it_list_again(world: World, cache: KubeCache) -> None:
    world.kube.bulk_load("pods", [make_pod("batch", f"p-{i}", phase="Pending", unschedulable_message="x") for i in range(3)])
    assert cache.wait_until(lambda snap: {"batch/p-0", "batch/p-1", "batch/p-2"} <= pod_names(snap), WAIT)
    assert cache.stats["relists"] >= 1 and cache.stats["lists"] >= 3


def test_an_outage_unsyncs_the_cache_and_says_why(world: World, endpoints: Endpoints) -> None:
    world.faults.kube_down = True
    cache = KubeCache(KubeSource("shop", api_client_for_url(endpoints.kube), timeout_seconds=5.0)).start()
    try:
        assert cache.wait_until(lambda snap: cache.error is not None, WAIT)
        assert not cache.synced and "cluster shop" in str(cache.error)
    finally:
        cache.stop()

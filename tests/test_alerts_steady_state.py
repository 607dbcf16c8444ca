"""Given a watched cluster, a steady-state check cycle lists nothing and costs a handful of requests.

The scheduler keeps nodes and problem pods in watch caches and re-reads the
node pools' VM lists only every few minutes; these tests count what a cycle
asks of each simulated API after the first one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.alerts.notifier import SlackNotifier
from bot.alerts.scheduler import AlertService
from bot.alerts.store import IncidentStore
from bot.clusters import build_clusters as build_registry
from bot.settings import Settings
from sim.bot_config import bot_config, write_files
from sim.clock import SimClock
from sim.scenario import load, load_spec
from sim.server import SimServer
from sim.world import World


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[AlertService, SimServer, World]]:
    spec = load_spec("zonal-shortfall")
    world = World(SimClock(), project=spec.project)
    scenario = load(world, "zonal-shortfall")
    with SimServer(world) as server:
        assert server.endpoints is not None
        kubeconfig, _ = write_files(tmp_path, server.endpoints, world, cluster=scenario.cluster_name, location=scenario.location)
        config = bot_config(
            server.endpoints, world, kubeconfig=kubeconfig, cluster=scenario.cluster_name,
            location=scenario.location, state_dir=tmp_path / "state",
        )
        settings = Settings(**config)
        clusters = build_registry(settings, clock=world.clock)
        store = IncidentStore.in_state_dir(settings.state_dir)
        client = WebClient(token=world.slack.bot_token, base_url=server.endpoints.slack)
        alerts = AlertService(settings.alerts, clusters, store, SlackNotifier(client, store, world.clock), world.clock)
        try:
            yield alerts, server, world
        finally:
            alerts.stop()


def test_a_steady_state_cycle_lists_nothing_and_reads_no_vms(service: tuple[AlertService, SimServer, World]) -> None:
    alerts, server, world = service
    unwatched = alerts.run_cycle("shop-prod")
    alerts.watch()
    cache = alerts.clusters.get("shop-prod").watch
    assert cache is not None
    assert cache.wait_until(lambda held: held.synced, timeout=10), "the watch cache synced"
    world.clock.advance(60)
    alerts.run_cycle("shop-prod")  # the first watched cycle
    lists_before = cache.stats["lists"]
    server.traffic.reset()
    world.clock.advance(60)
    watched = alerts.run_cycle("shop-prod")
    traffic = server.traffic.snapshot()
    kube_requests = traffic.get("kube", (0, 0))[0]
    # /version to prove the API answers, plus one events request per autoscaler reason the checks read.
    assert kube_requests <= 4, traffic
    assert "compute" not in traffic, "the VM lists are reused between cycles"
    assert traffic.get("gke", (0, 0))[0] == 2, "the cluster and its operations"
    assert cache.stats["lists"] == lists_before, "no relist in the steady state"
    assert {f.kind for f in watched} >= {f.kind for f in unwatched} - {"unregistered-vms"}


def test_a_change_reaches_the_cycle_through_the_watch(service: tuple[AlertService, SimServer, World]) -> None:
    alerts, _, world = service
    alerts.watch()
    cache = alerts.clusters.get("shop-prod").watch
    assert cache is not None
    assert cache.wait_until(lambda held: held.synced, timeout=10)
    [node] = world.kube.items("nodes")
    node["spec"]["unschedulable"] = True
    world.kube.upsert("nodes", node)
    assert cache.wait_until(lambda held: any(n.unschedulable for n in held.nodes), timeout=10)
    snapshot_nodes = cache.snapshot().nodes
    assert [n.name for n in snapshot_nodes] == [node["metadata"]["name"]]


def test_an_api_that_stops_answering_is_noticed_despite_the_cache(service: tuple[AlertService, SimServer, World]) -> None:
    alerts, _, world = service
    alerts.watch()
    cache = alerts.clusters.get("shop-prod").watch
    assert cache is not None and cache.wait_until(lambda held: held.synced, timeout=10)
    world.faults.kube_down = True
    alerts.run_cycle("shop-prod")
    judged = alerts.last_snapshot("shop-prod")
    assert judged is not None and not judged.reachable and "503" in judged.kube_error
    assert judged.nodes == () and judged.pending_pods == (), "nothing judged from the frozen cache"

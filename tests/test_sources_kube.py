"""The Kubernetes source against the simulated API server, through the official client over loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.errors import BadInput, Forbidden, NotConfigured, NotFound, Unreachable
from bot.settings import ClusterConfig
from bot.sources.kube.client import api_client_for_url
from bot.sources.kube.reader import KubeSource
from sim.kube.builders import make_event, make_node, make_pdb, make_pod
from sim.kube.kubeconfig import write_kubeconfig
from sim.server import Endpoints, SimServer
from sim.world import World

PROJECT = "shop-prod"
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


@pytest.fixture
def world() -> World:
    world = World(project=PROJECT)
    store = world.kube
    store.upsert("nodes", make_node("gke-shop-web-aaaa-v000", pool="web", zone="us-west1-a", project=PROJECT))
    store.upsert("nodes", make_node("gke-shop-web-aaaa-v001", pool="web", zone="us-west1-a", project=PROJECT,
                                    ready=False, unschedulable=True))
    store.upsert("nodes", make_node("gke-shop-batch-bbbb-v000", pool="batch", zone="us-west1-a", project=PROJECT))
    store.upsert("pods", make_pod("web", "api-1", node="gke-shop-web-aaaa-v000", labels={"app": "api"},
                                  owner=("ReplicaSet", "api-7d9")))
    store.upsert("pods", make_pod("web", "api-2", phase="Pending", labels={"app": "api"},
                                  unschedulable_message="0/3 nodes are available: 3 Insufficient cpu."))
    store.upsert("pods", make_pod("web", "worker-1", node="gke-shop-web-aaaa-v000", labels={"app": "worker"},
                                  waiting_reason="CrashLoopBackOff", last_termination="OOMKilled", restarts=9))
    store.upsert("pods", make_pod("batch", "job-1", node="gke-shop-batch-bbbb-v000", labels={"app": "job"}))
    return world


@pytest.fixture
def server(world: World) -> Iterator[SimServer]:
    server = SimServer(world)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def endpoints(server: SimServer) -> Endpoints:
    assert server.endpoints is not None
    return server.endpoints


def kube_source(endpoints: Endpoints, *, timeout: float = 5.0) -> KubeSource:
    return KubeSource("shop", api_client_for_url(endpoints.kube), timeout_seconds=timeout)


def test_nodes_are_parsed_with_pool_zone_readiness_and_taints(endpoints: Endpoints) -> None:
    source = kube_source(endpoints)
    nodes = {node.name: node for node in source.list_nodes()}
    assert len(nodes) == 3
    broken = nodes["gke-shop-web-aaaa-v001"]
    assert (broken.pool, broken.zone, broken.readiness, broken.unschedulable) == ("web", "us-west1-a", "Unknown", True)
    assert {t.key for t in broken.taints} == {"node.kubernetes.io/unschedulable", "node.kubernetes.io/unreachable"}
    healthy = nodes["gke-shop-web-aaaa-v000"]
    assert healthy.readiness == "Ready" and healthy.allocatable.cpu_m > 0 and healthy.capacity.memory == 16 * 2**30
    assert healthy.gce_instance == (PROJECT, "us-west1-a", "gke-shop-web-aaaa-v000")
    assert source.stats["requests"] == 1 and source.stats["bytes"] > 0


def test_selectors_are_applied_by_the_server(endpoints: Endpoints) -> None:
    source = kube_source(endpoints)
    pending = source.list_pods(field_selector="status.phase=Pending")
    assert [pod.key for pod in pending] == ["web/api-2"]
    assert pending[0].unschedulable is not None and "Insufficient cpu" in pending[0].unschedulable.message
    on_node = source.list_pods(field_selector="spec.nodeName=gke-shop-web-aaaa-v000")
    assert sorted(pod.name for pod in on_node) == ["api-1", "worker-1"]
    api = source.list_pods(namespace="web", label_selector="app=api")
    assert sorted(pod.name for pod in api) == ["api-1", "api-2"]
    batch_nodes = source.list_nodes(label_selector="cloud.google.com/gke-nodepool=batch")
    assert [node.name for node in batch_nodes] == ["gke-shop-batch-bbbb-v000"]
    assert source.stats["requests"] == 4


def test_a_crashlooping_pod_is_read_with_its_owner_and_last_termination(endpoints: Endpoints) -> None:
    pod = kube_source(endpoints).get_pod("web", "worker-1")
    [app] = pod.containers
    assert (app.state, app.reason, app.last_reason) == ("waiting", "CrashLoopBackOff", "OOMKilled")
    assert pod.restarts == 9
    assert (kube_source(endpoints).get_pod("web", "api-1").owner_kind) == "ReplicaSet"


def test_many_pods_come_in_pages_of_500(world: World, endpoints: Endpoints) -> None:
    world.kube.bulk_load(
        "pods", [make_pod("load", f"p-{index:04d}", node="gke-shop-web-aaaa-v000") for index in range(1200)]
    )
    source = kube_source(endpoints)
    pods = source.list_pods(namespace="load")
    assert len({pod.name for pod in pods}) == 1200
    assert source.stats["requests"] == 3


def test_a_missing_node_or_pod_is_not_found(endpoints: Endpoints) -> None:
    source = kube_source(endpoints)
    with pytest.raises(NotFound, match="Node `nope` was not found in cluster shop"):
        source.get_node("nope")
    with pytest.raises(NotFound, match="Pod `web/nope`"):
        source.get_pod("web", "nope")


def test_an_rbac_refusal_is_forbidden_with_the_servers_reason(world: World, endpoints: Endpoints) -> None:
    world.kube.forbidden.add("nodes")
    with pytest.raises(Forbidden, match="nodes"):
        kube_source(endpoints).list_nodes()


def test_a_control_plane_down_is_unreachable(world: World, endpoints: Endpoints) -> None:
    world.faults.kube_down = True
    with pytest.raises(Unreachable, match="cluster shop"):
        kube_source(endpoints).list_pods()
    with pytest.raises(Unreachable):
        kube_source(endpoints).server_version()


def test_a_slow_control_plane_times_out_as_unreachable(world: World, endpoints: Endpoints) -> None:
    world.faults.kube_delay_seconds = 0.5
    with pytest.raises(Unreachable, match="did not answer: timed out"):
        kube_source(endpoints, timeout=0.1).list_nodes()


def test_nobody_listening_is_unreachable() -> None:
    source = KubeSource("gone", api_client_for_url("http://127.0.0.1:9"), timeout_seconds=1.0)
    with pytest.raises(Unreachable, match="connection refused"):
        source.list_nodes()


def test_a_malformed_selector_is_bad_input(endpoints: Endpoints) -> None:
    with pytest.raises(BadInput):
        kube_source(endpoints).list_pods(label_selector="app in (")


def test_events_and_disruption_budgets(world: World, endpoints: Endpoints) -> None:
    world.kube.upsert("events", make_event("web", kind="Pod", name="api-2", reason="FailedScheduling",
                                           message="0/3 nodes are available", type="Warning",
                                           source="default-scheduler", count=4, first=T0, last=T0 + timedelta(minutes=5)))
    world.kube.upsert("poddisruptionbudgets", make_pdb("web", "api", selector={"app": "api"}, min_available=1,
                                                       expected_pods=2, healthy=1))
    source = kube_source(endpoints)
    [event] = source.list_events(namespace="web", field_selector="involvedObject.name=api-2")
    assert (event.reason, event.type, event.count, event.source) == ("FailedScheduling", "Warning", 4, "default-scheduler")
    assert event.last_seen == T0 + timedelta(minutes=5)
    [budget] = source.list_disruption_budgets()
    assert (budget.disruptions_allowed, budget.match_labels) == (0, {"app": "api"})


def test_pod_logs_come_oldest_first_with_timestamps(world: World, endpoints: Endpoints) -> None:
    world.kube.set_pod_log("web", "api-1", "app", [(T0, "starting"), (T0 + timedelta(seconds=5), "listening on :8080")])
    lines = kube_source(endpoints).pod_log("web", "api-1", tail_lines=10)
    assert [line.text for line in lines] == ["starting", "listening on :8080"]
    assert lines[1].timestamp == T0 + timedelta(seconds=5) and lines[1].origin == "api-1"


def test_the_server_version_is_read(world: World, endpoints: Endpoints) -> None:
    assert kube_source(endpoints).server_version() == world.kube.server_version


def test_from_config_reads_the_kubeconfig_context_on_first_use(endpoints: Endpoints, tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "config", endpoints.kube, context="sim-shop")
    source = KubeSource.from_config(ClusterConfig(name="shop", kubeconfig=path, context="sim-shop"))
    assert len(source.list_nodes()) == 3


def test_a_missing_kubeconfig_fails_the_cluster_not_the_construction(tmp_path: Path) -> None:
    source = KubeSource.from_config(ClusterConfig(name="shop", kubeconfig=tmp_path / "absent", context="x"))
    with pytest.raises(NotConfigured, match="shop"):
        source.list_nodes()


def test_the_kubeconfig_token_is_sent_and_a_wrong_one_refused(world: World, endpoints: Endpoints, tmp_path: Path) -> None:
    world.kube.anonymous_allowed = False  # as GKE: a request without the token could read only /version
    path = write_kubeconfig(tmp_path / "config", endpoints.kube, context="sim-shop")
    assert len(KubeSource.from_config(ClusterConfig(name="shop", kubeconfig=path, context="sim-shop")).list_nodes()) == 3
    stranger = KubeSource("shop", api_client_for_url(endpoints.kube, token="not-the-token"), timeout_seconds=5.0)
    with pytest.raises(Forbidden, match="refused the bot"):
        stranger.list_nodes()

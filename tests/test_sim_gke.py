"""The simulated GKE API, read through google-cloud-container's REST transport as the bot reads it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import container_v1
from google.cloud.container_v1.services.cluster_manager.transports.rest import ClusterManagerRestTransport

from sim.google import names
from sim.server import SimServer
from sim.world import World

PROJECT = "shop-project"


def zonal_cluster() -> dict:
    """The incident's cluster: one control plane in us-west1-a, a pool spread over three zones."""
    return {
        "name": "shop-prod",
        "location": "us-west1-a",
        "locations": ["us-west1-a", "us-west1-b", "us-west1-c"],
        "currentMasterVersion": "1.30.5-gke.1014001",
        "releaseChannel": {"channel": "REGULAR"},
        "maintenancePolicy": {"window": {"dailyMaintenanceWindow": {"startTime": "03:00", "duration": "PT4H0M0S"}}},
        "autoscaling": {"enableNodeAutoprovisioning": False, "autoscalingProfile": "BALANCED"},
        "nodePools": [
            {
                "name": "default-pool",
                "initialNodeCount": 1,
                "config": {"machineType": "e2-standard-4"},
                "autoscaling": {"enabled": True, "minNodeCount": 1, "maxNodeCount": 1, "locationPolicy": "BALANCED"},
            }
        ],
    }


@pytest.fixture(scope="module")
def world() -> World:
    world = World(project=PROJECT)
    world.google.add_cluster(zonal_cluster())
    world.google.add_cluster({"name": "shop-regional", "location": "us-west1", "currentMasterVersion": "1.31.1-gke.1146000"})
    return world


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[SimServer]:
    with SimServer(world) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: SimServer) -> container_v1.ClusterManagerClient:
    assert server.endpoints is not None
    host = server.endpoints.gke.removeprefix("http://")
    transport = ClusterManagerRestTransport(host=host, url_scheme="http", credentials=AnonymousCredentials())
    return container_v1.ClusterManagerClient(transport=transport)


def parent(location: str) -> str:
    return f"projects/{PROJECT}/locations/{location}"


def test_zonal_cluster_reads_back_with_its_single_control_plane_zone(client: container_v1.ClusterManagerClient) -> None:
    cluster = client.get_cluster(name=f"{parent('us-west1-a')}/clusters/shop-prod")

    assert cluster.location == "us-west1-a"
    assert list(cluster.locations) == ["us-west1-a", "us-west1-b", "us-west1-c"]
    assert cluster.status == container_v1.Cluster.Status.RUNNING
    assert cluster.current_master_version == "1.30.5-gke.1014001"
    assert cluster.release_channel.channel == container_v1.ReleaseChannel.Channel.REGULAR
    assert cluster.maintenance_policy.window.daily_maintenance_window.start_time == "03:00"
    assert cluster.self_link.endswith(f"/projects/{PROJECT}/zones/us-west1-a/clusters/shop-prod")


def test_node_pool_gets_one_instance_group_per_zone(client: container_v1.ClusterManagerClient) -> None:
    pool = client.get_node_pool(name=f"{parent('us-west1-a')}/clusters/shop-prod/nodePools/default-pool")

    assert pool.autoscaling.max_node_count == 1
    assert pool.config.machine_type == "e2-standard-4"
    zones = [url.split("/zones/")[1].split("/")[0] for url in pool.instance_group_urls]
    assert zones == ["us-west1-a", "us-west1-b", "us-west1-c"]
    assert pool.instance_group_urls[1].endswith(names.instance_group_name("shop-prod", "default-pool", "us-west1-b"))


def test_list_node_pools(client: container_v1.ClusterManagerClient) -> None:
    answer = client.list_node_pools(parent=f"{parent('us-west1-a')}/clusters/shop-prod")
    assert [p.name for p in answer.node_pools] == ["default-pool"]


def test_regional_cluster_defaults_to_three_zones(client: container_v1.ClusterManagerClient) -> None:
    cluster = client.get_cluster(name=f"{parent('us-west1')}/clusters/shop-regional")
    assert list(cluster.locations) == ["us-west1-a", "us-west1-b", "us-west1-c"]
    assert "/locations/us-west1/clusters/" in cluster.self_link


def test_list_clusters_by_location_and_everywhere(client: container_v1.ClusterManagerClient) -> None:
    everywhere = client.list_clusters(parent=parent("-"))
    in_region = client.list_clusters(parent=parent("us-west1"))

    assert sorted(c.name for c in everywhere.clusters) == ["shop-prod", "shop-regional"]
    assert [c.name for c in in_region.clusters] == ["shop-regional"]


def test_legacy_zone_paths_answer_too(client: container_v1.ClusterManagerClient) -> None:
    cluster = client.get_cluster(project_id=PROJECT, zone="us-west1-a", cluster_id="shop-prod")
    assert cluster.name == "shop-prod"


def test_unknown_cluster_is_not_found(client: container_v1.ClusterManagerClient) -> None:
    with pytest.raises(exceptions.NotFound, match="clusters/nope"):
        client.get_cluster(name=f"{parent('us-west1-a')}/clusters/nope")


def test_other_project_is_forbidden(client: container_v1.ClusterManagerClient) -> None:
    with pytest.raises(exceptions.Forbidden):
        client.list_clusters(parent="projects/someone-else/locations/-")


def test_master_upgrade_operation_progresses_and_finishes(world: World, client: container_v1.ClusterManagerClient) -> None:
    google = world.google
    op = google.add_operation("us-west1-a", {"operationType": "UPGRADE_MASTER", "detail": "to 1.31"}, cluster="shop-prod")
    google.update_operation(
        op["name"],
        progress={"status": "RUNNING", "metrics": [{"name": "progress_percent", "intValue": "50"}]},
    )

    running = client.get_operation(name=f"{parent('us-west1-a')}/operations/{op['name']}")
    assert running.operation_type == container_v1.Operation.Type.UPGRADE_MASTER
    assert running.status == container_v1.Operation.Status.RUNNING
    assert running.progress.metrics[0].int_value == 50
    assert running.target_link.endswith("/zones/us-west1-a/clusters/shop-prod")
    assert running.end_time == ""

    world.clock.advance(600)
    google.update_operation(op["name"], status="DONE")
    done = client.get_operation(name=f"{parent('us-west1-a')}/operations/{op['name']}")
    assert done.status == container_v1.Operation.Status.DONE
    assert done.end_time.startswith("2026-11-24T09:10:00")


def test_failed_operation_carries_its_error(world: World, client: container_v1.ClusterManagerClient) -> None:
    op = world.google.add_operation("us-west1-a", {"operationType": "UPGRADE_NODES"}, cluster="shop-prod", node_pool="default-pool")
    world.google.update_operation(op["name"], status="DONE", error={"code": 13, "message": "node upgrade failed"})

    listed = client.list_operations(parent=parent("-"))
    failed = next(o for o in listed.operations if o.name == op["name"])
    assert failed.error.message == "node upgrade failed"
    assert failed.error.code == 13
    assert failed.target_link.endswith("/nodePools/default-pool")


def test_operations_list_is_scoped_to_the_location(world: World, client: container_v1.ClusterManagerClient) -> None:
    world.google.add_operation("us-west1", {"operationType": "REPAIR_CLUSTER"}, cluster="shop-regional")
    regional = client.list_operations(parent=parent("us-west1"))
    assert {o.operation_type for o in regional.operations} == {container_v1.Operation.Type.REPAIR_CLUSTER}


@pytest.mark.parametrize(
    ("code", "error"),
    [(503, exceptions.ServiceUnavailable), (429, exceptions.TooManyRequests), (403, exceptions.Forbidden)],
)
def test_injected_faults_raise_the_clients_exception(
    world: World, client: container_v1.ClusterManagerClient, code: int, error: type[Exception]
) -> None:
    world.faults.gke_errors.append(code)
    with pytest.raises(error):
        client.list_clusters(parent=parent("-"), retry=None)
    assert client.list_clusters(parent=parent("-")).clusters  # the fault was used up


def test_client_options_endpoint_with_http_scheme_works_too(server: SimServer) -> None:
    assert server.endpoints is not None
    client = container_v1.ClusterManagerClient(
        credentials=AnonymousCredentials(),
        transport="rest",
        client_options={"api_endpoint": server.endpoints.gke},
    )
    assert client.get_cluster(name=f"{parent('us-west1')}/clusters/shop-regional").name == "shop-regional"

"""The GKE source against the simulated container API, through the real google-cloud-container client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from google.api_core.retry import Retry, if_transient_error

from bot.errors import Forbidden, NotFound, Unreachable
from bot.settings import ClusterConfig, GkeConfig
from bot.sources.google.gke import GkeSource, cluster_manager_for
from bot.sources.google.gke_parse import rrule_summary
from sim.server import Endpoints, SimServer
from sim.world import World


@pytest.fixture
def world() -> World:
    return World(project="shop-prod")


@pytest.fixture
def endpoints(world: World) -> Iterator[Endpoints]:
    server = SimServer(world)
    yield server.start()
    server.stop()


def gke_source(endpoints: Endpoints, *, location: str, cluster: str = "shop", project: str = "shop-prod",
               retry: Retry | None = None) -> GkeSource:
    gke = GkeConfig(project=project, location=location, cluster=cluster,
                    container_endpoint=endpoints.gke, anonymous=True)
    return GkeSource(gke, cluster_manager_for(gke), timeout_seconds=2.0, retry=retry)


def add_zonal_cluster(world: World) -> None:
    world.google.add_cluster(
        {
            "name": "shop",
            "location": "us-west1-a",
            "locations": ["us-west1-a", "us-west1-b", "us-west1-c"],
            "currentMasterVersion": "1.30.5-gke.1014001",
            "releaseChannel": {"channel": "REGULAR"},
            "maintenancePolicy": {"window": {"dailyMaintenanceWindow": {"startTime": "03:00", "duration": "PT4H0M0S"}}},
            "nodePools": [
                {
                    "name": "default",
                    "config": {"machineType": "e2-standard-4"},
                    "autoscaling": {"enabled": True, "minNodeCount": 1, "maxNodeCount": 3},
                }
            ],
        }
    )


def test_a_zonal_cluster_is_read_with_its_pools_and_window(world: World, endpoints: Endpoints) -> None:
    add_zonal_cluster(world)
    cluster = gke_source(endpoints, location="us-west1-a").get_cluster()
    assert cluster.location_type == "zonal"
    assert cluster.locations == ("us-west1-a", "us-west1-b", "us-west1-c")
    assert cluster.status == "RUNNING" and cluster.release_channel == "REGULAR"
    assert cluster.maintenance_window == "daily at 03:00 UTC for 4h"
    [pool] = cluster.node_pools
    assert pool.machine_type == "e2-standard-4"
    assert pool.autoscaling.enabled and pool.max_nodes() == 9
    assert len(pool.instance_groups) == 3 and all("/instanceGroupManagers/" in url for url in pool.instance_groups)


def test_a_regional_cluster_summarizes_a_recurring_window(world: World, endpoints: Endpoints) -> None:
    world.google.add_cluster(
        {
            "name": "shop",
            "location": "us-west1",
            "maintenancePolicy": {
                "window": {
                    "recurringWindow": {
                        "window": {"startTime": "2025-01-04T02:00:00Z", "endTime": "2025-01-04T08:00:00Z"},
                        "recurrence": "FREQ=WEEKLY;BYDAY=SA,SU",
                    }
                }
            },
        }
    )
    cluster = gke_source(endpoints, location="us-west1").get_cluster()
    assert cluster.regional and cluster.location_type == "regional"
    assert cluster.maintenance_window == "weekly on Sat, Sun at 02:00 UTC for 6h"
    assert cluster.release_channel == ""


def test_rrules_outside_the_common_shapes_are_shown_as_written() -> None:
    assert rrule_summary("FREQ=DAILY") == "daily"
    assert rrule_summary("FREQ=WEEKLY;BYDAY=MO;INTERVAL=2") == "FREQ=WEEKLY;BYDAY=MO;INTERVAL=2"


def test_operations_are_this_clusters_only_newest_first_with_progress(world: World, endpoints: Endpoints) -> None:
    add_zonal_cluster(world)
    world.google.add_operation("us-west1-a", {"operationType": "UPGRADE_NODES", "status": "DONE"},
                               cluster="shop", node_pool="default")
    world.clock.advance(600)
    world.google.add_operation(
        "us-west1-a",
        {
            "operationType": "UPGRADE_MASTER",
            "progress": {"metrics": [{"name": "PROGRESS", "intValue": "40"}, {"name": "ETA", "stringValue": "?"}]},
        },
        cluster="shop",
    )
    world.google.add_operation("us-west1-a", {"operationType": "UPGRADE_MASTER"}, cluster="other-cluster")
    operations = gke_source(endpoints, location="us-west1-a").list_operations()
    assert [op.type for op in operations] == ["UPGRADE_MASTER", "UPGRADE_NODES"]
    upgrade, nodes = operations
    assert upgrade.running and upgrade.progress == {"PROGRESS": 40} and upgrade.target == "clusters/shop"
    assert not nodes.running and nodes.node_pool == "default"
    assert nodes.ended is not None and upgrade.started - nodes.started == timedelta(minutes=10)


def test_a_missing_cluster_is_not_found(world: World, endpoints: Endpoints) -> None:
    with pytest.raises(NotFound, match="GKE cluster absent"):
        gke_source(endpoints, location="us-west1-a", cluster="absent").get_cluster()


def test_another_projects_cluster_is_forbidden_and_names_the_role(world: World, endpoints: Endpoints) -> None:
    with pytest.raises(Forbidden, match="roles/container.viewer"):
        gke_source(endpoints, location="us-west1-a", project="someone-else").get_cluster()


def test_a_503_without_retry_is_unreachable(world: World, endpoints: Endpoints) -> None:
    add_zonal_cluster(world)
    world.faults.gke_errors.append(503)
    with pytest.raises(Unreachable, match="GKE API"):
        gke_source(endpoints, location="us-west1-a").get_cluster()


def test_a_single_503_is_retried_when_retries_are_on(world: World, endpoints: Endpoints) -> None:
    add_zonal_cluster(world)
    world.faults.gke_errors.append(503)
    no_wait = Retry(predicate=if_transient_error, initial=0.0, maximum=0.0, timeout=5.0)
    source = gke_source(endpoints, location="us-west1-a", retry=no_wait)
    assert source.get_cluster().name == "shop"
    assert world.faults.gke_errors == []


def test_a_closed_port_is_unreachable() -> None:
    gke = GkeConfig(project="p", location="us-west1", cluster="c", container_endpoint="http://127.0.0.1:9", anonymous=True)
    with pytest.raises(Unreachable):
        GkeSource(gke, cluster_manager_for(gke), timeout_seconds=1.0).get_cluster()


def test_from_config_builds_its_client_on_first_use_only(world: World, endpoints: Endpoints) -> None:
    add_zonal_cluster(world)
    config = ClusterConfig(
        name="shop",
        gke=GkeConfig(project="shop-prod", location="us-west1-a", cluster="shop",
                      container_endpoint=endpoints.gke, anonymous=True),
    )
    source = GkeSource.from_config(config)
    assert not source._client.built
    assert source.get_cluster().master_version == "1.30.5-gke.1014001"
    assert source.stats["requests"] == 1

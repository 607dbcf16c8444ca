"""The Compute source against the simulated Compute API, through the real google-cloud-compute clients."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.errors import BadInput, Forbidden, NotFound, Unreachable
from bot.model.gke import GkeCluster
from bot.settings import GkeConfig
from bot.sources.google.compute import ComputeSource, groups_client_for, instances_client_for
from bot.sources.google.compute_parse import pool_from_group_name, pools_by_group
from bot.sources.google.gke import GkeSource, cluster_manager_for
from sim.google import names
from sim.server import Endpoints, SimServer
from sim.world import World

PROJECT = "shop-prod"
ZONES = ("us-west1-a", "us-west1-b", "us-west1-c")


@pytest.fixture
def world() -> World:
    return World(project=PROJECT)


@pytest.fixture
def endpoints(world: World) -> Iterator[Endpoints]:
    server = SimServer(world)
    yield server.start()
    server.stop()


def gke_config(endpoints: Endpoints, project: str = PROJECT) -> GkeConfig:
    return GkeConfig(project=project, location="us-west1-a", cluster="shop", container_endpoint=endpoints.gke,
                     compute_endpoint=endpoints.compute, anonymous=True)


def compute_source(endpoints: Endpoints, project: str = PROJECT) -> ComputeSource:
    gke = gke_config(endpoints, project)
    return ComputeSource(gke, groups_client_for(gke), instances_client_for(gke), timeout_seconds=2.0)


def zonal_shortfall(world: World, endpoints: Endpoints, *, vms_per_zone: int = 2) -> GkeCluster:
    """The incident's shape: one pool across three zones, VMs running in every zone."""
    world.google.add_cluster({"name": "shop", "location": "us-west1-a", "locations": list(ZONES),
                              "nodePools": [{"name": "web-pool"}]})
    for zone in ZONES:
        group = names.instance_group_name("shop", "web-pool", zone)
        for index in range(vms_per_zone):
            world.google.add_managed_instance(
                zone, group, names.instance_name("shop", "web-pool", zone, f"v{index:03d}"),
                created=datetime(2026, 11, 24, 8, index, tzinfo=UTC),
            )
    return GkeSource(gke_config(endpoints), cluster_manager_for(gke_config(endpoints))).get_cluster()


def test_every_zones_vms_are_listed_with_group_zone_and_pool(world: World, endpoints: Endpoints) -> None:
    cluster = zonal_shortfall(world, endpoints)
    source = compute_source(endpoints)
    [pool] = cluster.node_pools
    vms = source.list_managed_vms(list(pool.instance_groups), pools=pools_by_group(cluster))
    assert sorted({vm.zone for vm in vms}) == list(ZONES)
    assert len(vms) == 6 and {vm.pool for vm in vms} == {"web-pool"}
    assert all(vm.status == "RUNNING" and vm.current_action == "NONE" for vm in vms)
    assert all(vm.instance_group.endswith("-grp") and vm.name.startswith("gke-shop-web-pool-") for vm in vms)
    assert all(vm.created is None for vm in vms)
    assert source.stats["requests"] == 3


def test_a_big_group_is_read_page_by_page(world: World, endpoints: Endpoints) -> None:
    cluster = zonal_shortfall(world, endpoints, vms_per_zone=0)
    group = names.instance_group_name("shop", "web-pool", "us-west1-b")
    for index in range(1100):
        world.google.add_managed_instance("us-west1-b", group, f"vm-{index:04d}")
    url = next(u for u in cluster.node_pools[0].instance_groups if "/us-west1-b/" in u)
    source = compute_source(endpoints)
    vms = source.list_managed_vms([url])
    assert len({vm.name for vm in vms}) == 1100
    assert source.stats["requests"] == 3


def test_without_the_pools_the_pool_comes_from_gkes_group_naming(world: World, endpoints: Endpoints) -> None:
    cluster = zonal_shortfall(world, endpoints, vms_per_zone=1)
    vms = compute_source(endpoints).list_managed_vms(list(cluster.node_pools[0].instance_groups))
    assert {vm.pool for vm in vms} == {"web-pool"}
    assert pool_from_group_name("gke-shop-web-pool-1a2b3c4d-grp", "shop") == "web-pool"
    assert pool_from_group_name("some-other-group", "shop") == ""


def test_creation_time_is_fetched_only_for_the_vms_asked_about(world: World, endpoints: Endpoints) -> None:
    cluster = zonal_shortfall(world, endpoints)
    source = compute_source(endpoints)
    vms = source.list_managed_vms(list(cluster.node_pools[0].instance_groups))
    before = source.stats["requests"]
    [filled] = source.with_created(vms[:1])
    assert filled.created == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert (filled.name, filled.instance_group) == (vms[0].name, vms[0].instance_group)
    assert source.stats["requests"] == before + 1
    details = source.vm_details(vms[1].zone, vms[1].name)
    assert details.created == datetime(2026, 11, 24, 8, 1, tzinfo=UTC) and details.pool == "web-pool"


def test_an_unknown_group_is_not_found(world: World, endpoints: Endpoints) -> None:
    url = names.instance_group_manager_url(PROJECT, "us-west1-a", "no-such-grp")
    with pytest.raises(NotFound, match="no-such-grp"):
        compute_source(endpoints).list_managed_vms([url])


def test_a_refusal_names_the_compute_viewer_role(world: World, endpoints: Endpoints) -> None:
    zonal_shortfall(world, endpoints)
    url = names.instance_group_manager_url("someone-else", "us-west1-a", "g")
    with pytest.raises(Forbidden, match="roles/compute.viewer"):
        compute_source(endpoints, project="someone-else").list_managed_vms([url])


def test_a_503_is_unreachable(world: World, endpoints: Endpoints) -> None:
    cluster = zonal_shortfall(world, endpoints)
    world.faults.compute_errors.append(503)
    with pytest.raises(Unreachable, match="Compute Engine API"):
        compute_source(endpoints).list_managed_vms(list(cluster.node_pools[0].instance_groups))


def test_a_url_that_is_not_a_group_is_bad_input(endpoints: Endpoints) -> None:
    with pytest.raises(BadInput):
        compute_source(endpoints).list_managed_vms(["https://example.invalid/not/a/group"])


def test_a_vms_creation_time_is_asked_once_per_vm_and_again_when_it_was_recreated(world: World, endpoints: Endpoints) -> None:
    """Answers in a burst ask about the same unregistered VMs; a recreated VM (same name, new id) is new."""
    from bot.clusters import ClusterHandle
    from bot.settings import ClusterConfig

    cluster = zonal_shortfall(world, endpoints)
    source = compute_source(endpoints)
    handle = ClusterHandle(config=ClusterConfig(name="shop"), kube=None, compute=source)  # type: ignore[arg-type]
    vms = source.list_managed_vms(list(cluster.node_pools[0].instance_groups))
    assert all(vm.id for vm in vms) and len({vm.id for vm in vms}) == len(vms)
    first = handle.with_creation_times(vms[:2], limit=5)
    before = source.stats["requests"]
    again = handle.with_creation_times(vms[:2], limit=5)
    assert again == first and source.stats["requests"] == before, "known from the first answer: no request"

    victim = vms[0]
    group = victim.instance_group
    world.google.remove_managed_instance(victim.zone, group, victim.name)
    world.google.add_managed_instance(victim.zone, group, victim.name, created=datetime(2026, 11, 24, 11, 0, tzinfo=UTC))
    relisted = {vm.name: vm for vm in source.list_managed_vms(list(cluster.node_pools[0].instance_groups))}
    assert relisted[victim.name].id != victim.id, "Compute numbers the recreated VM anew"
    before = source.stats["requests"]
    [recreated] = handle.with_creation_times([relisted[victim.name]], limit=5)
    assert recreated.created == datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
    assert source.stats["requests"] == before + 1

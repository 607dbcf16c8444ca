"""The simulated Compute API, read through google-cloud-compute's REST transports as the bot reads it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import compute_v1
from google.cloud.compute_v1.services.instance_group_managers.transports.rest import (
    InstanceGroupManagersRestTransport,
)
from google.cloud.compute_v1.services.instances.transports.rest import InstancesRestTransport

from sim.google import names
from sim.server import SimServer
from sim.world import World

PROJECT = "shop-project"
ZONE = "us-west1-b"
GROUP = names.instance_group_name("shop-prod", "default-pool", ZONE)


@pytest.fixture(scope="module")
def world() -> World:
    world = World(project=PROJECT)
    world.google.add_cluster(
        {
            "name": "shop-prod",
            "location": "us-west1-a",
            "locations": ["us-west1-a", "us-west1-b", "us-west1-c"],
            "nodePools": [{"name": "default-pool", "config": {"machineType": "e2-standard-4"}}],
        }
    )
    two_hours_ago = world.clock.now() - timedelta(hours=2)
    for index in range(5):
        name = names.instance_name("shop-prod", "default-pool", ZONE, f"v{index:03d}")
        world.google.add_managed_instance(ZONE, GROUP, name, created=two_hours_ago)
    return world


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[SimServer]:
    with SimServer(world) as running:
        yield running


@pytest.fixture(scope="module")
def groups(server: SimServer) -> compute_v1.InstanceGroupManagersClient:
    assert server.endpoints is not None
    host = server.endpoints.compute.removeprefix("http://")
    transport = InstanceGroupManagersRestTransport(host=host, url_scheme="http", credentials=AnonymousCredentials())
    return compute_v1.InstanceGroupManagersClient(transport=transport)


@pytest.fixture(scope="module")
def instances(server: SimServer) -> compute_v1.InstancesClient:
    assert server.endpoints is not None
    host = server.endpoints.compute.removeprefix("http://")
    transport = InstancesRestTransport(host=host, url_scheme="http", credentials=AnonymousCredentials())
    return compute_v1.InstancesClient(transport=transport)


def test_list_managed_instances_pages_through_every_vm(world: World, groups: compute_v1.InstanceGroupManagersClient) -> None:
    request = compute_v1.ListManagedInstancesInstanceGroupManagersRequest(
        project=PROJECT, zone=ZONE, instance_group_manager=GROUP, max_results=2
    )
    pager = groups.list_managed_instances(request=request)

    pages = list(pager.pages)
    members = [m for p in pages for m in p.managed_instances]
    assert [len(p.managed_instances) for p in pages] == [2, 2, 1]
    assert [m.instance.rsplit("/", 1)[1] for m in members] == [i["name"] for i in world.google.instances() if ZONE in i["zone"]]
    assert all(m.instance_status == "RUNNING" and m.current_action == "NONE" for m in members)
    assert members[0].instance.startswith(f"https://www.googleapis.com/compute/v1/projects/{PROJECT}/zones/{ZONE}/")


def test_instance_get_shows_the_vm_the_node_never_became(instances: compute_v1.InstancesClient) -> None:
    name = names.instance_name("shop-prod", "default-pool", ZONE, "v000")
    vm = instances.get(project=PROJECT, zone=ZONE, instance=name)

    assert vm.name == name
    assert vm.status == "RUNNING"
    assert vm.machine_type.endswith("/machineTypes/e2-standard-4")
    assert vm.creation_timestamp.startswith("2026-11-24T07:00:00")
    assert vm.network_interfaces[0].network_i_p.startswith("10.")
    assert vm.labels["goog-k8s-cluster-name"] == "shop-prod"
    assert vm.id > 0


def test_group_reports_target_size_and_actions(world: World, groups: compute_v1.InstanceGroupManagersClient) -> None:
    extra = names.instance_name("shop-prod", "default-pool", ZONE, "v999")
    world.google.add_managed_instance(ZONE, GROUP, extra, status="STAGING", current_action="CREATING")
    try:
        group = groups.get(project=PROJECT, zone=ZONE, instance_group_manager=GROUP)
        assert group.target_size == 6
        assert group.current_actions.creating == 1
        assert group.status.is_stable is False
    finally:
        world.google.remove_managed_instance(ZONE, GROUP, extra)
    settled = groups.get(project=PROJECT, zone=ZONE, instance_group_manager=GROUP)
    assert settled.target_size == 5
    assert settled.status.is_stable is True


def test_unknown_instance_and_group_are_not_found(
    groups: compute_v1.InstanceGroupManagersClient, instances: compute_v1.InstancesClient
) -> None:
    with pytest.raises(exceptions.NotFound, match="instances/ghost"):
        instances.get(project=PROJECT, zone=ZONE, instance="ghost")
    with pytest.raises(exceptions.NotFound):
        list(groups.list_managed_instances(project=PROJECT, zone=ZONE, instance_group_manager="ghost-grp"))


@pytest.mark.parametrize(
    ("code", "error"),
    [(503, exceptions.ServiceUnavailable), (429, exceptions.TooManyRequests), (403, exceptions.Forbidden)],
)
def test_injected_faults_raise_the_clients_exception(
    world: World, instances: compute_v1.InstancesClient, code: int, error: type[Exception]
) -> None:
    name = names.instance_name("shop-prod", "default-pool", ZONE, "v001")
    world.faults.compute_errors.append(code)
    with pytest.raises(error):
        instances.get(project=PROJECT, zone=ZONE, instance=name, retry=None)
    assert instances.get(project=PROJECT, zone=ZONE, instance=name).name == name

"""gcloud's managed instance groups against the simulated Compute API.

GKE's node-pool groups have no Compute autoscaler (the cluster autoscaler
resizes them itself), so the autoscaler lists are empty and
``gcloud compute instance-groups managed describe`` shows the group alone.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from sim.clock import SimClock
from sim.google import names
from sim.scenario import load, load_spec
from sim.server import SimServer
from sim.world import World
from tests.gcloud import GCLOUD, gcloud_env, require

require(kubectl=False)

ZONES = ("us-west1-a", "us-west1-b", "us-west1-c")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, str, dict[str, str]]]:
    spec = load_spec("zonal-shortfall")
    world = World(SimClock(), project=spec.project)
    load(world, "zonal-shortfall")
    home = tmp_path_factory.mktemp("gcloud-groups")
    with SimServer(world) as server:
        assert server.endpoints is not None
        env = gcloud_env(home, spec.project, compute=server.endpoints.compute + "/compute/v1/")
        yield world, server.endpoints.compute + f"/compute/v1/projects/{spec.project}", env


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


def test_managed_describe_shows_the_node_pools_group_without_an_autoscaler(setup) -> None:
    world, _base, env = setup
    assert GCLOUD is not None
    group = names.instance_group_name("shop-prod", "default-pool", "us-west1-b")
    done = subprocess.run([GCLOUD, "compute", "instance-groups", "managed", "describe", group, "--zone", "us-west1-b", "--format=json"],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    described = json.loads(done.stdout)
    assert described == world.google.instance_group_manager("us-west1-b", group)
    assert "autoscaler" not in described
    assert described["targetSize"] == 1 and described["status"]["isStable"] is True


def test_groups_are_listed_per_zone_and_aggregated(setup) -> None:
    world, base, _env = setup
    expected = {zone: [g for z, g in world.google.instance_group_managers() if z == zone] for zone in ZONES}
    for zone in ZONES:
        listed = get(f"{base}/zones/{zone}/instanceGroupManagers")
        assert listed["kind"] == "compute#instanceGroupManagerList"
        assert listed["items"] == expected[zone]
    aggregated = get(f"{base}/aggregated/instanceGroupManagers")
    assert {scope: entry["instanceGroupManagers"] for scope, entry in aggregated["items"].items()
            if "instanceGroupManagers" in entry} == {f"zones/{zone}": groups for zone, groups in expected.items()}


def test_there_are_no_compute_autoscalers_for_gke_groups(setup) -> None:
    _world, base, _env = setup
    assert "items" not in get(f"{base}/zones/us-west1-a/autoscalers")
    aggregated = get(f"{base}/aggregated/autoscalers")
    assert all(entry["warning"]["code"] == "NO_RESULTS_ON_PAGE" for entry in aggregated["items"].values())
    with pytest.raises(urllib.error.HTTPError) as missing:
        get(f"{base}/zones/us-west1-a/autoscalers/anything")
    assert missing.value.code == 404


def gcloud_json(env: dict[str, str], *args: str) -> list:
    assert GCLOUD is not None
    done = subprocess.run([GCLOUD, *args, "--format=json"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "did not succeed" not in done.stderr, done.stderr
    return json.loads(done.stdout)


def test_managed_list_through_the_batch_endpoint_shows_every_group_not_autoscaled(setup) -> None:
    world, _base, env = setup
    listed = gcloud_json(env, "compute", "instance-groups", "managed", "list")
    assert sorted(g["name"] for g in listed) == sorted(g["name"] for _, g in world.google.instance_group_managers())
    assert all(g["autoscaled"] == "no" and g["targetSize"] == 1 for g in listed), listed


def test_instance_groups_list_shows_the_managed_groups_with_their_network(setup) -> None:
    world, _base, env = setup
    listed = gcloud_json(env, "compute", "instance-groups", "list")
    assert sorted(g["name"] for g in listed) == sorted(g["name"] for _, g in world.google.instance_group_managers())
    assert all(g["size"] == 1 and g["network"].endswith("/global/networks/default") for g in listed), listed


def test_a_node_pool_vm_has_its_boot_disk_tags_service_account_and_metadata(setup) -> None:
    world, _base, env = setup
    vm = world.google.instances()[0]
    zone = vm["zone"].rsplit("/", 1)[-1]
    [described] = [gcloud_json(env, "compute", "instances", "describe", vm["name"], "--zone", zone)]
    [disk] = described["disks"]
    assert disk["boot"] is True and disk["diskSizeGb"] == "100" and disk["source"].endswith(f"/disks/{vm['name']}")
    assert described["tags"]["items"][0].endswith("-node")
    assert described["serviceAccounts"][0]["email"].endswith("-compute@developer.gserviceaccount.com")
    metadata = {item["key"]: item["value"] for item in described["metadata"]["items"]}
    assert metadata["cluster-name"] == "shop-prod" and metadata["cluster-location"] == "us-west1-a"
    assert f"/zones/{zone}/instanceGroupManagers/gke-shop-prod-default-pool-" in metadata["created-by"]
    assert "" not in metadata.values()


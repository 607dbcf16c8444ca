"""The simulated Compute and GKE APIs as the real gcloud sees them, beside kubectl on the same world.

gcloud is pointed at the simulator with ``api_endpoint_overrides`` in a
throwaway configuration directory, with credentials disabled; it then lists
instances across every zone (Compute's aggregated list), lists zones,
describes the project and the cluster, and must agree with Kubernetes about
each machine and the control plane's version.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from sim.clock import SimClock
from sim.kube.kubeconfig import write_kubeconfig
from sim.scenario import Scenario, load, load_spec
from sim.server import SimServer
from sim.world import World
from tests.gcloud import GCLOUD, gcloud_env, gcloud_json, require
from tests.kubectl import KUBECTL

require(kubectl=True)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Scenario, dict[str, str]]]:
    spec = load_spec("zonal-shortfall")
    world = World(SimClock(), project=spec.project)
    scenario = load(world, "zonal-shortfall")
    home = tmp_path_factory.mktemp("gcloud")
    with SimServer(world) as server:
        assert server.endpoints is not None
        env = {
            **gcloud_env(
                home, spec.project,
                compute=server.endpoints.compute + "/compute/v1/",
                container=server.endpoints.gke + "/",
                cloudresourcemanager=server.endpoints.resourcemanager + "/",
            ),
            "KUBECONFIG": str(write_kubeconfig(home / "kubeconfig", server.endpoints.kube_tls)),
        }
        yield scenario, env


def run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def kubectl(env: dict[str, str], *args: str) -> Any:
    assert KUBECTL is not None
    return json.loads(run(env, KUBECTL, *args, "-o", "json"))


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_instances_list_without_a_zone_shows_every_vm_and_matches_the_nodes(setup: tuple[Scenario, dict[str, str]]) -> None:
    scenario, env = setup
    vms = gcloud_json(env, "compute", "instances", "list")
    assert sorted(vm["name"] for vm in vms) == sorted(name for names in scenario.vm_names.values() for name in names)
    assert {vm["zone"].rsplit("/", 1)[1] for vm in vms} == {"us-west1-a", "us-west1-b", "us-west1-c"}
    nodes = {n["metadata"]["name"]: n for n in kubectl(env, "get", "nodes")["items"]}
    assert set(nodes) == {vm["name"] for vm in vms if vm["zone"].endswith("us-west1-a")}
    for vm in vms:
        node = nodes.get(vm["name"])
        if node is None:
            continue
        addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
        nic = vm["networkInterfaces"][0]
        assert node["metadata"]["annotations"]["container.googleapis.com/instance_id"] == vm["id"]
        assert addresses["InternalIP"] == nic["networkIP"]
        assert addresses["ExternalIP"] == nic["accessConfigs"][0]["natIP"]


def test_a_filtered_list_by_zone_agrees(setup: tuple[Scenario, dict[str, str]]) -> None:
    scenario, env = setup
    vms = gcloud_json(env, "compute", "instances", "list", "--zones=us-west1-b")
    assert [vm["name"] for vm in vms] == scenario.vm_names["us-west1-b"]


def test_zones_list_names_the_regions_zones(setup: tuple[Scenario, dict[str, str]]) -> None:
    _, env = setup
    zones = gcloud_json(env, "compute", "zones", "list")
    west = sorted(z["name"] for z in zones if z["region"].endswith("/regions/us-west1"))
    assert west == ["us-west1-a", "us-west1-b", "us-west1-c"]
    assert all(z["status"] == "UP" for z in zones)
    assert "us-central1-f" in {z["name"] for z in zones} and "us-central1-d" not in {z["name"] for z in zones}


def test_the_project_is_the_one_the_vms_run_in(setup: tuple[Scenario, dict[str, str]]) -> None:
    scenario, env = setup
    project = gcloud_json(env, "compute", "project-info", "describe")
    assert project["name"] == scenario.project
    vm = gcloud_json(env, "compute", "instances", "list")[0]
    assert vm["serviceAccounts"][0]["email"] == project["defaultServiceAccount"]
    cpus = next(q for q in project["quotas"] if q["metric"] == "CPUS_ALL_REGIONS")
    assert cpus["usage"] == 4 * 3, "three e2-standard-4 VMs"
    cluster = gcloud_json(env, "container", "clusters", "describe", scenario.cluster_name, f"--zone={scenario.location}")
    assert when(project["creationTimestamp"]) < when(cluster["createTime"]) < when(vm["creationTimestamp"])


def test_projects_describe_gives_the_number_the_service_account_is_named_after(setup: tuple[Scenario, dict[str, str]]) -> None:
    scenario, env = setup
    described = gcloud_json(env, "projects", "describe", scenario.project)
    assert (described["projectId"], described["lifecycleState"]) == (scenario.project, "ACTIVE")
    compute = gcloud_json(env, "compute", "project-info", "describe")
    assert compute["defaultServiceAccount"] == f"{described['projectNumber']}-compute@developer.gserviceaccount.com"
    assert when(described["createTime"]) == when(compute["creationTimestamp"])
    assert GCLOUD is not None
    refused = subprocess.run([GCLOUD, "projects", "describe", "someone-else"], env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0
    assert "does not have permission" in refused.stderr, refused.stderr


def test_gcloud_and_kubectl_agree_on_the_control_planes_version(setup: tuple[Scenario, dict[str, str]]) -> None:
    scenario, env = setup
    cluster = gcloud_json(env, "container", "clusters", "describe", scenario.cluster_name, f"--zone={scenario.location}")
    assert KUBECTL is not None
    version = json.loads(run(env, KUBECTL, "version", "-o", "json"))["serverVersion"]["gitVersion"]
    assert version == "v" + cluster["currentMasterVersion"]

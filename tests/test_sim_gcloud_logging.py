"""gcloud logging against the simulated Cloud Logging: logs.list and entries:list."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from sim.clock import SimClock
from sim.scenario import load, load_spec
from sim.server import SimServer
from sim.world import World
from tests.gcloud import gcloud_env, gcloud_json, require

require(kubectl=False)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, dict[str, str]]]:
    spec = load_spec("zonal-shortfall")
    world = World(SimClock(), project=spec.project)
    load(world, "zonal-shortfall")
    home = tmp_path_factory.mktemp("gcloud-logging")
    with SimServer(world) as server:
        assert server.endpoints is not None
        env = gcloud_env(home, spec.project, logging=server.endpoints.logging + "/")
        yield world, env


def test_logs_list_names_every_log_that_holds_entries(setup) -> None:
    world, env = setup
    listed = gcloud_json(env, "logging", "logs", "list")
    wanted = sorted({entry["logName"] for entry in world.google.log_entries()})
    assert wanted, "the scenario writes kubelet and kube-proxy logs"
    assert listed == wanted


def test_logs_list_pages_as_the_api_does(setup) -> None:
    world, env = setup
    base = env["CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING"] + f"v2/projects/{world.project}/logs?pageSize=1"
    names: list[str] = []
    token = ""
    while True:
        with urllib.request.urlopen(base + (f"&pageToken={token}" if token else ""), timeout=10) as answer:
            body = json.loads(answer.read())
        names += body["logNames"]
        token = body.get("nextPageToken", "")
        if not token:
            break
    assert names == sorted({entry["logName"] for entry in world.google.log_entries()})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(env["CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING"] + "v2/projects/someone-else/logs", timeout=10)
    assert refused.value.code == 403


def test_logging_read_by_resource_type_returns_the_nodes_logs(setup) -> None:
    world, env = setup
    read = gcloud_json(env, "logging", "read", 'resource.type="k8s_node"', "--freshness=30d", "--limit=5")
    assert isinstance(read, list) and read
    assert all(entry["resource"]["type"] == "k8s_node" for entry in read)


def test_a_containers_cloud_logging_entries_are_what_kubectl_logs_shows(setup) -> None:
    world, env = setup
    pod = next(p for p in world.kube.items("pods") if p["metadata"]["name"].startswith("kube-proxy-"))
    name, node = pod["metadata"]["name"], pod["spec"]["nodeName"]
    query = f'resource.type="k8s_container" AND resource.labels.pod_name="{name}"'
    entries = gcloud_json(env, "logging", "read", query, "--order=asc", "--limit=100")
    assert isinstance(entries, list) and entries
    assert [e["textPayload"] for e in entries] == [text for _, text in world.kube.pod_log("kube-system", name, "kube-proxy")]
    labels = entries[0]["resource"]["labels"]
    assert labels == {"project_id": world.project, "location": "us-west1-a", "cluster_name": "shop-prod",
                      "namespace_name": "kube-system", "pod_name": name, "container_name": "kube-proxy"}
    assert entries[0]["logName"] == f"projects/{world.project}/logs/stderr"
    assert entries[0]["labels"]["compute.googleapis.com/resource_name"] == node


def test_every_vm_logs_its_boot_as_a_gce_instance(setup) -> None:
    world, env = setup
    entries = gcloud_json(env, "logging", "read", 'resource.type="gce_instance" AND logName:"GCEGuestAgent"', "--freshness=30d", "--limit=1000")
    assert isinstance(entries, list)
    vms = {vm["name"]: str(vm["id"]) for vm in world.google.instances()}
    seen = {e["labels"]["compute.googleapis.com/resource_name"]: e["resource"]["labels"]["instance_id"] for e in entries}
    assert seen == vms, "registered or not, each VM's guest agent started"

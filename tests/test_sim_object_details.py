"""The small print of objects, as the real servers write it, read through real clients.

Namespaces carry what the API server fills in; list items come without kind
and apiVersion; kube-system runs GKE's pods under their own names and
images, the kube-proxy mirror pods owned by their Node; GKE's JSON has no
private fields and no empty strings where Google leaves a field out.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.auth.transport.requests import AuthorizedSession
from kubernetes import client as kube_client
from kubernetes import config as kube_config

from sim.clock import SimClock
from sim.kube.kubeconfig import write_kubeconfig
from sim.scenario import Scenario, load, load_spec
from sim.server import SimServer
from sim.world import World
from tests.kubectl import KUBECTL, kubectl_env


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Scenario, SimServer, kube_client.ApiClient, dict[str, str]]]:
    spec = load_spec("zonal-shortfall")
    world = World(SimClock(), project=spec.project)
    scenario = load(world, "zonal-shortfall")
    home = tmp_path_factory.mktemp("details")
    with SimServer(world) as server:
        assert server.endpoints is not None
        config = write_kubeconfig(home / "config", server.endpoints.kube)
        api = kube_config.new_client_from_config(config_file=str(config))
        env = kubectl_env(home, config)
        try:
            yield scenario, server, api, env
        finally:
            api.close()


def raw_get(api: kube_client.ApiClient, path: str) -> dict[str, Any]:
    """A GET through the kubernetes client, answered as the bytes the server sent."""
    auth = api.configuration.auth_settings()["BearerToken"]
    response = api.call_api("GET", api.configuration.host + path, header_params={auth["key"]: auth["value"]})
    response.read()
    assert response.status == 200
    return json.loads(response.data)


def kubectl(env: dict[str, str], *args: str) -> str:
    if KUBECTL is None:
        pytest.skip("kubectl is not installed")
    done = subprocess.run([KUBECTL, *args], env=env, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_namespaces_are_active_with_the_finalizer_and_their_name_label(served: tuple[Scenario, SimServer, kube_client.ApiClient, dict[str, str]]) -> None:
    _, _, api, _ = served
    namespaces = {ns.metadata.name: ns for ns in kube_client.CoreV1Api(api).list_namespace().items}
    assert {"default", "kube-node-lease", "kube-public", "kube-system", "shop"} <= set(namespaces)
    for name, ns in namespaces.items():
        assert ns.status.phase == "Active"
        assert ns.spec.finalizers == ["kubernetes"]
        assert ns.metadata.labels["kubernetes.io/metadata.name"] == name


def test_list_items_come_without_kind_and_api_version_but_single_objects_with(
    served: tuple[Scenario, SimServer, kube_client.ApiClient, dict[str, str]],
) -> None:
    _, _, api, _ = served
    for path in ("/api/v1/nodes", "/api/v1/pods", "/api/v1/namespaces", "/apis/coordination.k8s.io/v1/leases"):
        listed = raw_get(api, path)
        assert listed["kind"].endswith("List") and listed["items"]
        assert not [item for item in listed["items"] if "kind" in item or "apiVersion" in item], path
    pod = raw_get(api, "/api/v1/namespaces/kube-system/pods")["items"][0]["metadata"]
    one = raw_get(api, f"/api/v1/namespaces/kube-system/pods/{pod['name']}")
    assert (one["kind"], one["apiVersion"]) == ("Pod", "v1")


def test_kubectl_shows_gkes_kube_system_pods(served: tuple[Scenario, SimServer, kube_client.ApiClient, dict[str, str]]) -> None:
    scenario, _, _, env = served
    pods = json.loads(kubectl(env, "get", "pods", "-n", "kube-system", "-o", "json"))["items"]
    names = [p["metadata"]["name"] for p in pods]
    node = scenario.node_names[0]
    assert f"kube-proxy-{node}" in names
    for family in ("kube-dns-", "konnectivity-agent-", "fluentbit-gke-", "metrics-server-"):
        assert any(name.startswith(family) for name in names), family
    images = {c["image"] for p in pods for c in p["spec"]["containers"]}
    assert all(image.startswith("gke.gcr.io/") for image in images), images
    assert "gke.gcr.io/kube-proxy-amd64:v1.30.5-gke.1014001" in images
    assert not any(scenario.project in image for image in images), "no application image in kube-system"


def test_mirror_pods_are_owned_by_their_node(served: tuple[Scenario, SimServer, kube_client.ApiClient, dict[str, str]]) -> None:
    scenario, _, api, _ = served
    core = kube_client.CoreV1Api(api)
    node = core.read_node(scenario.node_names[0])
    proxy = core.read_namespaced_pod(f"kube-proxy-{node.metadata.name}", "kube-system")
    [owner] = proxy.metadata.owner_references
    assert (owner.api_version, owner.kind, owner.name, owner.uid) == ("v1", "Node", node.metadata.name, node.metadata.uid)
    assert proxy.metadata.annotations["kubernetes.io/config.source"] == "file"
    assert proxy.spec.priority_class_name == "system-node-critical"


def test_system_pods_take_their_share_of_the_node(served: tuple[Scenario, SimServer, kube_client.ApiClient, dict[str, str]]) -> None:
    """What kube-system requests counts: the node's Running pods fit its allocatable CPU."""
    scenario, _, api, _ = served
    core = kube_client.CoreV1Api(api)
    node = core.read_node(scenario.node_names[0])
    allocatable = int(node.status.allocatable["cpu"].removesuffix("m"))
    running = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node.metadata.name}").items

    def millicores(text: str) -> int:
        return int(text[:-1]) if text.endswith("m") else int(float(text) * 1000)

    requested = sum(millicores(c.resources.requests["cpu"]) for p in running for c in p.spec.containers)
    assert requested <= allocatable == 3920, "GKE keeps 80m of an e2-standard-4 for the system"
    pending = core.list_pod_for_all_namespaces(field_selector="status.phase=Pending").items
    smallest = min(millicores(p.spec.containers[0].resources.requests["cpu"]) for p in pending)
    assert requested + smallest > allocatable, "what is Pending did not fit"


def test_gke_json_has_no_private_fields_nor_empty_strings(served: tuple[Scenario, SimServer, kube_client.ApiClient, dict[str, str]]) -> None:
    scenario, server, _, _ = served
    assert server.endpoints is not None
    session = AuthorizedSession(AnonymousCredentials())
    base = f"{server.endpoints.gke}/v1/projects/{scenario.project}/locations/{scenario.location}"
    for minutes in (35, 55):  # during the upgrade, and after
        scenario.world.clock.advance(to=scenario.started + timedelta(minutes=minutes))
        operations = session.get(f"{base}/operations").json()["operations"]
        cluster = session.get(f"{base}/clusters/{scenario.cluster_name}").json()
        for document in [*operations, cluster]:
            assert not [key for key in document if key.startswith("_")], document
            assert "" not in document.values(), document
    assert "statusMessage" not in cluster

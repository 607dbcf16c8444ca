"""Honest writes: what discovery promises is served, the rest is 405, dry runs store nothing, tokens are checked.

Driven with the real kubectl (cordon, uncordon, label, --dry-run=server, a
wrong token) and the official ``kubernetes`` client (every advertised verb on
a Lease, JSON and merge patches, 405 Status bodies, 401) against a simulated
world on loopback.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as kube_client
from kubernetes import config as kube_config
from kubernetes import watch as kube_watch
from kubernetes.client.exceptions import ApiException

from sim.kube.builders import make_lease, make_node, make_pod
from sim.kube.kubeconfig import write_kubeconfig
from sim.server import SimServer
from sim.world import World
from tests.kubectl import kubectl_env, require

PROJECT = "demo-project"
NODE = "gke-prod-default-pool-1a2b-x1"
SPARE = "gke-prod-default-pool-1a2b-x2"
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


@pytest.fixture(scope="module")
def world() -> World:
    world = World(project=PROJECT)
    for name in (NODE, SPARE):
        world.kube.upsert("nodes", make_node(name, pool="default-pool", zone="us-west1-a", project=PROJECT))
    world.kube.upsert("pods", make_pod("shop", "web-0", node=NODE, labels={"app": "web"}))
    world.clock.advance(3600)
    return world


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[SimServer]:
    with SimServer(world) as running:
        yield running


@pytest.fixture(scope="module")
def home(server: SimServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert server.endpoints is not None
    folder = tmp_path_factory.mktemp("writes")
    write_kubeconfig(folder / "config", server.endpoints.kube_tls)  # kubectl sends a token only over TLS
    write_kubeconfig(folder / "wrong", server.endpoints.kube_tls, token="not-the-token")
    return folder


@pytest.fixture(scope="module")
def api(home: Path) -> Iterator[kube_client.ApiClient]:
    client = kube_config.new_client_from_config(config_file=str(home / "config"))
    try:
        yield client
    finally:
        client.close()


def run_kubectl(home: Path, *args: str, config: str = "config") -> subprocess.CompletedProcess[str]:
    path = require(module=False)
    return subprocess.run([path, *args], env=kubectl_env(home, home / config), capture_output=True, text=True, timeout=30, check=False)


def kubectl(home: Path, *args: str) -> str:
    done = run_kubectl(home, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def node_json(home: Path, name: str) -> dict[str, Any]:
    return json.loads(kubectl(home, "get", "node", name, "-o", "json"))


def node_events(home: Path, name: str) -> list[str]:
    listed = json.loads(kubectl(home, "get", "events", "-n", "default", "--field-selector", f"involvedObject.name={name}", "-o", "json"))
    return [e["reason"] for e in listed["items"]]


def test_kubectl_cordon_and_uncordon(home: Path) -> None:
    assert kubectl(home, "cordon", NODE).strip() == f"node/{NODE} cordoned"
    node = node_json(home, NODE)
    assert node["spec"]["unschedulable"] is True
    assert {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}.items() <= node["spec"]["taints"][0].items()
    assert "Ready,SchedulingDisabled" in kubectl(home, "get", "node", NODE)
    assert "NodeNotSchedulable" in node_events(home, NODE)

    assert kubectl(home, "uncordon", NODE).strip() == f"node/{NODE} uncordoned"
    node = node_json(home, NODE)
    assert "unschedulable" not in node["spec"] and "taints" not in node["spec"]
    assert "NodeSchedulable" in node_events(home, NODE)


def test_kubectl_label_and_unlabel_a_node(home: Path) -> None:
    assert kubectl(home, "label", "node", NODE, "team=payments").strip() == f"node/{NODE} labeled"
    assert node_json(home, NODE)["metadata"]["labels"]["team"] == "payments"
    refused = run_kubectl(home, "label", "node", NODE, "team=search")
    assert refused.returncode != 0 and "already has a value (payments)" in refused.stderr
    kubectl(home, "label", "node", NODE, "team=search", "--overwrite")
    assert kubectl(home, "get", "nodes", "-l", "team=search", "-o", "name").split() == [f"node/{NODE}"]
    assert kubectl(home, "label", "node", NODE, "team-").strip() == f"node/{NODE} unlabeled"
    assert "team" not in node_json(home, NODE)["metadata"]["labels"]


def test_server_dry_runs_store_nothing(home: Path, world: World) -> None:
    before = node_json(home, SPARE)
    assert kubectl(home, "cordon", SPARE, "--dry-run=server").strip() == f"node/{SPARE} cordoned (server dry run)"
    kubectl(home, "label", "node", SPARE, "team=x", "--dry-run=server")
    kubectl(home, "delete", "pod", "web-0", "-n", "shop", "--dry-run=server")
    after = node_json(home, SPARE)
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert "unschedulable" not in after["spec"] and "team" not in after["metadata"]["labels"]
    assert world.kube.get("pods", "shop", "web-0") is not None
    assert "NodeNotSchedulable" not in node_events(home, SPARE)


def test_a_wrong_token_is_unauthorized(home: Path, api: kube_client.ApiClient) -> None:
    done = run_kubectl(home, "get", "nodes", config="wrong")
    assert done.returncode != 0
    assert "Unauthorized" in done.stderr
    configuration = kube_client.Configuration(host=api.configuration.host)
    configuration.ssl_ca_cert = api.configuration.ssl_ca_cert
    configuration.api_key = {"authorization": "not-the-token"}
    configuration.api_key_prefix = {"authorization": "Bearer"}
    with kube_client.ApiClient(configuration) as wrong, pytest.raises(ApiException) as refused:
        kube_client.CoreV1Api(wrong).list_node()
    assert refused.value.status == 401
    body = json.loads(refused.value.body)
    assert (body["kind"], body["reason"], body["message"], body["code"]) == ("Status", "Unauthorized", "Unauthorized", 401)


def test_anonymous_requests_get_rbacs_answer_when_the_world_says_so(world: World, api: kube_client.ApiClient) -> None:
    configuration = kube_client.Configuration(host=api.configuration.host)
    configuration.ssl_ca_cert = api.configuration.ssl_ca_cert
    world.kube.anonymous_allowed = False
    try:
        with kube_client.ApiClient(configuration) as anonymous:
            assert kube_client.VersionApi(anonymous).get_code().git_version.startswith("v1.")
            with pytest.raises(ApiException) as refused:
                kube_client.CoreV1Api(anonymous).list_node()
    finally:
        world.kube.anonymous_allowed = True
    assert refused.value.status == 403
    assert 'User "system:anonymous" cannot list resource "nodes"' in json.loads(refused.value.body)["message"]


def test_discovery_lists_the_verbs_served_and_each_one_works_on_a_lease(api: kube_client.ApiClient) -> None:
    core = kube_client.CoreV1Api(api).get_api_resources()
    assert {r.name: r.verbs for r in core.resources if "/" not in r.name} == {
        name: VERBS for name in ("events", "namespaces", "nodes", "pods", "services")
    }
    leases = kube_client.CoordinationV1Api(api)
    [entry] = [r for r in leases.get_api_resources().resources if r.name == "leases"]
    assert entry.verbs == VERBS
    made = leases.create_namespaced_lease("shop", make_lease("shop", "lock", holder="a"))
    assert leases.read_namespaced_lease("lock", "shop").spec.holder_identity == "a"
    assert [item.metadata.name for item in leases.list_namespaced_lease("shop").items] == ["lock"]
    stream = kube_watch.Watch().stream(leases.list_namespaced_lease, "shop", timeout_seconds=1)
    assert next(stream)["object"].metadata.name == "lock"
    made.spec.holder_identity = "b"
    assert leases.replace_namespaced_lease("lock", "shop", made).spec.holder_identity == "b"
    patched = leases.patch_namespaced_lease(
        "lock", "shop", [{"op": "replace", "path": "/spec/holderIdentity", "value": "c"}], _content_type="application/json-patch+json"
    )
    assert patched.spec.holder_identity == "c"
    merged = leases.patch_namespaced_lease(
        "lock", "shop", {"spec": {"holderIdentity": None, "leaseDurationSeconds": 30}}, _content_type="application/merge-patch+json"
    )
    assert merged.spec.holder_identity is None and merged.spec.lease_duration_seconds == 30
    leases.delete_namespaced_lease("lock", "shop")
    with pytest.raises(ApiException) as gone:
        leases.read_namespaced_lease("lock", "shop")
    assert gone.value.status == 404


def test_dry_run_create_and_delete_through_the_client(api: kube_client.ApiClient) -> None:
    leases = kube_client.CoordinationV1Api(api)
    preview = leases.create_namespaced_lease("shop", make_lease("shop", "maybe", holder="a"), dry_run="All")
    assert preview.metadata.uid and preview.metadata.resource_version is None
    with pytest.raises(ApiException) as absent:
        leases.read_namespaced_lease("maybe", "shop")
    assert absent.value.status == 404
    leases.create_namespaced_lease("shop", make_lease("shop", "kept", holder="a"))
    leases.delete_namespaced_lease("kept", "shop", dry_run="All")
    assert leases.read_namespaced_lease("kept", "shop").spec.holder_identity == "a"
    with pytest.raises(ApiException) as wrong:
        leases.delete_namespaced_lease("kept", "shop", dry_run="Some")
    assert wrong.value.status == 400 and "dryRun" in json.loads(wrong.value.body)["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", f"/api/v1/nodes/{NODE}"),  # create names no object
        ("PUT", "/api/v1/nodes"),
        ("PATCH", "/api/v1/namespaces/shop/pods"),
        ("DELETE", "/api/v1/namespaces/shop/pods"),  # deletecollection: not served, not advertised
        ("PUT", "/api/v1/namespaces/shop/pods/web-0/log"),
        ("PATCH", f"/api/v1/nodes/{NODE}/status"),
    ],
)
def test_unserved_verbs_answer_a_405_status(api: kube_client.ApiClient, method: str, path: str) -> None:
    auth = api.configuration.auth_settings()["BearerToken"]
    headers = {auth["key"]: auth["value"], "Content-Type": "application/merge-patch+json"}
    response = api.call_api(method, api.configuration.host + path, header_params=headers, body={})
    response.read()
    assert response.status == 405
    body = json.loads(response.data)
    assert (body["kind"], body["status"], body["reason"], body["code"]) == ("Status", "Failure", "MethodNotAllowed", 405)


def test_a_patch_type_the_server_does_not_speak_is_415(api: kube_client.ApiClient) -> None:
    with pytest.raises(ApiException) as refused:
        kube_client.CoreV1Api(api).patch_node(NODE, {"metadata": {"labels": {"a": "b"}}}, _content_type="application/apply-patch+yaml")
    assert refused.value.status == 415

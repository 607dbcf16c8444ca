"""kubectl explain and kubectl create -f against the simulated API: the OpenAPI documents kubectl reads."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from sim.kube.builders import make_node
from sim.kube.kubeconfig import write_kubeconfig
from sim.server import SimServer
from sim.world import World
from tests.kubectl import kubectl_env, require

KUBECTL = require()
PROJECT = "demo-project"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, dict[str, str], str]]:
    world = World(project=PROJECT)
    world.kube.upsert("nodes", make_node("gke-prod-default-pool-1a2b-x1", pool="default-pool", zone="us-west1-a", project=PROJECT))
    home = tmp_path_factory.mktemp("kubectl-explain")
    with SimServer(world) as server:
        assert server.endpoints is not None
        config = write_kubeconfig(home / "config", server.endpoints.kube_tls)
        yield world, kubectl_env(home, config), server.endpoints.kube


def kubectl(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    return subprocess.run([KUBECTL, *args], env=env, capture_output=True, text=True, timeout=30, check=False, input=stdin)


def fetch(url: str, accept: str = "application/json") -> tuple[int, dict[str, str], bytes]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers={"Accept": accept}), timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_explain_node_prints_the_kind_its_description_and_its_fields(served) -> None:
    _, env, _ = served
    done = kubectl(env, "explain", "node")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("KIND:       Node\nVERSION:    v1\n")
    assert "Node is a worker node in Kubernetes." in out
    assert "spec\t<NodeSpec>" in out and "status\t<NodeStatus>" in out and "metadata\t<ObjectMeta>" in out


def test_explain_follows_a_field_path_into_lists(served) -> None:
    _, env, _ = served
    done = kubectl(env, "explain", "pod.spec.containers.image")
    assert done.returncode == 0, done.stderr
    assert "FIELD: image <string>" in done.stdout
    assert "Container image name." in done.stdout
    resources = kubectl(env, "explain", "po.spec.containers.resources.requests")
    assert "FIELD: requests <map[string]Quantity>" in resources.stdout, resources.stdout


def test_an_unknown_field_is_kubectls_error(served) -> None:
    _, env, _ = served
    done = kubectl(env, "explain", "pod.spec.colour")
    assert done.returncode == 1
    assert done.stderr.strip() == 'error: field "colour" does not exist'


def test_explain_recursive_walks_a_deployment_of_the_apps_group(served) -> None:
    _, env, _ = served
    done = kubectl(env, "explain", "deployment.spec.strategy", "--recursive")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("GROUP:      apps\nKIND:       Deployment\nVERSION:    v1\n")
    assert "rollingUpdate\t<RollingUpdateDeployment>" in done.stdout
    assert "    maxSurge\t<IntOrString>" in done.stdout


def test_create_from_a_file_is_validated_by_the_server_as_the_documents_say(served) -> None:
    """kubectl looks for fieldValidation on the kind's PATCH operation; without it, it would refuse to create."""
    world, env, _ = served
    manifest = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: explained\n"
    done = kubectl(env, "create", "-f", "-", stdin=manifest)
    assert (done.returncode, done.stdout.strip()) == (0, "namespace/explained created"), done.stderr
    assert world.kube.get("namespaces", None, "explained") is not None


def test_the_v3_index_names_every_group_version_and_a_stale_hash_is_redirected(served) -> None:
    _, _, base = served
    code, _, body = fetch(base + "/openapi/v3")
    assert code == 200
    paths = json.loads(body)["paths"]
    assert sorted(paths) == ["api/v1", "apis/apps/v1", "apis/coordination.k8s.io/v1", "apis/policy/v1"]
    url = paths["apis/policy/v1"]["serverRelativeURL"]
    code, headers, body = fetch(base + url)
    assert code == 200 and headers["Cache-Control"] == "public, immutable"
    document = json.loads(body)
    budget = document["components"]["schemas"]["io.k8s.api.policy.v1.PodDisruptionBudget"]
    assert budget["x-kubernetes-group-version-kind"] == [{"group": "policy", "kind": "PodDisruptionBudget", "version": "v1"}]
    code, headers, _ = fetch(base + "/openapi/v3/apis/policy/v1?hash=0123")
    assert code == 301 and headers["Location"] == url


def test_v2_is_served_as_json_and_a_protobuf_only_client_is_told_406(served) -> None:
    _, _, base = served
    code, _, body = fetch(base + "/openapi/v2")
    assert code == 200
    document = json.loads(body)
    assert document["swagger"] == "2.0"
    assert document["definitions"]["io.k8s.api.core.v1.Node"]["description"].startswith("Node is a worker node")
    code, _, body = fetch(base + "/openapi/v2", accept="application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
    assert code == 406 and json.loads(body)["reason"] == "NotAcceptable"

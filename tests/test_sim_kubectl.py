"""The simulated Kubernetes API as the real kubectl sees it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import timedelta

import pytest

from sim.kube.builders import make_event, make_node, make_pod
from sim.kube.kubeconfig import write_kubeconfig
from sim.server import SimServer
from sim.world import World
from tests.kubectl import kubectl_env, require

KUBECTL = require()
PROJECT = "demo-project"


@pytest.fixture(scope="module")
def world() -> World:
    """The seed incident in miniature: one zone's node Ready, the others' never registered or lost."""
    world = World(project=PROJECT)
    kube = world.kube
    kube.upsert("nodes", make_node("gke-prod-default-pool-1a2b-x1", pool="default-pool", zone="us-west1-a", project=PROJECT))
    kube.upsert("nodes", make_node("gke-prod-default-pool-3c4d-y1", pool="default-pool", zone="us-west1-b", project=PROJECT, ready=False))
    kube.upsert("nodes", make_node("gke-prod-batch-5e6f-z1", pool="batch", zone="us-west1-a", project=PROJECT, unschedulable=True))
    kube.upsert("pods", make_pod("shop", "web-0", node="gke-prod-default-pool-1a2b-x1", labels={"app": "web"}))
    kube.upsert("pods", make_pod("shop", "web-1", phase="Pending", labels={"app": "web"}))
    kube.upsert("pods", make_pod("shop", "cart-0", node="gke-prod-default-pool-1a2b-x1", labels={"app": "cart"}))
    kube.upsert("pods", make_pod("batch", "report-0", phase="Pending", labels={"app": "report"}))
    kube.upsert("events", make_event("shop", kind="Pod", name="web-1", reason="FailedScheduling", type="Warning",
                                     message="0/3 nodes are available: 1 Insufficient cpu", source="default-scheduler"))
    kube.upsert("events", make_event("default", kind="Node", name="gke-prod-default-pool-3c4d-y1", reason="NodeNotReady",
                                     type="Warning", message="Node gke-prod-default-pool-3c4d-y1 status is now: NodeNotReady", source="node-controller"))
    now = world.clock.now()
    kube.set_pod_log("shop", "web-0", "app", [(now, "GET /healthz 200"), (now + timedelta(seconds=1), "GET /cart 200")])
    world.clock.advance(2 * 3600)
    return world


@pytest.fixture(scope="module")
def env(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    home = tmp_path_factory.mktemp("kubectl-home")
    with SimServer(world) as server:
        assert server.endpoints is not None
        config = write_kubeconfig(home / "config", server.endpoints.kube)
        yield kubectl_env(home, config)


def kubectl(env: dict[str, str], *args: str) -> str:
    assert KUBECTL is not None
    done = subprocess.run([KUBECTL, *args], env=env, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def table(output: str) -> list[list[str]]:
    return [line.split() for line in output.strip().splitlines()]


def test_get_nodes_prints_status_roles_age_version(env: dict[str, str]) -> None:
    rows = table(kubectl(env, "get", "nodes"))
    assert rows[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert rows[1:] == [
        ["gke-prod-batch-5e6f-z1", "Ready,SchedulingDisabled", "<none>", "120m", "v1.30.5-gke.1014001"],
        ["gke-prod-default-pool-1a2b-x1", "Ready", "<none>", "120m", "v1.30.5-gke.1014001"],
        ["gke-prod-default-pool-3c4d-y1", "NotReady", "<none>", "120m", "v1.30.5-gke.1014001"],
    ]


def test_get_pending_pods_across_namespaces(env: dict[str, str]) -> None:
    rows = table(kubectl(env, "get", "pods", "-A", "--field-selector=status.phase=Pending"))
    assert rows[0] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [(r[0], r[1], r[3]) for r in rows[1:]] == [("batch", "report-0", "Pending"), ("shop", "web-1", "Pending")]


def test_get_pods_by_label_in_one_namespace(env: dict[str, str]) -> None:
    rows = table(kubectl(env, "get", "pods", "-n", "shop", "-l", "app=web", "-o", "wide"))
    assert rows[0][:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert [(r[0], r[2], r[6]) for r in rows[1:]] == [("web-0", "Running", "gke-prod-default-pool-1a2b-x1"), ("web-1", "Pending", "<none>")]


def test_describe_node_shows_conditions_provider_and_events(env: dict[str, str]) -> None:
    output = kubectl(env, "describe", "node", "gke-prod-default-pool-3c4d-y1")
    assert "topology.kubernetes.io/zone=us-west1-b" in output
    assert "ProviderID:                   gce://demo-project/us-west1-b/gke-prod-default-pool-3c4d-y1" in output
    ready = next(line for line in output.splitlines() if line.strip().startswith("Ready "))
    assert "Unknown" in ready and "NodeStatusUnknown" in ready
    assert "KernelDeadlock" in output
    assert "NodeNotReady" in output.split("Events:")[1]


def test_logs_of_a_pod(env: dict[str, str]) -> None:
    assert kubectl(env, "logs", "-n", "shop", "web-0") == "GET /healthz 200\nGET /cart 200\n"
    assert kubectl(env, "logs", "-n", "shop", "web-0", "--tail=1") == "GET /cart 200\n"


def test_get_events_everywhere(env: dict[str, str]) -> None:
    rows = table(kubectl(env, "get", "events", "-A"))
    assert rows[0] == ["NAMESPACE", "LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    found = {(r[0], r[3], r[4]) for r in rows[1:]}  # "LAST SEEN" is one cell
    assert found == {("default", "NodeNotReady", "node/gke-prod-default-pool-3c4d-y1"), ("shop", "FailedScheduling", "pod/web-1")}


def test_errors_read_like_a_real_server(env: dict[str, str]) -> None:
    assert KUBECTL is not None
    done = subprocess.run([KUBECTL, "get", "pod", "nope", "-n", "shop"], env=env, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode != 0
    assert done.stderr.strip() == 'Error from server (NotFound): pods "nope" not found'

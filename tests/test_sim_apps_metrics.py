"""apps/v1 workloads and metrics.k8s.io in the simulated API: the bot's reader and the real kubectl both read them.

A shop namespace runs a Deployment whose four replicas do not all fit (one
Pending for lack of CPU), a StatefulSet whose second pod cannot be placed,
and a DaemonSet on every node; its controllers' status follows the pods, and
the metrics API measures the pods that run.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import timedelta

import kubernetes_validate
import pytest

from bot.errors import NotFound
from bot.sources.kube.client import api_client_for_url
from bot.sources.kube.reader import KubeSource
from sim.kube import apps
from sim.kube.builders import make_node, make_pod
from sim.kube.kubeconfig import write_kubeconfig
from sim.server import SimServer
from sim.world import World
from tests.kubectl import KUBECTL, kubectl_env, require

PROJECT = "demo-project"
NODES = ("gke-prod-default-pool-1a2b-x1", "gke-prod-default-pool-1a2b-x2")
INSUFFICIENT = "0/2 nodes are available: 2 Insufficient cpu."


def build_world() -> World:
    world = World(project=PROJECT)
    kube = world.kube
    for name in NODES:
        kube.upsert("nodes", make_node(name, pool="default-pool", zone="us-west1-a", project=PROJECT))
    started = world.clock.now() - timedelta(minutes=30)
    for index in range(4):
        pending = index == 3
        kube.upsert("pods", make_pod(
            "shop", f"web-7d4b9c6f5-{index}x", node=None if pending else NODES[index % 2], phase="Pending" if pending else "Running",
            labels={"app": "web", "pod-template-hash": "7d4b9c6f5"}, owner=("ReplicaSet", "web-7d4b9c6f5"), cpu="900m",
            memory="1Gi", created=started, unschedulable_message=INSUFFICIENT if pending else None,
        ))
    for index, node in enumerate((NODES[0], None)):
        kube.upsert("pods", make_pod(
            "shop", f"db-{index}", node=node, phase="Running" if node else "Pending", labels={"app": "db"},
            owner=("StatefulSet", "db"), cpu="1", memory="2Gi", created=started,
            unschedulable_message=None if node else INSUFFICIENT,
        ))
    for node in NODES:
        kube.upsert("pods", make_pod(
            "kube-system", f"agent-{node[-2:]}", node=node, labels={"k8s-app": "agent"}, owner=("DaemonSet", "agent"),
            cpu="50m", memory="64Mi", created=started,
        ))
    return world


@pytest.fixture(scope="module")
def world() -> World:
    return build_world()


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[SimServer]:
    with SimServer(world) as server:
        yield server


@pytest.fixture(scope="module")
def source(server: SimServer) -> KubeSource:
    assert server.endpoints is not None
    return KubeSource("demo", api_client_for_url(server.endpoints.kube), timeout_seconds=5)


# -- the objects ----------------------------------------------------------------------------


def test_workloads_exist_for_their_pods_with_the_controllers_status(world: World) -> None:
    web = world.kube.get("deployments", "shop", "web")
    assert web is not None
    assert web["spec"]["replicas"] == 4 and web["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert {k: web["status"].get(k) for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas")} == {
        "replicas": 4, "updatedReplicas": 4, "readyReplicas": 3, "availableReplicas": 3, "unavailableReplicas": 1
    }
    conditions = {c["type"]: c for c in web["status"]["conditions"]}
    assert conditions["Available"]["status"] == "True", "3 of 4 is within maxUnavailable 25%"
    progressing = conditions["Progressing"]
    assert (progressing["status"], progressing["reason"]) == ("False", "ProgressDeadlineExceeded"), "30 minutes without completing"
    assert progressing["message"] == 'ReplicaSet "web-7d4b9c6f5" has timed out progressing.'
    db = world.kube.get("statefulsets", "shop", "db")
    assert db is not None and db["status"]["replicas"] == 2 and db["status"]["readyReplicas"] == 1
    assert db["metadata"]["uid"] == world.kube.get("pods", "shop", "db-0")["metadata"]["ownerReferences"][0]["uid"]
    agent = world.kube.get("daemonsets", "kube-system", "agent")
    assert agent is not None and agent["status"]["desiredNumberScheduled"] == 2 and agent["status"]["numberReady"] == 2


@pytest.mark.parametrize(("plural", "namespace", "name"), [("deployments", "shop", "web"), ("statefulsets", "shop", "db"), ("daemonsets", "kube-system", "agent")])
def test_workloads_are_valid_against_the_kubernetes_schema(world: World, plural: str, namespace: str, name: str) -> None:
    obj = world.kube.get(plural, namespace, name)
    assert obj is not None
    kubernetes_validate.validate(obj, "1.32", strict=True)


def test_a_progressing_rollout_turns_stuck_when_the_deadline_passes() -> None:
    world = World(project=PROJECT)
    world.kube.upsert("nodes", make_node(NODES[0], pool="default-pool", zone="us-west1-a", project=PROJECT))
    world.kube.upsert("pods", make_pod(
        "shop", "api-5f6d7c8b9-0x", phase="Pending", labels={"app": "api", "pod-template-hash": "5f6d7c8b9"},
        owner=("ReplicaSet", "api-5f6d7c8b9"), created=world.clock.now(), unschedulable_message=INSUFFICIENT,
    ))

    def progressing() -> tuple[str, str]:
        api = world.kube.get("deployments", "shop", "api")
        assert api is not None
        condition = next(c for c in api["status"]["conditions"] if c["type"] == "Progressing")
        return condition["status"], condition["reason"]

    assert progressing() == ("True", "ReplicaSetUpdated")
    world.clock.advance(599)
    assert progressing() == ("True", "ReplicaSetUpdated")
    world.clock.advance(2)
    assert progressing() == ("False", "ProgressDeadlineExceeded")


def test_a_new_node_raises_what_a_daemonset_wants() -> None:
    world = build_world()
    world.kube.upsert("nodes", make_node("gke-prod-default-pool-1a2b-x3", pool="default-pool", zone="us-west1-a", project=PROJECT))
    agent = world.kube.get("daemonsets", "kube-system", "agent")
    assert agent is not None
    assert (agent["status"]["desiredNumberScheduled"], agent["status"]["currentNumberScheduled"]) == (3, 2)
    assert apps.controller_of(world.kube.get("pods", "kube-system", "agent-x1") or {}) == ("daemonsets", "agent")


# -- through the bot's reader ----------------------------------------------------------------


def test_the_reader_lists_and_gets_workloads(source: KubeSource) -> None:
    deployments = source.list_deployments(namespace="shop")
    assert [(w.name, w.desired, w.ready, w.updated, w.available) for w in deployments] == [("web", 4, 3, 4, 3)]
    web = deployments[0]
    assert web.selector == "app=web" and web.progress_deadline_seconds == 600
    assert web.condition("Progressing") is not None and web.condition("Progressing").reason == "ProgressDeadlineExceeded"
    assert [(w.key, w.desired, w.ready) for w in source.list_statefulsets()] == [("shop/db", 2, 1)]
    [agent] = source.list_daemonsets(namespace="kube-system")
    assert (agent.desired, agent.current, agent.ready) == (2, 2, 2)
    assert source.get_statefulset("shop", "db").current_revision.startswith("db-")
    assert source.get_daemonset("kube-system", "agent").strategy == "RollingUpdate"
    with pytest.raises(NotFound, match="Deployment `shop/nope` was not found"):
        source.get_deployment("shop", "nope")


def test_the_reader_reads_usage_for_running_pods_and_ready_nodes(source: KubeSource) -> None:
    nodes = source.node_metrics()
    assert nodes is not None and sorted(u.name for u in nodes) == sorted(NODES)
    pods = source.pod_metrics(namespace="shop")
    assert pods is not None
    assert sorted(u.key for u in pods) == ["shop/db-0", "shop/web-7d4b9c6f5-0x", "shop/web-7d4b9c6f5-1x", "shop/web-7d4b9c6f5-2x"]
    for usage in pods:
        assert 0 < usage.cpu_m <= 1000 and 0 < usage.memory <= 2 * 2**30, usage
    assert source.pod_metrics() is not None and len(source.pod_metrics() or []) == 6
    again = source.pod_metrics(namespace="shop")
    assert again is not None and [u.cpu_m for u in again] == [u.cpu_m for u in pods], "usage is steady per pod"
    node_total = {u.name: u.cpu_m for u in nodes}
    on_first = sum(u.cpu_m for u in source.pod_metrics() or [] if u.name in ("db-0", "web-7d4b9c6f5-0x", "web-7d4b9c6f5-2x", "agent-x1"))
    assert node_total[NODES[0]] > on_first, "a node uses what its pods use and some for itself"


def test_without_metrics_server_the_reader_says_none(world: World, source: KubeSource) -> None:
    world.faults.metrics_api_missing = True
    try:
        assert source.node_metrics() is None and source.pod_metrics(namespace="shop") is None
    finally:
        world.faults.metrics_api_missing = False
    assert source.namespace_exists("shop") and not source.namespace_exists("nope")


# -- through kubectl -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def env(server: SimServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    require(module=False)
    assert server.endpoints is not None
    home = tmp_path_factory.mktemp("kubectl-home")
    config = write_kubeconfig(home / "config", server.endpoints.kube)
    return kubectl_env(home, config)


def kubectl(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    done = subprocess.run([KUBECTL, *args], env=env, capture_output=True, text=True, timeout=30, check=False)
    if ok:
        assert done.returncode == 0, done.stderr
    return done


def rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.strip().splitlines()]


def test_kubectl_gets_deployments_statefulsets_and_daemonsets(env: dict[str, str]) -> None:
    out = kubectl(env, "get", "deploy,sts,ds", "-A").stdout
    blocks = [rows(block) for block in out.strip().split("\n\n")]
    assert blocks[0][0] == ["NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert blocks[0][1][:5] == ["shop", "deployment.apps/web", "3/4", "4", "3"]
    assert blocks[1][0] == ["NAMESPACE", "NAME", "READY", "AGE"] and blocks[1][1][:3] == ["shop", "statefulset.apps/db", "1/2"]
    assert blocks[2][0][:7] == ["NAMESPACE", "NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE"]
    assert blocks[2][1][:7] == ["kube-system", "daemonset.apps/agent", "2", "2", "2", "2", "2"]
    wide = rows(kubectl(env, "get", "deployment", "web", "-n", "shop", "-o", "wide").stdout)
    assert wide[0][-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"] and wide[1][-1] == "app=web"


def test_kubectl_top_nodes_and_pods(env: dict[str, str]) -> None:
    nodes = rows(kubectl(env, "top", "nodes").stdout)
    assert nodes[0] == ["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"]
    assert sorted(r[0] for r in nodes[1:]) == sorted(NODES)
    assert all(r[1].endswith("m") and r[2].endswith("%") and r[3].endswith("Mi") for r in nodes[1:])
    pods = rows(kubectl(env, "top", "pods", "-A").stdout)
    assert pods[0] == ["NAMESPACE", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert len(pods) == 7 and "db-1" not in {r[1] for r in pods}, "a Pending pod has no metrics"


def test_kubectl_top_without_the_metrics_api(world: World, env: dict[str, str]) -> None:
    world.faults.metrics_api_missing = True
    try:
        done = kubectl(env, "top", "nodes", ok=False)
    finally:
        world.faults.metrics_api_missing = False
    assert done.returncode != 0 and "Metrics API not available" in done.stderr

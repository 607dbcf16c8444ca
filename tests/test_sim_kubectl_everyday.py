"""kubectl's everyday commands against the simulated API: who am I, may I, the previous container's log."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from datetime import timedelta

import pytest

from sim.kube.builders import make_node, make_pod
from sim.kube.kubeconfig import write_kubeconfig
from sim.server import SimServer
from sim.world import World
from tests.kubectl import kubectl_env, require

KUBECTL = require()
PROJECT = "demo-project"
NODE = "gke-prod-default-pool-1a2b-x1"


@pytest.fixture(scope="module")
def world() -> World:
    world = World(project=PROJECT)
    kube = world.kube
    kube.upsert("nodes", make_node(NODE, pool="default-pool", zone="us-west1-a", project=PROJECT))
    kube.upsert("pods", make_pod("shop", "web-0", node=NODE, labels={"app": "web"}))
    restarted = make_pod("shop", "cart-0", node=NODE, labels={"app": "cart"})
    now = world.clock.now()
    crashed = now + timedelta(seconds=30)
    status = restarted["status"]["containerStatuses"][0]
    status["restartCount"] = 1
    status["lastState"] = {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                          "finishedAt": crashed.strftime("%Y-%m-%dT%H:%M:%SZ")}}
    kube.upsert("pods", restarted)
    container = status["name"]
    kube.set_pod_log("shop", "cart-0", container, [(now, "loading the catalogue"), (crashed + timedelta(seconds=5), "started again")])
    world.clock.advance(3600)
    return world


@pytest.fixture(scope="module")
def env(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    home = tmp_path_factory.mktemp("kubectl-home")
    with SimServer(world) as server:
        assert server.endpoints is not None
        config = write_kubeconfig(home / "config", server.endpoints.kube_tls)
        yield kubectl_env(home, config)


def kubectl(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    return subprocess.run([KUBECTL, *args], env=env, capture_output=True, text=True, timeout=30, check=False)


def test_auth_whoami_names_the_service_account_and_its_groups(env) -> None:
    done = kubectl(env, "auth", "whoami")
    assert done.returncode == 0, done.stderr
    rows = [line.split(None, 1) for line in done.stdout.strip().splitlines()]
    assert rows[0] == ["ATTRIBUTE", "VALUE"]
    assert ["Username", "system:serviceaccount:k8s-chatops:k8s-chatops"] in rows
    assert ["Groups", "[system:serviceaccounts system:serviceaccounts:k8s-chatops system:authenticated]"] in rows


def test_auth_can_i_says_yes_and_no_as_the_simulated_rbac_decides(world: World, env) -> None:
    done = kubectl(env, "auth", "can-i", "list", "pods", "-n", "shop")
    assert (done.returncode, done.stdout.strip()) == (0, "yes"), done.stderr
    world.kube.forbidden.add("pods/log")
    try:
        done = kubectl(env, "auth", "can-i", "get", "pods", "--subresource=log", "-n", "shop")
        assert (done.returncode, done.stdout.strip()) == (1, "no"), done.stderr
        assert kubectl(env, "auth", "can-i", "get", "pods", "-n", "shop").stdout.strip() == "yes"
    finally:
        world.kube.forbidden.discard("pods/log")


def test_logs_previous_without_a_previous_container_is_the_real_400(env) -> None:
    done = kubectl(env, "logs", "-n", "shop", "web-0", "--previous")
    assert done.returncode == 1
    container = "app"
    assert done.stderr.strip() == (
        f'Error from server (BadRequest): previous terminated container "{container}" in pod "web-0" not found'
    ), done.stderr


def test_logs_previous_reads_the_run_that_ended(env) -> None:
    done = kubectl(env, "logs", "-n", "shop", "cart-0", "--previous")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "loading the catalogue\n"
    assert kubectl(env, "logs", "-n", "shop", "cart-0").stdout == "loading the catalogue\nstarted again\n"


@pytest.fixture(scope="module")
def scenario_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SimServer, dict[str, str]]]:
    from sim import scenario

    world = World()
    scenario.load(world, "zonal-shortfall")
    home = tmp_path_factory.mktemp("kubectl-scenario")
    with SimServer(world) as server:
        assert server.endpoints is not None
        config = write_kubeconfig(home / "config", server.endpoints.kube_tls)
        yield server, kubectl_env(home, config)


def test_cluster_info_names_the_control_plane_and_kube_dns(scenario_env) -> None:
    server, env = scenario_env
    assert server.endpoints is not None
    done = kubectl(env, "cluster-info")
    assert done.returncode == 0, done.stderr
    url = server.endpoints.kube_tls
    plain = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)  # kubectl colours the names and URLs
    lines = [line for line in plain.splitlines() if line.strip()]
    assert lines[0] == f"Kubernetes control plane is running at {url}"
    assert lines[1] == f"KubeDNS is running at {url}/api/v1/namespaces/kube-system/services/kube-dns:dns/proxy"


def test_services_are_listed_with_kubectls_columns(scenario_env) -> None:
    _server, env = scenario_env
    done = kubectl(env, "get", "services", "-A")
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.strip().splitlines()]
    assert rows[0] == ["NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert [r[:6] for r in rows[1:]] == [
        ["default", "kubernetes", "ClusterIP", "34.118.224.1", "<none>", "443/TCP"],
        ["kube-system", "kube-dns", "ClusterIP", "34.118.224.10", "<none>", "53/UDP,53/TCP"],
    ]
    svc = kubectl(env, "get", "svc", "kube-dns", "-n", "kube-system", "-o", "jsonpath={.spec.selector.k8s-app}")
    assert svc.stdout == "kube-dns", svc.stderr


def test_logs_follow_streams_new_lines_and_ends_when_the_pod_goes(world: World, env) -> None:
    assert KUBECTL is not None
    world.kube.upsert("pods", make_pod("shop", "tail-0", node=NODE, labels={"app": "tail"}))
    world.kube.set_pod_log("shop", "tail-0", "app", [(world.clock.now(), "first")])
    follower = subprocess.Popen([KUBECTL, "logs", "-f", "-n", "shop", "tail-0"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline() == "first\n"
        world.kube.append_pod_log("shop", "tail-0", "app", [(world.clock.now() + timedelta(seconds=1), "second")])
        assert follower.stdout.readline() == "second\n"
        world.kube.delete("pods", "shop", "tail-0")
        assert follower.wait(10) == 0
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()


def test_logs_follow_is_cut_off_when_the_control_plane_goes(world: World, env) -> None:
    assert KUBECTL is not None
    world.kube.upsert("pods", make_pod("shop", "tail-1", node=NODE, labels={"app": "tail"}))
    world.kube.set_pod_log("shop", "tail-1", "app", [(world.clock.now(), "first")])
    follower = subprocess.Popen([KUBECTL, "logs", "-f", "-n", "shop", "tail-1"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline() == "first\n"
        world.faults.kube_outage = "refuse"
        follower.wait(10)  # the stream ends with the connection, as when a zonal control plane is replaced
        world.faults.kube_outage = ""
        assert kubectl(env, "logs", "-n", "shop", "tail-1").stdout == "first\n"
    finally:
        world.faults.kube_outage = ""
        if follower.poll() is None:
            follower.kill()
            follower.wait()

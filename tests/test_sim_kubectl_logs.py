"""kubectl logs of a scenario's pods: each container prints what its image would, from kube-system to the workloads."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from sim.kube.kubeconfig import write_kubeconfig
from sim.scenario import load, load_spec
from sim.server import SimServer
from sim.world import World
from tests.kubectl import kubectl_env, require

KUBECTL = require()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, dict[str, str]]]:
    world = World(project=load_spec("regional-healthy").project)
    load(world, "regional-healthy")
    home = tmp_path_factory.mktemp("kubectl-logs")
    with SimServer(world) as server:
        assert server.endpoints is not None
        config = write_kubeconfig(home / "config", server.endpoints.kube_tls)
        yield world, kubectl_env(home, config)


def logs(env: dict[str, str], *args: str) -> str:
    assert KUBECTL is not None
    done = subprocess.run([KUBECTL, "logs", *args], env=env, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def pod_named(world: World, prefix: str, namespace: str = "kube-system") -> dict[str, Any]:
    return next(p for p in world.kube.items("pods") if p["metadata"]["namespace"] == namespace and p["metadata"]["name"].startswith(prefix))


def test_kube_system_components_print_their_own_lines(served) -> None:
    world, env = served
    proxy = pod_named(world, "kube-proxy-")
    out = logs(env, "-n", "kube-system", proxy["metadata"]["name"])
    assert '"Using iptables Proxier"' in out and "Caches are synced for service config" in out
    assert f'"Successfully retrieved node IP(s)" IPs=["{proxy["status"]["hostIP"]}"]' in out
    assert out.startswith("I1"), "klog's header: level, date, time"
    fluentbit = logs(env, "-n", "kube-system", pod_named(world, "fluentbit-gke-")["metadata"]["name"], "-c", "fluentbit")
    assert "[ info] [fluent bit] version=1.8.12" in fluentbit
    dns = pod_named(world, "kube-dns-")["metadata"]["name"]
    assert "Starting SkyDNS server (0.0.0.0:10053)" in logs(env, "-n", "kube-system", dns, "-c", "kubedns")
    assert "dnsmasq[14]: started, version 2.90 cachesize 1000" in logs(env, "-n", "kube-system", dns, "-c", "dnsmasq")
    agent = pod_named(world, "konnectivity-agent-")["metadata"]["name"]
    assert '"Start serving"' in logs(env, "-n", "kube-system", agent)
    metrics = pod_named(world, "metrics-server-")["metadata"]["name"]
    assert "Serving securely on [::]:10250" in logs(env, "-n", "kube-system", metrics, "-c", "metrics-server")


def test_a_workload_starts_then_serves_probes_and_traffic(served) -> None:
    world, env = served
    pod = next(p for p in world.kube.items("pods") if p["metadata"]["namespace"] not in ("kube-system",) and p["spec"].get("nodeName"))
    out = logs(env, "-n", pod["metadata"]["namespace"], pod["metadata"]["name"]).splitlines()
    assert out[1] == "listening on :8080"
    access = [line for line in out if '"GET ' in line]
    assert len(access) >= 10, "a request a minute over the last quarter of an hour"
    assert any('"GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.30"' in line for line in access)
    assert any("Mozilla/5.0" in line for line in access)
    assert logs(env, "-n", pod["metadata"]["namespace"], pod["metadata"]["name"], "--tail=1") == out[-1] + "\n"

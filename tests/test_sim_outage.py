"""A control plane that is gone, as kubectl and the bot meet it.

During a zonal control-plane upgrade nothing answers on the cluster's
endpoint: connections are refused (or, per scenario, accepted and never
answered). A tidy 503 Status is a separate fault. Each is checked with the
real kubectl and with the bot's Kubernetes source, whose answer must say the
API did not answer and why.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from bot.errors import Unreachable
from bot.sources.kube.client import api_client_for_url
from bot.sources.kube.reader import KubeSource
from sim import scenario
from sim.kube.builders import make_node
from sim.kube.kubeconfig import write_kubeconfig
from sim.server import SimServer
from sim.world import World
from tests.kubectl import KUBECTL, kubectl_env


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[World, SimServer, dict[str, str]]]:
    world = World()
    world.kube.upsert("nodes", make_node("gke-shop-default-pool-1a2b-x1", pool="default-pool", zone="us-west1-a", project="demo-project"))
    with SimServer(world) as server:
        assert server.endpoints is not None
        config = write_kubeconfig(tmp_path / "config", server.endpoints.kube_tls)
        env = kubectl_env(tmp_path, config)
        yield world, server, env


def run_kubectl(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    if KUBECTL is None:
        pytest.skip("kubectl is not installed")
    return subprocess.run([KUBECTL, *args], env=env, capture_output=True, text=True, timeout=30, check=False)


def source(server: SimServer, timeout: float = 1.0) -> KubeSource:
    assert server.endpoints is not None
    return KubeSource("shop-prod", api_client_for_url(server.endpoints.kube), timeout_seconds=timeout)


def test_kubectl_is_refused_while_the_control_plane_is_gone_and_served_again_on_the_same_port(served) -> None:
    world, _server, env = served
    assert run_kubectl(env, "get", "nodes").returncode == 0
    world.faults.kube_outage = "refuse"
    done = run_kubectl(env, "get", "nodes")
    assert done.returncode == 1
    assert "was refused - did you specify the right host or port?" in done.stderr, done.stderr
    world.faults.kube_outage = ""
    done = run_kubectl(env, "get", "nodes")
    assert done.returncode == 0, done.stderr
    assert "gke-shop-default-pool-1a2b-x1" in done.stdout


def _refused(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


def test_a_step_holding_the_world_lock_has_closed_the_port_when_it_returns(served) -> None:
    """A timeline step sets the outage under the world's lock, which a request on the server's loop may be waiting
    for; the step must still return only once the port is closed, or the bot's next request meets an API that
    accepts and drops it instead of refusing it."""
    world, server, _env = served
    assert server.endpoints is not None
    gke = server.endpoints.gke + "/v1/projects/demo-project/locations/-/clusters"
    with world.lock:
        waiting = threading.Thread(target=lambda: _fetch(gke), daemon=True)
        waiting.start()
        deadline = time.monotonic() + 10
        while True:  # until the loop is stuck on the lock this thread holds
            probe = asyncio.run_coroutine_threadsafe(asyncio.sleep(0), server.loop)
            try:
                probe.result(0.2)
            except concurrent.futures.TimeoutError:
                break
            assert time.monotonic() < deadline, "the GKE request never reached the loop"
            time.sleep(0.02)
        world.faults.kube_outage = "refuse"
        assert _refused(server.endpoints.kube) and _refused(server.endpoints.kube_tls)
    waiting.join(10)
    assert not waiting.is_alive()
    with world.lock:
        world.faults.kube_outage = ""
        assert not _refused(server.endpoints.kube)
    assert source(server).list_nodes()


def _fetch(url: str) -> None:
    try:
        urllib.request.urlopen(url, timeout=10).read()
    except urllib.error.HTTPError:
        pass


def test_kubectl_times_out_when_the_endpoint_accepts_and_never_answers(served) -> None:
    world, _server, env = served
    world.faults.kube_outage = "timeout"
    started = time.monotonic()
    done = run_kubectl(env, "--request-timeout=1s", "get", "nodes")
    assert done.returncode == 1
    assert time.monotonic() - started < 15
    assert "Unable to connect to the server" in done.stderr or "Timeout" in done.stderr, done.stderr
    world.faults.kube_outage = ""
    assert run_kubectl(env, "get", "nodes").returncode == 0


def test_the_503_fault_is_a_status_kubectl_prints(served) -> None:
    world, _server, env = served
    world.faults.kube_down = True
    done = run_kubectl(env, "get", "nodes")
    assert done.returncode == 1
    assert "the server is currently unable to handle the request" in done.stderr, done.stderr


def test_the_bot_says_the_api_did_not_answer_when_refused(served) -> None:
    world, server, _env = served
    kube = source(server)
    assert kube.list_nodes()  # a pooled connection now exists: it is dropped, then the reconnect is refused
    world.faults.kube_outage = "refuse"
    with pytest.raises(Unreachable) as caught:
        kube.list_nodes()
    assert caught.value.reason == "connection refused"
    assert "The Kubernetes API of cluster shop-prod did not answer: connection refused." in str(caught.value)
    world.faults.kube_outage = ""
    assert [n.name for n in kube.list_nodes()] == ["gke-shop-default-pool-1a2b-x1"]


def test_the_bot_says_the_api_timed_out_when_nothing_answers(served) -> None:
    world, server, _env = served
    world.faults.kube_outage = "timeout"
    started = time.monotonic()
    with pytest.raises(Unreachable) as caught:
        source(server, timeout=0.5).list_nodes()
    assert time.monotonic() - started < 5
    assert caught.value.reason == "timed out"
    assert "did not answer: timed out" in str(caught.value)


def _zonal(tmp_path: Path, outage: str | None) -> Path:
    """zonal-shortfall, its master upgrade taking the API down the way ``outage`` says."""
    text = (Path(scenario.__file__).parent / "scenarios" / "zonal-shortfall.yaml").read_text()
    raw = yaml.safe_load(text)
    if outage is not None:
        raw["cluster"]["master_outage"] = outage
    path = tmp_path / f"zonal-{outage}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(("outage", "reason"), [(None, "connection refused"), ("timeout", "timed out"), ("503", None)])
def test_a_zonal_master_upgrade_takes_the_api_away_as_the_scenario_says(tmp_path: Path, outage, reason) -> None:
    world = World()
    scenario.load(world, str(_zonal(tmp_path, outage)))
    with SimServer(world) as server:
        kube = source(server, timeout=0.5)
        assert kube.list_nodes()
        world.clock.advance(31 * 60)  # the upgrade is running
        assert world.faults.kube_outage == ("" if outage == "503" else (outage or "refuse"))
        assert world.faults.kube_down == (outage == "503")
        with pytest.raises(Unreachable) as caught:
            kube.list_nodes()
        if reason is not None:
            assert caught.value.reason == reason
        else:
            assert "answered 503: the server is currently unable to handle the request" in str(caught.value)
        world.clock.advance(20 * 60)  # finished
        assert not world.faults.kube_outage and not world.faults.kube_down
        assert kube.list_nodes()


def test_an_unknown_outage_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="kube_outage"):
        World().faults.kube_outage = "slow"

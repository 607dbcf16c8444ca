"""A fresh `k8s-chatops` process loads only what its command needs.

Operators type `k8s-chatops ask ... help` in a terminal and cron runs `check
--once`; a restarted pod answers its first `nodes` during an incident. What
a process imports is what it waits for, so these tests look at the modules
a real process holds after the command, never at how long it took.

Given the simulated zonal-shortfall world (a GKE cluster, so every reader is
configured): `help` loads no Slack, Kubernetes or Google client library and
nothing of the alert service's scheduler or store; `nodes` reads Kubernetes
through the client's ApiClient without its generated API classes or models;
the running bot says it is ready only once what a first `nodes` needs is
loaded and its clients are built, before any command has arrived, and a
cluster whose client cannot be built in time does not keep it unready.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import runtime
from bot.clusters import ClusterHandle, ClusterRegistry
from bot.settings import ClusterConfig, load_settings
from bot.sources.kube.client import api_client_for_url
from bot.sources.kube.reader import KubeSource
from sim import scenario
from sim.bot_config import write_files
from sim.clock import SimClock
from sim.server import SimServer
from sim.world import World
from tests.bot_process import bot_env

TIMEOUT = 120  # a bound on a hung process, not a performance expectation
# Runs the command as the console script does, then lists every module the process holds.
PROBE = """
import json, sys
from bot.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""
# Starts the bot as `k8s-chatops run` does (its alert checks left out), waits until it says it is
# ready, and reports what it holds then: no command has been sent to it.
READY_PROBE = """
import json, sys, time
from bot.runtime import build_bot
from bot.settings import load_settings
bot = build_bot(load_settings(sys.argv[1]))
bot.start(schedule=False)
deadline = time.monotonic() + 60
while not bot.health.readiness()[0] and time.monotonic() < deadline:
    time.sleep(0.02)
ready, checks = bot.health.readiness()
handle = next(iter(bot.clusters))
report = {"ready": ready, "checks": checks, "modules": sorted(sys.modules), "kube_client": handle.kube._client.built}
print(json.dumps(report), file=sys.stderr)
bot.stop()
"""
NOT_FOR_HELP = (
    "slack_bolt", "kubernetes", "google.auth", "google.api_core", "google.cloud", "grpc", "requests",
    "apscheduler", "sqlalchemy", "psycopg", "alembic",
)


def probe(script: str, *args: str) -> dict[str, Any]:
    """What ``script`` reports on its last line of stderr, run in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, env=bot_env(), timeout=TIMEOUT, check=False
    )
    assert done.stderr.strip(), done.stdout
    report: dict[str, Any] = json.loads(done.stderr.strip().splitlines()[-1])
    return report


def loaded_by(*args: str) -> set[str]:
    """The modules a fresh process holds after running ``k8s-chatops ARGS``."""
    report = probe(PROBE, *args)
    assert report["code"] == 0, report
    return set(report["modules"])


def under(modules: set[str], package: str) -> list[str]:
    return sorted(m for m in modules if m == package or m.startswith(package + "."))


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    world = World(SimClock(datetime.now(UTC).replace(microsecond=0)))
    loaded = scenario.load(world, "zonal-shortfall")
    with SimServer(world) as server:
        assert server.endpoints is not None
        _, path = write_files(
            tmp_path_factory.mktemp("sim"), server.endpoints, world, cluster=loaded.cluster_name, location=loaded.location
        )
        yield path


def test_help_loads_no_client_library_and_nothing_of_the_alert_service(config: Path) -> None:
    modules = loaded_by("ask", "--config", str(config), "help")
    assert "handlers.help" in modules  # the command did run in this process
    for package in NOT_FOR_HELP:
        assert not under(modules, package), f"`ask help` imported {package}: {under(modules, package)[:5]}"


def test_nodes_reads_kubernetes_without_the_generated_api_classes(config: Path) -> None:
    modules = loaded_by("ask", "--config", str(config), "nodes")
    assert "kubernetes.client.api_client" in modules  # it did read the cluster through the client
    generated = under(modules, "kubernetes.client.api") + [
        m for m in under(modules, "kubernetes.client.models") if m != "kubernetes.client.models"
    ]
    assert not generated, f"`ask nodes` imported generated API classes or models: {generated[:5]}"


def test_the_running_bot_is_ready_only_with_what_a_first_nodes_needs(config: Path, tmp_path: Path) -> None:
    settings = yaml.safe_load(config.read_text())
    settings["health"] = {"enabled": True, "host": "127.0.0.1", "port": 0}
    settings["alerts"]["enabled"] = False
    running = tmp_path / "running.yaml"
    running.write_text(yaml.safe_dump(settings))
    report = probe(READY_PROBE, str(running))
    assert report["ready"], report["checks"]
    assert report["checks"]["clients"] == "ok"
    modules = set(report["modules"])
    assert report["kube_client"], "the Kubernetes client is built (its kubeconfig read) before the bot says it is ready"
    for needed in ("kubernetes.client.api_client", "google.cloud.container_v1", "google.cloud.compute_v1"):
        assert needed in modules, f"{needed} is loaded only when the first answer asks for it"
    assert not under(modules, "google.cloud.logging"), "Cloud Logging's client waits for a `logs` command"


def test_a_cluster_whose_client_hangs_holds_readiness_back_only_so_long(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = yaml.safe_load(config.read_text())
    settings["health"] = {"enabled": True, "host": "127.0.0.1", "port": 0}
    settings["alerts"]["enabled"] = False
    running = tmp_path / "running.yaml"
    running.write_text(yaml.safe_dump(settings))
    released = threading.Event()
    # A kubeconfig exec plugin that never answers, say: building this cluster's client waits until released.
    stuck = KubeSource("stuck", lambda: api_client_for_url("http://127.0.0.1:9") if released.wait(60) else None)
    monkeypatch.setattr(runtime, "WARM_UP_SECONDS", 2.0)
    bot = runtime.build_bot(load_settings(running))
    bot.clusters = ClusterRegistry([ClusterHandle(config=ClusterConfig(name="stuck"), kube=stuck)])
    bot.start(schedule=False)
    try:
        assert bot.health is not None
        said: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready, checks = bot.health.readiness()
            said.append(checks["clients"])
            if ready:
                break
            time.sleep(0.02)
        assert ready, checks
        assert said[0] == "loading the cluster clients"
        assert not released.is_set() and any(t.name == "warm-up" for t in threading.enumerate()), "still warming"
    finally:
        released.set()
        bot.stop()

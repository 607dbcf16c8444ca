"""The registry built from settings: the right readers per cluster, and no start-up failure for a broken one."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.clusters import build_clusters as build_registry
from bot.errors import NotConfigured
from bot.settings import ClusterConfig, GkeConfig, Settings
from bot.sources.google.cloud_logging import CloudLoggingSource
from bot.sources.google.compute import ComputeSource
from bot.sources.google.gke import GkeSource
from bot.sources.kube.reader import KubeSource
from sim.kube.builders import make_node
from sim.kube.kubeconfig import write_kubeconfig
from sim.server import Endpoints, SimServer
from sim.world import World

PROJECT = "shop-prod"


@pytest.fixture
def world() -> World:
    world = World(project=PROJECT)
    world.kube.upsert("nodes", make_node("gke-shop-web-aaaa-v000", pool="web", zone="us-west1-b", project=PROJECT))
    world.google.add_cluster({"name": "shop", "location": "us-west1-b"})
    return world


@pytest.fixture
def endpoints(world: World) -> Iterator[Endpoints]:
    server = SimServer(world)
    yield server.start()
    server.stop()


def settings_for(endpoints: Endpoints, tmp_path: Path) -> Settings:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", endpoints.kube, context="shop")
    gke = GkeConfig(project=PROJECT, location="us-west1-b", cluster="shop", container_endpoint=endpoints.gke,
                    compute_endpoint=endpoints.compute, logging_endpoint=endpoints.logging, anonymous=True)
    return Settings(
        clusters=[
            ClusterConfig(name="shop", kubeconfig=kubeconfig, context="shop", gke=gke),
            ClusterConfig(name="shop-no-logs", kubeconfig=kubeconfig, context="shop", gke=gke, cloud_logging=False),
            ClusterConfig(name="plain", kubeconfig=kubeconfig, context="shop"),
            ClusterConfig(name="broken", kubeconfig=tmp_path / "missing", context="nowhere"),
        ]
    )


def test_each_cluster_gets_the_readers_its_configuration_allows(endpoints: Endpoints, tmp_path: Path) -> None:
    registry = build_registry(settings_for(endpoints, tmp_path))
    assert registry.names() == ["shop", "shop-no-logs", "plain", "broken"]
    shop = registry.get("shop")
    assert isinstance(shop.kube, KubeSource) and isinstance(shop.gke, GkeSource)
    assert isinstance(shop.compute, ComputeSource) and isinstance(shop.logs, CloudLoggingSource)
    assert registry.get("shop-no-logs").logs is None and registry.get("shop-no-logs").gke is not None
    plain = registry.get("plain")
    assert (plain.gke, plain.compute, plain.logs) == (None, None, None)


def test_a_broken_cluster_fails_alone_and_only_when_used(endpoints: Endpoints, tmp_path: Path) -> None:
    registry = build_registry(settings_for(endpoints, tmp_path))
    with pytest.raises(NotConfigured, match="broken"):
        registry.get("broken").kube.list_nodes()
    shop = registry.get("shop")
    assert [node.zone for node in shop.kube.list_nodes()] == ["us-west1-b"]
    assert shop.gke is not None and shop.gke.get_cluster().location_type == "zonal"



HEAVY_LIBRARIES = ("google.cloud.compute_v1", "google.cloud.logging")

_START_AND_ASK = """
import json, sys
import bot.slack.app
from bot.clock import SystemClock
from bot.errors import NotFound
from bot.clusters import build_clusters
from bot.runtime import build_door
from bot.settings import ClusterConfig, GkeConfig, Settings
given = json.loads(sys.argv[1])
gke = GkeConfig(project=given["project"], location="us-west1-b", cluster="shop", container_endpoint=given["gke"],
                compute_endpoint=given["compute"], logging_endpoint=given["logging"], anonymous=True)
settings = Settings(clusters=[ClusterConfig(name="shop", kubeconfig=given["kubeconfig"], context="shop", gke=gke)])
clusters = build_clusters(settings, clock=SystemClock())
build_door(settings, clusters, SystemClock())
loaded = lambda: [m for m in given["heavy"] if m in sys.modules]
at_start = loaded()
shop = clusters.get("shop")
try:
    shop.compute.vm_details("us-west1-b", "gke-shop-web-aaaa-v000")
except NotFound as exc:  # the simulated world has no such VM; the point is the request
    pass
print(json.dumps({"at_start": at_start, "after_vms": loaded()}))
"""


def test_the_heavy_client_libraries_load_on_first_use_not_at_start(endpoints: Endpoints, tmp_path: Path) -> None:
    """Compute's generated types (about 90 MB) and Cloud Logging wait until a command needs them."""
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", endpoints.kube, context="shop")
    given = {"project": PROJECT, "gke": endpoints.gke, "compute": endpoints.compute, "logging": endpoints.logging,
             "kubeconfig": str(kubeconfig), "heavy": list(HEAVY_LIBRARIES)}
    run = subprocess.run([sys.executable, "-c", _START_AND_ASK, json.dumps(given)],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["at_start"] == []
    assert seen["after_vms"] == ["google.cloud.compute_v1"]

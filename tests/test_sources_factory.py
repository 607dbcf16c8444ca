"""The registry built from settings: the right readers per cluster, and no start-up failure for a broken one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.errors import NotConfigured
from bot.settings import ClusterConfig, GkeConfig, Settings
from bot.sources.cloud_logging import CloudLoggingSource
from bot.sources.compute import ComputeSource
from bot.sources.factory import build_registry
from bot.sources.gke import GkeSource
from bot.sources.kube import KubeSource
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

"""Scenarios through the whole alerting path: real clients, simulated APIs, simulated Slack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.alerts.notifier import SlackNotifier
from bot.alerts.scheduler import AlertService
from bot.alerts.store import IncidentStore
from bot.clusters import ClusterHandle, ClusterRegistry
from bot.settings import AlertConfig, ClusterConfig, GkeConfig, SlackConfig
from bot.slack.client import build_web_client
from bot.sources.google.compute import ComputeSource, groups_client_for, instances_client_for
from bot.sources.google.gke import GkeSource, cluster_manager_for
from bot.sources.kube.client import api_client_for_url
from bot.sources.kube.reader import KubeSource
from sim import scenario
from sim.server import SimServer
from sim.world import World

ALERTS = AlertConfig(channel="#alerts", interval_seconds=60)


@pytest.fixture
def run(tmp_path: Path) -> Iterator:
    servers: list[SimServer] = []

    def start(name: str) -> tuple[World, AlertService]:
        world = World()
        scenario.load(world, name)
        server = SimServer(world)
        endpoints = server.start()
        servers.append(server)
        first = world.google.clusters()[0]
        gke = GkeConfig(
            project=world.project, location=first["location"], cluster=first["name"],
            container_endpoint=endpoints.gke, compute_endpoint=endpoints.compute, anonymous=True,
        )
        handle = ClusterHandle(
            config=ClusterConfig(name=first["name"], gke=gke),
            kube=KubeSource(first["name"], api_client_for_url(endpoints.kube), timeout_seconds=5),
            gke=GkeSource(gke, cluster_manager_for(gke)),
            compute=ComputeSource(gke, groups_client_for(gke), instances_client_for(gke)),
        )
        store = IncidentStore(f"sqlite:///{tmp_path / 'incidents.sqlite3'}")
        notifier = SlackNotifier(build_web_client(SlackConfig(bot_token=world.slack.bot_token, api_url=endpoints.slack)), store, world.clock)
        return world, AlertService(ALERTS, ClusterRegistry([handle]), store, notifier, world.clock)

    yield start
    for server in servers:
        server.stop()


def play(world: World, service: AlertService, minutes: int) -> None:
    for _ in range(minutes):
        service.run_all_once()
        world.clock.advance(60)


def test_zonal_shortfall_raises_one_shortfall_and_one_master_upgrade_incident(run):
    world, service = run("zonal-shortfall")
    play(world, service, 80)
    parents = world.slack.messages("alerts")
    texts = [p.text for p in parents]
    unregistered = [p for p in parents if "never registered" in p.text]
    assert len(unregistered) == 1, texts
    assert "us-west1-b" in unregistered[0].text and "us-west1-c" in unregistered[0].text
    masters = [p for p in parents if "Control-plane upgrade" in p.text]
    assert len(masters) == 1, texts
    history = str([v.blocks for v in masters[0].edits]) + str(masters[0].blocks)
    assert "zonal" in history and "unavailable" in history
    assert "RESOLVED" in masters[0].text
    assert "Resolved after" in world.slack.thread("alerts", masters[0].ts)[-1].text


def test_regional_healthy_day_posts_nothing_but_the_digest(run):
    world, service = run("regional-healthy")
    for _ in range(24):
        play(world, service, 1)
        world.clock.advance(3600 - 60)
    assert world.slack.messages("alerts") == []
    service.digest()
    [digest] = world.slack.messages("alerts")
    assert "Daily digest" in digest.text


def test_node_notready_opens_then_resolves_once_without_flapping(run):
    world, service = run("node-notready")
    play(world, service, 40)
    parents = world.slack.messages("alerts")
    assert len(parents) == 1, [p.text for p in parents]
    assert parents[0].edits, "the parent was edited to its resolved state"
    assert "NotReady" in parents[0].edits[0].text, "the first version named the problem"
    assert "RESOLVED" in parents[0].text
    assert service.store.open_incidents() == []
    assert "Resolved after" in world.slack.thread("alerts", parents[0].ts)[-1].text

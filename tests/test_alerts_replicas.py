"""Two replicas on one incident store: the Lease holder checks and posts, a click on the other is not lost.

Both replicas are built by the runtime from their configuration, with leader
election on and the same incident store, against the simulated Kubernetes API
(the Lease), GKE, Compute and Slack. Each test runs twice: on one SQLite file
and on PostgreSQL (the `ha` overlay's database).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.alerts.scheduler import OUTBOX_FLUSH_SECONDS, AlertService
from bot.clusters import build_clusters
from bot.runtime import build_alerts
from bot.settings import Settings
from bot.slack.client import build_web_client
from sim.bot_config import bot_config, write_files
from sim.cli import build_world
from sim.server import SimServer
from sim.world import World


@pytest.fixture
def replicas(tmp_path: Path, database_url: str) -> Iterator[tuple[World, str, AlertService, AlertService]]:
    world, cluster, location = build_world(scenario="zonal-shortfall", nodes=None, pods=None)
    with SimServer(world) as server:
        assert server.endpoints is not None
        kubeconfig, _ = write_files(tmp_path, server.endpoints, world, cluster=cluster, location=location)
        services = []
        for identity in ("pod-a", "pod-b"):
            config = bot_config(
                server.endpoints, world, kubeconfig=kubeconfig, cluster=cluster,
                location=location, state_dir=tmp_path / f"{identity}-state",
            )
            config["state"] = {"database_url": database_url}
            config["leader_election"] = {"enabled": True, "cluster": cluster, "identity": identity, "namespace": "k8s-chatops"}
            settings = Settings(**config)
            services.append(build_alerts(settings, build_clusters(settings, clock=world.clock), world.clock, build_web_client(settings.slack)))
        try:
            yield world, cluster, services[0], services[1]
        finally:
            for service in services:
                service.stop()


def slack_writes(world: World) -> list[str]:
    return [c.method for c in world.slack.calls if c.method in ("chat.postMessage", "chat.update")]


def test_only_the_lease_holder_checks_and_posts(replicas) -> None:
    world, cluster, leader, follower = replicas
    leader.run_cycle(cluster)
    assert leader.leader.leading
    world.clock.advance(5)  # within the lease
    follower.run_cycle(cluster)
    assert not follower.leader.leading
    parents = world.slack.messages("alerts")
    assert parents and len(parents) == len(leader.store.open_incidents())


def test_a_click_on_the_follower_is_recorded_there_and_posted_by_the_leader(replicas) -> None:
    world, cluster, leader, follower = replicas
    leader.run_cycle(cluster)
    assert leader.settle(), "the leader's evidence replies are out before counting"
    follower.leader.try_acquire_or_renew()
    incident = leader.store.open_incidents()[0]
    before = slack_writes(world)

    follower.acknowledge(incident.id, "U0CAROL")
    assert slack_writes(world) == before, "the follower sends nothing itself"
    assert leader.store.get(incident.id).acknowledged_by == "U0CAROL", "but the shared store has it at once"

    leader.flush_outbox()
    parent = world.slack.message("alerts", incident.parent_ts)
    assert "acknowledged by <@U0CAROL>" in str(parent.blocks)
    assert slack_writes(world)[len(before):].count("chat.update") == 1
    leader.flush_outbox()
    assert len(slack_writes(world)) == len(before) + 2, "one thread note and one edit, each sent once"


def test_the_leader_renews_its_lease_between_check_cycles(replicas) -> None:
    world, cluster, leader, follower = replicas
    leader.start()
    try:
        jobs = {job.id: job for job in leader.jobs()}
        assert jobs["leadership"].trigger.interval.total_seconds() < 15, "renewed well inside the 15 s lease"
        assert jobs["outbox"].trigger.interval.total_seconds() == OUTBOX_FLUSH_SECONDS
    finally:
        leader.stop()
    leader.leader.try_acquire_or_renew()
    for _ in range(12):  # a minute of renewals at the job's interval: the lease never lapses
        world.clock.advance(jobs["leadership"].trigger.interval.total_seconds())
        assert leader.leader.try_acquire_or_renew()
        assert not follower.leader.try_acquire_or_renew()

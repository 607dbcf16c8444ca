"""One bot for a fleet: three clusters in one simulated world, one of them down, through the whole bot.

The bot is built from the configuration `k8s-chatops sim --clusters` writes
(one kubeconfig context and one GKE block per cluster), connected over Socket
Mode; the simulated clock moves a minute per check of every cluster, as the
scheduler's jobs would run them. The down cluster refuses connections, as a
control plane does while it is replaced; the others must answer and alert as
if it were not there.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.runtime import Bot, build_bot
from bot.settings import Settings
from sim.bot_config import write_fleet_files
from sim.clock import SimClock
from sim.fleet import Fleet
from sim.generator import generate_fleet
from sim.server import SimServer
from sim.slack.sender import SlackSender
from tests.harness import wait_until

ANSWER_TIMEOUT = 20.0
QUIET, TROUBLED, DOWN = "fleet-01", "fleet-02", "fleet-03"


class FleetDeployment:
    def __init__(self, directory: Path, *, hanging: str | None = None) -> None:
        """``hanging``: a cluster whose API accepts connections and never answers, from before the bot starts."""
        self.fleet = Fleet(clock=SimClock(datetime(2026, 11, 30, 8, 0, tzinfo=UTC)))
        generate_fleet(self.fleet, clusters=3, nodes=6, pods=60, troubles={TROUBLED: "unregistered-zone"})
        self.fleet.slack.add_user("bob")
        self.fleet.slack.add_channel("team-b")
        if hanging is not None:
            self.fleet[hanging].faults.kube_outage = "timeout"
        self.server = SimServer(self.fleet)
        endpoints = self.server.start()
        _, config_path = write_fleet_files(directory, endpoints, self.fleet)
        config = yaml.safe_load(config_path.read_text())
        for cluster in config["clusters"]:
            cluster["request_timeout_seconds"] = 60 if cluster["name"] == hanging else 2
            if cluster["name"] == TROUBLED:  # its team reads its own channel
                cluster["alert_channel"] = "#team-b"
        config["alerts"] = {"channel": "#alerts", "interval_seconds": 60, "jitter_seconds": 0, "evidence": False}
        config["health"] = {"enabled": True, "host": "127.0.0.1", "port": 0}
        self.settings = Settings(**config)
        self.sender = SlackSender(self.fleet.first, self.server)
        self.bot: Bot = build_bot(self.settings, clock=self.fleet.clock)
        self.bot.start(schedule=False)
        wait_until(self.bot.transport.is_ready, 10, "the bot connecting over Socket Mode")

    def minutes(self, count: int) -> None:
        assert self.bot.alerts is not None
        for _ in range(count):
            self.fleet.clock.advance(60)
            self.bot.alerts.run_all_once()

    def ask(self, text: str) -> str:
        delivery = self.sender.slash_command("/k8s", text, user="bob", channel="ops")
        assert delivery.acked
        slack = self.fleet.slack
        answers = slack.wait_for(
            lambda: [r for r in slack.responses(delivery.response_url_id) if r.via != "ack"], ANSWER_TIMEOUT
        )
        return answers[-1].all_text()

    def healthz(self) -> dict[str, Any]:
        assert self.bot.health is not None
        with urllib.request.urlopen(f"http://127.0.0.1:{self.bot.health.port}/healthz", timeout=5) as answer:
            return dict(json.loads(answer.read()))

    def stop(self) -> None:
        self.bot.stop()
        self.server.stop()


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[FleetDeployment]:
    made = FleetDeployment(tmp_path)
    try:
        yield made
    finally:
        made.stop()


def test_a_cluster_down_leaves_the_others_answering_and_alerting(deployment: FleetDeployment) -> None:
    fleet = deployment.fleet
    fleet[DOWN].faults.kube_outage = "refuse"

    listing = deployment.ask("clusters")
    assert "2 of 3 clusters reachable" in listing
    down_line = next(line for line in listing.splitlines() if DOWN in line)
    assert "unreachable" in down_line and "refused" in down_line.lower()
    for name in (QUIET, TROUBLED):
        line = next(line for line in listing.splitlines() if name in line and "reachable" in line)
        assert "unreachable" not in line and "v1." in line

    lines = [line for line in listing.splitlines() if line.startswith("•")]
    assert DOWN in lines[0], "the cluster that needs someone comes first"

    answer = deployment.ask(f"nodes --cluster {QUIET}")
    assert f"Nodes in {QUIET}" in answer and "6 nodes: 6 Ready, 0 NotReady" in answer
    assert "6 node-pool VMs, 0 never registered" in answer
    refused = deployment.ask(f"nodes --cluster {DOWN}")
    assert f"The Kubernetes API of cluster {DOWN} did not answer: connection refused." in refused

    deployment.minutes(15)  # past the grace period of VMs that never registered, and of an API that is gone
    team_b = fleet.slack.messages("team-b")
    assert team_b, "the troubled cluster's incident goes to its own channel"
    assert all(TROUBLED in m.text for m in team_b)
    first_line = team_b[0].all_text().splitlines()[0]
    assert TROUBLED in first_line and "never registered" in first_line
    alerts = fleet.slack.messages("alerts")
    assert not any(QUIET in m.text for m in alerts), "the quiet cluster stays quiet"
    assert not any(TROUBLED in m.text for m in alerts), "nothing of the troubled cluster in the fleet channel"
    [down_alert] = [m for m in alerts if DOWN in m.text]
    assert "CRITICAL" in down_alert.text and "Kubernetes API unreachable" in down_alert.text
    assert DOWN in down_alert.all_text().splitlines()[0]

    assert deployment.bot.alerts is not None
    deployment.bot.alerts.digest()
    digest = fleet.slack.messages("alerts")[-1].all_text()
    assert "3 clusters · 3 open incidents" in digest
    assert f"*{TROUBLED}* · 2 open incidents · 0 findings" in digest
    assert f"*{DOWN}* · 1 open incident · 1 finding" in digest and "Zonal cluster" in digest
    assert f"Nothing open in 1 cluster: {QUIET}" in digest


def test_a_cluster_that_hangs_does_not_hold_back_the_others_health(tmp_path: Path) -> None:
    """The first cluster accepts and never answers, within a 60 s timeout: the others are probed meanwhile."""
    deployment = FleetDeployment(tmp_path, hanging=QUIET)
    try:
        def probed() -> dict[str, str] | None:
            clusters = deployment.healthz().get("clusters", {})
            return clusters if {TROUBLED, DOWN} <= set(clusters) else None

        clusters = wait_until(probed, 15, "/healthz showing the clusters that answer")
        assert clusters[TROUBLED] == "answering" and clusters[DOWN] == "answering"
        assert clusters.get(QUIET, "not answering") == "not answering"
        listing = deployment.ask("clusters")
        assert "2 of 3 clusters reachable" in listing
        assert f"*{QUIET}*" in listing.splitlines()[2] and "no answer within 3 s" in listing
    finally:
        deployment.stop()


def test_a_kind_muted_on_one_cluster_stays_loud_on_the_others(deployment: FleetDeployment) -> None:
    """Both troubled clusters have VMs that never register; the team of one mutes its own, from Slack."""
    fleet = deployment.fleet
    fleet[DOWN].faults.kube_outage = "refuse"
    answer = deployment.ask(f"alerts mute unregistered-vms 2h --cluster {TROUBLED}")
    assert f"Muted `unregistered-vms` on `{TROUBLED}` until" in answer
    unknown = deployment.ask("alerts mute unregistered-vms 2h --cluster nowhere")
    assert "No cluster named `nowhere` is configured" in unknown and "fleet-01, fleet-02, fleet-03" in unknown

    deployment.minutes(15)
    assert fleet.slack.messages("team-b") == [], "muted on its cluster: nothing posted"
    assert any(DOWN in m.text for m in fleet.slack.messages("alerts")), "the other clusters' incidents still post"
    listing = deployment.ask(f"alerts --cluster {TROUBLED}")
    assert "never registered" in listing and DOWN not in listing, "its incidents are tracked, and listed by cluster"

    not_muted = deployment.ask("alerts unmute unregistered-vms")
    assert "`unregistered-vms` was not muted on every cluster." in not_muted, "the fleet-wide mute is another one"
    assert "is no longer muted" in deployment.ask(f"alerts unmute unregistered-vms --cluster {TROUBLED}")
    deployment.minutes(1)
    team_b = fleet.slack.messages("team-b")
    assert team_b and TROUBLED in team_b[0].all_text().splitlines()[0], "unmuted: its incident is posted now"

"""Slack's bad minutes, as the running process lives them: it waits, says so on /readyz, and carries on.

Each test starts the real `k8s-chatops run` against the simulated world with
a config file, as an operator would, and reads its health server as kubelet
does. At start and when the connection drops, 429s (after their
Retry-After), 5xx and timeouts from auth.test and apps.connections.open are
tried again while /readyz says what the bot waits for; only Slack refusing a
token for good ends the process, with one line. A cluster whose API does not
answer never makes the bot unready.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.bot_config import bot_config
from sim.cli import build_world
from sim.kube.kubeconfig import write_kubeconfig
from sim.server import SimServer
from sim.slack.sender import SlackSender
from sim.world import World
from tests.bot_process import BotProcess, free_port, probe
from tests.harness import wait_until

START_TIMEOUT = 60.0  # generous: the process imports its libraries first
RETRY_AFTER = 2


@dataclass
class Stage:
    world: World
    server: SimServer
    directory: Path
    health_port: int

    def config(self, **slack: Any) -> Path:
        assert self.server.endpoints is not None
        cluster = self.world.google.clusters()[0]
        kubeconfig = write_kubeconfig(
            self.directory / "kubeconfig", self.server.endpoints.kube, context="sim", cluster=cluster["name"]
        )
        config = bot_config(
            self.server.endpoints, self.world, kubeconfig=kubeconfig, cluster=cluster["name"],
            location=cluster["location"], state_dir=self.directory / "state",
        )
        config["slack"].update({"timeout_seconds": 1, **slack})  # a stalled call times out in a second
        config["health"] = {"enabled": True, "host": "127.0.0.1", "port": self.health_port}
        config["log_level"] = "WARNING"
        path = self.directory / "config.yaml"
        path.write_text(yaml.safe_dump(config))
        return path

    def readiness(self) -> tuple[int | None, str]:
        return probe(self.health_port, "/readyz")


@pytest.fixture
def stage(tmp_path: Path) -> Iterator[Stage]:
    world, _, _ = build_world(scenario="regional-healthy", nodes=None, pods=None)
    with SimServer(world) as server:
        yield Stage(world, server, tmp_path, free_port())


def watch_readiness(stage: Stage, until_ready: float) -> list[tuple[int | None, str]]:
    """/readyz every 50 ms until it says 200; what it said on the way."""
    seen: list[tuple[int | None, str]] = []
    deadline = time.monotonic() + until_ready
    while time.monotonic() < deadline:
        status, body = stage.readiness()
        if status is not None and (not seen or seen[-1] != (status, body)):
            seen.append((status, body))
        if status == 200:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"the bot did not become ready; /readyz said {seen}")


def waiting_for(seen: list[tuple[int | None, str]]) -> str:
    return " | ".join(json.loads(body)["checks"]["slack"] for status, body in seen if status == 503)


def answers_a_slash_command(stage: Stage) -> bool:
    delivery = SlackSender(stage.world, stage.server).slash_command("/k8s", "help", user="alice", channel="ops")
    return delivery.acked


def test_a_bad_minute_at_start_is_waited_out_while_the_bot_says_it_is_not_ready(stage: Stage) -> None:
    faults = stage.world.faults
    with stage.world.lock:
        faults.slack_retry_after = RETRY_AFTER
        faults.slack_stalls["auth.test"] = 1
        faults.slack_stall_seconds = 3
        faults.slack_method_errors["auth.test"] = [503, 429]
        faults.slack_method_errors["apps.connections.open"] = [500, 429]
    bot = BotProcess(stage.config(), stage.directory / "bot.log")
    try:
        seen = watch_readiness(stage, START_TIMEOUT)
        said = waiting_for(seen)
        assert "auth.test failed" in said and "apps.connections.open failed" in said, said
        assert answers_a_slash_command(stage)
    finally:
        bot.stop()
    for method, failures in (("auth.test", [429, 503, 504]), ("apps.connections.open", [429, 500])):
        calls = [c for c in stage.world.slack.calls if c.method == method]
        statuses = [c.status for c in calls]
        assert sorted(statuses[: len(failures)]) == failures and statuses[len(failures)] == 200, (method, statuses)
        limited, accepted = calls[statuses.index(429)], calls[statuses.index(200)]
        assert accepted.received - limited.received >= RETRY_AFTER, f"{method}: the 429's Retry-After was waited out"
    assert "Traceback" not in bot.output()


@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("bot_token", "Slack refused the token (auth.test: invalid_auth): check SLACK_BOT_TOKEN (slack.bot_token)"),
        ("app_token", "Slack refused the token (apps.connections.open: invalid_auth): check SLACK_APP_TOKEN"),
    ],
)
def test_a_token_slack_refuses_ends_the_process_with_one_line(stage: Stage, token: str, says: str) -> None:
    with stage.world.lock:
        stage.world.faults.slack_method_errors["auth.test"] = [503]  # a bad minute first: still not fatal
    prefix = "xoxb-" if token == "bot_token" else "xapp-"
    bot = BotProcess(stage.config(**{token: prefix + "revoked"}), stage.directory / "bot.log")
    try:
        assert bot.wait(START_TIMEOUT) == 2
    finally:
        bot.stop()
    output = bot.output()
    assert "Traceback" not in output
    [line] = [line for line in output.splitlines() if "refused" in line]
    assert line.startswith("k8s-chatops: ") and says in line, line
    assert output.splitlines()[-1] == line, "the last word is why"


def test_losing_slack_makes_the_bot_unready_within_seconds_and_a_dead_cluster_does_not(stage: Stage) -> None:
    with stage.world.lock:
        stage.world.faults.kube_down = True  # the cluster's API answers 503 throughout
    bot = BotProcess(stage.config(), stage.directory / "bot.log")
    try:
        watch_readiness(stage, START_TIMEOUT)

        def probed() -> tuple[int | None, dict[str, Any]] | None:
            """/healthz once it shows the first probe of the cluster, which runs beside readiness, not before it."""
            status, body = probe(stage.health_port, "/healthz")
            health = json.loads(body) if status == 200 else {}
            return (status, health) if status != 200 or health.get("clusters") else None

        status, health = wait_until(probed, START_TIMEOUT, "/healthz showing the cluster's first probe")
        assert status == 200
        assert health["clusters"] == {stage.world.google.clusters()[0]["name"]: "not answering"}
        assert stage.readiness()[0] == 200, "the dead cluster does not make the bot unready"
        _, metrics = probe(stage.health_port, "/metrics")
        assert "k8s_chatops_socket_mode_connected 1.0" in metrics
        assert 'k8s_chatops_cluster_up{cluster="' in metrics and "} 0.0" in metrics.split("k8s_chatops_cluster_up{")[1]

        with stage.world.lock:
            stage.world.faults.slack_method_errors["apps.connections.open"] = [503, 503]
        lost = time.monotonic()
        SlackSender(stage.world, stage.server).drop_socket_connections()
        wait_until(lambda: stage.readiness()[0] == 503, 5, "/readyz saying the bot lost Slack")
        assert time.monotonic() - lost < 5
        assert probe(stage.health_port, "/readyz", method="HEAD")[0] == 503
        seen = watch_readiness(stage, 30)
        assert "apps.connections.open failed" in waiting_for(seen)
        assert answers_a_slash_command(stage)
        _, metrics = probe(stage.health_port, "/metrics")
        assert "k8s_chatops_socket_mode_connected 1.0" in metrics
    finally:
        bot.stop()
    assert "Traceback" not in bot.output()


def test_when_slack_asks_for_a_refresh_the_bot_moves_to_a_new_connection_and_keeps_answering(stage: Stage) -> None:
    bot = BotProcess(stage.config(), stage.directory / "bot.log")
    try:
        watch_readiness(stage, START_TIMEOUT)
        opened = len(stage.world.slack.calls_to("apps.connections.open"))
        assert SlackSender(stage.world, stage.server).request_socket_refresh() == 1
        wait_until(lambda: len(stage.world.slack.calls_to("apps.connections.open")) > opened, 10, "a new connection")
        wait_until(lambda: stage.readiness()[0] == 200, 10, "the bot ready on its new connection")
        assert answers_a_slash_command(stage)
    finally:
        bot.stop()
    assert "Traceback" not in bot.output()

"""Probes and metrics over HTTP, as Kubernetes and Prometheus read them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from bot.health import ClusterProbes, Health
from bot.metrics import Metrics
from bot.settings import AccessConfig
from sim.world import World
from tests.harness import BotUnderTest, SampleCommands


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def head(port: int, path: str) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


@pytest.fixture
def health() -> Iterator[Health]:
    health = Health(metrics=Metrics(), required=["slack"])
    health.start("127.0.0.1", 0)
    yield health
    health.stop()


def test_healthz_answers_while_the_process_runs(health: Health) -> None:
    assert get(health.port, "/healthz")[0] == 200


def test_readyz_names_what_is_not_ready(health: Health) -> None:
    status, body = get(health.port, "/readyz")
    assert status == 503
    assert json.loads(body)["checks"] == {"slack": "not checked yet"}
    health.add_check("slack", lambda: "checking the bot token (auth.test)")
    assert json.loads(get(health.port, "/readyz")[1])["checks"] == {"slack": "checking the bot token (auth.test)"}


def test_a_cluster_that_does_not_answer_shows_in_healthz_and_metrics_but_the_bot_stays_ready(health: Health) -> None:
    probes = ClusterProbes(health.metrics)
    health.add_check("slack", lambda: True)
    health.add_detail("clusters", probes.detail)
    probes.record("prod", False)
    probes.record("staging", True)
    status, body = get(health.port, "/readyz")
    assert status == 200 and json.loads(body) == {"ready": True, "checks": {"slack": "ok"}}
    status, body = get(health.port, "/healthz")
    assert status == 200
    assert json.loads(body)["clusters"] == {"prod": "not answering", "staging": "answering"}
    _, metrics = get(health.port, "/metrics")
    assert 'k8s_chatops_cluster_up{cluster="prod"} 0.0' in metrics
    assert 'k8s_chatops_cluster_up{cluster="staging"} 1.0' in metrics


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/nowhere"])
def test_head_answers_like_get_without_a_body(health: Health, path: str) -> None:
    health.add_check("slack", lambda: "not connected")
    got_status, got_body = get(health.port, path)
    status, body, headers = head(health.port, path)
    assert status == got_status and body == b""
    assert headers["Content-Type"] == ("application/json" if path != "/metrics" else health.metrics.content_type)
    assert int(headers["Content-Length"]) > 0


def test_a_check_that_raises_means_not_ready(health: Health) -> None:
    def broken() -> bool:
        raise OSError("socket gone")

    health.add_check("slack", broken)
    status, body = get(health.port, "/readyz")
    assert status == 503 and "check failed: OSError" in body


def test_metrics_are_exported_in_the_prometheus_format(health: Health) -> None:
    health.metrics.check_done("prod", "ok")
    health.metrics.set_incidents_open(2)
    health.metrics.slack_api_error("chat.postMessage", "channel_not_found")
    status, body = get(health.port, "/metrics")
    assert status == 200
    assert 'k8s_chatops_checks_total{cluster="prod",outcome="ok"} 1.0' in body
    assert "k8s_chatops_incidents_open 2.0" in body
    assert 'k8s_chatops_slack_api_errors_total{error="channel_not_found",method="chat.postMessage"} 1.0' in body


def test_the_running_bot_is_ready_and_counts_its_commands() -> None:
    with BotUnderTest(World(), registry=SampleCommands().registry, access=AccessConfig(), clusters=[], health=True) as bot:
        assert bot.health is not None
        bot.slash("echo counted")
        bot.slash("nonsense")
        status, body = get(bot.health.port, "/readyz")
        assert status == 200 and json.loads(body)["checks"]["slack"] == "ok"
        _, metrics = get(bot.health.port, "/metrics")
        assert 'k8s_chatops_commands_total{command="echo",outcome="ok"} 1.0' in metrics
        assert 'k8s_chatops_commands_total{command="?",outcome="bad_input"} 1.0' in metrics
        assert 'k8s_chatops_command_seconds_count{command="echo"} 1.0' in metrics
        bot.socket.close()  # type: ignore[union-attr]
        status, body = get(bot.health.port, "/readyz")
        assert status == 503 and "Slack is not connected" in body
        assert head(bot.health.port, "/readyz")[0] == 503

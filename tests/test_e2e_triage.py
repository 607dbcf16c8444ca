"""After "what is wrong": events, workloads, top and describe through Slack, against the seed incident.

Given the zonal-shortfall scenario (one node registered, the VMs of two zones
never did), the shop's Deployments are short of replicas and their rollouts
have passed the progress deadline while the pods they want stay Pending for
lack of CPU. A user in #ops types `/k8s ...`; the request reaches the real
bot as a signed HTTP request or a Socket Mode envelope, the bot reads the
simulated Kubernetes API (apps/v1 and metrics.k8s.io included) and each test
reads what Slack recorded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.blocks import cpu, limit_violations
from bot.settings import AccessConfig, AccessRule
from bot.sources.kube.parse import millicores
from sim import scenario
from sim.scenario import Scenario
from sim.slack.records import ResponsePost
from sim.world import World
from tests.harness import BotUnderTest

APPS = ("web", "checkout", "worker")
TRACE_MARKS = ("Traceback", 'File "', '.py", line', "Exception:", "Error(")


@dataclass
class Shop:
    bot: BotUnderTest
    world: World
    scenario: Scenario

    def pods(self, app: str, phase: str) -> list[str]:
        return sorted(
            p["metadata"]["name"] for p in self.world.kube.items("pods")
            if p["metadata"].get("labels", {}).get("app") == app and p["status"].get("phase") == phase
        )


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    world = World()
    loaded = scenario.load(world, "zonal-shortfall")
    access = AccessConfig(rules=[AccessRule(commands=["logs", "ssh"], users=[world.slack.user_id("alice")])])
    with BotUnderTest(world, access=access) as bot:
        yield Shop(bot, world, loaded)


def answered(shop: Shop, line: str, *, via: str = "http") -> ResponsePost:
    answer = shop.bot.slash(line, via=via)  # type: ignore[arg-type]
    assert answer.response_type == "ephemeral"
    assert limit_violations(answer.blocks or []) == []
    assert not any(mark in answer.all_text() for mark in TRACE_MARKS), answer.all_text()
    return answer


@pytest.mark.parametrize("via", ("http", "socket"))
def test_workloads_show_the_shops_deployments_short_and_stuck_and_why(shop: Shop, via: str) -> None:
    answer = answered(shop, "workloads -n shop", via=via)
    text = answer.all_text()
    short = 0
    for app in APPS:
        running, pending = shop.pods(app, "Running"), shop.pods(app, "Pending")
        total = len(running) + len(pending)
        [line] = [line for line in text.splitlines() if f"`shop/{app}`" in line]
        assert f"{len(running)}/{total} ready · {total} updated · {len(running)} available" in line
        if pending:
            short += 1
            assert "*stuck*" in line and "has timed out progressing" in line, line
            assert f"{len(pending)} Pending: Insufficient cpu" in line, line
        else:
            assert ":white_check_mark:" in line, line
    assert short, "the scenario leaves the shop short of CPU"
    assert f"3 workloads in namespace shop, {short} not where they want to be" in text
    assert "describe deployment shop/checkout --cluster shop-prod" in str(answer.blocks)


def test_workloads_unhealthy_leaves_the_healthy_add_ons_out(shop: Shop) -> None:
    everything = answered(shop, "workloads -A").all_text()
    assert "DaemonSet `kube-system/fluentbit-gke`" in everything
    unhealthy = answered(shop, "workloads --unhealthy").all_text()
    assert "kube-system" not in unhealthy
    assert "`shop/checkout`" in unhealthy and "`shop/worker`" in unhealthy


def test_events_group_and_count_the_schedulers_warnings_newest_first(shop: Shop) -> None:
    pending = shop.pods("checkout", "Pending")[0]
    answer = answered(shop, f"events -n shop --for pod/{pending}")
    lines = [line for line in answer.all_text().splitlines() if line.startswith("•")]
    assert len(lines) == 2, lines
    assert ":warning: *FailedScheduling*" in lines[0] and f"`pod shop/{pending}` ×4" in lines[0]
    assert "Insufficient cpu" in lines[0]
    assert "*NotTriggerScaleUp*" in lines[1] and "max node group size reached" in lines[1]


def test_events_warnings_across_namespaces(shop: Shop) -> None:
    answer = answered(shop, "events --warnings -A --since 2h")
    text = answer.all_text()
    pending = sum(len(shop.pods(app, "Pending")) for app in APPS)
    assert f"{4 * pending} events in {pending} groups in all namespaces in the last 2h" in text
    assert "NotTriggerScaleUp" not in text, "only warnings"


@pytest.mark.parametrize("via", ("http", "socket"))
def test_top_nodes_shows_usage_beside_requests(shop: Shop, via: str) -> None:
    node = shop.scenario.node_names[0]
    text = answered(shop, "top nodes", via=via).all_text()
    [line] = [line for line in text.splitlines() if f"`{node}`" in line]
    assert "us-west1-a / default-pool" in line
    detail = text.split(f"`{node}`", 1)[1]
    allocatable = cpu(millicores((shop.world.kube.get("nodes", None, node) or {})["status"]["allocatable"]["cpu"]))
    assert re.search(rf"CPU \*[\d.]+\* used \(\d+%\), [\d.]+ of {re.escape(allocatable)} requested \(\d+%\)", detail), detail
    assert "metrics API" not in text


def test_top_pods_ranks_the_shops_running_pods_by_usage_against_requests(shop: Shop) -> None:
    text = answered(shop, "top pods -n shop").all_text()
    running = [f"`shop/{name}`" for app in APPS for name in shop.pods(app, "Running")]
    shown = re.findall(r"`shop/[a-z0-9-]+`", text)
    assert sorted(shown) == sorted(running), "only running pods have metrics"
    assert "of 900m requested" in text or "of 0.9 requested" in text


def test_top_without_the_metrics_api_says_so_and_shows_requests(shop: Shop) -> None:
    shop.world.faults.metrics_api_missing = True
    try:
        nodes = answered(shop, "top nodes").all_text()
        pods = answered(shop, "top pods -A").all_text()
    finally:
        shop.world.faults.metrics_api_missing = False
    for text in (nodes, pods):
        assert "does not serve the metrics API" in text and "requests against allocatable" in text
    assert "requested (" in nodes and "used" not in nodes.split("requests against allocatable", 1)[1]


def test_describe_deployment_says_stuck_and_shows_its_pods_warnings(shop: Shop) -> None:
    answer = answered(shop, "describe deployment shop/checkout")
    text = answer.all_text()
    assert "0/2 ready, 2 updated, 0 available · stuck" in text
    assert "Progressing=False" in text and "ProgressDeadlineExceeded" in text
    assert "Why not ready: 2 Pending: Insufficient cpu" in text
    assert "*FailedScheduling*" in text and "×4" in text
    assert "events -n shop --for deployment/checkout --cluster shop-prod" in str(answer.blocks)


def test_describe_pod_names_its_deployment_and_node(shop: Shop) -> None:
    running = shop.pods("web", "Running")[0]
    text = answered(shop, f"describe pod shop/{running}").all_text()
    assert f"Pod shop/{running}" in text and "Running" in text
    assert re.search(r"ReplicaSet web-[0-9a-z]+, of Deployment web", text)
    assert shop.scenario.node_names[0] in text


def test_describe_node_is_short(shop: Shop) -> None:
    node = shop.scenario.node_names[0]
    text = answered(shop, f"describe node {node}").all_text()
    assert f"Node {node}" in text and "Ready" in text and "us-west1-a / default-pool" in text
    assert len(text) < 3000


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("events -n Bad_NS", "`Bad_NS` is not a valid namespace"),
        ("events --for bogus/web", "`bogus` is not a kind this answers about"),
        ("events --for pod/Web_0", "`Web_0` is not a valid pod name"),
        ("events --for web", "`web` is not KIND/NAME"),
        ("workloads -n nope", "Namespace `nope` does not exist in cluster shop-prod."),
        ("top pods -n nope", "Namespace `nope` does not exist in cluster shop-prod."),
        ("describe service shop/web", "`service` is not a kind this answers about"),
        ("describe deployment shop/nope", "Deployment `shop/nope` was not found in cluster shop-prod."),
        ("describe node a/b", "Nodes are not in a namespace"),
        ("top", "`top` needs a sub-command: `top nodes`, `top pods`."),
        ("workloads -n shop -A", "Use either `-n NAMESPACE` or `-A`, not both."),
    ],
)
def test_bad_input_is_answered_in_one_clear_sentence(shop: Shop, line: str, words: str) -> None:
    answer = answered(shop, line)
    assert words in answer.text, answer.text
    assert "\n" not in answer.text.strip()


def test_help_lists_the_new_commands(shop: Shop) -> None:
    text = answered(shop, "help").all_text()
    for name in ("`events`", "`workloads`", "`top nodes`", "`top pods`", "`describe`"):
        assert name in text
    assert "--for KIND/NAME" in answered(shop, "events --help").all_text()

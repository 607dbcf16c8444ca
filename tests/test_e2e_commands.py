"""The bot answers: every slash command through Slack, on the seed's incident and on a healthy cluster.

Given the zonal-shortfall scenario (control plane in us-west1-a, the node
pool's VMs in us-west1-b and us-west1-c running but never registered), a user
in #ops types `/k8s ...`; the request reaches the real bot as a signed HTTP
request or a Socket Mode envelope, and each test reads what Slack recorded:
the response_url answers, channel messages, threads and uploaded files.

A second cluster, `staging`, is configured but its API server is gone (a
closed loopback port), as happens when a kubeconfig outlives its cluster.
"""

from __future__ import annotations

import re
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from bot.blocks import limit_violations
from bot.clusters import build_clusters as build_registry
from bot.settings import AccessConfig, AccessRule, ClusterConfig, Settings, SlackConfig
from sim import scenario
from sim.kube import builders as kube
from sim.kube.kubeconfig import write_kubeconfig
from sim.scenario import Scenario
from sim.server import SimServer
from sim.slack.records import Message, ResponsePost
from sim.world import World
from tests.harness import BotUnderTest, sim_cluster_configs

VIAS = ("http", "socket")
BATCH_PODS = 200  # crash-looping pods in namespace batch: more than any Slack message can list


@dataclass
class Incident:
    bot: BotUnderTest
    world: World
    scenario: Scenario

    def vm(self, zone: str) -> str:
        return self.scenario.unregistered_vms[zone][0]


def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def add_crash_looping_pods(world: World, node: str, count: int) -> None:
    with world.lock:
        world.kube.upsert("namespaces", {"metadata": {"name": "batch"}})
        for index in range(count):
            world.kube.upsert(
                "pods", kube.make_pod("batch", f"job-{index:03d}", node=node, waiting_reason="CrashLoopBackOff", restarts=7)
            )


@pytest.fixture(scope="module")
def incident() -> Iterator[Incident]:
    world = World()
    loaded = scenario.load(world, "zonal-shortfall")
    add_crash_looping_pods(world, loaded.node_names[0], BATCH_PODS)
    world.slack.add_user("mallory")
    alice = world.slack.user_id("alice")
    with SimServer(world) as server, tempfile.TemporaryDirectory(prefix="e2e-commands-") as tmp:
        assert server.endpoints is not None
        directory = Path(tmp)
        gone = write_kubeconfig(directory / "staging-kubeconfig", f"http://127.0.0.1:{closed_port()}", cluster="staging")
        clusters = sim_cluster_configs(world, server.endpoints, directory) + [
            ClusterConfig(name="staging", kubeconfig=gone, request_timeout_seconds=2)
        ]
        # Two clusters: #ops and #alerts default to the incident's, as a team would configure it.
        defaults = {world.slack.channel_id("ops"): "shop-prod", world.slack.channel_id("alerts"): "shop-prod"}
        registry = build_registry(
            Settings(clusters=clusters, slack=SlackConfig(channel_clusters=defaults)), clock=world.clock
        )
        access = AccessConfig(rules=[AccessRule(commands=["logs", "ssh"], users=[alice])])
        with BotUnderTest(world, server=server, clusters=clusters, cluster_registry=registry, access=access) as bot:
            yield Incident(bot, world, loaded)


def lines_naming(answer: ResponsePost | Message, name: str) -> list[str]:
    return [line for line in answer.all_text().splitlines() if name in line]


def code_blocks(answer: ResponsePost | Message) -> list[str]:
    return re.findall(r"```\n(.*?)\n```", answer.all_text(), flags=re.S)


def buttons(answer: ResponsePost | Message) -> list[dict[str, Any]]:
    return [e for b in answer.blocks or [] if b["type"] == "actions" for e in b["elements"] if e["type"] == "button"]


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# -- the incident: nodes and the VMs that never joined ------------------------------------


@pytest.mark.parametrize("via", VIAS)
def test_nodes_names_the_unregistered_vms_per_zone_and_how_long_they_have_run(incident: Incident, via: str) -> None:
    answer = incident.bot.slash("nodes", via=via)  # type: ignore[arg-type]
    assert answer.response_type == "ephemeral"
    assert "2 VMs in us-west1-b, us-west1-c are running but never registered as nodes" in answer.all_text()
    for zone in ("us-west1-b", "us-west1-c"):
        [line] = [line for line in lines_naming(answer, incident.vm(zone)) if line.startswith("•")]
        assert zone in line and "running for 2h0m" in line, line
    assert limit_violations(answer.blocks or []) == []


@pytest.mark.parametrize("via", VIAS)
def test_kube_proxy_logs_of_a_vm_show_its_errors_in_a_code_block_and_a_logs_explorer_link_with_the_same_filter(
    incident: Incident, via: str
) -> None:
    vm = incident.vm("us-west1-b")
    answer = incident.bot.slash(f"logs node {vm} --component kube-proxy", via=via)  # type: ignore[arg-type]
    assert answer.response_type == "ephemeral"
    logged = "\n".join(code_blocks(answer))
    assert '"Failed to retrieve node info"' in logged and "timed out waiting for the node to register" in logged
    assert all(f"{vm}/kube-proxy" in line for line in logged.splitlines()), "only this VM's kube-proxy"
    [shown] = re.findall(r"Filter: `(.*?)`", answer.all_text())
    [url] = re.findall(r"<(https://console\.cloud\.google\.com/logs/query;[^|>]+)\|Open in Logs Explorer>", answer.all_text())
    linked = unquote(url.split(";query=", 1)[1].split(";", 1)[0])
    assert linked == unescape(shown)
    assert f'resource.labels.node_name="{vm}"' in linked and 'logName="projects/shop-project/logs/kube-proxy"' in linked


@pytest.mark.parametrize("via", VIAS)
def test_ssh_gives_the_exact_iap_command_only_to_the_asker(incident: Incident, via: str) -> None:
    vm = incident.vm("us-west1-b")
    answer = incident.bot.slash(f"ssh {vm}", via=via)  # type: ignore[arg-type]
    assert answer.response_type == "ephemeral"
    expected = f"gcloud compute ssh {vm} --zone us-west1-b --project shop-project --tunnel-through-iap"
    assert expected in code_blocks(answer)
    assert "35.235.240.0/20" in answer.all_text(), "the IAP firewall prerequisite"
    assert not any(expected in m.all_text() for m in incident.world.slack.messages("ops"))


def test_cluster_calls_it_zonal_and_gives_the_terraform_fix(incident: Incident) -> None:
    answer = incident.bot.slash("cluster")
    text = answer.all_text()
    assert "Zonal cluster: one control plane in us-west1-a" in text
    assert 'In Terraform set `location = "us-west1"`' in text
    assert "1 finding" in answer.text and "1 findings" not in answer.text


def test_pending_pods_show_insufficient_cpu_and_the_autoscalers_view(incident: Incident) -> None:
    pending = [
        p for p in incident.world.kube.items("pods") if p["status"].get("phase") == "Pending"
    ]
    assert pending, "the scenario leaves pods without room"
    answer = incident.bot.slash("pods --pending -A")
    text = answer.all_text()
    assert f"{len(pending)} pods Pending: Insufficient cpu" in text
    assert "0/1 nodes are available: 1 Insufficient cpu" in text
    assert "Autoscaler: pod didn't trigger scale-up" in text
    assert "CrashLoopBackOff" not in text, "--pending shows only Pending pods"


def test_node_detail_of_the_registered_node(incident: Incident) -> None:
    name = incident.scenario.node_names[0]
    answer = incident.bot.slash(f"node {name}")
    text = answer.all_text()
    assert f"Node {name}: Ready" in answer.text
    assert "us-west1-a / default-pool" in text
    assert f"gcloud compute ssh {name} --zone us-west1-a --project shop-project --tunnel-through-iap" in text
    assert limit_violations(answer.blocks or []) == []


def test_node_detail_of_a_vm_that_never_registered_says_so_and_for_how_long(incident: Incident) -> None:
    vm = incident.vm("us-west1-c")
    answer = incident.bot.slash(f"node {vm}")
    text = answer.all_text()
    assert f"VM {vm} in us-west1-c is running but never registered as a node" in text
    assert "(for 2h0m, pool default-pool)" in text
    assert f"gcloud compute ssh {vm} --zone us-west1-c --project shop-project --tunnel-through-iap" in text


def test_pod_detail_of_a_pending_pod(incident: Incident) -> None:
    pending = next(p for p in incident.world.kube.items("pods") if p["status"].get("phase") == "Pending")
    key = f"{pending['metadata']['namespace']}/{pending['metadata']['name']}"
    answer = incident.bot.slash(f"pod {key}")
    text = answer.all_text()
    assert key in text and "Pending" in text
    assert "Insufficient cpu" in text


def test_clusters_says_which_configured_cluster_is_unreachable_and_why(incident: Incident) -> None:
    answer = incident.bot.slash("clusters")
    [prod] = lines_naming(answer, "*shop-prod*")
    [staging] = lines_naming(answer, "*staging*")
    assert "reachable" in prod and "unreachable" not in prod
    assert "unreachable" in staging and "connection refused" in staging
    assert "1 of 2 clusters reachable" in answer.text


@pytest.mark.parametrize("via", VIAS)
def test_the_buttons_on_the_nodes_answer_run_their_commands(incident: Incident, via: str) -> None:
    vm = incident.vm("us-west1-c")
    answer = incident.bot.slash("nodes", via=via)  # type: ignore[arg-type]
    by_value = {b["value"]: b for b in buttons(answer)}
    ssh_button = by_value[f"ssh {vm} --cluster shop-prod"]
    logs_button = by_value[f"logs node {vm} --component kube-proxy --cluster shop-prod"]
    ssh = incident.bot.click(ssh_button["action_id"], ssh_button["value"], channel="ops", via=via)  # type: ignore[arg-type]
    assert ssh.response_type == "ephemeral"
    assert f"gcloud compute ssh {vm} --zone us-west1-c --project shop-project --tunnel-through-iap" in code_blocks(ssh)
    logs = incident.bot.click(logs_button["action_id"], logs_button["value"], channel="ops", via=via)  # type: ignore[arg-type]
    assert '"Failed to retrieve node info"' in "\n".join(code_blocks(logs))


def test_a_long_answer_is_summarized_within_slacks_limits_and_the_full_table_is_uploaded(incident: Incident) -> None:
    ws = incident.world.slack
    uploads_before = len(ws.files)
    answer = incident.bot.slash("pods -n batch --failing")
    blocks = answer.blocks or []
    assert limit_violations(blocks) == []
    shown = set(re.findall(r"`batch/(job-\d{3})`", answer.all_text()))
    assert 0 < len(shown) < BATCH_PODS
    assert f"…and {BATCH_PODS - len(shown)} more problem pods" in answer.all_text()
    assert "in your direct messages" in answer.all_text()
    [upload] = ws.files[uploads_before:]
    assert upload.completed and upload.name == "pods-shop-prod.tsv"
    content = upload.content.decode()
    assert all(f"batch/job-{i:03d}" in content for i in range(BATCH_PODS))
    dm = ws.channel(upload.channels[0])
    assert dm.is_im and dm.im_user == ws.user_id("alice"), "an ephemeral answer's table goes to the asker only"


def test_public_posts_the_answer_in_the_channel(incident: Incident) -> None:
    answer = incident.bot.slash("cluster --public")
    assert answer.response_type == "in_channel"
    posted = [m for m in incident.world.slack.messages("ops") if "Zonal cluster: one control plane" in m.all_text()]
    assert len(posted) == 1


@pytest.mark.parametrize("via", VIAS)
def test_a_mention_answers_nodes_in_its_thread(incident: Incident, via: str) -> None:
    ws = incident.world.slack
    reply = incident.bot.mention("nodes", channel="ops", via=via)  # type: ignore[arg-type]
    assert isinstance(reply, Message)
    assert reply.user == ws.bot_user_id and reply.is_reply
    assert reply in ws.thread("ops", reply.thread_ts or "")
    assert "us-west1-b, us-west1-c are running but never registered" in reply.all_text()


# -- a healthy regional cluster: nothing to report ----------------------------------------


@pytest.fixture(scope="module")
def healthy() -> Iterator[BotUnderTest]:
    world = World()
    scenario.load(world, "regional-healthy")
    with BotUnderTest(world) as bot:
        yield bot


def test_cluster_on_a_regional_cluster_reports_no_finding(healthy: BotUnderTest) -> None:
    answer = healthy.slash("cluster")
    text = answer.all_text()
    assert "us-west1 (regional)" in text
    assert "0 findings" in answer.text
    assert "No findings" in text
    assert ":warning:" not in text and "Zonal" not in text


def test_nodes_problems_on_a_healthy_cluster_reports_no_finding(healthy: BotUnderTest) -> None:
    answer = healthy.slash("nodes --problems")
    text = answer.all_text()
    assert "3 nodes: 3 Ready, 0 NotReady" in text
    assert "3 node-pool VMs, 0 never registered" in text, "the summary counts every VM, not only the shown rows"
    assert "No node problems" in text
    assert ":warning:" not in text and "never registered as" not in text

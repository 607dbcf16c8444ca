"""Alerting through the whole bot: the runtime as `k8s-chatops run` builds it, the simulated world, Slack over Socket Mode.

Each test builds the bot from a configuration aimed at the simulated world
(``build_bot``, as production does), steps the simulated clock a minute per
check, and reads the alert channel as Slack shows it. Users act through what
Slack would send: button clicks (block_actions) and mentions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect

from bot.alerts import render
from bot.runtime import Bot, build_bot
from bot.settings import Settings
from sim.bot_config import bot_config
from sim.cli import build_world
from sim.kube.kubeconfig import write_kubeconfig
from sim.server import SimServer
from sim.slack.records import Message
from sim.slack.sender import SlackSender
from sim.world import World
from tests.harness import wait_until

ANSWER_TIMEOUT = 20.0


class Deployment:
    """One simulated world and the bot deployed against it; the bot can be restarted on the same state."""

    def __init__(
        self, scenario: str, directory: Path, *, access: Callable[[World], dict[str, Any]] | None = None
    ) -> None:
        start = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
        self.world, self.cluster, location = build_world(scenario=scenario, nodes=None, pods=None, start=start)
        self.server = SimServer(self.world)
        self.seen_buttons: dict[tuple[str, str], str] = {}
        endpoints = self.server.start()
        kubeconfig = write_kubeconfig(directory / "kubeconfig", endpoints.kube, context="sim", cluster=self.cluster)
        config = bot_config(
            endpoints, self.world, kubeconfig=kubeconfig, cluster=self.cluster, location=location,
            state_dir=directory / "state", alert_channel="#alerts",
        )
        config["alerts"] = {"channel": "#alerts", "interval_seconds": 60, "jitter_seconds": 0}
        for name in ("bob", "carol"):
            self.world.slack.add_user(name)
        if access is not None:
            config["access"] = access(self.world)
        self.settings = Settings(**config)
        self.sender = SlackSender(self.world, self.server)
        self.bot: Bot | None = None

    def start_bot(self, *, schedule: bool = False) -> Bot:
        self.bot = build_bot(self.settings, clock=self.world.clock)
        self.bot.start(schedule=schedule)
        wait_until(self.bot.transport.is_ready, 10, "the bot connecting over Socket Mode")
        return self.bot

    def stop_bot(self) -> None:
        if self.bot is not None:
            self.bot.stop()
            self.bot = None

    def minutes(self, count: int) -> None:
        """``count`` simulated minutes, one check cycle each, as the scheduler would run them.

        The evidence a cycle starts gathering in the background is waited for: a real minute is long enough for it.
        """
        assert self.bot is not None and self.bot.alerts is not None
        for _ in range(count):
            self.world.clock.advance(60)
            self.bot.alerts.run_cycle(self.cluster)
            assert self.bot.alerts.settle(30), "the evidence of new incidents was not read within 30 s"

    def parents(self, containing: str) -> list[Message]:
        return [m for m in self.world.slack.messages("alerts") if containing in m.text]

    def thread(self, parent: Message) -> list[Message]:
        return self.world.slack.thread("alerts", parent.ts)

    def current(self, parent: Message) -> Message:
        return self.world.slack.message("alerts", parent.ts)

    def ask(self, text: str, user: str = "bob") -> str:
        """``/k8s TEXT`` in #ops; what the user then sees."""
        delivery = self.sender.slash_command("/k8s", text, user=user, channel="ops")
        assert delivery.acked
        answers = self.world.slack.wait_for(
            lambda: [r for r in self.world.slack.responses(delivery.response_url_id) if r.via != "ack"], ANSWER_TIMEOUT
        )
        return answers[-1].all_text()

    def click(self, action_id: str, incident_id: int, parent: Message, user: str) -> Any:
        """Click the button ``action_id`` of ``parent``, as a client that may still show an older edit would.

        The button's value is read off the message the first time it is seen
        there, and must name the incident; a later click reuses it even after an
        edit took the button away, as a stale client would send it.
        """
        shown = [e["value"] for b in parent.blocks or [] if b.get("type") == "actions"
                 for e in b["elements"] if e["action_id"] == action_id]
        value = self.seen_buttons.setdefault((parent.ts, action_id), shown[0] if shown else "")
        assert str(incident_id) in value.split(), f"{action_id} does not name incident {incident_id}: {value!r}"
        delivery = self.sender.block_action(action_id, value, user=user, message_ts=parent.ts)
        assert delivery.acked, f"{action_id} was not acknowledged: {delivery.body}"
        return delivery


@pytest.fixture
def deploy(tmp_path: Path) -> Iterator:
    made: list[Deployment] = []

    def make(scenario: str, access: Callable[[World], dict[str, Any]] | None = None) -> Deployment:
        deployment = Deployment(scenario, tmp_path / f"d{len(made)}", access=access)
        made.append(deployment)
        deployment.start_bot()
        return deployment

    yield make
    for deployment in made:
        deployment.stop_bot()
        deployment.server.stop()


def blocks_text(message: Message) -> str:
    return json.dumps(message.blocks or [])


def button_actions(message: Message) -> list[str]:
    return [
        element.get("action_id", "")
        for block in message.blocks or []
        if block.get("type") == "actions"
        for element in block.get("elements", [])
    ]


def open_incident(d: Deployment, containing: str) -> tuple[Message, int]:
    [parent] = d.parents(containing)
    assert d.bot is not None and d.bot.alerts is not None
    incident = d.bot.alerts.store.by_parent(parent.channel, parent.ts)
    assert incident is not None
    return parent, incident.id


def test_acknowledge_mute_and_resolve_buttons_act_and_record_who_clicked(deploy) -> None:
    d = deploy("zonal-shortfall")
    d.minutes(12)
    parent, incident_id = open_incident(d, "never registered")
    assert {render.ACK_ACTION, render.RESOLVE_ACTION, render.MUTE_ACTION} <= set(button_actions(parent))
    bob, carol = d.world.slack.user_id("bob"), d.world.slack.user_id("carol")

    d.click(render.ACK_ACTION, incident_id, parent, "bob")
    acked = d.world.slack.wait_for(lambda: f"acknowledged by <@{bob}>" in blocks_text(d.current(parent)), ANSWER_TIMEOUT)
    assert acked
    assert render.ACK_ACTION not in button_actions(d.current(parent)), "nobody needs to acknowledge twice"
    assert any(f"Acknowledged by <@{bob}>" in m.text for m in d.thread(parent))

    # Carol's Slack still shows the old message with its Acknowledge button.
    late = d.click(render.ACK_ACTION, incident_id, parent, "carol")
    [refusal] = d.world.slack.wait_for(lambda: d.world.slack.responses(late.response_url_id), ANSWER_TIMEOUT)
    assert refusal.response_type == "ephemeral"
    assert refusal.text == f"Incident #{incident_id} was already acknowledged by <@{bob}>."

    d.click(render.MUTE_ACTION, incident_id, parent, "carol")
    d.world.slack.wait_for(lambda: any(f"by <@{carol}>" in m.text and "Muted until" in m.text for m in d.thread(parent)), ANSWER_TIMEOUT)
    assert d.bot is not None and d.bot.alerts is not None
    assert d.bot.alerts.store.get(incident_id).muted_by == carol

    d.click(render.RESOLVE_ACTION, incident_id, parent, "bob")
    d.world.slack.wait_for(lambda: "Resolved after" in d.thread(parent)[-1].text, ANSWER_TIMEOUT)
    assert d.current(parent).text.startswith("[RESOLVED]")
    timeline = d.thread(parent)[-1].all_text()
    assert "acknowledged" in timeline and f"<@{bob}>" in timeline and f"<@{carol}>" in timeline
    assert "Resolved after" in timeline
    assert button_actions(d.current(parent)) and render.RESOLVE_ACTION not in button_actions(d.current(parent))

    stale = d.click(render.RESOLVE_ACTION, incident_id, parent, "carol")
    [refusal] = d.world.slack.wait_for(lambda: d.world.slack.responses(stale.response_url_id), ANSWER_TIMEOUT)
    assert refusal.text == f"Incident #{incident_id} is already resolved."
    assert len(d.parents("never registered")) == 1, "a click never posts a second parent"


def test_incident_buttons_pass_the_access_rules_and_the_audit_like_typed_commands(
    deploy, caplog: pytest.LogCaptureFixture
) -> None:
    """With ``open_to_all`` off, Acknowledge needs the same rule as ``alerts ack``; refused clicks change nothing."""
    only_bob = lambda world: {  # noqa: E731
        "open_to_all": False, "rules": [{"commands": ["alerts"], "users": [world.slack.user_id("bob")]}]
    }
    d = deploy("zonal-shortfall", access=only_bob)
    bob, carol = d.world.slack.user_id("bob"), d.world.slack.user_id("carol")
    assert d.bot is not None and d.bot.alerts is not None
    d.minutes(12)
    parent, incident_id = open_incident(d, "never registered")
    caplog.set_level(logging.INFO, logger="k8s_chatops.audit")
    caplog.clear()

    refused = d.click(render.ACK_ACTION, incident_id, parent, "carol")
    [refusal] = d.world.slack.wait_for(lambda: d.world.slack.responses(refused.response_url_id), ANSWER_TIMEOUT)
    assert refusal.response_type == "ephemeral"
    assert "`alerts` needs an access rule" in refusal.text
    assert d.bot.alerts.store.get(incident_id).acknowledged_by is None, "a refused click changes nothing"
    assert f"<@{carol}>" not in blocks_text(d.current(parent))
    audit = [json.loads(r.getMessage()) for r in caplog.records if r.name == "k8s_chatops.audit"]
    assert [(a["command"], a["origin"], a["outcome"], a["user_id"]) for a in audit] == [
        ("alerts ack", "button", "forbidden", carol)
    ]

    d.click(render.ACK_ACTION, incident_id, parent, "bob")
    assert d.world.slack.wait_for(lambda: f"acknowledged by <@{bob}>" in blocks_text(d.current(parent)), ANSWER_TIMEOUT)
    assert d.bot.alerts.store.get(incident_id).acknowledged_by == bob
    audited = wait_until(lambda: [json.loads(r.getMessage()) for r in caplog.records
                                  if r.name == "k8s_chatops.audit" and '"outcome": "ok"' in r.getMessage()], 10, "audit")
    assert [(a["command"], a["origin"], a["user_id"]) for a in audited] == [("alerts ack", "button", bob)]


def test_vms_unregistered_for_hours_are_reported_at_the_first_check(deploy) -> None:
    d = deploy("zonal-shortfall")
    d.minutes(1)
    [parent] = d.parents("never registered")
    assert "Open for 2h" in blocks_text(parent), "the grace period counts from the VMs' creation, not from the bot's start"


def test_a_mention_in_the_incident_thread_answers_for_that_cluster_there(deploy) -> None:
    d = deploy("zonal-shortfall")
    d.minutes(12)
    parent, _ = open_incident(d, "never registered")
    asked = d.sender.app_mention(f"<@{d.world.slack.bot_user_id}> nodes", user="bob", thread_ts=parent.ts)
    assert asked.acked
    answer = d.world.slack.wait_for(
        lambda: [m for m in d.thread(parent) if m.user == d.world.slack.bot_user_id and "us-west1-b" in m.all_text()],
        ANSWER_TIMEOUT,
    )[-1]
    assert "never registered" in answer.all_text() or "not registered" in answer.all_text()


def test_a_restart_mid_incident_continues_the_same_threads(deploy) -> None:
    d = deploy("zonal-shortfall")
    d.minutes(36)
    [upgrade] = d.parents("Control-plane upgrade")
    assert not upgrade.text.startswith("[RESOLVED]")
    replies_before = len(d.thread(upgrade))

    d.stop_bot()
    d.start_bot()  # a new process would build exactly this: same configuration, same state directory
    d.minutes(44)

    assert len(d.parents("Control-plane upgrade")) == 1, "the restarted bot posted no second parent"
    assert len(d.parents("never registered")) == 1
    upgrade = d.current(upgrade)
    assert upgrade.text.startswith("[RESOLVED]"), "the parent from before the restart was edited"
    after = d.thread(upgrade)[replies_before:]
    assert after and "Resolved after" in after[-1].text, "the thread went on where it stopped"
    assert d.bot is not None and d.bot.alerts is not None
    assert d.bot.alerts.store.pending() == [], "nothing left unsent"


def test_a_command_during_a_zonal_master_upgrade_says_why_the_api_is_down(deploy) -> None:
    d = deploy("zonal-shortfall")
    d.minutes(36)
    assert d.parents("Control-plane upgrade"), "the upgrade is running"
    answer = d.ask("nodes")
    assert "did not answer: connection refused" in answer  # nothing listens while the one replica is replaced
    assert "connection refused. GKE is upgrading the control plane to 1.31" in answer, "two sentences"
    assert "The cluster is zonal, with one control plane in us-west1-a" in answer
    assert "GKE is upgrading the control plane" in d.ask("clusters")
    d.minutes(44)
    assert "GKE is upgrading" not in d.ask("nodes"), "once it is done, nodes answers as usual"


def test_scheduled_jobs_come_from_the_configuration_once_each(deploy) -> None:
    d = deploy("regional-healthy")
    d.stop_bot()
    for _ in range(2):  # a restart builds the same jobs again, in memory, rather than adding to stored ones
        bot = d.start_bot(schedule=True)
        assert bot.alerts is not None
        jobs = wait_until(lambda service=bot.alerts: {job.id: job for job in service.jobs()}, 10, "the scheduler starting")
        tables = set(inspect(bot.alerts.store.engine).get_table_names())
        d.stop_bot()
    assert set(jobs) == {f"check:{d.cluster}", "digest", "outbox"}, "no leadership job without leader election"
    assert "apscheduler_jobs" not in tables, "the store holds incidents, not the scheduler's jobs"
    check = jobs[f"check:{d.cluster}"]
    assert check.coalesce and check.max_instances == 1
    assert check.trigger.interval.total_seconds() == 60
    assert jobs["digest"].coalesce and jobs["digest"].max_instances == 1


def test_an_api_that_stops_answering_opens_one_incident_that_says_for_how_long(deploy) -> None:
    d = deploy("regional-healthy")
    d.minutes(2)
    assert d.world.slack.messages("alerts") == []
    with d.world.lock:
        d.world.faults.kube_down = True
    d.minutes(4)
    [parent] = d.parents("Kubernetes API unreachable")
    assert "[CRITICAL]" in parent.text
    assert "GKE reports no operation that explains it" in blocks_text(d.current(parent))
    with d.world.lock:
        d.world.faults.kube_down = False
    d.minutes(4)
    assert d.current(parent).text.startswith("[RESOLVED]")
    assert len(d.world.slack.messages("alerts")) == 1, "one incident for the outage, nothing else"


def test_google_api_errors_neither_resolve_nor_duplicate_an_incident(deploy) -> None:
    d = deploy("zonal-shortfall")
    d.minutes(12)
    parent, incident_id = open_incident(d, "never registered")
    with d.world.lock:
        d.world.faults.gke_errors.extend([503] * 40)
        d.world.faults.compute_errors.extend([503] * 40)
    d.minutes(d.settings.alerts.clear_after_checks + 1)  # a check that could not look is not a clean check
    assert d.bot is not None and d.bot.alerts is not None
    assert d.bot.alerts.store.get(incident_id).status == "open"
    with d.world.lock:
        d.world.faults.gke_errors.clear()
        d.world.faults.compute_errors.clear()
    d.minutes(2)
    assert len(d.parents("never registered")) == 1
    assert not d.current(parent).text.startswith("[RESOLVED]")


def test_alerts_that_slack_refuses_for_a_while_are_kept_and_posted_once(deploy) -> None:
    d = deploy("zonal-shortfall")
    with d.world.lock:
        d.world.faults.slack_server_errors = 1000  # Slack is down beyond the client's own retries
    d.minutes(2)
    assert d.bot is not None and d.bot.alerts is not None
    assert d.parents("never registered") == []
    assert d.bot.alerts.store.pending(), "the parent waits in the outbox"
    depth = d.bot.metrics.registry.get_sample_value("k8s_chatops_outbox_depth")
    assert depth == len(d.bot.alerts.store.pending()), "operators see the outbox grow"
    with d.world.lock:
        d.world.faults.slack_server_errors = 0
    d.minutes(3)
    assert len(d.parents("never registered")) == 1
    assert d.bot.alerts.store.pending() == []
    assert d.bot.metrics.registry.get_sample_value("k8s_chatops_outbox_depth") == 0


def test_the_alerts_commands_list_acknowledge_and_mute_through_slack(deploy) -> None:
    d = deploy("zonal-shortfall")
    d.minutes(12)
    parent, incident_id = open_incident(d, "never registered")
    bob = d.world.slack.user_id("bob")

    listing = d.ask("alerts")
    assert f"#{incident_id}" in listing and "never registered" in listing
    assert f"/archives/{parent.channel}/p{parent.ts.replace('.', '')}" in listing, "each incident links to its thread"

    assert f"acknowledged by <@{bob}>" in d.ask(f"alerts ack {incident_id}")
    d.world.slack.wait_for(lambda: f"acknowledged by <@{bob}>" in blocks_text(d.current(parent)), ANSWER_TIMEOUT)

    muted = d.ask("alerts mute pending-pods 2h")
    assert "Muted `pending-pods` until" in muted and f"<@{bob}>" in muted
    assert "not muted" in d.ask("alerts unmute unregistered-vms")
    refusal = d.ask("alerts mute pods 2h")
    assert "neither an incident number nor a kind" in refusal and "pending-pods" in refusal
    assert d.ask("alerts ack 999").endswith(":mag: There is no incident #999.")


def test_nodes_and_pending_pods_are_answered_from_the_watch_cache_once_it_has_synced(deploy) -> None:
    d = deploy("zonal-shortfall")
    d.minutes(2)  # a check cycle has read the unregistered VMs' creation times
    listed = d.ask("nodes")
    pending_listed = d.ask("pods --pending -A")
    assert d.bot is not None and d.bot.alerts is not None
    d.bot.alerts.watch()
    cache = d.bot.clusters.get(d.cluster).watch
    assert cache is not None and cache.wait_until(lambda held: held.synced, timeout=10)

    d.bot.clusters.get(d.cluster).shared.forget()  # the answer above left its GKE and VM reads to share for a second
    d.server.traffic.reset()
    assert d.ask("nodes") == listed, "the same answer"
    traffic = d.server.traffic.snapshot()
    assert traffic["kube"][0] == 1, f"only the version request that proves the API answers: {traffic}"
    groups = sum(len(p["instanceGroupUrls"]) for p in d.world.google.clusters()[0]["nodePools"])
    assert traffic["compute"][0] == groups, "VM creation times came from the last check, not one request per VM"

    d.server.traffic.reset()
    assert d.ask("pods --pending -A") == pending_listed
    assert d.server.traffic.snapshot()["kube"][0] == 1 + 3, "the version, then the autoscaler's events by reason"

    [node] = d.world.kube.items("nodes")
    node["spec"]["unschedulable"] = True
    d.world.kube.upsert("nodes", node)
    assert cache.wait_until(lambda held: any(n.unschedulable for n in held.nodes), timeout=10)
    assert "1 cordoned" in d.ask("nodes"), "a change reaches the answer through the watch"

    with d.world.lock:
        d.world.faults.kube_down = True
    assert "answered 503" in d.ask("nodes"), "never an answer from a cache whose API is gone"

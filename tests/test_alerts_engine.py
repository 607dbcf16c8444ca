"""The incident engine against the simulated Slack: one parent, quiet threads, clean resolutions."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.alerts.engine import IncidentEngine
from bot.alerts.notifier import SlackNotifier
from bot.alerts.store import IncidentStore
from bot.model.findings import PENDING_PODS, UNREGISTERED_VMS, Finding
from bot.settings import AlertConfig, SlackConfig
from bot.slack.client import build_web_client
from sim.server import SimServer
from sim.world import World

ALERTS = AlertConfig(channel="#alerts", clear_after_checks=3, change_threshold=0.2)


@pytest.fixture
def world() -> Iterator[tuple[World, str]]:
    world = World()
    with SimServer(world) as server:
        assert server.endpoints is not None
        yield world, server.endpoints.slack


def make_engine(world: World, slack_url: str, db: Path, *, max_retries: int = 2) -> IncidentEngine:
    store = IncidentStore(f"sqlite:///{db}")
    client: WebClient = build_web_client(SlackConfig(bot_token=world.slack.bot_token, api_url=slack_url), max_retries=max_retries)
    return IncidentEngine(store, SlackNotifier(client, store, world.clock), world.clock, ALERTS)


def unregistered(world: World, zones: list[str], vms: int) -> Finding:
    return Finding(
        kind=UNREGISTERED_VMS,
        severity="critical",
        cluster="prod",
        title=f"{vms} node-pool VMs never registered as nodes",
        detail="kube-proxy failed at start-up",
        scope="default-pool",
        since=world.clock.now() - timedelta(minutes=15),
        facts={"count": vms, "zones": zones, "vms": [f"gke-prod-default-{i}" for i in range(vms)]},
    )


def cycle(engine: IncidentEngine, world: World, findings: list[Finding], kinds: set[str] | None = None) -> None:
    engine.process("prod", findings, kinds if kinds is not None else {UNREGISTERED_VMS, PENDING_PODS})
    world.clock.advance(60)


def test_one_parent_per_incident_and_threads_only_on_real_change(world, tmp_path):
    world, url = world
    engine = make_engine(world, url, tmp_path / "db.sqlite3")
    cycle(engine, world, [unregistered(world, ["us-west1-b"], 2)])
    cycle(engine, world, [unregistered(world, ["us-west1-b"], 2)])  # same: silence
    parents = world.slack.messages("alerts")
    assert len(parents) == 1
    assert "never registered" in parents[0].text
    assert world.slack.thread("alerts", parents[0].ts) == []

    cycle(engine, world, [unregistered(world, ["us-west1-b", "us-west1-c"], 4)])  # a new zone: news
    parents = world.slack.messages("alerts")
    assert len(parents) == 1
    replies = world.slack.thread("alerts", parents[0].ts)
    assert len(replies) == 1
    assert "us-west1-c" in str(replies[0].blocks)
    assert parents[0].edits, "the parent shows the current state"


def test_buttons_drill_down_with_cluster_and_vm(world, tmp_path):
    world, url = world
    engine = make_engine(world, url, tmp_path / "db.sqlite3")
    cycle(engine, world, [unregistered(world, ["us-west1-b"], 1)])
    blocks = world.slack.messages("alerts")[0].blocks
    values = {e["action_id"]: e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]}
    assert values["run_command:nodes"] == "nodes --cluster prod"
    assert values["run_command:pods"] == "pods --pending -A --cluster prod"
    assert values["run_command:logs"] == "logs node gke-prod-default-0 --component kube-proxy --cluster prod"
    assert values["run_command:ssh"] == "ssh gke-prod-default-0 --cluster prod"
    assert values["run_command:ack"] == f"alerts ack {engine.store.open_incidents()[0].id}"
    assert values["run_command:resolve"].startswith("alerts resolve ")
    assert values["run_command:mute"].endswith(" 1h") and values["run_command:mute"].startswith("alerts mute ")


def test_resolves_after_clean_checks_without_flapping(world, tmp_path):
    world, url = world
    engine = make_engine(world, url, tmp_path / "db.sqlite3")
    finding = unregistered(world, ["us-west1-b"], 2)
    cycle(engine, world, [finding])
    cycle(engine, world, [])
    cycle(engine, world, [])
    cycle(engine, world, [finding])  # back before the third clean check: the same incident
    cycle(engine, world, [])
    cycle(engine, world, [])
    assert len(engine.store.open_incidents()) == 1
    cycle(engine, world, [])
    assert engine.store.open_incidents() == []
    parents = world.slack.messages("alerts")
    assert len(parents) == 1
    assert "RESOLVED" in parents[0].text
    timeline = world.slack.thread("alerts", parents[0].ts)[-1]
    assert "Resolved after" in timeline.text
    assert "opened" in str(timeline.blocks) and "resolved" in str(timeline.blocks)


def test_unchecked_kinds_do_not_count_as_clean(world, tmp_path):
    world, url = world
    engine = make_engine(world, url, tmp_path / "db.sqlite3")
    cycle(engine, world, [unregistered(world, ["us-west1-b"], 2)])
    for _ in range(5):  # the API is down: nothing about VMs could be checked
        cycle(engine, world, [], kinds=set())
    assert len(engine.store.open_incidents()) == 1


def test_restart_mid_incident_continues_the_thread(world, tmp_path):
    world, url = world
    db = tmp_path / "db.sqlite3"
    first = make_engine(world, url, db)
    cycle(first, world, [unregistered(world, ["us-west1-b"], 2)])
    first.store.close()
    second = make_engine(world, url, db)
    cycle(second, world, [unregistered(world, ["us-west1-b"], 2)])
    cycle(second, world, [unregistered(world, ["us-west1-b", "us-west1-c"], 4)])
    parents = world.slack.messages("alerts")
    assert len(parents) == 1
    assert len(world.slack.thread("alerts", parents[0].ts)) == 1


def test_rate_limited_posts_wait_in_the_outbox_and_arrive_once(world, tmp_path):
    world, url = world
    world.faults.slack_retry_after = 0
    engine = make_engine(world, url, tmp_path / "db.sqlite3", max_retries=0)
    world.faults.slack_rate_limited = 1
    cycle(engine, world, [unregistered(world, ["us-west1-b"], 2)])
    assert world.slack.messages("alerts") == []
    assert len(engine.store.pending()) == 1
    cycle(engine, world, [unregistered(world, ["us-west1-b", "us-west1-c"], 4)])
    parents = world.slack.messages("alerts")
    assert len(parents) == 1
    assert len(world.slack.thread("alerts", parents[0].ts)) == 1
    assert engine.store.pending() == []


def test_a_post_answered_with_a_5xx_is_looked_for_then_sent_once(world, tmp_path):
    world, url = world
    engine = make_engine(world, url, tmp_path / "db.sqlite3", max_retries=2)
    world.faults.slack_method_errors["chat.postMessage"] = [503]
    cycle(engine, world, [unregistered(world, ["us-west1-b"], 2)])
    assert world.slack.messages("alerts") == [], "a 5xx may follow a post Slack carried out: not re-sent blindly"
    assert len(world.slack.calls_to("chat.postMessage")) == 1
    engine.notifier.flush()
    assert len(world.slack.messages("alerts")) == 1
    assert world.slack.calls_to("conversations.history"), "it looked before posting again"
    assert engine.store.pending() == []


def test_a_parent_accepted_whose_answer_was_lost_is_found_not_posted_twice(world, tmp_path):
    world, url = world
    engine = make_engine(world, url, tmp_path / "db.sqlite3")
    world.faults.slack_drop_after_accept["chat.postMessage"] = 1
    cycle(engine, world, [unregistered(world, ["us-west1-b"], 2)])
    [parent] = world.slack.messages("alerts")
    [entry] = engine.store.pending()
    assert entry.attempts == 1, "the attempt was recorded before the request left"
    engine.notifier.flush()
    assert world.slack.messages("alerts") == [parent], "found by its key, not posted again"
    incident = engine.store.open_incidents()[0]
    assert incident.parent_ts == parent.ts and incident.channel == parent.channel
    assert engine.store.pending() == []
    cycle(engine, world, [unregistered(world, ["us-west1-b", "us-west1-c"], 4)])
    assert len(world.slack.thread("alerts", parent.ts)) == 1, "the thread goes on under the parent found"


def test_a_thread_reply_accepted_whose_answer_was_lost_is_found_in_the_thread(world, tmp_path):
    world, url = world
    engine = make_engine(world, url, tmp_path / "db.sqlite3")
    cycle(engine, world, [unregistered(world, ["us-west1-b"], 2)])
    [parent] = world.slack.messages("alerts")
    world.faults.slack_drop_after_accept["chat.postMessage"] = 1
    cycle(engine, world, [unregistered(world, ["us-west1-b", "us-west1-c"], 6)])
    replies = world.slack.thread("alerts", parent.ts)
    assert len(replies) == 1 and engine.store.pending(), "posted, but the bot does not know it"
    engine.notifier.flush()
    assert world.slack.thread("alerts", parent.ts) == replies
    assert world.slack.calls_to("conversations.replies"), "looked for in the thread"
    assert engine.store.pending() == []


def test_mute_suppresses_posts_but_keeps_state(world, tmp_path):
    world, url = world
    engine = make_engine(world, url, tmp_path / "db.sqlite3")
    engine.store.mute_kind(PENDING_PODS, world.clock.now() + timedelta(hours=1), "U1", world.clock.now())
    pending = Finding(kind=PENDING_PODS, severity="warning", cluster="prod", title="5 pods pending", facts={"count": 5})
    cycle(engine, world, [pending])
    assert world.slack.messages("alerts") == []
    assert len(engine.store.open_incidents()) == 1
    world.clock.advance(3600)
    cycle(engine, world, [replace(pending, facts={"count": 6})])
    assert len(world.slack.messages("alerts")) == 1


def test_acknowledge_records_who_and_edits_the_parent(world, tmp_path):
    world, url = world
    engine = make_engine(world, url, tmp_path / "db.sqlite3")
    cycle(engine, world, [unregistered(world, ["us-west1-b"], 2)])
    incident = engine.store.open_incidents()[0]
    engine.acknowledge(incident.id, "U0ALICE")
    parent = world.slack.messages("alerts")[0]
    assert "acknowledged by <@U0ALICE>" in str(parent.blocks)
    assert engine.thread_defaults(parent.channel, parent.ts)["cluster"] == "prod"
    engine.resolve_by_hand(incident.id, "U0ALICE")
    timeline = world.slack.thread("alerts", parent.ts)[-1]
    assert "acknowledged by <@U0ALICE>" in str(timeline.blocks)


def test_a_muted_incident_still_shows_its_end(world, tmp_path):
    world, url = world
    engine = make_engine(world, url, tmp_path / "db.sqlite3")
    finding = unregistered(world, ["us-west1-b"], 2)
    cycle(engine, world, [finding])
    incident = engine.store.open_incidents()[0]
    engine.mute(incident.id, world.clock.now() + timedelta(hours=1), "U0CAROL")
    cycle(engine, world, [replace(finding, facts={**finding.facts, "count": 5})])
    replies = len(world.slack.thread("alerts", world.slack.messages("alerts")[0].ts))
    for _ in range(ALERTS.clear_after_checks):
        cycle(engine, world, [])
    [parent] = world.slack.messages("alerts")
    thread = world.slack.thread("alerts", parent.ts)
    assert "RESOLVED" in parent.text, "a mute quiets updates, not the parent's last state"
    assert len(thread) == replies + 1 and "Resolved after" in thread[-1].text
    assert not any("Update" in m.text for m in thread), "the change while muted stayed quiet"

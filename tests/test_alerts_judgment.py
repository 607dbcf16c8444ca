"""Judgments the scenario corpus showed wrong, each pinned on its own.

- An informational message (a healthy upgrade) is kept current without
  being edited for every percent: at most one progress edit per 15 minutes,
  its end at once, a rise at once.
- A final change (an upgrade that finished) is told by the resolution's
  timeline, without a thread update of its own just before it.
- Machine buttons fit the incident: kube-proxy logs for a VM that never
  registered, the kubelet's for a node that is not Ready, none for the nodes
  an upgrade is replacing on purpose.
- Pods waiting because some nodes are not Ready and the rest are full say
  both; cordoned nodes beside a topology spread constraint do not send people
  to "let the pods go elsewhere".
- A node that flapped stays in its incident while its stretch lasts, so two
  flapping nodes do not make the incident's node count go up and down.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.alerts import render
from bot.alerts.engine import INFO_EDIT_SECONDS, IncidentEngine
from bot.alerts.node_checks import judge_nodes, node_marks
from bot.alerts.snapshot import ClusterSnapshot
from bot.analysis import unschedulable
from bot.model.findings import MASTER_UPGRADE, NODE_POOL_UPGRADE, NODES_NOT_READY, UNREGISTERED_VMS, Finding
from bot.model.kube import Condition, Node
from bot.settings import AlertConfig
from sim.world import World
from tests.harness import incident_engine

ALERTS = AlertConfig(channel="#alerts", clear_after_checks=3)
KINDS = {MASTER_UPGRADE, NODE_POOL_UPGRADE}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[tuple[IncidentEngine, World]]:
    with incident_engine(ALERTS, tmp_path / "db.sqlite3") as made:
        yield made


def upgrade(world: World, percent: int, *, status: str = "RUNNING", severity: str = "info") -> Finding:
    final = status == "DONE"
    return Finding(
        kind=MASTER_UPGRADE,
        severity=severity,  # type: ignore[arg-type]
        cluster="prod",
        title="Control-plane upgrade to 1.31 " + ("finished" if final else "is running"),
        detail=f"Control-plane upgrade: {status.lower()}, {percent}%",
        scope="operation-1",
        since=world.clock.now(),
        facts={"status": status, "progress": f"{percent}%", "final": final},
    )


def test_an_informational_upgrade_is_edited_at_most_every_15_minutes_and_at_once_when_it_ends(engine) -> None:
    engine, world = engine
    progress = {0: 0, 4: 20, 8: 40, 12: 60, 16: 80}  # minute -> what GKE reports from then on
    percent = 0
    for minute in range(25):
        percent = progress.get(minute, percent)
        done = minute == 24
        engine.process("prod", [upgrade(world, 100 if done else percent, status="DONE" if done else "RUNNING")], KINDS)
        world.clock.advance(60)
    [parent] = world.slack.messages("alerts")
    assert world.slack.thread("alerts", parent.ts) == [], "an informational incident gets no thread replies"
    # Posted at 0%, edited once at 15m with what GKE said then (60%), then its end: three messages, not six.
    assert len(parent.edits) == 2
    assert "0%" in str(parent.edits[0].blocks)
    assert "60%" in str(parent.edits[1].blocks)
    assert parent.text.startswith("[RESOLVED]")
    assert INFO_EDIT_SECONDS == 15 * 60


def test_a_rise_is_told_at_once_even_right_after_an_edit(engine) -> None:
    engine, world = engine
    engine.process("prod", [upgrade(world, 0)], KINDS)
    world.clock.advance(60)
    engine.process("prod", [upgrade(world, 10, severity="critical", status="FAILED")], KINDS)
    [parent] = world.slack.messages("alerts")
    [reply] = world.slack.thread("alerts", parent.ts)
    assert reply.broadcast and "Now CRITICAL" in reply.all_text()
    assert parent.text.startswith("[CRITICAL]")


def test_a_finished_upgrade_is_told_by_its_timeline_not_by_an_update_before_it(engine) -> None:
    engine, world = engine
    engine.process("prod", [upgrade(world, 0, severity="warning")], KINDS)
    world.clock.advance(60)
    engine.process("prod", [upgrade(world, 100, status="DONE", severity="warning")], KINDS)
    [parent] = world.slack.messages("alerts")
    [reply] = world.slack.thread("alerts", parent.ts)
    assert reply.text.startswith("Resolved after"), reply.text
    assert "status: RUNNING → DONE" in reply.all_text(), "the timeline carries what changed"


def _state(kind: str, facts: dict) -> render.IncidentState:
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    return render.IncidentState(
        id=1, cluster="prod", kind=kind, scope="", severity="warning", title="t", detail="", fix="", since=now,
        facts=facts, status="open",
    )


def _buttons(state: render.IncidentState) -> dict[str, str]:
    return {b.action_id: b.value for b in render.drilldown_buttons(state)}  # type: ignore[misc]


def test_machine_buttons_fit_the_incident() -> None:
    vm = _buttons(_state(UNREGISTERED_VMS, {"vms": ["vm-1"]}))
    assert vm["run_command:logs"] == "logs node vm-1 --component kube-proxy --cluster prod"
    assert vm["run_command:ssh"] == "ssh vm-1 --cluster prod"
    node = _buttons(_state(NODES_NOT_READY, {"nodes": ["node-1"]}))
    assert node["run_command:logs"] == "logs node node-1 --component kubelet --cluster prod"
    upgrading = _buttons(_state(NODE_POOL_UPGRADE, {"nodes": ["node-1"]}))
    assert "run_command:logs" not in upgrading and "run_command:ssh" not in upgrading
    assert set(upgrading) == {"run_command:nodes", "run_command:pods"}


def test_pods_waiting_on_a_zone_down_and_full_nodes_say_both() -> None:
    reason = "Insufficient cpu; had untolerated taint {node.kubernetes.io/unreachable: }"
    assert unschedulable.summary(reason) == "some nodes are not Ready and the rest are full"
    assert unschedulable.summary("Insufficient cpu") == "not enough room on the nodes"


def test_cordoned_nodes_beside_a_spread_constraint_do_not_send_the_pods_elsewhere() -> None:
    fixes = unschedulable.fixes(["didn't match pod topology spread constraints; were unschedulable"])
    assert any("relax maxSkew" in f for f in fixes)
    assert any("the spread keeps the pods out of the other zones" in f for f in fixes)
    assert not any("go elsewhere" in f for f in fixes)
    alone = unschedulable.fixes(["were unschedulable"])
    assert any("go elsewhere" in f for f in alone), "without a spread constraint the pods may go elsewhere"


NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def _node(name: str, zone: str, ready: str) -> Node:
    reason = "KubeletReady" if ready == "True" else "KubeletNotReady"
    return Node(
        name=name, uid=name, created=NOW - timedelta(days=30), pool="default-pool", zone=zone,
        kubelet_version="v1.30.5-gke.1014001", unschedulable=False,
        conditions=(Condition("Ready", ready, reason, "", NOW - timedelta(minutes=1)),),
    )


def test_a_node_that_flapped_stays_in_its_incident_while_ready_for_a_moment() -> None:
    """Node a flapped once and is Ready for a minute; node b is down: the incident still names both."""
    settings = AlertConfig()
    marks = {
        "node:a": NOW - timedelta(minutes=9),
        "node-ready:a": NOW - timedelta(minutes=1),
        "node-flap:a:1": NOW - timedelta(minutes=5),
        "node:b": NOW - timedelta(minutes=6),
    }
    snapshot = ClusterSnapshot(
        cluster="prod", taken_at=NOW,
        nodes=(_node("a", "us-west1-a", "True"), _node("b", "us-west1-b", "False"), _node("c", "us-west1-c", "True")),
    )
    assert node_marks(snapshot, marks, settings)["node-ready:a"] == marks["node-ready:a"]
    [finding] = judge_nodes(snapshot, marks, settings).findings
    assert finding.facts["nodes"] == ["a", "b"]
    assert finding.facts["count"] == 2

"""Flapping, both ways: trouble inside its grace period is not a clean check, a brief Ready resets nothing, a flapping node is one incident.

The checks are driven with real snapshots cycle by cycle (marks carried from
one to the next as the scheduler carries them); the engine runs against the
simulated Slack. The two flapping patterns also run end to end as the
scenarios node-flapping and node-flapping-fast (tests/test_alerts_replay.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.alerts.checks import judge, next_marks
from bot.alerts.engine import IncidentEngine
from bot.alerts.snapshot import ClusterSnapshot
from bot.model.findings import NODES_NOT_READY, ZONE_NOT_READY, Finding
from bot.model.kube import Condition, Node
from bot.settings import AlertConfig
from sim.world import World
from tests.harness import incident_engine

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ALERTS = AlertConfig(channel="#alerts", notready_grace_seconds=180, recovery_seconds=600, clear_after_checks=3)
KEY = ("c", NODES_NOT_READY, "")


def node(name: str, status: str, changed: datetime, zone: str = "us-west1-a", reason: str = "", message: str = "") -> Node:
    ready = Condition("Ready", status, reason=reason, message=message, last_transition=changed)
    return Node(name=name, uid=name, created=T0 - timedelta(days=1), pool="default-pool", zone=zone,
                kubelet_version="v1.30.5-gke.1", unschedulable=False, conditions=(ready,))


class Cycles:
    """Snapshots one minute apart, with marks carried over as the scheduler carries them."""

    def __init__(self, *others: Node) -> None:
        self.marks: dict[str, datetime] = {}
        self.others = others
        self.status = "True"
        self.changed = T0 - timedelta(days=1)

    def at(self, minute: int, status: str):
        now = T0 + timedelta(minutes=minute)
        if status != self.status:
            self.status, self.changed = status, now
        reason = {"True": "KubeletReady", "False": "KubeletNotReady", "Unknown": "NodeStatusUnknown"}[status]
        snap = ClusterSnapshot(cluster="c", taken_at=now,
                               nodes=(node("flappy", status, self.changed, reason=reason, message="PLEG is not healthy"), *self.others))
        judgement = judge(snap, self.marks, ALERTS)
        self.marks = next_marks(snap, self.marks, ALERTS)
        return judgement


def healthy(name: str, zone: str = "us-west1-a") -> Node:
    return node(name, "True", T0 - timedelta(days=1), zone=zone)


def test_not_ready_inside_its_grace_period_is_not_a_clean_check():
    cycles = Cycles(healthy("a"), healthy("b"))
    judgement = cycles.at(0, "False")
    assert judgement.findings == []
    assert KEY in judgement.held, "the node is NotReady: the check is not clean, though too early to tell anyone"
    assert cycles.at(1, "False").findings == [] and KEY in cycles.at(2, "False").held
    [finding] = cycles.at(3, "False").findings
    assert finding.title == "1 node NotReady for more than 3m (KubeletNotReady)"
    assert "KubeletNotReady: PLEG is not healthy" in finding.detail and "NotReady for 3m" in finding.detail


def test_a_brief_ready_keeps_the_first_seen_mark_and_the_return_is_a_flap():
    cycles = Cycles(healthy("a"), healthy("b"))
    for minute in (0, 1):
        assert cycles.at(minute, "False").findings == []
    for minute in (2, 3):
        assert cycles.at(minute, "True").findings == []
        assert cycles.marks["node:flappy"] == T0, "a brief Ready does not reset when the trouble began"
    [finding] = cycles.at(4, "False").findings
    assert finding.since == T0
    assert finding.facts["flaps"] == 1
    assert "flapping" in finding.title and "NotReady 2 times in 4m (1 flap)" in finding.detail


@pytest.mark.parametrize(("down", "up", "repeats"), [(4, 2, 5), (2, 2, 8)])
def test_a_node_that_keeps_flapping_is_reported_without_a_gap_until_it_has_recovered(down, up, repeats):
    cycles = Cycles(healthy("a"), healthy("b"))
    minute, seen, first = 0, [], None
    for _ in range(repeats):
        for status, span in (("False", down), ("True", up)):
            for _ in range(span):
                judgement = cycles.at(minute, status)
                if judgement.findings:
                    first = minute if first is None else first
                seen.append(bool(judgement.findings) or KEY in judgement.held or KEY in judgement.settling)
                minute += 1
    assert first is not None and first <= 4, "a flapping node is never missed"
    quiet = "".join("x" if busy else "." for busy in seen[first:])
    assert "..." not in quiet, f"never clean long enough to resolve while it flaps: {quiet}"
    last = cycles.at(minute, "True")
    assert last.findings and last.findings[0].facts["flaps"] == repeats - 1
    for later in range(minute + 1, minute + 10):
        cycles.at(later, "True")
    assert cycles.at(minute + 10, "True").findings == [], "ten minutes of Ready is a recovery"
    assert not any(s.startswith("node") for s in cycles.marks)


def test_most_of_a_zone_down_is_one_zone_incident_not_a_node_list():
    others = (healthy("b1", "us-west1-b"), healthy("b2", "us-west1-b"), healthy("c1", "us-west1-c"))
    down = [node(f"a{i}", "Unknown", T0 - timedelta(minutes=5), reason="NodeStatusUnknown",
                 message="Kubelet stopped posting node status.") for i in range(3)]
    snap = ClusterSnapshot(cluster="c", taken_at=T0, nodes=(*down, healthy("a3"), *others))
    judgement = judge(snap, {}, ALERTS)
    [zone] = judgement.findings
    assert zone.kind == ZONE_NOT_READY and zone.scope == "us-west1-a" and zone.severity == "critical"
    assert zone.title == "Zone us-west1-a: 3 of 4 nodes Unknown for more than 3m"
    assert "NodeStatusUnknown: Kubelet stopped posting node status." in zone.detail
    assert KEY in judgement.held, "a node incident already open for one of them waits instead of resolving"


def test_a_long_node_list_says_how_many_more():
    many = [node(f"n{i:02}", "False", T0 - timedelta(minutes=9), zone=f"z{i}", reason="KubeletNotReady") for i in range(14)]
    snap = ClusterSnapshot(cluster="c", taken_at=T0, nodes=(*many, *(healthy(f"ok{i}", f"z{i}") for i in range(14))))
    [finding] = judge(snap, {}, ALERTS).findings
    assert finding.detail.splitlines()[-1] == "… and 4 more"
    assert finding.facts["count"] == 14


# -- the engine: held and settling keys, reopening -------------------------------------------


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[tuple[IncidentEngine, World]]:
    with incident_engine(ALERTS, tmp_path / "db.sqlite3") as made:
        yield made


def finding(world: World, severity: str = "warning", flaps: int = 0) -> Finding:
    return Finding(kind=NODES_NOT_READY, severity=severity, cluster="c", title="1 node NotReady for more than 3m",
                   since=world.clock.now(), facts={"count": 1, "nodes": ["n1"], "zones": ["z"], "flaps": flaps})


def step(engine: IncidentEngine, world: World, findings: list[Finding], **quiet) -> None:
    engine.process("c", findings, {NODES_NOT_READY}, **quiet)
    world.clock.advance(60)


def test_held_cycles_start_the_clean_count_over_and_settling_ones_cannot_resolve(engine):
    engine, world = engine
    step(engine, world, [finding(world)])
    step(engine, world, [])
    step(engine, world, [])
    step(engine, world, [], held={KEY})  # NotReady again, inside its grace period
    step(engine, world, [])
    step(engine, world, [])
    assert len(engine.store.open_incidents()) == 1
    step(engine, world, [], settling={KEY})  # clean, but the node has not been Ready long enough
    step(engine, world, [], settling={KEY})
    assert len(engine.store.open_incidents()) == 1
    step(engine, world, [])
    assert engine.store.open_incidents() == []


def test_an_incident_back_soon_after_resolving_reopens_in_its_thread_and_tells_the_channel(engine):
    engine, world = engine
    step(engine, world, [finding(world)])
    for _ in range(3):
        step(engine, world, [])
    assert engine.store.open_incidents() == []
    step(engine, world, [finding(world, flaps=1)])
    [parent] = world.slack.messages("alerts")
    [incident] = engine.store.open_incidents()
    assert parent.text.startswith("[WARNING]"), "the parent reads as open again"
    back = world.slack.thread("alerts", parent.ts)[-1]
    assert back.broadcast and "Back" in back.all_text()
    assert [e.kind for e in engine.store.events(incident.id)] == ["opened", "resolved", "reopened"]

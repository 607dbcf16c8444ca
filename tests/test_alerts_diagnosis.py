"""Capacity-aware diagnosis: "raise the pool's maximum" only when more room would place the pods.

Real snapshots of a cluster whose pools are all at their autoscaling maximum,
with pods Pending under the scheduler's own FailedScheduling wording. The
end-to-end runs are the scenarios pending-selector-taint, pending-unbound-claim
and launch-at-max (tests/test_alerts_replay.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts.checks import run_checks
from bot.alerts.snapshot import ClusterSnapshot
from bot.analysis import unschedulable
from bot.analysis.pending import normalize_reason
from bot.model.findings import AUTOSCALER_AT_MAX, PENDING_PODS
from bot.model.gke import Autoscaling, GkeCluster, NodePool
from bot.model.kube import Condition, Node, Pod
from bot.settings import AlertConfig

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ALERTS = AlertConfig(pending_grace_seconds=300)
ZONES = ("us-west1-a", "us-west1-b", "us-west1-c")

SELECTOR_AND_TAINT = (
    "0/6 nodes are available: 3 node(s) didn't match Pod's node affinity/selector, 3 node(s) had untolerated taint "
    "{dedicated: gpu}. preemption: 0/6 nodes are available: 6 Preemption is not helpful for scheduling."
)
UNBOUND = (
    "0/6 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/6 nodes are available: "
    "6 Preemption is not helpful for scheduling."
)
NO_ROOM = (
    "0/6 nodes are available: 3 Insufficient cpu, 3 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/6 "
    "nodes are available: 3 No preemption victims found for incoming pod, 3 Preemption is not helpful for scheduling."
)


def pool(name: str) -> NodePool:
    return NodePool(
        name=name, locations=ZONES, version="1.30.5-gke.1", status="RUNNING", machine_type="e2-standard-4",
        autoscaling=Autoscaling(enabled=True, min_nodes=1, max_nodes=1), initial_node_count=1,
        instance_groups=(),
    )


def snapshot(*messages: str) -> ClusterSnapshot:
    nodes = tuple(
        Node(name=f"{p}-{z[-1]}", uid=f"{p}-{z}", created=NOW - timedelta(days=3), pool=p, zone=z,
             kubelet_version="v1.30.5-gke.1", unschedulable=False,
             conditions=(Condition("Ready", "True", last_transition=NOW - timedelta(days=3)),))
        for p in ("default-pool", "gpu-pool") for z in ZONES
    )
    pods = tuple(
        Pod(namespace="ml", name=f"trainer-{i}", uid=f"t{i}", phase="Pending", node_name="",
            created=NOW - timedelta(minutes=12), owner_kind="ReplicaSet",
            conditions=(Condition("PodScheduled", "False", reason="Unschedulable", message=message,
                                  last_transition=NOW - timedelta(minutes=12)),))
        for i, message in enumerate(messages)
    )
    gke = GkeCluster(
        project="p", name="shop-prod", location="us-west1", locations=ZONES, status="RUNNING", status_message="",
        master_version="1.30.5-gke.1", node_version="1.30.5-gke.1", release_channel="REGULAR",
        maintenance_window="", endpoint="10.0.0.1", node_pools=(pool("default-pool"), pool("gpu-pool")),
    )
    return ClusterSnapshot(cluster="shop-prod", taken_at=NOW, is_gke=True, gke=gke, nodes=nodes, pending_pods=pods)


def by_kind(findings):
    return {f.kind: f for f in findings}


def test_pods_that_select_a_tainted_pool_are_told_to_tolerate_it_not_to_grow_the_pool():
    found = by_kind(run_checks(snapshot(SELECTOR_AND_TAINT, SELECTOR_AND_TAINT), {}, ALERTS))
    assert AUTOSCALER_AT_MAX not in found, "no new node could take them: the pool's maximum is not the cause"
    pending = found[PENDING_PODS]
    assert pending.detail.startswith("2 × didn't match Pod's node affinity/selector; had untolerated taint {dedicated: gpu}")
    assert "toleration" in pending.fix and "nodeSelector" in pending.fix
    assert "maximum" not in pending.fix and "room" not in pending.title
    assert pending.facts["short_of_room"] is False


def test_pods_waiting_for_their_claim_are_told_to_bind_it():
    found = by_kind(run_checks(snapshot(UNBOUND), {}, ALERTS))
    assert AUTOSCALER_AT_MAX not in found
    pending = found[PENDING_PODS]
    assert "pod has unbound immediate PersistentVolumeClaims" in pending.detail
    assert "PersistentVolumeClaim is not bound" in pending.title
    assert "bind it" in pending.fix and "maximum" not in pending.fix


def test_a_shortage_of_room_at_the_maximum_names_the_pool_and_raising_it():
    found = by_kind(run_checks(snapshot(NO_ROOM, SELECTOR_AND_TAINT), {}, ALERTS))
    at_max = [f for f in run_checks(snapshot(NO_ROOM), {}, ALERTS) if f.kind == AUTOSCALER_AT_MAX]
    assert {f.scope for f in at_max} == {"default-pool", "gpu-pool"}
    assert "Raise the pool's maximum" in at_max[0].fix
    pending = found[PENDING_PODS]
    assert pending.facts["short_of_room"] is True
    assert "raise the pool's maximum" in pending.fix and "toleration" in pending.fix, "each cause gets its own fix"


@pytest.mark.parametrize(
    ("message", "kinds"),
    [
        (SELECTOR_AND_TAINT, ["selector", "taint"]),
        (UNBOUND, ["volume"]),
        (NO_ROOM, ["capacity", "taint"]),
        ("0/3 nodes are available: 3 Too many pods.", ["capacity"]),
        ("0/4 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 3 Insufficient memory.",
         ["capacity", "not-ready"]),
        ("0/3 nodes are available: 3 node(s) were unschedulable.", ["cordoned"]),
        ("0/3 nodes are available: 3 node(s) didn't have free ports for the requested pod ports.", ["ports"]),
        ("0/3 nodes are available: 1 node(s) had volume node affinity conflict, 2 Insufficient cpu.", ["capacity", "volume"]),
        ("0/3 nodes are available: 3 node(s) didn't match pod topology spread constraints.", ["spread"]),
        ("0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.", ["affinity"]),
    ],
)
def test_each_objection_of_the_scheduler_has_its_cause(message, kinds):
    assert [c.kind for c in unschedulable.causes(normalize_reason(message))] == kinds


def test_pods_waiting_inside_the_grace_period_hold_the_incident_open_only_once_past_half_of_it():
    from dataclasses import replace

    from bot.alerts.checks import judge

    base = snapshot(NO_ROOM)
    [pod] = base.pending_pods
    key = ("shop-prod", PENDING_PODS, "")

    def waiting(seconds: int):
        since = NOW - timedelta(seconds=seconds)
        condition = replace(pod.conditions[0], last_transition=since)
        return judge(replace(base, pending_pods=(replace(pod, created=since, conditions=(condition,)),)), {}, ALERTS)

    assert key not in waiting(30).held, "a pod that has just been created does not keep an incident from resolving"
    middle = waiting(200)
    assert key in middle.held, "past half the grace period it is the same trouble, not yet worth telling"
    assert PENDING_PODS not in by_kind(middle.findings)
    assert PENDING_PODS in by_kind(waiting(400).findings)

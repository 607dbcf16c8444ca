"""Why pods are not running, and pending pods grouped by the scheduler's reason."""

from __future__ import annotations

from bot.analysis.pending import group_pending, normalize_reason, pod_problem
from tests.fakes import make_event, make_pod, shortfall_events, shortfall_pods


def test_scheduler_message_is_reduced_to_its_objections() -> None:
    assert normalize_reason("0/3 nodes are available: 3 Insufficient cpu.") == "Insufficient cpu"
    mixed = (
        "0/5 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, "
        "4 Insufficient memory. preemption: 0/5 nodes are available: 5 No preemption victims found."
    )
    assert normalize_reason(mixed) == "Insufficient memory; had untolerated taint {node.kubernetes.io/not-ready: }"
    assert normalize_reason("") == "Pending"


def test_pending_pods_group_by_reason_whatever_the_node_counts() -> None:
    pods = shortfall_pods() + [make_pod("shop", "web-9", phase="Pending", unschedulable_message="0/3 nodes are available: 3 Insufficient cpu.")]
    groups = group_pending(pods, shortfall_events())
    assert [(g.reason, len(g.pods)) for g in groups] == [("Insufficient cpu", 4)]
    assert "max node group size reached" in groups[0].autoscaler


def test_latest_autoscaler_event_wins() -> None:
    pod = make_pod("shop", "a-1", phase="Pending", unschedulable_message="0/1 nodes are available: 1 Insufficient cpu.")
    events = [
        make_event("Pod", "shop", "a-1", "TriggeredScaleUp", "pod triggered scale-up: [{pool 1->2 (max: 3)}]", minutes_ago=10),
        make_event("Pod", "shop", "a-1", "FailedScaleUp", "Node scale up in zones us-west1-b failed", minutes_ago=2),
    ]
    assert group_pending([pod], events)[0].autoscaler == "Node scale up in zones us-west1-b failed"
    assert group_pending([pod], [])[0].autoscaler == ""


def test_pod_problem_names_each_kind_of_trouble() -> None:
    assert pod_problem(make_pod("a", "p", phase="Pending", unschedulable_message="x")) == "Unschedulable"
    assert pod_problem(make_pod("a", "p", waiting="CrashLoopBackOff", restarts=3)) == "CrashLoopBackOff"
    assert pod_problem(make_pod("a", "p", phase="Pending", waiting="ImagePullBackOff")) == "ImagePullBackOff"
    assert pod_problem(make_pod("a", "p", phase="Failed", reason="Evicted")) == "Evicted"
    assert pod_problem(make_pod("a", "p", restarts=1, last_reason="OOMKilled")) == "OOMKilled"
    assert pod_problem(make_pod("a", "p", restarts=6)) == "HighRestarts"
    assert pod_problem(make_pod("a", "p", restarts=6), restart_threshold=10) is None
    assert pod_problem(make_pod("a", "p", phase="Failed")) == "Failed"
    assert pod_problem(make_pod("a", "p")) is None
    assert pod_problem(make_pod("a", "p", phase="Succeeded")) is None

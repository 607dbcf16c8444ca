"""Node counts per zone and pool, version skew, and conditions in trouble."""

from __future__ import annotations

from bot.analysis.nodes import count_nodes, minors_behind, node_problems, total_counts, version_skew
from bot.model.kube import Condition
from tests.fakes import make_node


def test_counts_per_zone_and_pool() -> None:
    nodes = [
        make_node("a1", "us-west1-a"),
        make_node("a2", "us-west1-a", ready="False", cordoned=True),
        make_node("b1", "us-west1-b", ready="Unknown"),
    ]
    rows = count_nodes(nodes)
    a = next(r for r in rows if r.zone == "us-west1-a")
    assert (a.total, a.ready, a.not_ready, a.cordoned) == (2, 1, 1, 1)
    assert next(r for r in rows if r.zone == "us-west1-b").unknown == 1
    assert total_counts(rows).total == 3


def test_skew_is_counted_in_minor_versions() -> None:
    nodes = [make_node("n1", version="v1.28.9-gke.1"), make_node("n2", version="v1.30.5-gke.1014001")]
    skew = version_skew(nodes, "1.30.5-gke.1014001")
    assert (skew[0].version, skew[0].minors_behind) == ("v1.28.9-gke.1", 2)
    assert minors_behind("garbage", "1.30") is None


def test_false_problem_detector_conditions_are_healthy() -> None:
    healthy = make_node("ok")  # carries KernelDeadlock=False and MemoryPressure=False
    sick = make_node("bad", extra_conditions=(Condition("DiskPressure", "True", "KubeletHasDiskPressure", "disk full"),))
    not_ready = make_node("gone", ready="Unknown")
    problems = node_problems([healthy, sick, not_ready])
    assert {(p.node, p.condition) for p in problems} == {("bad", "DiskPressure"), ("gone", "Ready")}

"""Checks on hand-built snapshots: the zonal-shortfall shape, upgrades, grace periods."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.alerts.checks import checked_kinds, next_marks, run_checks
from bot.alerts.snapshot import ClusterSnapshot
from bot.model.findings import (
    AUTOSCALER_AT_MAX,
    CONTROL_PLANE_UNREACHABLE,
    MASTER_UPGRADE,
    NODE_POOL_UPGRADE,
    NODES_NOT_READY,
    PENDING_PODS,
    UNREGISTERED_VMS,
)
from bot.model.gke import Autoscaling, GkeCluster, ManagedVm, NodePool, Operation
from bot.model.kube import Condition, DisruptionBudget, Node, Pod, Taint
from bot.settings import AlertConfig

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ALERTS = AlertConfig(pending_grace_seconds=300, notready_grace_seconds=180, unregistered_grace_seconds=600)
ZONES = ("us-west1-a", "us-west1-b", "us-west1-c")


def pool(name: str = "default-pool", version: str = "1.30.5-gke.1") -> NodePool:
    return NodePool(
        name=name, locations=ZONES, version=version, status="RUNNING", machine_type="e2-standard-4",
        autoscaling=Autoscaling(enabled=True, min_nodes=1, max_nodes=1), initial_node_count=1,
        instance_groups=tuple(f"https://compute/zones/{z}/instanceGroupManagers/gke-{name}-{z[-1]}" for z in ZONES),
    )


def gke(location: str = "us-west1-a", pools: tuple[NodePool, ...] = ()) -> GkeCluster:
    return GkeCluster(
        project="p", name="shop-prod", location=location, locations=ZONES, status="RUNNING", status_message="",
        master_version="1.30.5-gke.1", node_version="1.30.5-gke.1", release_channel="REGULAR",
        maintenance_window="", endpoint="10.0.0.1", node_pools=pools or (pool(),),
    )


def node(name: str, zone: str = "us-west1-a", ready: str = "True", since: datetime | None = None, **kw) -> Node:
    condition = Condition("Ready", ready, last_transition=since or NOW - timedelta(hours=2))
    return Node(name=name, uid=name, created=NOW - timedelta(hours=2), pool=kw.pop("pool", "default-pool"), zone=zone,
                kubelet_version=kw.pop("version", "v1.30.5-gke.1"), unschedulable=kw.pop("unschedulable", False),
                conditions=(condition,), **kw)


def vm(name: str, zone: str, age: timedelta = timedelta(hours=2)) -> ManagedVm:
    return ManagedVm(name=name, zone=zone, instance_group=f"gke-default-pool-{zone[-1]}", status="RUNNING",
                     current_action="NONE", created=NOW - age)


def pending_pod(name: str, waited: timedelta) -> Pod:
    scheduled = Condition("PodScheduled", "False", reason="Unschedulable",
                          message="0/3 nodes are available: 3 Insufficient cpu.", last_transition=NOW - waited)
    return Pod(namespace="shop", name=name, uid=name, phase="Pending", node_name="", created=NOW - waited,
               owner_kind="ReplicaSet", conditions=(scheduled,))


def upgrade(op_type: str, status: str = "RUNNING", **kw) -> Operation:
    return Operation(name=kw.pop("name", "op-1"), type=op_type, status=status, location="us-west1-a",
                     target=kw.pop("target", "projects/p/zones/us-west1-a/clusters/shop-prod"),
                     started=kw.pop("started", NOW - timedelta(minutes=10)), ended=kw.pop("ended", None), **kw)


def zonal_shortfall(**changes) -> ClusterSnapshot:
    base = ClusterSnapshot(
        cluster="shop-prod", taken_at=NOW, is_gke=True, gke=gke(),
        nodes=(node("gke-a-1"),),
        vms=(vm("gke-a-1", "us-west1-a"), vm("gke-b-1", "us-west1-b"), vm("gke-c-1", "us-west1-c")),
        pending_pods=tuple(pending_pod(f"web-{i}", timedelta(minutes=20)) for i in range(4)),
    )
    return replace(base, **changes)


def kinds(findings) -> list[str]:
    return sorted(f.kind for f in findings)


def test_zonal_shortfall_names_zones_b_and_c_with_their_vms():
    findings = run_checks(zonal_shortfall(), {}, ALERTS)
    vms = next(f for f in findings if f.kind == UNREGISTERED_VMS)
    assert vms.scope == "default-pool"
    assert vms.facts["zones"] == ["us-west1-b", "us-west1-c"]
    assert vms.facts["vms"] == ["gke-b-1", "gke-c-1"]
    assert "zonal" in vms.detail
    pending = next(f for f in findings if f.kind == PENDING_PODS)
    assert pending.facts["count"] == 4
    assert pending.facts["reasons"] == ["Insufficient cpu"]
    assert AUTOSCALER_AT_MAX in kinds(findings)


def test_grace_periods_hold_findings_back():
    young = zonal_shortfall(
        vms=(vm("gke-a-1", "us-west1-a"), vm("gke-b-1", "us-west1-b", age=timedelta(minutes=5))),
        pending_pods=(pending_pod("web-0", timedelta(minutes=2)),),
    )
    assert run_checks(young, {}, ALERTS) == []


def test_first_seen_marks_survive_and_drive_the_grace_period():
    never_seen_time = Node(name="n1", uid="n1", created=None, pool="default-pool", zone="us-west1-a",
                           kubelet_version="v1", unschedulable=False, conditions=(Condition("Ready", "Unknown"),))
    snap = ClusterSnapshot(cluster="c", taken_at=NOW, nodes=(never_seen_time,))
    marks = next_marks(snap, {})
    assert marks == {"node:n1": NOW}
    assert run_checks(snap, marks, ALERTS) == []
    later = replace(snap, taken_at=NOW + timedelta(minutes=4))
    marks = next_marks(later, marks)
    assert marks["node:n1"] == NOW, "the first sighting is kept, not refreshed"
    assert kinds(run_checks(later, marks, ALERTS)) == [NODES_NOT_READY]


def test_not_ready_skips_cordoned_deleting_and_autoscaler_nodes():
    old = NOW - timedelta(hours=1)
    snap = ClusterSnapshot(cluster="c", taken_at=NOW, nodes=(
        node("down", ready="False", since=old),
        node("cordoned", ready="False", since=old, unschedulable=True),
        node("scaledown", ready="Unknown", since=old, taints=(Taint("ToBeDeletedByClusterAutoscaler", "NoSchedule"),)),
    ))
    [finding] = run_checks(snap, {}, ALERTS)
    assert finding.facts["nodes"] == ["down"]


def test_master_upgrade_on_zonal_cluster_says_the_api_is_down_and_pauses_shortfall():
    snap = zonal_shortfall(
        kube_error="Kubernetes API answered 503", nodes=(), pending_pods=(),
        operations=(upgrade("UPGRADE_MASTER", detail="Upgrading to 1.31.1-gke.1146000"),),
    )
    findings = run_checks(snap, {"unreachable": NOW - timedelta(minutes=10)}, ALERTS)
    assert kinds(findings) == [MASTER_UPGRADE], "no stale shortfall, no second unreachable incident"
    [master] = findings
    assert "zonal" in master.title and "unavailable" in master.detail
    assert master.facts["to"] == "1.31.1-gke.1146000"
    assert UNREGISTERED_VMS not in checked_kinds(snap) and PENDING_PODS not in checked_kinds(snap)


def test_master_upgrade_on_regional_cluster_keeps_the_api():
    snap = zonal_shortfall(gke=gke(location="us-west1"), operations=(upgrade("UPGRADE_MASTER"),))
    master = next(f for f in run_checks(snap, {}, ALERTS) if f.kind == MASTER_UPGRADE)
    assert "stays available" in master.detail
    assert master.severity == "info"
    assert PENDING_PODS in checked_kinds(snap)


def test_finished_and_failed_master_upgrades():
    done = upgrade("UPGRADE_MASTER", status="DONE", ended=NOW - timedelta(minutes=2), started=NOW - timedelta(minutes=22))
    [finding] = [f for f in run_checks(zonal_shortfall(operations=(done,)), {}, ALERTS) if f.kind == MASTER_UPGRADE]
    assert finding.facts["status"] == "DONE" and "20m" in finding.title
    broken = replace(done, error="etcd unhealthy")
    [finding] = [f for f in run_checks(zonal_shortfall(operations=(broken,)), {}, ALERTS) if f.kind == MASTER_UPGRADE]
    assert finding.severity == "critical" and finding.facts["status"] == "FAILED"


def test_not_ready_nodes_of_an_upgrading_pool_belong_to_the_upgrade():
    op = upgrade("UPGRADE_NODES", target="projects/p/zones/us-west1-a/clusters/shop-prod/nodePools/default-pool",
                 detail="upgrading to 1.31.1-gke.1")
    snap = ClusterSnapshot(cluster="c", taken_at=NOW, is_gke=True, gke=gke(location="us-west1"), operations=(op,), nodes=(
        node("n1", version="v1.31.1-gke.1"),
        node("n2", ready="False", since=NOW - timedelta(hours=1)),
    ))
    findings = run_checks(snap, {}, ALERTS)
    assert kinds(findings) == [NODE_POOL_UPGRADE]
    assert findings[0].facts["nodes"] == ["n2"]
    assert "1/2" in findings[0].title


def test_stalled_upgrade_names_its_blockers():
    """The budgets that hold a pod on a node being drained, and bare pods; not a budget at zero elsewhere."""
    op = upgrade("UPGRADE_NODES", target="projects/p/zones/us-west1-a/clusters/shop-prod/nodePools/default-pool",
                 detail="to 1.31.1-gke.1")
    draining = node("n1", unschedulable=True)
    bare = Pod(namespace="ops", name="debug", uid="d", phase="Running", node_name="n1", created=NOW, owner_kind="")
    web = Pod(namespace="shop", name="web-1", uid="w", phase="Running", node_name="n1", created=NOW,
              owner_kind="ReplicaSet", labels={"app": "web"})
    snap = ClusterSnapshot(
        cluster="c", taken_at=NOW, is_gke=True, gke=gke(location="us-west1"), operations=(op,), nodes=(draining,),
        disruption_budgets=(
            DisruptionBudget("shop", "web", 0, 2, 2, 2, match_labels={"app": "web"}),
            DisruptionBudget("data", "queue", 0, 1, 1, 1, match_labels={"app": "queue"}),  # its pods are elsewhere
        ),
        draining_pods=(bare, web),
    )
    marks = {"progress:op-1:0": NOW - timedelta(hours=1)}
    [finding] = run_checks(snap, marks, ALERTS)
    assert finding.facts["status"] == "STALLED"
    assert any("shop/web allows 0" in b and "holding shop/web-1 on n1" in b for b in finding.facts["blockers"])
    assert any("ops/debug" in b for b in finding.facts["blockers"])
    assert not any("data/queue" in b for b in finding.facts["blockers"])
    assert "relax PodDisruptionBudget shop/web" in finding.fix and "bare pods" in finding.fix


def test_unreachable_control_plane_waits_one_cycle_and_says_why():
    snap = ClusterSnapshot(cluster="c", taken_at=NOW, kube_error="timed out", is_gke=True,
                           gke=gke(location="us-west1"), operations=(upgrade("REPAIR_CLUSTER"),))
    assert run_checks(snap, next_marks(snap, {}), ALERTS) == []
    [finding] = run_checks(snap, {"unreachable": NOW - timedelta(minutes=3)}, ALERTS)
    assert finding.kind == CONTROL_PLANE_UNREACHABLE
    assert "REPAIR_CLUSTER" in finding.detail
    assert checked_kinds(snap) == {CONTROL_PLANE_UNREACHABLE, MASTER_UPGRADE, NODE_POOL_UPGRADE}

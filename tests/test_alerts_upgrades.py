"""Upgrades: a failure says so with GKE's own words and a fix that fits; progress as GKE reports it; a healthy one is one quiet message.

Checks on real snapshots and the parent message they render to; the
scenarios regional-upgrade, master-upgrade-fails, master-upgrade-aborts and
node-pool-upgrade replay the same through the bot (tests/test_alerts_replay.py).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.alerts import render
from bot.alerts.checks import run_checks
from bot.alerts.snapshot import ClusterSnapshot
from bot.model.findings import MASTER_UPGRADE, NODE_POOL_UPGRADE
from bot.model.gke import Autoscaling, GkeCluster, NodePool, Operation
from bot.settings import AlertConfig

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ALERTS = AlertConfig()
ZONES = ("us-west1-a", "us-west1-b", "us-west1-c")
CLUSTER = "projects/p/locations/us-west1/clusters/shop-prod"


def gke(location: str = "us-west1") -> GkeCluster:
    pool = NodePool(name="default-pool", locations=ZONES, version="1.30.5-gke.1", status="RUNNING",
                    machine_type="e2-standard-4", autoscaling=Autoscaling(enabled=False), initial_node_count=1,
                    instance_groups=())
    return GkeCluster(project="p", name="shop-prod", location=location, locations=ZONES, status="RUNNING",
                      status_message="", master_version="1.30.5-gke.1", node_version="1.30.5-gke.1",
                      release_channel="REGULAR", maintenance_window="", endpoint="10.0.0.1", node_pools=(pool,))


def master(status: str = "RUNNING", percent: int = 40, **kw) -> Operation:
    return Operation(name="operation-1", type="UPGRADE_MASTER", status=status, location="us-west1", target=CLUSTER,
                     started=NOW - timedelta(minutes=20), ended=kw.pop("ended", None),
                     detail="Upgrading control plane from 1.30.5-gke.1 to 1.31.1-gke.2",
                     progress={"PERCENT_DONE": percent}, **kw)


def one(kind: str, *operations: Operation, location: str = "us-west1"):
    snap = ClusterSnapshot(cluster="shop-prod", taken_at=NOW, is_gke=True, gke=gke(location), operations=operations)
    [finding] = [f for f in run_checks(snap, {}, ALERTS) if f.kind == kind]
    return finding


def test_a_failed_control_plane_upgrade_says_failed_with_gkes_error_and_status_message():
    done = master("DONE", 100, ended=NOW - timedelta(minutes=1), error="etcd member did not become healthy",
                  status_message="Upgrade failed; the control plane stays on 1.30.5-gke.1.")
    finding = one(MASTER_UPGRADE, done)
    assert finding.severity == "critical" and finding.facts["status"] == "FAILED"
    assert finding.title == "Control-plane upgrade to 1.31.1-gke.2 failed"
    assert "GKE's error: etcd member did not become healthy" in finding.detail
    assert "GKE's status message: Upgrade failed; the control plane stays on 1.30.5-gke.1." in finding.detail
    assert "regional" not in finding.fix.lower(), "the fix fits a failure, not the cluster's shape"
    assert "gcloud container clusters upgrade shop-prod --master --cluster-version 1.31.1-gke.2" in finding.fix
    assert finding.facts["once"] and not finding.facts["final"], "it stays until someone resolves it, then stays resolved"


def test_the_same_sentence_from_gke_is_said_once():
    done = master("DONE", 100, ended=NOW, error="Upgrade failed.", status_message="Upgrade failed.")
    assert one(MASTER_UPGRADE, done).detail.count("Upgrade failed.") == 1


def test_an_aborting_upgrade_reads_as_rolling_back():
    aborting = master("ABORTING", 60, error="kube-apiserver did not become ready",
                      status_message="Rolling back the control plane.")
    finding = one(MASTER_UPGRADE, aborting, location="us-west1-a")
    assert finding.severity == "critical"
    assert finding.title.startswith("Control-plane upgrade to 1.31.1-gke.2 failed: GKE is rolling it back")
    assert "rolling back, 60%" in finding.detail and "Rolling back the control plane." in finding.detail
    assert "wait for the rollback to end" in finding.fix and "regional" not in finding.fix.lower()


def test_progress_is_what_gke_reports_in_the_parent_and_in_the_thread():
    finding = one(MASTER_UPGRADE, master(percent=37))
    assert finding.facts["progress"] == "37%", "not rounded to a step: the thread says what the parent says"
    assert "running, 37%" in finding.detail


def test_a_healthy_regional_upgrade_is_one_informational_message_without_buttons():
    finding = one(MASTER_UPGRADE, master())
    assert finding.severity == "info"
    state = render.IncidentState(id=1, cluster="shop-prod", kind=finding.kind, scope=finding.scope,
                                 severity=finding.severity, title=finding.title, detail=finding.detail,
                                 fix=finding.fix, since=NOW, facts=finding.facts, status="open")
    _, blocks = render.parent_message(state, NOW)
    actions = [e["action_id"] for b in blocks if b.to_dict()["type"] == "actions" for e in b.to_dict()["elements"]]
    assert not {render.ACK_ACTION, render.RESOLVE_ACTION, render.MUTE_ACTION} & set(actions)
    worse = replace(state, severity="critical", peak_severity="critical")
    _, blocks = render.parent_message(worse, NOW)
    assert render.ACK_ACTION in str([b.to_dict() for b in blocks]), "once it matters, people can act on it"
    ended = replace(state, status="resolved", resolved_at=NOW, severity="warning")
    text, blocks = render.parent_message(ended, NOW)
    assert text.startswith("[RESOLVED]") and "*RESOLVED*" in str(blocks[0].to_dict()) and "WARNING" not in str(blocks[0].to_dict())


def test_a_node_pool_upgrade_that_gke_finished_ends_as_finished():
    pool_op = Operation(name="operation-2", type="UPGRADE_NODES", status="DONE", location="us-west1",
                        target=f"{CLUSTER}/nodePools/default-pool", started=NOW - timedelta(minutes=25),
                        ended=NOW - timedelta(minutes=1), detail="Upgrading node pool default-pool to 1.31.1-gke.2",
                        progress={"PERCENT_DONE": 100})
    finding = one(NODE_POOL_UPGRADE, pool_op)
    assert finding.title == "Node pool default-pool upgrade to 1.31.1-gke.2 finished after 24m"
    assert finding.facts["final"], "a finished operation resolves its incident at once, as finished"
    failed = one(NODE_POOL_UPGRADE, replace(pool_op, error="3 nodes failed to drain"))
    assert failed.severity == "critical" and "failed after 24m" in failed.title
    assert "GKE's error: 3 nodes failed to drain" in failed.detail and failed.facts["once"]

"""Evidence gathering and rendering, one kind of incident at a time, against the in-memory readers.

The end-to-end tests (``test_e2e_evidence``) show the evidence arriving in
Slack from the simulated world; these pin down what each gatherer reads,
that whatever it could not read is named in one line, that a slow read is
cut off by the budget, and that the reply stays within Slack's limits with
the rest in a file.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

from bot.alerts.evidence import Evidence, Excerpt, Part, Reads
from bot.alerts.evidence_gatherers import autoscaler_decision, eviction_lines, gather, workload_of
from bot.alerts.evidence_render import evidence_markdown, evidence_reply
from bot.alerts.store import Incident
from bot.blocks import limit_violations
from bot.errors import Unreachable
from bot.model.findings import (
    MASTER_UPGRADE,
    NODE_POOL_UPGRADE,
    NODES_NOT_READY,
    PENDING_PODS,
    UNREGISTERED_VMS,
)
from bot.model.gke import Operation
from bot.model.kube import Condition, DisruptionBudget, Taint, Toleration
from bot.model.logs import LogLine
from tests.fakes import (
    NOW,
    FakeCompute,
    FakeGke,
    FakeKube,
    FakeLogs,
    make_cluster,
    make_node,
    make_pod,
    shortfall_handle,
    shortfall_vms,
)

VM_B = "gke-shop-prod-default-pool-3c4d-y1"
VM_C = "gke-shop-prod-default-pool-5e6f-z1"


def incident(kind: str, *, scope: str = "", facts: dict | None = None, severity: str = "critical") -> Incident:
    return Incident(
        id=7, cluster="prod", kind=kind, scope=scope, status="open", severity=severity, title="t", detail="", fix="",
        since=NOW, opened_at=NOW, channel="C1", rendered_facts=facts or {}, posted_facts={}, clean_checks=0,
        parent_requested=True, parent_ts="1.1",
    )


def unregistered() -> Incident:
    vms = ["gke-shop-prod-default-pool-3c4d-y1", "gke-shop-prod-default-pool-3c4d-y2", VM_C]
    return incident(UNREGISTERED_VMS, scope="default-pool", facts={"vms": vms, "zones": ["us-west1-b", "us-west1-c"]})


def console(vm: str) -> str:
    return "".join(f"Nov 05 11:{m:02d}:00 {vm} kube-proxy[991]: E1105 failed {m}\r\n" for m in range(30))


def test_unregistered_vms_evidence_reads_one_vm_per_zone_with_its_errors_console_and_ssh_line() -> None:
    logs = FakeLogs([LogLine(NOW, "ERROR", '"Failed to retrieve node info" err="nodes not found"', "vm/kube-proxy")])
    compute = FakeCompute(shortfall_vms(), consoles={VM_B: console(VM_B), VM_C: console(VM_C)})
    handle = shortfall_handle(compute=compute, logs=logs)
    handle.recent_vms = tuple(shortfall_vms())

    evidence = gather(handle, unregistered(), NOW)

    assert evidence is not None
    assert [p.title for p in evidence.parts] == [f"VM {VM_B} (us-west1-b)", f"VM {VM_C} (us-west1-c)"]
    assert evidence.unread == ()
    first = evidence.parts[0]
    assert any("Running for 2h 0m" in f for f in first.facts)
    assert any("RUNNING, current action NONE" in f for f in first.facts)
    assert first.command == f"gcloud compute ssh {VM_B} --zone us-west1-b --project shop-project --tunnel-through-iap"
    labels = [e.label for e in first.excerpts]
    assert labels[0].startswith("kube-proxy errors") and labels[1].startswith("kubelet errors")
    assert first.excerpts[2].lines[-1].endswith("failed 29"), "the console's newest lines"
    asked = [(q.node, q.component, q.min_severity) for q in logs.queries]
    assert (VM_B, "kube-proxy", "ERROR") in asked and (VM_C, "kubelet", "ERROR") in asked
    assert "gke-shop-prod-default-pool-3c4d-y2" not in {q.node for q in logs.queries}, "one VM per zone"
    assert [link.label for link in evidence.links] == ["Logs Explorer: kube-proxy and kubelet of all 3 VMs"]


def test_what_could_not_be_read_is_named_never_missing() -> None:
    class DownLogs(FakeLogs):
        def query(self, query):
            raise Unreachable("The Cloud Logging API answered 503.", service="logging", reason="503")

    compute = FakeCompute(shortfall_vms(), consoles={VM_B: console(VM_B)})  # c's console: 404
    handle = shortfall_handle(compute=compute, logs=DownLogs())
    handle.recent_vms = tuple(shortfall_vms())

    evidence = gather(handle, unregistered(), NOW)

    assert evidence is not None
    assert f"kube-proxy errors of {VM_B}: The Cloud Logging API answered 503." in evidence.unread
    assert any(u.startswith(f"serial port output of {VM_C}: VM {VM_C} in us-west1-c was not found") for u in evidence.unread)
    reply = evidence_reply(evidence)
    notes = [b.to_dict() for b in reply.blocks if b.type == "context"]
    [unread] = [n for n in notes if "Could not read" in str(n)]
    assert "serial port output of" in str(unread) and "kubelet errors of" in str(unread)

    handle.logs = None
    assert "kube-proxy and kubelet errors: Cloud Logging is not configured for this cluster" in gather(handle, unregistered(), NOW).unread


def test_a_read_slower_than_the_budget_is_named_and_the_rest_is_kept() -> None:
    class SlowCompute(FakeCompute):
        def serial_port_tail(self, zone, name, *, max_bytes=16384):
            time.sleep(2)
            return super().serial_port_tail(zone, name)

    compute = SlowCompute(shortfall_vms(), consoles={VM_B: "x", VM_C: "y"})
    handle = shortfall_handle(compute=compute)
    handle.recent_vms = tuple(shortfall_vms())
    started = time.monotonic()
    evidence = gather(handle, unregistered(), NOW, budget_seconds=0.3)
    assert time.monotonic() - started < 1.5, "the gathering does not wait for the slow reads"
    assert evidence is not None
    assert f"serial port output of {VM_B}: no answer within the 0.3 s budget" in evidence.unread
    assert all(p.excerpts[0].label.startswith("kube-proxy errors") for p in evidence.parts), "the logs were read"


def test_pending_pods_evidence_groups_the_scheduler_messages_and_names_the_workloads() -> None:
    logs = FakeLogs([LogLine(NOW, "DEFAULT", '{"noDecisionStatus": {"noScaleUp": {"unhandledPodGroups": [{"podGroup": {"totalPodCount": 3}, "rejectedMigs": [{"mig": {"name": "g"}, "reason": {"messageId": "no.scale.up.mig.failing.predicate"}}]}]}}}')])
    handle = shortfall_handle(logs=logs)
    evidence = gather(handle, incident(PENDING_PODS, severity="warning"), NOW)
    assert evidence is not None
    titles = [p.title for p in evidence.parts]
    assert titles[0] == "3 × Insufficient cpu"
    assert "0/1 nodes are available: 1 Insufficient cpu." in evidence.parts[0].excerpts[0].lines[0]
    decisions = evidence.parts[titles.index("The autoscaler's last decisions")]
    assert any("NotTriggerScaleUp" in f and "max node group size reached" in f for f in decisions.facts)
    assert decisions.excerpts[0].lines[0].endswith("no scale-up for 3 pods: no.scale.up.mig.failing.predicate")
    workloads = evidence.parts[titles.index("Workloads waiting for these pods")].facts
    assert "Deployment shop/checkout: 2 desired, 0 ready, 0 available; 2 pods pending" in workloads
    assert [q.target for q in logs.queries] == ["autoscaler"]


def test_autoscaler_decisions_are_told_in_one_line() -> None:
    assert autoscaler_decision('{"decision": {"scaleUp": {"increasedMigs": [{"mig": {"name": "grp-b"}, "requestedNodes": 2}]}}}') == "scale-up: grp-b +2"
    assert autoscaler_decision('{"noDecisionStatus": {"noScaleDown": {"reason": {"messageId": "no.scale.down.in.backoff"}}}}') == "no scale-down: no.scale.down.in.backoff"
    assert autoscaler_decision("plain text") == "plain text"


def test_a_replica_set_pod_belongs_to_its_deployment() -> None:
    pod = replace(make_pod("shop", "web-7c9d-x"), owner_name="web-frontend-7c9d", labels={"pod-template-hash": "7c9d"})
    assert workload_of(pod) == ("Deployment", "web-frontend")
    assert workload_of(replace(pod, owner_kind="StatefulSet", owner_name="db")) == ("StatefulSet", "db")
    assert workload_of(replace(pod, owner_kind="")) is None


def test_notready_evidence_names_conditions_errors_and_when_each_pod_is_evicted() -> None:
    down = replace(
        make_node("n1", ready="False"),
        conditions=(
            Condition("Ready", "False", "KubeletNotReady", "PLEG is not healthy", NOW - timedelta(minutes=4)),
            Condition("MemoryPressure", "False", "KubeletHasSufficientMemory"),
        ),
        taints=(Taint("node.kubernetes.io/not-ready", "NoExecute", time_added=NOW - timedelta(minutes=4)),),
    )
    default = (
        Toleration("node.kubernetes.io/not-ready", "Exists", effect="NoExecute", seconds=300),
        Toleration("node.kubernetes.io/unreachable", "Exists", effect="NoExecute", seconds=300),
    )
    pods = [
        replace(make_pod("shop", "web-0", node="n1"), tolerations=default),
        replace(make_pod("shop", "fast-0", node="n1"), tolerations=(Toleration("node.kubernetes.io/not-ready", "Exists", effect="NoExecute", seconds=30),)),
        replace(make_pod("kube-system", "fluentbit-x", node="n1"), owner_kind="DaemonSet", tolerations=(Toleration(operator="Exists", effect="NoExecute"),)),
    ]
    logs = FakeLogs([LogLine(NOW, "ERROR", "PLEG is not healthy: pleg was last seen active 3m0s ago", "n1/kubelet")])
    handle = shortfall_handle(kube=FakeKube(nodes=[down], pods=pods), logs=logs)

    evidence = gather(handle, incident(NODES_NOT_READY, facts={"nodes": ["n1"]}, severity="warning"), NOW)

    assert evidence is not None
    [part] = evidence.parts
    assert part.facts[0] == "Ready=False for 4m (KubeletNotReady: PLEG is not healthy)"
    assert "False, as they should be: MemoryPressure" in part.facts
    errors = {e.label.split(" ")[0]: e for e in part.excerpts}
    assert errors["kubelet"].lines[0].endswith("PLEG is not healthy: pleg was last seen active 3m0s ago")
    evictions = errors["pods"].lines
    assert evictions[0] == "shop/fast-0: eviction due since 11:56:30 UTC (tolerates not-ready for 30 s)"
    assert evictions[1] == "shop/web-0: evicted at 12:01:00 UTC, in 1m 0s (tolerates not-ready for 300 s)"
    assert evictions[2] == "kube-system/fluentbit-x: stays (tolerates not-ready without a limit)"


def test_eviction_before_the_node_is_tainted_counts_from_the_taint() -> None:
    node = make_node("n2", ready="Unknown")
    lines = eviction_lines(node, [make_pod("shop", "api-0", node="n2")], NOW)
    assert lines == ["shop/api-0: evicted 300 s after the node is tainted unreachable"]


def test_upgrade_evidence_has_the_operation_the_policy_and_what_blocks_the_drain() -> None:
    cluster = replace(make_cluster(location="us-west1"), maintenance_exclusions=("holiday: 2024-12-20 00:00 to 2025-01-05 00:00 UTC (no upgrades)",))
    op = Operation(
        name="operation-9", type="UPGRADE_NODES", status="RUNNING", location="us-west1",
        target="projects/p/locations/us-west1/clusters/shop-prod/nodePools/default-pool", started=NOW - timedelta(minutes=40),
        ended=None, detail="Upgrading default-pool to 1.31.1-gke.1146000", progress={"NODES_DONE": 1, "NODES_TOTAL": 3},
    )
    cordoned = make_node("n1", cordoned=True)
    web = replace(make_pod("shop", "web-0", node="n1"), labels={"app": "web"})
    bare = replace(make_pod("shop", "debug", node="n1"), owner_kind="", owner_name="")
    kube = FakeKube(nodes=[cordoned, make_node("n2")], pods=[web, bare])
    budget = DisruptionBudget("shop", "web", disruptions_allowed=0, current_healthy=2, desired_healthy=2, expected_pods=2, match_labels={"app": "web"})
    kube.list_disruption_budgets = lambda namespace=None: [budget]  # type: ignore[method-assign]
    handle = shortfall_handle(kube=kube, gke=FakeGke(cluster, [op]))

    evidence = gather(handle, incident(NODE_POOL_UPGRADE, scope="default-pool", severity="warning"), NOW)

    assert evidence is not None
    parts = {p.title: p for p in evidence.parts}
    operation = parts["Operation operation-9"].facts
    assert operation[0] == "UPGRADE_NODES: RUNNING to 1.31.1-gke.1146000"
    assert "Progress: 33% (NODES_DONE 1, NODES_TOTAL 3)" in operation
    policy = parts["Maintenance policy and release channel"].facts
    assert "Release channel: REGULAR" in policy and "Maintenance window: daily at 03:00 UTC for 4h" in policy
    assert "Maintenance exclusions: holiday: 2024-12-20 00:00 to 2025-01-05 00:00 UTC (no upgrades)" in policy
    blockers = parts["What keeps the cordoned nodes from draining"].facts
    assert "PodDisruptionBudget shop/web allows 0 disruptions (2 healthy, 2 required, 2 expected)" in blockers
    assert "Pod shop/web-0 on n1: its budget web allows no eviction" in blockers
    assert "Pod shop/debug on n1: bare (no controller recreates it)" in blockers

    master = replace(op, name="operation-10", type="UPGRADE_MASTER", target="projects/p/locations/us-west1/clusters/shop-prod")
    handle.gke = FakeGke(cluster, [master])
    evidence = gather(handle, incident(MASTER_UPGRADE, scope="operation-10", severity="warning"), NOW)
    assert evidence is not None and evidence.parts[0].title == "Operation operation-10"
    assert not any("draining" in p.title for p in evidence.parts)


def test_a_kind_without_evidence_gathers_nothing() -> None:
    assert gather(shortfall_handle(), incident("zonal-cluster"), NOW) is None


def test_the_reply_stays_within_slack_limits_and_carries_the_rest_as_a_file() -> None:
    long_lines = tuple(f"line {i} " + "x" * 400 for i in range(200))
    parts = tuple(
        Part(title=f"VM vm-{i}", facts=("a fact " * 200,), excerpts=(Excerpt("console", long_lines, shown=50),), command="gcloud compute ssh vm")
        for i in range(30)
    )
    evidence = Evidence(incident_id=3, cluster="prod", kind=UNREGISTERED_VMS, title="t" * 4000, gathered_at=NOW, took_seconds=1.5, parts=parts, unread=("x: y",) * 400)
    reply = evidence_reply(evidence)
    assert limit_violations([b.to_dict() for b in reply.blocks]) == []
    assert reply.attachment is not None and reply.attachment.filename == "incident-3-evidence.md"
    assert "line 0 " in reply.attachment.content and "line 199 " in reply.attachment.content, "the file has every line"
    assert "vm-29" in reply.attachment.content


def test_short_evidence_needs_no_file() -> None:
    evidence = Evidence(
        incident_id=4, cluster="prod", kind=NODES_NOT_READY, title="1 node", gathered_at=NOW, took_seconds=0.2,
        parts=(Part(title="Node n1", facts=("Ready=False",), excerpts=(Excerpt("kubelet errors", ("12:00:00 boom",)),)),),
    )
    reply = evidence_reply(evidence)
    assert reply.attachment is None
    markdown = evidence_markdown(evidence)
    assert markdown.startswith("## Evidence: 1 node\n")
    assert "### Node n1\n\n- Ready=False\n\nkubelet errors:\n\n```text\n12:00:00 boom\n```" in markdown


def test_reads_name_a_failure_and_keep_going() -> None:
    reads = Reads(5)
    try:
        failing = reads.start("the thing", lambda: 1 / 0)
        fine = reads.start("the other", lambda: 42)
        assert reads.result(failing) is None
        assert reads.result(fine) == 42
    finally:
        reads.close()
    assert reads.unread == ["the thing: ZeroDivisionError: division by zero"]

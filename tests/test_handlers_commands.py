"""Given the zonal-shortfall cluster, what each command answers (through the router, as Slack would send it)."""

from __future__ import annotations

import json

from bot.blocks import limit_violations
from bot.model.gke import Operation
from tests.fakes import (
    NOW,
    FakeGke,
    FakeKube,
    FakeLogs,
    ask,
    make_cluster,
    make_pod,
    plain_handle,
    shortfall_handle,
)

VM_B = "gke-shop-prod-default-pool-3c4d-y1"


def blocks_json(reply) -> str:
    dicts = reply.blocks_as_dicts()
    assert limit_violations(dicts) == []
    assert len(dicts) <= 50
    for block in dicts:
        if block["type"] == "section":
            assert len(block.get("text", {}).get("text", "")) <= 3000
            assert len(block.get("fields", [])) <= 10
    return json.dumps(dicts)


def test_nodes_names_the_zones_and_vms_that_never_registered() -> None:
    reply = ask("nodes")
    blocks = blocks_json(reply)
    for text in (reply.plain, blocks):
        assert "us-west1-b" in text and "us-west1-c" in text
        assert VM_B in text and "gke-shop-prod-default-pool-5e6f-z1" in text
    assert "never registered" in reply.plain
    assert f"logs node {VM_B} --component kube-proxy --cluster prod" in blocks
    assert "shop/" not in reply.plain  # nodes never lists pods


def test_cluster_says_zonal_and_gives_the_terraform_fix() -> None:
    upgrade = Operation("op-1", "UPGRADE_MASTER", "RUNNING", "us-west1-a", "clusters/shop-prod", NOW, None, progress={"percent": 50})
    handle = shortfall_handle(gke=FakeGke(make_cluster(), [upgrade]))
    reply = ask("cluster", handle)
    blocks = blocks_json(reply)
    assert "zonal" in reply.plain and 'location = \\"us-west1\\"' in blocks
    assert 'location = "us-west1"' in reply.plain
    assert "UPGRADE_MASTER" in reply.plain and "percent 50" in reply.plain
    assert "Kubernetes API is unavailable" in blocks


def test_ssh_gives_the_exact_iap_command_for_an_unregistered_vm() -> None:
    reply = ask(f"ssh {VM_B}")
    blocks_json(reply)
    assert f"gcloud compute ssh {VM_B} --zone us-west1-b --project shop-project --tunnel-through-iap" in reply.plain
    assert "never registered" in reply.plain
    assert "--source-ranges=35.235.240.0/20" in reply.plain and "--allow=tcp:22" in reply.plain
    assert "get-credentials shop-prod --zone us-west1-a --project shop-project" in reply.plain
    assert f"ssh.cloud.google.com/v2/ssh/projects/shop-project/zones/us-west1-b/instances/{VM_B}" in reply.plain
    assert reply.public is False


def test_ssh_refuses_public_and_plain_kubernetes() -> None:
    public = ask(f"ssh {VM_B} --public")
    assert not public.ok and "--public" in public.plain and not public.public
    plain = ask("ssh lab-1", plain_handle())
    assert plain.outcome == "not_configured"


def test_regional_cluster_credentials_use_region() -> None:
    reply = ask(f"ssh {VM_B}", shortfall_handle(cluster=make_cluster("us-west1")))
    assert "get-credentials shop-prod --region us-west1 --project shop-project" in reply.plain


def test_logs_node_builds_the_query_and_link() -> None:
    logs = FakeLogs()
    handle = shortfall_handle(logs=logs)
    reply = ask(f"logs node {VM_B} --component kube-proxy --since 15m --severity error --grep 'failed \"to\" start' --limit 20", handle)
    blocks_json(reply)
    query = logs.queries[-1]
    assert (query.target, query.node, query.component, query.min_severity, query.limit) == ("node", VM_B, "kube-proxy", "ERROR", 20)
    assert query.grep == 'failed "to" start'
    assert (NOW - query.since).total_seconds() == 900
    assert "Logs Explorer" in reply.plain


def test_logs_reject_bad_limits_and_missing_logging() -> None:
    too_many = ask(f"logs node {VM_B} --limit 9999")
    assert too_many.outcome == "bad_input" and "500" in too_many.plain
    unclosed = ask(f"logs node {VM_B} --grep \"oops")
    assert unclosed.outcome == "bad_input"
    assert ask("logs autoscaler", plain_handle()).outcome == "not_configured"


def test_logs_pod_falls_back_to_the_kubernetes_api() -> None:
    kube = FakeKube()
    reply = ask("logs pod shop/web-0 -c app --limit 10", plain_handle(kube=kube))
    assert reply.ok and "Kubernetes API" in reply.plain
    assert ("pod_log", "shop", "web-0", "app", 10, 3600) in kube.calls


def test_pods_pending_uses_the_server_side_selector_and_shows_the_autoscaler() -> None:
    handle = shortfall_handle()
    reply = ask("pods --pending", handle)
    blocks = blocks_json(reply)
    assert ("list_pods", None, None, "status.phase=Pending") in handle.kube.calls
    assert "Insufficient cpu" in reply.plain and "max node group size reached" in blocks
    assert "logs autoscaler --cluster prod" in blocks


def test_pods_lists_crashlooping_pods_with_last_termination() -> None:
    reply = ask("pods -n shop")
    assert "CrashLoopBackOff" in reply.plain and "OOMKilled" in reply.plain
    assert ask("pods --pending --failing").outcome == "bad_input"


def test_two_thousand_failing_pods_stay_within_limits_and_attach_the_table() -> None:
    pods = [make_pod("big", f"crash-{i:04d}", waiting="CrashLoopBackOff", restarts=9) for i in range(2000)]
    reply = ask("pods", shortfall_handle(kube=FakeKube(pods=pods)))
    blocks = blocks_json(reply)
    assert "more problem pods" in blocks
    assert reply.attachment is not None and reply.attachment.content.count("crash-") == 2000


def test_node_for_an_unregistered_vm_says_so() -> None:
    reply = ask(f"node {VM_B}")
    blocks = blocks_json(reply)
    assert f"VM {VM_B} in us-west1-b is running but never registered as a node" in reply.plain
    assert f"ssh {VM_B} --cluster prod" in blocks


def test_node_reads_pods_and_events_by_field_selector() -> None:
    handle = shortfall_handle()
    name = "gke-shop-prod-default-pool-1a2b-x1"
    reply = ask(f"node {name}", handle)
    blocks_json(reply)
    assert ("list_pods", None, None, f"spec.nodeName={name}") in handle.kube.calls
    assert ("list_events", None, f"involvedObject.kind=Node,involvedObject.name={name}") in handle.kube.calls
    assert "shop/web-0" in reply.plain and "kubelet" in reply.plain


def test_clusters_says_which_is_unreachable_and_why() -> None:
    reply = ask("clusters", shortfall_handle(), plain_handle(kube=FakeKube(down=True)))
    blocks_json(reply)
    assert "zonal" in reply.plain and "did not answer" in reply.plain


def test_help_for_one_command_shows_its_usage() -> None:
    reply = ask("help nodes")
    assert "--zone" in reply.plain and "nodes" in reply.plain
    assert ask("help logs node").ok and ask("help nope").outcome == "bad_input"


def test_no_answer_breaks_the_limits() -> None:
    for line in ("nodes", "nodes --problems", "cluster", "pods", f"node {VM_B}", "pod shop/cron-0", "logs autoscaler", "help", "clusters"):
        reply = ask(line)
        assert reply.ok, f"{line}: {reply.plain}"  # an apology for a crash also fits Slack's limits
        blocks_json(reply)

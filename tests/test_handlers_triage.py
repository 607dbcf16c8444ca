"""events, workloads, top and describe through the door, on in-memory readers (tests/fakes.py)."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.analysis.events import group_events
from bot.analysis.workloads import owner_workload, rollout
from bot.blocks import limit_violations
from bot.clusters import ClusterRegistry
from bot.commands.door import Door
from bot.commands.registry import Invocation
from bot.model.kube import Usage
from bot.settings import AccessConfig, AccessRule, Settings
from handlers import command_registry
from tests.fakes import (
    NOW,
    FakeKube,
    FixedClock,
    ask,
    make_event,
    make_node,
    make_pod,
    make_workload,
    shortfall_handle,
    shortfall_nodes,
    shortfall_pods,
)

NODE = "gke-shop-prod-default-pool-1a2b-x1"


def blocks_json(reply) -> str:
    dicts = reply.blocks_as_dicts()
    assert limit_violations(dicts) == []
    return json.dumps(dicts, ensure_ascii=False)


# -- events --------------------------------------------------------------------------------


def test_events_are_grouped_counted_and_newest_first() -> None:
    events = [
        make_event("Pod", "shop", "web-0", "BackOff", "Back-off restarting failed container", minutes_ago=30, type_="Warning"),
        make_event("Pod", "shop", "web-0", "BackOff", "Back-off restarting failed container", minutes_ago=3, type_="Warning"),
        make_event("Pod", "shop", "web-1", "Pulled", "Container image pulled", minutes_ago=10),
        make_event("Pod", "shop", "old-0", "Pulled", "Container image pulled", minutes_ago=300),
    ]
    groups = group_events(events, since=NOW - timedelta(hours=1))
    assert [(g.reason, g.name, g.count) for g in groups] == [("BackOff", "web-0", 2), ("Pulled", "web-1", 1)]
    assert groups[0].first_seen == NOW - timedelta(minutes=30) and groups[0].last_seen == NOW - timedelta(minutes=3)

    reply = ask("events -n shop", shortfall_handle(kube=FakeKube(events=events)))
    blocks = blocks_json(reply)
    assert "3 events in 2 groups in namespace shop in the last 1h, 1 warning." in reply.plain
    assert "`pod shop/web-0` ×2" in blocks
    assert "old-0" not in reply.plain, "older than --since"
    assert reply.plain.index("BackOff") < reply.plain.index("Pulled")


def test_events_for_an_object_ask_the_server_with_a_field_selector() -> None:
    handle = shortfall_handle()
    reply = ask("events -n shop --for deploy/checkout --warnings --since 6h", handle)
    assert reply.ok
    assert ("list_events", "shop", "involvedObject.kind=Deployment,involvedObject.name=checkout,type=Warning") in handle.kube.calls
    node = ask(f"events -n shop --for node/{NODE}", handle)
    assert node.ok
    assert ("list_events", None, f"involvedObject.kind=Node,involvedObject.name={NODE}") in handle.kube.calls, "nodes' events are in no namespace of theirs"


def test_events_refuse_what_is_not_a_kind_or_a_name_before_asking() -> None:
    handle = shortfall_handle()
    for line, words in (
        ("events --for secret/x", "`secret` is not a kind"),
        ("events --for pod/a,b", "`a,b` is not a valid pod name"),
        ("events --for 'pod/x,involvedObject.name=y'", "is not a valid pod name"),
        ("events --for pod", "is not KIND/NAME"),
        ("events --since forever", "is not a duration"),
        ("events -n shop -A", "not both"),
    ):
        reply = ask(line, handle)
        assert reply.outcome == "bad_input" and words in reply.plain, (line, reply.plain)
    assert not [c for c in handle.kube.calls if c[0] == "list_events"]


def test_events_in_a_missing_namespace_say_so() -> None:
    reply = ask("events -n nope")
    assert reply.outcome == "not_found" and "Namespace `nope` does not exist in cluster prod." in reply.plain


def test_two_thousand_event_groups_stay_within_limits_and_attach_the_table() -> None:
    events = [make_event("Pod", "big", f"job-{i:04d}", "BackOff", "Back-off restarting failed container", type_="Warning") for i in range(2000)]
    reply = ask("events -A", shortfall_handle(kube=FakeKube(events=events)))
    blocks = blocks_json(reply)
    assert "more event groups (the full list is attached)" in blocks
    assert reply.attachment is not None and reply.attachment.content.count("job-") == 2000


# -- workloads -----------------------------------------------------------------------------


def test_rollout_states() -> None:
    assert rollout(make_workload("Deployment", "shop", "web")).state == "ok"
    stuck = rollout(make_workload("Deployment", "shop", "web", ready=1, stuck=True))
    assert stuck.state == "stuck" and "timed out progressing" in stuck.reason
    assert rollout(make_workload("Deployment", "shop", "web", updated=1)).state == "rolling out"
    assert rollout(make_workload("Deployment", "shop", "web", generation=3, observed=2)).state == "rolling out"
    short = rollout(make_workload("StatefulSet", "shop", "db", desired=3, ready=1))
    assert short.state == "short" and "2 of 3 replicas not available" in short.reason
    assert rollout(make_workload("DaemonSet", "kube-system", "agent", desired=5, ready=4)).state == "short"


def test_owner_workload_reads_the_deployment_through_its_replicaset() -> None:
    pod = make_pod("shop", "web-7d4b9c6f5-x2x9k")
    hashed = type(pod)(**{**{s: getattr(pod, s) for s in pod.__slots__}, "owner_name": "web-7d4b9c6f5", "labels": {"pod-template-hash": "7d4b9c6f5"}})
    assert owner_workload(hashed) == ("Deployment", "web")


def test_workloads_put_the_stuck_first_and_say_why_from_their_pods() -> None:
    handle = shortfall_handle()
    reply = ask("workloads", handle)
    blocks = blocks_json(reply)
    lines = [line for line in reply.plain.splitlines()[3:]]
    assert lines[0].split()[:2] == ["Deployment", "shop/checkout"] and "stuck" in lines[0]
    assert "has timed out progressing; pods: 2 Pending: Insufficient cpu" in lines[0]
    assert "1 CrashLoopBackOff" in reply.plain
    assert ("list_pods", "shop", "app=checkout", None) in handle.kube.calls, "the pods are read by the workload's selector"
    assert "describe deployment shop/checkout --cluster prod" in blocks
    assert "4 workloads in all namespaces, 3 not where they want to be." in reply.plain
    healthy_only = ask("workloads --unhealthy", handle)
    assert "shop/web " not in healthy_only.plain and "shop/checkout" in healthy_only.plain


def test_five_hundred_workloads_stay_within_limits() -> None:
    many = [make_workload("Deployment", f"ns-{i % 7}", f"app-{i:03d}", ready=0, stuck=True) for i in range(500)]
    reply = ask("workloads -A", shortfall_handle(kube=FakeKube(workloads=many)))
    blocks = blocks_json(reply)
    assert "more workloads (the full list is attached)" in blocks
    assert reply.attachment is not None and reply.attachment.content.count("\nDeployment\tns-") == 500


# -- top -----------------------------------------------------------------------------------


def _metrics_kube() -> FakeKube:
    nodes = shortfall_nodes() + [make_node("gke-shop-prod-default-pool-1a2b-x2", cpu_m=3920)]
    pods = shortfall_pods() + [make_pod("shop", "big-0", node="gke-shop-prod-default-pool-1a2b-x2", cpu_m=3000)]
    node_usage = [Usage(name=NODE, cpu_m=1000, memory=2 * 2**30), Usage(name="gke-shop-prod-default-pool-1a2b-x2", cpu_m=3500, memory=3 * 2**30)]
    pod_usage = [Usage(name="web-0", namespace="shop", cpu_m=850, memory=2**29), Usage(name="big-0", namespace="shop", cpu_m=300, memory=2**28)]
    return FakeKube(nodes=nodes, pods=pods, node_usage=node_usage, pod_usage=pod_usage)


def test_top_nodes_shows_usage_beside_requests_fullest_first() -> None:
    kube = _metrics_kube()
    reply = ask("top nodes", shortfall_handle(kube=kube))
    blocks_json(reply)
    rows = reply.plain.splitlines()[3:]
    assert rows[0].split()[0] == "gke-shop-prod-default-pool-1a2b-x2" and rows[1].split()[0] == NODE
    assert "89%" in rows[0], "3.5 of 3.92 cores used"
    assert ("list_pods", None, None, "status.phase!=Succeeded,status.phase!=Failed") in kube.calls
    assert "metrics API" not in reply.plain


def test_top_pods_ranks_usage_against_requests() -> None:
    reply = ask("top pods -n shop", shortfall_handle(kube=_metrics_kube()))
    blocks = blocks_json(reply)
    rows = reply.plain.splitlines()[3:]
    assert rows[0].split()[0] == "shop/web-0" and "94%" in rows[0], "850m of 900m requested"
    assert rows[1].split()[0] == "shop/big-0"
    assert "CPU *0.85* of 0.9 requested (94%)" in blocks


def test_top_without_metrics_says_so_and_ranks_by_requests() -> None:
    nodes = ask("top nodes --pool default-pool")
    pods = ask("top pods -A")
    for reply in (nodes, pods):
        assert reply.ok and "does not serve the metrics API" in reply.plain
        assert "requests against allocatable, not usage" in blocks_json(reply)
    assert "3.2 of 3.92 cores requested (82%)" in nodes.plain
    assert pods.plain.splitlines()[4].split()[0] == "shop/web-0"


def test_top_nodes_filters_by_pool_and_zone_and_validates_them() -> None:
    assert "No nodes in zone us-west1-c." in ask("top nodes --zone us-west1-c").plain
    assert ask("top nodes --pool Bad_Pool").outcome == "bad_input"
    assert ask("top").outcome == "bad_input"


def test_two_thousand_pods_in_top_stay_within_limits() -> None:
    pods = [make_pod("big", f"p-{i:04d}", node=NODE) for i in range(2000)]
    usage = [Usage(name=p.name, namespace="big", cpu_m=100 + i, memory=2**20) for i, p in enumerate(pods)]
    reply = ask("top pods -A", shortfall_handle(kube=FakeKube(nodes=shortfall_nodes(), pods=pods, pod_usage=usage)))
    blocks = blocks_json(reply)
    assert "more pods (the full list is attached)" in blocks
    assert reply.attachment is not None and reply.attachment.content.count("big/p-") == 2000


# -- describe ------------------------------------------------------------------------------


def test_describe_a_stuck_deployment() -> None:
    handle = shortfall_handle()
    reply = ask("describe deploy shop/checkout", handle)
    blocks = blocks_json(reply)
    assert reply.plain.startswith("Deployment shop/checkout: 0/2 ready, 2 updated, 0 available · stuck")
    assert "Progressing=False (ProgressDeadlineExceeded)" in reply.plain
    assert "Why not ready: 2 Pending: Insufficient cpu" in reply.plain
    assert "FailedScheduling" in reply.plain.split("Recent warnings:")[1]
    assert ("list_events", "shop", "type=Warning") in handle.kube.calls
    assert "events -n shop --for deployment/checkout --cluster prod" in blocks


def test_describe_a_crash_looping_pod_and_a_node() -> None:
    pod = ask("describe pod shop/cron-0")
    assert pod.plain.startswith("Pod shop/cron-0: Running · CrashLoopBackOff")
    assert "last OOMKilled (exit 137)" in pod.plain and "Owner: ReplicaSet cron" in pod.plain
    blocks_json(pod)
    node = ask(f"describe node {NODE}")
    assert node.plain.startswith(f"Node {NODE}: Ready") and "GCE VM" in node.plain
    assert len(blocks_json(node)) < 6000


def test_describe_refuses_unknown_kinds_and_bad_names() -> None:
    for line, outcome, words in (
        ("describe secret shop/x", "bad_input", "`secret` is not a kind"),
        ("describe pod Shop/x", "bad_input", "`Shop` is not a valid namespace"),
        ("describe node a/b", "bad_input", "Nodes are not in a namespace"),
        ("describe deployment shop/nope", "not_found", "Deployment `shop/nope`"),
        ("describe pod", "bad_input", "needs NAME"),
    ):
        reply = ask(line)
        assert reply.outcome == outcome and words in reply.plain, (line, reply.plain)


# -- the door ------------------------------------------------------------------------------


def test_the_new_commands_pass_the_access_rules() -> None:
    handle = shortfall_handle()
    closed = Settings(
        clusters=[handle.config],
        access=AccessConfig(open_to_all=False, rules=[AccessRule(commands=["events", "top"], users=["U1"])]),
    )
    door = Door(closed, ClusterRegistry([handle]), FixedClock(), command_registry())

    def outcome(line: str, user: str) -> str:
        return door.run(Invocation(text=line, origin="slash", user_id=user)).reply.outcome

    for line in ("workloads", "describe pod shop/web-0", "events", "top pods"):
        assert outcome(line, "U2") == "forbidden", line
    assert outcome("events --warnings", "U1") == "ok" and outcome("top nodes", "U1") == "ok"
    assert outcome("workloads", "U1") == "forbidden"

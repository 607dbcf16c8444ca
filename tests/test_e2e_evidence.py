"""The evidence arrives with the incident: the real bot, the simulated world, Slack over Socket Mode.

Each test deploys the bot as ``k8s-chatops run`` builds it, steps the
simulated clock a minute per check (each waiting for the evidence the desk
gathers in the background, as a real minute would), and reads the incident's thread as Slack shows it: one
evidence reply per incident, chosen by its kind, posted without anyone
clicking, once (restarts included), and the postmortem summary on request.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

from bot.alerts import render
from bot.alerts.evidence import EVIDENCE_EVENT
from sim.google import builders as google_logs
from sim.kube.builders import make_pdb
from sim.slack.records import Message
from tests import test_e2e_alerts
from tests.test_e2e_alerts import ANSWER_TIMEOUT, Deployment, blocks_text, button_actions

deploy = test_e2e_alerts.deploy  # the fixture: a deployment per scenario, stopped after the test


def incident_thread(d: Deployment, containing: str) -> tuple[Message, int, list[Message]]:
    [parent] = d.parents(containing)
    assert d.bot is not None and d.bot.alerts is not None
    incident = d.bot.alerts.store.by_parent(parent.channel, parent.ts)
    assert incident is not None
    return parent, incident.id, d.thread(parent)


def evidence_replies(replies: list[Message]) -> list[Message]:
    return [r for r in replies if r.text.startswith("Evidence for incident #")]


def shared_file(d: Deployment, replies: list[Message], name: str) -> str:
    ids = {f for r in replies for f in r.files}
    [found] = [f for f in d.world.slack.files if f.id in ids and f.name == name]
    return found.content.decode()


def unregistered_vms(d: Deployment) -> dict[str, str]:
    """zone -> the VM there that never became a node."""
    nodes = {n["metadata"]["name"] for n in d.world.kube.items("nodes")}
    return {vm["zone"].rsplit("/", 1)[-1]: vm["name"] for vm in d.world.google.instances() if vm["name"] not in nodes}


def test_the_unregistered_vm_thread_carries_each_zone_s_kube_proxy_errors_console_and_ssh_line_without_a_click(deploy) -> None:
    d = deploy("zonal-shortfall")
    d.minutes(1)
    parent, incident_id, replies = incident_thread(d, "never registered")
    [evidence] = evidence_replies(replies)
    assert replies[0] is evidence, "the evidence is the thread's first reply"
    text = evidence.all_text()
    vms = unregistered_vms(d)
    assert sorted(vms) == ["us-west1-b", "us-west1-c"]
    for zone, vm in vms.items():
        assert f"VM {vm} ({zone})" in text
        assert f'server.go:1013] "Failed to retrieve node info" err="nodes \\"{vm}\\" not found"' in text, "kube-proxy's errors"
        assert re.search(rf"Nov 02 07:5\d:\d\d {vm} kube-proxy\[\d+\]: E1102", text), "its console's lines"
        assert f"gcloud compute ssh {vm} --zone {zone} --project shop-project --tunnel-through-iap" in text
        assert "Instance group gke-shop-prod-default-pool-" in text and "RUNNING, current action NONE" in text
    explorer = [unquote(u) for u in re.findall(r"<(https://console\.cloud\.google\.com/logs/query[^|>]+)\|", text)]
    assert len(explorer) == 1 and all(vm in explorer[0] for vm in vms.values()), "one Logs Explorer link for all of them"
    assert "Could not read" not in text
    console = shared_file(d, replies, f"incident-{incident_id}-evidence.md")
    assert "Linux version" in console and "Started kubelet.service" in console, "the file has the whole console tail"
    assert all(f"{vm} kubelet[" in console for vm in vms.values())

    d.minutes(3)
    d.stop_bot()
    d.start_bot()  # a restart finds the evidence recorded: nothing is read or posted again
    d.minutes(2)
    replies = d.thread(d.current(parent))
    assert len(evidence_replies(replies)) == 1
    assert sum(len(r.files) for r in replies) == 1
    assert d.bot is not None and d.bot.alerts is not None
    events = [e for e in d.bot.alerts.store.events(incident_id) if e.kind == EVIDENCE_EVENT]
    assert len(events) == 1 and "## Evidence: Why 2 VMs" in events[0].text


def test_pending_pods_evidence_has_the_scheduler_s_reasons_the_autoscaler_and_the_workloads(deploy) -> None:
    d = deploy("zonal-shortfall")
    d.minutes(2)
    _, _, replies = incident_thread(d, "unschedulable")
    [evidence] = evidence_replies(replies)
    text = evidence.all_text()
    assert "5 × Insufficient cpu" in text
    assert "0/1 nodes are available: 1 Insufficient cpu." in text, "the scheduler's own message"
    assert "NotTriggerScaleUp" in text and "max node group size reached" in text, "the autoscaler's events"
    assert "no scale-up for 5 pods: no.scale.up.mig.failing.predicate" in text, "its visibility log in Cloud Logging"
    assert "Deployment shop/checkout: 2 desired, 0 ready, 0 available; 2 pods pending" in text
    assert "Deployment shop/web: 4 desired, 3 ready" in text

    _, _, replies = incident_thread(d, "autoscaling maximum")  # the same pods, seen from the pool that cannot grow
    [evidence] = evidence_replies(replies)
    text = evidence.all_text()
    assert "Autoscaling on: 1 to 1 nodes per zone in 3 zones" in text
    assert "us-west1-a: 1 VM, 1 registered as nodes" in text and "us-west1-b: 1 VM, 0 registered as nodes" in text
    assert "5 × Insufficient cpu" in text


def test_notready_node_evidence_has_conditions_kubelet_errors_pods_and_evictions(deploy) -> None:
    d = deploy("node-notready")
    with d.world.lock:  # what the kubelet of whichever node goes down will have logged
        d.world.google.add_log_entries([
            google_logs.node_log(
                d.world.project, location="us-west1", cluster="shop-prod", node=n["metadata"]["name"], log="kubelet",
                severity="ERROR", text='"PLEG is not healthy" pleg was last seen active 3m0s ago',
                at=d.world.clock.now() + timedelta(minutes=5),
            )
            for n in d.world.kube.items("nodes")
        ])
    d.minutes(9)
    parent, _, replies = incident_thread(d, "NotReady")
    [evidence] = evidence_replies(replies)
    text = evidence.all_text()
    assert "Ready=False" in text and "KubeletNotReady: container runtime is down, PLEG is not healthy" in text
    assert "Taint node.kubernetes.io/not-ready:NoExecute since" in text
    assert '"PLEG is not healthy" pleg was last seen active 3m0s ago' in text, "the kubelet's errors from Cloud Logging"
    assert re.search(r"kube-system/kube-dns-\S+: (evicted at \d\d:\d\d:\d\d UTC, in|eviction due since).*tolerates not-ready for 300 s", text)
    assert "stays (tolerates not-ready without a limit)" in text, "a DaemonSet's pod stays"
    assert "Could not read" not in text


def test_upgrade_evidence_comes_when_a_node_pool_upgrade_stalls_with_what_blocks_the_drain(deploy, tmp_path: Path) -> None:
    scenario = tmp_path / "node-pool-upgrade-stalls.yaml"
    scenario.write_text(
        "name: node-pool-upgrade-stalls\n"
        "summary: A node-pool upgrade that a PodDisruptionBudget stops\n"
        "project: shop-project\n"
        "cluster: {name: shop-prod, location: us-west1, locations: [us-west1-a, us-west1-b, us-west1-c],"
        " version: 1.30.5-gke.1014001, release_channel: REGULAR, maintenance_window: {start_time: '03:00', duration: PT4H}}\n"
        "node_pools: [{name: default-pool, nodes_per_zone: 1, autoscaling: {min: 1, max: 3}, vm_age: 30d}]\n"
        "workloads: [{namespace: shop, name: web, replicas: 3, cpu: 500m, memory: 1Gi}]\n"
        "timeline:\n"
        "  - {at: 2m, do: start_operation, type: UPGRADE_NODES, pool: default-pool, to_version: 1.31.1-gke.1146000}\n"
    )
    d = deploy(str(scenario))
    with d.world.lock:
        d.world.kube.upsert("poddisruptionbudgets", make_pdb("shop", "web", selector={"app": "web"}, min_available=3, expected_pods=3, healthy=3))
        node = sorted(d.world.kube.items("nodes"), key=lambda n: n["metadata"]["name"])[0]
        node["spec"]["unschedulable"] = True
        d.world.kube.upsert("nodes", node)
        cluster = d.world.google.clusters()[0]
        policy = dict(cluster.get("maintenancePolicy") or {})
        window = dict(policy.get("window") or {})
        window["maintenanceExclusions"] = {
            "holiday-freeze": {
                "startTime": "2026-12-20T00:00:00Z", "endTime": "2027-01-05T00:00:00Z",
                "maintenanceExclusionOptions": {"scope": "NO_MINOR_UPGRADES"},
            }
        }
        d.world.google.update_cluster(cluster["location"], cluster["name"], maintenancePolicy={**policy, "window": window})
    d.minutes(10)
    [parent] = d.parents("Node pool default-pool upgrading")
    assert d.thread(parent) == [], "a healthy upgrade is informational: one message, no evidence"
    d.minutes(26)
    parent, _, replies = incident_thread(d, "Node pool default-pool upgrading")
    assert "(stalled)" in d.current(parent).text
    [evidence] = evidence_replies(replies)
    text = evidence.all_text()
    assert "UPGRADE_NODES: RUNNING" in text and "Started 2026-11-02 08:02 UTC" in text
    assert "Release channel: REGULAR" in text and "Maintenance window: daily at 03:00 UTC for 4h" in text
    assert "Maintenance exclusions: holiday-freeze: 2026-12-20 00:00 to 2027-01-05 00:00 UTC (no minor upgrades)" in text
    assert "PodDisruptionBudget shop/web allows 0 disruptions" in text
    assert re.search(rf"Pod shop/web-\S+ on {node['metadata']['name']}: its budget web allows no eviction", text)


def test_a_zonal_control_plane_upgrade_s_evidence_names_the_operation_and_the_maintenance_policy(deploy) -> None:
    d = deploy("zonal-shortfall")
    d.minutes(31)
    parent, _, replies = incident_thread(d, "Control-plane upgrade")
    [evidence] = evidence_replies(replies)
    text = evidence.all_text()
    assert "UPGRADE_MASTER: RUNNING to 1.31.1-gke.1146000" in text
    assert "Release channel: REGULAR" in text and "daily at 03:00 UTC for 4h" in text
    assert "Maintenance exclusions: none" in text


def test_informational_incidents_get_no_evidence(deploy) -> None:
    d = deploy("regional-upgrade")
    d.minutes(25)
    parents = d.world.slack.messages("alerts")
    assert parents, "the upgrade is told"
    assert all(d.thread(p) == [] for p in parents)
    assert d.bot is not None and d.bot.alerts is not None
    with d.bot.alerts.store.session() as s:
        from sqlalchemy import select

        from bot.alerts.store import IncidentEvent

        assert list(s.scalars(select(IncidentEvent).where(IncidentEvent.kind == EVIDENCE_EVENT))) == []


def test_the_summary_button_on_a_resolved_incident_posts_it_as_markdown_in_its_thread(deploy) -> None:
    d = deploy("zonal-shortfall")
    d.minutes(1)
    parent, incident_id, _ = incident_thread(d, "never registered")
    bob = d.world.slack.user_id("bob")
    d.click(render.ACK_ACTION, incident_id, parent, "bob")
    d.world.slack.wait_for(lambda: f"acknowledged by <@{bob}>" in blocks_text(d.current(parent)), ANSWER_TIMEOUT)
    d.minutes(2)
    d.click(render.RESOLVE_ACTION, incident_id, parent, "carol")
    d.world.slack.wait_for(lambda: "Resolved after" in d.thread(parent)[-1].text, ANSWER_TIMEOUT)
    resolved = d.current(parent)
    assert render.SUMMARY_ACTION in button_actions(resolved), "a resolved incident offers its summary"
    timeline = d.thread(parent)[-1].all_text()
    assert "evidence" in timeline and "Why 2 VMs" not in timeline, "the timeline says when the evidence came, not all of it again"

    d.click(render.SUMMARY_ACTION, incident_id, resolved, "carol")
    summary_files = d.world.slack.wait_for(
        lambda: [f.name for f in d.world.slack.files if f.name.startswith(f"incident-{incident_id}-summary-") and f.completed],
        ANSWER_TIMEOUT,
    )
    replies = d.thread(parent)
    [announce] = [r for r in replies if r.text.startswith(f"Postmortem summary of incident #{incident_id}")]
    assert "is in `incident-" in announce.all_text()
    [name] = summary_files
    markdown = shared_file(d, replies, name)
    assert markdown.startswith(f"# Incident #{incident_id}: 2 VMs of node pool default-pool running but never registered")
    assert f"| Acknowledged | by Bob ({bob}) at 2026-11-02 08:01 UTC" in markdown
    assert f"| Status | resolved by hand by Carol ({d.world.slack.user_id('carol')}) |" in markdown
    assert "| Duration | 2h 3m |" in markdown
    assert "## Timeline (UTC)" in markdown and "acknowledged by Bob" in markdown
    assert "## Evidence: Why 2 VMs of node pool default-pool did not register" in markdown
    assert "--tunnel-through-iap" in markdown and "Logs Explorer" in markdown
    assert "| Slack thread | https://" in markdown

    typed = d.ask(f"alerts summary {incident_id}")
    assert f"The postmortem summary of incident #{incident_id}" in typed and "is posted in its thread" in typed
    assert "There is no incident #999." in d.ask("alerts summary 999")

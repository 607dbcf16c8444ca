"""Nodes that live: heartbeats and Leases move with the clock, a sick node is tainted and its pods lose Ready.

Read with the official ``kubernetes`` client from a simulated world on
loopback, as the bot reads it. The scenario's timeline drives the node, the
way a kubelet and the node controller would: NotReady (the kubelet says
why), then Unknown (the kubelet fell silent), then Ready again.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from kubernetes import client as kube_client
from kubernetes import config as kube_config

from sim.clock import SimClock
from sim.kube.kubeconfig import write_kubeconfig
from sim.scenario import Scenario, load, load_spec
from sim.server import SimServer
from sim.world import World

SCENARIO = {
    "name": "one-node-sick",
    "project": "shop-project",
    "cluster": {"name": "shop-prod", "location": "us-west1", "locations": ["us-west1-a", "us-west1-b", "us-west1-c"]},
    "node_pools": [{"name": "default-pool", "nodes_per_zone": 2, "vm_age": "3d"}],
    "workloads": [{"namespace": "shop", "name": "web", "replicas": 6, "cpu": "500m"}],
    "timeline": [
        {"at": "10m", "do": "node_not_ready", "node": 0, "reason": "KubeletNotReady", "message": "PLEG is not healthy"},
        {"at": "20m", "do": "node_not_ready", "node": 0, "status": "Unknown"},
        {"at": "40m", "do": "node_ready", "node": 0},
    ],
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Scenario, kube_client.CoreV1Api, kube_client.CoordinationV1Api]]:
    folder = tmp_path_factory.mktemp("living")
    path = folder / "one-node-sick.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    world = World(SimClock(), project=load_spec(str(path)).project)
    scenario = load(world, str(path))
    with SimServer(world) as server:
        assert server.endpoints is not None
        api = kube_config.new_client_from_config(config_file=str(write_kubeconfig(folder / "config", server.endpoints.kube)))
        try:
            yield scenario, kube_client.CoreV1Api(api), kube_client.CoordinationV1Api(api)
        finally:
            api.close()


def at(scenario: Scenario, minutes: float) -> None:
    target = scenario.started + timedelta(minutes=minutes)
    if target > scenario.world.clock.now():
        scenario.world.clock.advance(to=target)


def ready(node: kube_client.V1Node) -> kube_client.V1NodeCondition:
    return next(c for c in node.status.conditions if c.type == "Ready")


def taints(node: kube_client.V1Node) -> set[tuple[str, str]]:
    return {(t.key, t.effect) for t in node.spec.taints or ()}


def pods_ready(core: kube_client.CoreV1Api, node: str) -> set[str]:
    pods = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items
    assert pods
    return {next(c.status for c in p.status.conditions if c.type == "Ready") for p in pods}


def node_events(core: kube_client.CoreV1Api, node: str) -> list[str]:
    events = core.list_namespaced_event("default", field_selector=f"involvedObject.kind=Node,involvedObject.name={node}").items
    return [e.reason for e in sorted(events, key=lambda e: e.last_timestamp)]


def renewed(coordination: kube_client.CoordinationV1Api, node: str) -> datetime:
    return coordination.read_namespaced_lease(node, "kube-node-lease").spec.renew_time


def test_every_node_holds_a_lease_in_kube_node_lease(cluster: tuple[Scenario, kube_client.CoreV1Api, kube_client.CoordinationV1Api]) -> None:
    scenario, core, coordination = cluster
    nodes = {n.metadata.name: n.metadata.uid for n in core.list_node().items}
    leases = coordination.list_namespaced_lease("kube-node-lease").items
    assert {lease.metadata.name: lease.spec.holder_identity for lease in leases} == {name: name for name in nodes}
    assert all(lease.spec.lease_duration_seconds == 40 for lease in leases)
    assert {lease.metadata.owner_references[0].uid for lease in leases} == set(nodes.values())
    assert "kube-node-lease" in {ns.metadata.name for ns in core.list_namespace().items}


def test_heartbeats_and_renewals_follow_the_clock(cluster: tuple[Scenario, kube_client.CoreV1Api, kube_client.CoordinationV1Api]) -> None:
    scenario, core, coordination = cluster
    name = scenario.node_names[1]
    first_beat = ready(core.read_node(name)).last_heartbeat_time
    first_renewal = renewed(coordination, name)
    at(scenario, 9)
    now = scenario.world.clock.now()
    beat = ready(core.read_node(name)).last_heartbeat_time
    renewal = renewed(coordination, name)
    assert first_beat < beat <= now and now - beat < timedelta(minutes=5), "the kubelet reports its status every 5 minutes"
    assert first_renewal < renewal <= now and now - renewal < timedelta(seconds=10), "and renews its lease every 10 seconds"
    conditions = core.read_node(name).status.conditions
    assert {c.last_heartbeat_time for c in conditions} == {beat}, "one report moves every condition's heartbeat"


def test_a_node_whose_kubelet_reports_not_ready_is_tainted_and_its_pods_lose_ready(
    cluster: tuple[Scenario, kube_client.CoreV1Api, kube_client.CoordinationV1Api],
) -> None:
    scenario, core, coordination = cluster
    name = scenario.node_names[0]
    at(scenario, 11)
    node = core.read_node(name)
    assert (ready(node).status, ready(node).reason) == ("False", "KubeletNotReady")
    assert taints(node) == {("node.kubernetes.io/not-ready", "NoSchedule"), ("node.kubernetes.io/not-ready", "NoExecute")}
    assert node_events(core, name)[-1] == "NodeNotReady"
    assert pods_ready(core, name) == {"False"}
    pod = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={name}").items[0]
    reasons = [e.reason for e in core.list_namespaced_event(pod.metadata.namespace, field_selector=f"involvedObject.name={pod.metadata.name}").items]
    assert "NodeNotReady" in reasons
    before = renewed(coordination, name)
    at(scenario, 13)
    assert renewed(coordination, name) > before, "a kubelet that reports NotReady still renews its lease"
    others = [n for n in scenario.node_names if n != name]
    assert all(pods_ready(core, other) == {"True"} for other in others)


def test_a_silent_kubelet_leaves_its_heartbeat_and_lease_behind(
    cluster: tuple[Scenario, kube_client.CoreV1Api, kube_client.CoordinationV1Api],
) -> None:
    scenario, core, coordination = cluster
    name = scenario.node_names[0]
    at(scenario, 20)
    node = core.read_node(name)
    assert ready(node).status == "Unknown"
    assert taints(node) == {("node.kubernetes.io/unreachable", "NoSchedule"), ("node.kubernetes.io/unreachable", "NoExecute")}
    beat, renewal = ready(node).last_heartbeat_time, renewed(coordination, name)
    assert scenario.started + timedelta(minutes=19, seconds=50) < renewal <= scenario.started + timedelta(minutes=20)
    at(scenario, 35)
    assert ready(core.read_node(name)).last_heartbeat_time == beat
    assert renewed(coordination, name) == renewal, "nobody renews a silent kubelet's lease"
    assert pods_ready(core, name) == {"False"}


def test_a_node_that_comes_back_is_untainted_and_its_pods_ready_again(
    cluster: tuple[Scenario, kube_client.CoreV1Api, kube_client.CoordinationV1Api],
) -> None:
    scenario, core, coordination = cluster
    name = scenario.node_names[0]
    at(scenario, 41)
    node = core.read_node(name)
    assert ready(node).status == "True"
    assert taints(node) == set()
    assert node_events(core, name)[-1] == "NodeReady"
    assert pods_ready(core, name) == {"True"}
    assert scenario.world.clock.now() - renewed(coordination, name) < timedelta(seconds=10)


def test_a_workloads_pods_spread_over_zones_and_nodes(
    cluster: tuple[Scenario, kube_client.CoreV1Api, kube_client.CoordinationV1Api],
) -> None:
    scenario, core, _ = cluster
    zones = {n.metadata.name: n.metadata.labels["topology.kubernetes.io/zone"] for n in core.list_node().items}
    web = core.list_namespaced_pod("shop", label_selector="app=web").items
    per_zone = Counter(zones[p.spec.node_name] for p in web)
    assert sorted(per_zone.values()) == [2, 2, 2], "six replicas, three zones, the one evicted from the sick node replaced in its zone"
    placed = [p for p in web if p.metadata.creation_timestamp <= scenario.started]
    per_node = Counter(p.spec.node_name for p in placed)
    assert len(placed) == len(web) - 1 and max(per_node.values()) == math.ceil(len(web) / len(zones)), "and no node took more than its share"


def test_a_scenario_file_spells_the_steps_it_drives(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    assert [s.do for s in load_spec(str(path)).timeline] == ["node_not_ready", "node_not_ready", "node_ready"]

"""Kubelets' status reports are writes a watch sees: one MODIFIED event per node per report, however far the clock jumps.

Read with the official ``kubernetes`` client's watch, as the bot's watch
cache reads nodes. Lease renewals stay lazy (no resourceVersion moves).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import yaml
from kubernetes import client as kube_client
from kubernetes import config as kube_config
from kubernetes import watch

from sim.kube.kubeconfig import write_kubeconfig
from sim.scenario import Scenario, load, load_spec
from sim.server import SimServer
from sim.world import World

SCENARIO: dict[str, Any] = {
    "name": "heartbeats",
    "project": "shop-project",
    "cluster": {"name": "shop-prod", "location": "us-west1-a", "locations": ["us-west1-a"]},
    "node_pools": [{"name": "default-pool", "nodes_per_zone": 3, "vm_age": "3d"}],
    "timeline": [{"at": "1m", "do": "node_unknown", "node": 2}],
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Scenario, kube_client.CoreV1Api, kube_client.CoordinationV1Api]]:
    folder = tmp_path_factory.mktemp("heartbeats")
    path = folder / "heartbeats.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    world = World(project=load_spec(str(path)).project)
    scenario = load(world, str(path))
    world.clock.advance(to=scenario.started + timedelta(minutes=1))  # node 2's kubelet falls silent
    with SimServer(world) as server:
        assert server.endpoints is not None
        api = kube_config.new_client_from_config(config_file=str(write_kubeconfig(folder / "config", server.endpoints.kube)))
        try:
            yield scenario, kube_client.CoreV1Api(api), kube_client.CoordinationV1Api(api)
        finally:
            api.close()


def modified_since(core: kube_client.CoreV1Api, rv: str, expected: int) -> list[Any]:
    """The first ``expected`` events of a node watch resumed from ``rv`` (then one more moment for a straggler)."""
    events: list[Any] = []
    watcher = watch.Watch()
    for event in watcher.stream(core.list_node, resource_version=rv, timeout_seconds=1):
        events.append(event)
        if len(events) == expected:
            watcher.stop()
    return events


def heartbeat(node: Any) -> Any:
    return next(c.last_heartbeat_time for c in node.status.conditions if c.type == "Ready")


def test_each_live_node_reports_once_per_five_minutes_and_watchers_see_it(cluster) -> None:
    scenario, core, _ = cluster
    listed = core.list_node()
    silent = scenario.node_names[2]
    live = sorted(n.metadata.name for n in listed.items if n.metadata.name != silent)
    beats = {n.metadata.name: heartbeat(n) for n in listed.items}
    scenario.world.clock.advance(300)
    events = modified_since(core, listed.metadata.resource_version, len(live))
    assert sorted(e["object"].metadata.name for e in events) == live, "a silent kubelet reports nothing"
    assert {e["type"] for e in events} == {"MODIFIED"}
    for event in events:
        node = event["object"]
        assert beats[node.metadata.name] < heartbeat(node) <= scenario.world.clock.now()
        assert int(node.metadata.resource_version) > int(listed.metadata.resource_version)
    assert len({heartbeat(e["object"]) for e in events}) == len(live), "each kubelet reports at its own moment"


def test_a_long_jump_of_the_clock_is_one_report_per_node(cluster) -> None:
    scenario, core, coordination = cluster
    listed = core.list_node()
    lease = coordination.read_namespaced_lease(scenario.node_names[0], "kube-node-lease")
    scenario.world.clock.advance(3600)
    events = modified_since(core, listed.metadata.resource_version, 3)
    assert len(events) == 2 and len({e["object"].metadata.name for e in events}) == 2
    now = scenario.world.clock.now()
    assert all(now - heartbeat(e["object"]) < timedelta(minutes=5) for e in events)
    renewed = coordination.read_namespaced_lease(scenario.node_names[0], "kube-node-lease")
    assert renewed.spec.renew_time > lease.spec.renew_time and now - renewed.spec.renew_time < timedelta(seconds=10)
    assert renewed.metadata.resource_version == lease.metadata.resource_version, "lease renewals are computed when read"

"""Cloud Logging reads against the simulated logging API, through the real google-cloud-logging client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest

from bot.errors import BadInput, Forbidden, Unreachable
from bot.settings import ClusterConfig, GkeConfig
from bot.sources.contracts import LogQuery
from bot.sources.google.cloud_logging import CloudLoggingSource
from sim.google import builders
from sim.server import Endpoints, SimServer
from sim.world import World

PROJECT = "shop-prod"
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
VM = "gke-shop-web-pool-1a2b3c4d-v001"  # a VM in us-west1-b that never registered


@pytest.fixture
def world() -> World:
    world = World(project=PROJECT)
    node = dict(project=PROJECT, location="us-west1-b", cluster="shop", node=VM)
    pod = dict(project=PROJECT, location="us-west1-a", cluster="shop", namespace="web", pod="api-1")
    world.google.add_log_entries(
        [
            builders.node_log(**node, log="kube-proxy", severity="ERROR", text="Failed to start kube-proxy",
                              at=T0 + timedelta(minutes=1)),
            builders.node_log(**node, log="kube-proxy", severity="ERROR", text="failed to retrieve node info",
                              at=T0 + timedelta(minutes=2)),
            builders.node_log(**node, log="kubelet", payload={"MESSAGE": "Unable to register node"},
                              at=T0 + timedelta(minutes=3)),
            builders.node_log(**{**node, "cluster": "other"}, log="kube-proxy", text="other cluster",
                              at=T0 + timedelta(minutes=4)),
            builders.container_log(**pod, container="app", text="listening on :8080", at=T0 + timedelta(minutes=1)),
            builders.container_log(**pod, container="app", text="panic: x\" OR severity>=DEBUG OR \"",
                                   stream="stderr", at=T0 + timedelta(minutes=2)),
            builders.container_log(**pod, container="sidecar", text="proxy ready", at=T0 + timedelta(minutes=3)),
            builders.autoscaler_log(
                PROJECT, location="us-west1-a", cluster="shop",
                payload=builders.no_scale_up_payload("no.scale.up.mig.failing.predicate",
                                                     pods=[("web", "api-2")], groups=["gke-shop-web-grp"]),
                at=T0 + timedelta(minutes=5),
            ),
        ]
    )
    world.clock.advance(to=T0 + timedelta(hours=1))
    return world


@pytest.fixture
def endpoints(world: World) -> Iterator[Endpoints]:
    server = SimServer(world)
    yield server.start()
    server.stop()


def logging_source(endpoints: Endpoints, world: World, *, project: str = PROJECT, timeout: float = 5.0) -> CloudLoggingSource:
    config = ClusterConfig(
        name="shop",
        request_timeout_seconds=timeout,
        gke=GkeConfig(project=project, location="us-west1-a", cluster="shop",
                      logging_endpoint=endpoints.logging, anonymous=True),
    )
    return CloudLoggingSource.from_config(config, clock=world.clock)


def test_a_vms_kube_proxy_lines_come_newest_first(world: World, endpoints: Endpoints) -> None:
    source = logging_source(endpoints, world)
    lines = source.query(LogQuery(target="node", since=T0, node=VM, component="kube-proxy"))
    assert [line.text for line in lines] == ["failed to retrieve node info", "Failed to start kube-proxy"]
    assert lines[0].severity == "ERROR" and lines[0].origin == f"{VM}/kube-proxy"
    assert lines[0].timestamp == T0 + timedelta(minutes=2)
    assert source.stats["queries"] == 1


def test_a_node_without_component_includes_structured_kubelet_messages(world: World, endpoints: Endpoints) -> None:
    lines = logging_source(endpoints, world).query(LogQuery(target="node", since=T0, node=VM))
    assert [line.text for line in lines][0] == "Unable to register node"
    assert len(lines) == 3


def test_a_pods_container_and_the_whole_pod(world: World, endpoints: Endpoints) -> None:
    source = logging_source(endpoints, world)
    app = source.query(LogQuery(target="pod", since=T0, namespace="web", pod="api-1", container="app"))
    assert [line.origin for line in app] == ["api-1/app", "api-1/app"]
    everything = source.query(LogQuery(target="pod", since=T0, namespace="web", pod="api-1"))
    assert [line.text for line in everything][0] == "proxy ready" and len(everything) == 3


def test_window_severity_and_limit_narrow_the_answer(world: World, endpoints: Endpoints) -> None:
    source = logging_source(endpoints, world)
    late = source.query(LogQuery(target="node", since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=2, seconds=30),
                                 node=VM))
    assert [line.text for line in late] == ["failed to retrieve node info"]
    errors = source.query(LogQuery(target="node", since=T0, node=VM, min_severity="ERROR", limit=1))
    assert [line.text for line in errors] == ["failed to retrieve node info"]


def test_the_autoscalers_decisions_are_shown_as_compact_json(world: World, endpoints: Endpoints) -> None:
    [line] = logging_source(endpoints, world).query(LogQuery(target="autoscaler", since=T0))
    assert line.origin == "cluster-autoscaler"
    assert "no.scale.up.mig.failing.predicate" in line.text and "\n" not in line.text


def test_grep_finds_the_literal_text_only(world: World, endpoints: Endpoints) -> None:
    source = logging_source(endpoints, world)
    pod = dict(target="pod", since=T0, namespace="web", pod="api-1")
    assert [line.text for line in source.query(LogQuery(**pod, grep="listening"))] == ["listening on :8080"]
    literal = source.query(LogQuery(**pod, grep='x" OR severity>=DEBUG OR "'))
    assert [line.severity for line in literal] == ["ERROR"]


@pytest.mark.parametrize("attempt", ['x" OR severity>=DEBUG OR "', '" OR resource.type="k8s_node" OR "', "\\"])
def test_injection_attempts_return_nothing_rather_than_more(world: World, endpoints: Endpoints, attempt: str) -> None:
    lines = logging_source(endpoints, world).query(LogQuery(target="node", since=T0, node=VM, grep=attempt))
    assert lines == []
    assert logging_source(endpoints, world).query(LogQuery(target="node", since=T0, node=attempt)) == []


def test_the_explorer_link_runs_the_shown_filter_over_the_window(world: World, endpoints: Endpoints) -> None:
    source = logging_source(endpoints, world)
    query = LogQuery(target="node", since=T0, node=VM, component="kubelet", grep="register")
    url = source.explorer_url(query)
    encoded = url.split(";query=", 1)[1].split(";timeRange=", 1)[0]
    assert unquote(encoded) == source.filter_for(query)
    assert "timeRange=2026-11-24T08%3A00%3A00Z%2F2026-11-24T09%3A00%3A00Z" in url
    assert url.endswith(f"?project={PROJECT}")


def test_another_projects_logs_are_forbidden(world: World, endpoints: Endpoints) -> None:
    with pytest.raises(Forbidden, match="roles/logging.viewer"):
        logging_source(endpoints, world, project="someone-else").query(LogQuery(target="autoscaler", since=T0))


def test_a_503_is_unreachable(world: World, endpoints: Endpoints) -> None:
    world.faults.logging_errors.append(503)
    with pytest.raises(Unreachable, match="Cloud Logging"):
        logging_source(endpoints, world).query(LogQuery(target="autoscaler", since=T0))


def test_a_limit_out_of_range_is_bad_input(world: World, endpoints: Endpoints) -> None:
    with pytest.raises(BadInput):
        logging_source(endpoints, world).query(LogQuery(target="autoscaler", since=T0, limit=0))

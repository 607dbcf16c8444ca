"""The simulated Cloud Logging API, read through google-cloud-logging's HTTP client as the bot reads it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import logging as cloud_logging

from sim.google.builders import autoscaler_log, container_log, no_scale_up_payload, node_log, vm_log
from sim.google.metadata import proxy_environment
from sim.server import SimServer
from sim.world import World

PROJECT = "shop-project"
WHERE = {"location": "us-west1-a", "cluster": "shop-prod"}
BROKEN_VM = "gke-shop-prod-default-pool-1b2c3d4e-x9k2"
GOOD_NODE = "gke-shop-prod-default-pool-0a1b2c3d-a1b2"
SINCE = '"2026-11-24T00:00:00Z"'


@pytest.fixture(scope="module")
def world() -> World:
    world = World(project=PROJECT)
    start = world.clock.now()
    at = [start + timedelta(seconds=s) for s in range(10)]
    world.google.add_log_entries(
        [
            node_log(PROJECT, **WHERE, node=BROKEN_VM, log="kube-proxy", severity="ERROR", at=at[1],
                     text='Failed to start proxier: "iptables-restore" failed: exit status 2'),
            node_log(PROJECT, **WHERE, node=BROKEN_VM, log="kubelet", severity="WARNING", at=at[2],
                     text="Unable to register node with API server: Post \\api\\v1\\nodes: connection refused"),
            node_log(PROJECT, **WHERE, node=GOOD_NODE, log="kube-proxy", severity="INFO", at=at[3],
                     text="Starting iptables proxier"),
            container_log(PROJECT, **WHERE, namespace="shop", pod="web-1", container="web", at=at[4],
                          text="GET /healthz 200", pod_labels={"app": "web"}),
            container_log(PROJECT, **WHERE, namespace="shop", pod="web-1", container="web", at=at[5],
                          stream="stderr", text="panic: checkout unreachable", pod_labels={"app": "web"}),
            autoscaler_log(PROJECT, **WHERE, at=at[6],
                           payload=no_scale_up_payload("no.scale.up.mig.failing.predicate",
                                                       pods=[("shop", "web-3")], groups=["gke-shop-prod-grp"])),
            vm_log(PROJECT, zone="us-west1-b", instance=BROKEN_VM, instance_id="123", at=at[7],
                   text="startup-script: done"),
        ]
    )
    return world


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[SimServer]:
    with SimServer(world) as running:
        yield running


@pytest.fixture(scope="module", autouse=True)
def metadata_stays_on_loopback(server: SimServer) -> Iterator[None]:
    """The client asks the metadata server about itself per log name; answer that on loopback."""
    assert server.endpoints is not None
    with pytest.MonkeyPatch.context() as env:
        for key, value in proxy_environment(server.endpoints.logging).items():
            env.setenv(key, value)
        yield


@pytest.fixture(scope="module")
def client(server: SimServer) -> cloud_logging.Client:
    assert server.endpoints is not None
    return cloud_logging.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),
        _use_grpc=False,
        client_options={"api_endpoint": server.endpoints.logging},
    )


def texts(client: cloud_logging.Client, query: str, **kwargs: object) -> list[str]:
    return [str(entry.payload) for entry in client.list_entries(filter_=f"{query} AND timestamp>={SINCE}", **kwargs)]


def test_kube_proxy_logs_of_a_vm_that_never_registered(client: cloud_logging.Client) -> None:
    query = (
        f'timestamp>={SINCE} resource.type="k8s_node" AND resource.labels.node_name="{BROKEN_VM}" '
        f'AND logName="projects/{PROJECT}/logs/kube-proxy"'
    )
    entries = list(client.list_entries(filter_=query))

    assert len(entries) == 1
    assert entries[0].severity == "ERROR"
    assert "Failed to start proxier" in entries[0].payload
    assert entries[0].resource.labels["cluster_name"] == "shop-prod"


def test_or_and_not_with_logs_of_the_node_components(client: cloud_logging.Client) -> None:
    found = texts(client, '(log_id("kube-proxy") OR log_id("kubelet")) NOT resource.labels.node_name="' + GOOD_NODE + '"')
    assert len(found) == 2
    assert "Starting iptables proxier" not in found
    assert found[0].startswith("Failed to start proxier")


def test_severity_at_least_warning(client: cloud_logging.Client) -> None:
    found = texts(client, "severity>=WARNING")
    assert [t.split(":")[0] for t in found] == ["Failed to start proxier", "Unable to register node with API server", "panic"]


def test_time_window_bounds_are_inclusive(client: cloud_logging.Client) -> None:
    found = [
        str(e.payload)
        for e in client.list_entries(
            filter_='timestamp>="2026-11-24T09:00:02Z" AND timestamp<="2026-11-24T09:00:03.000000000Z"'
        )
    ]
    assert found == ["Unable to register node with API server: Post \\api\\v1\\nodes: connection refused", "Starting iptables proxier"]


def test_quoted_strings_with_quotes_and_backslashes(client: cloud_logging.Client) -> None:
    assert len(texts(client, r'textPayload:"\"iptables-restore\""')) == 1
    assert len(texts(client, r'textPayload:"Post \\api\\v1\\nodes"')) == 1
    assert texts(client, r'textPayload:"\"nothing like this\""') == []


def test_pod_label_and_global_text_search(client: cloud_logging.Client) -> None:
    assert len(texts(client, 'labels."k8s-pod/app"="web"')) == 2
    assert texts(client, '"checkout unreachable"') == ["panic: checkout unreachable"]


def test_autoscaler_decisions_are_json_payloads(client: cloud_logging.Client) -> None:
    query = f'timestamp>={SINCE} logName="projects/{PROJECT}/logs/container.googleapis.com%2Fcluster-autoscaler-visibility"'
    entries = list(client.list_entries(filter_=query))
    assert len(entries) == 1
    rejected = entries[0].payload["noDecisionStatus"]["noScaleUp"]["unhandledPodGroups"][0]["rejectedMigs"][0]
    assert rejected["reason"]["messageId"] == "no.scale.up.mig.failing.predicate"


def test_newest_first_and_paging(client: cloud_logging.Client) -> None:
    newest_first = texts(client, 'resource.type="k8s_node"', order_by=cloud_logging.DESCENDING, page_size=1)
    oldest_first = texts(client, 'resource.type="k8s_node"', page_size=2)

    assert newest_first == list(reversed(oldest_first))
    assert newest_first[0] == "Starting iptables proxier"


def test_max_results_stops_early(client: cloud_logging.Client) -> None:
    assert len(texts(client, "severity>=DEFAULT", page_size=2, max_results=3)) == 3


def test_malformed_filter_is_a_bad_request(client: cloud_logging.Client) -> None:
    with pytest.raises(exceptions.BadRequest, match="Unparseable filter"):
        list(client.list_entries(filter_='resource.type="k8s_node" AND (severity>=ERROR'))


def test_unknown_severity_is_a_bad_request(client: cloud_logging.Client) -> None:
    with pytest.raises(exceptions.BadRequest, match="severity"):
        list(client.list_entries(filter_="severity>=LOUD"))


@pytest.mark.parametrize(
    ("code", "error"),
    [(503, exceptions.ServiceUnavailable), (429, exceptions.TooManyRequests), (403, exceptions.Forbidden)],
)
def test_injected_faults_raise_the_clients_exception(
    world: World, client: cloud_logging.Client, code: int, error: type[Exception]
) -> None:
    world.faults.logging_errors.append(code)
    with pytest.raises(error):
        list(client.list_entries(filter_=f"timestamp>={SINCE}"))
    assert len(list(client.list_entries(filter_=f"timestamp>={SINCE}"))) == 7

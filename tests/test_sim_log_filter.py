"""The Cloud Logging query grammar the simulated API understands, checked entry by entry."""

from __future__ import annotations

import pytest

from sim.google.log_filter import FilterError, compile_filter

KUBE_PROXY = {
    "logName": "projects/p/logs/kube-proxy",
    "resource": {"type": "k8s_node", "labels": {"node_name": "gke-a-pool-1234-x9k2", "location": "us-west1-a"}},
    "severity": "ERROR",
    "timestamp": "2026-11-24T09:00:05.123456789Z",
    "textPayload": 'Failed to start proxier: "iptables-restore" failed at C:\\path',
    "labels": {"k8s-pod/app": "web"},
}
AUTOSCALER = {
    "logName": "projects/p/logs/container.googleapis.com%2Fcluster-autoscaler-visibility",
    "resource": {"type": "k8s_cluster", "labels": {"cluster_name": "shop"}},
    "severity": "DEFAULT",
    "timestamp": "2026-11-24T09:00:00Z",
    "jsonPayload": {"message": "scale up blocked", "count": 3},
}


def matches(query: str, entry: dict) -> bool:
    return compile_filter(query)(entry)


@pytest.mark.parametrize(
    "query",
    [
        "",
        'resource.type="k8s_node"',
        "resource.type=k8s_node",
        'resource.type="k8s_node" AND severity>=WARNING',
        'resource.type="k8s_node" severity>=ERROR',  # juxtaposition is AND
        'resource.type="k8s_cluster" OR resource.labels.node_name:"x9k2"',
        'NOT resource.type="k8s_cluster"',
        '-resource.type="k8s_cluster"',
        'severity>=400 AND severity<CRITICAL',
        'timestamp>="2026-11-24T09:00:05Z" AND timestamp<="2026-11-24T09:00:05.2Z"',
        'timestamp>"2026-11-24T10:00:05+01:00"',
        r'textPayload:"\"iptables-restore\""',
        r'textPayload:"C:\\path"',
        'labels."k8s-pod/app"="web"',
        '"IPTABLES-RESTORE"',  # global search ignores case
        'log_id("kube-proxy")',
        "resource.labels.node_name=(\"other\" OR \"gke-a-pool-1234-x9k2\")",
        "resource.labels.node_name=~\"^gke-.*-x9k2$\"",
        "labels:*",
    ],
)
def test_kube_proxy_entry_matches(query: str) -> None:
    assert matches(query, KUBE_PROXY)


@pytest.mark.parametrize(
    "query",
    [
        'resource.type="k8s_cluster"',
        "severity<ERROR",
        'timestamp<"2026-11-24T09:00:05Z"',
        'textPayload:"iptables-save"',
        'labels."k8s-pod/app"="api"',
        'jsonPayload.message:"scale"',  # absent field never matches
        'resource.labels.node_name!=(\"other\" OR \"gke-a-pool-1234-x9k2\")',
        'log_id("kubelet")',
        "jsonPayload:*",
    ],
)
def test_kube_proxy_entry_does_not_match(query: str) -> None:
    assert not matches(query, KUBE_PROXY)


def test_or_binds_tighter_than_and() -> None:
    # (kube_proxy-type OR cluster-type) AND severity=DEFAULT: only the autoscaler entry
    query = 'resource.type="k8s_node" OR resource.type="k8s_cluster" AND severity=DEFAULT'
    assert matches(query, AUTOSCALER)
    assert not matches(query, KUBE_PROXY)


def test_json_payload_fields_and_numbers() -> None:
    assert matches('jsonPayload.message:"blocked" AND jsonPayload.count>2', AUTOSCALER)
    assert not matches("jsonPayload.count>=4", AUTOSCALER)
    assert matches('log_id("container.googleapis.com/cluster-autoscaler-visibility")', AUTOSCALER)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('resource.type="k8s_node" AND (severity>=ERROR', "token '<EOF>'"),
        ('resource.type="k8s_node', "unterminated string"),
        ("severity>=", "token '<EOF>'"),
        ("AND severity>=ERROR", "column 1, token 'AND'"),
        ("severity>=LOUD", "invalid value for severity"),
        ('timestamp>="yesterday"', "invalid value for timestamp"),
        ("a = = b", "token '='"),
        ("textPayload=~\"(\"", "invalid regular expression"),
        (")", "token ')'"),
    ],
)
def test_malformed_filters_are_refused_with_a_message(query: str, message: str) -> None:
    with pytest.raises(FilterError, match="Unparseable filter") as refused:
        compile_filter(query)
    assert message in str(refused.value)

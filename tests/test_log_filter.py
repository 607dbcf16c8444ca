"""Log filters are built from values, never from user-typed query text."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import unquote

import pytest

from bot.errors import BadInput
from bot.sources.contracts import LogQuery
from bot.sources.google.log_filter import build_filter, explorer_url, quote_filter_value
from sim.google.log_filter import compile_filter

SINCE = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
INJECTION = 'x" OR severity>=DEBUG OR "'


def test_quotes_and_backslashes_are_escaped() -> None:
    assert quote_filter_value("plain") == '"plain"'
    assert quote_filter_value(INJECTION) == '"x\\" OR severity>=DEBUG OR \\""'
    assert quote_filter_value("C:\\path\\") == '"C:\\\\path\\\\"'
    assert quote_filter_value("two\nlines") == '"two\\nlines"'


def test_control_characters_are_refused() -> None:
    with pytest.raises(BadInput):
        quote_filter_value("bell\x07")


@pytest.mark.parametrize("attempt", [INJECTION, '\\" OR "', 'a\\\\" OR NOT "', '") OR ("', "x\\"])
def test_an_injection_attempt_stays_one_literal_in_the_query_grammar(attempt: str) -> None:
    """The simulated service's parser reads the quoted value back as exactly the original text."""
    entry_with_it = {"textPayload": f"prefix {attempt} suffix", "severity": "DEBUG"}
    entry_without = {"textPayload": "anything else", "severity": "DEBUG"}
    matches = compile_filter(quote_filter_value(attempt))
    assert matches(entry_with_it) and not matches(entry_without)


def test_a_node_component_query_names_resource_node_log_and_window() -> None:
    query = LogQuery(target="node", since=SINCE, until=datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
                     node="gke-shop-web-1a2b-v000", component="kube-proxy", min_severity="warning")
    assert build_filter(query, project="shop-prod", cluster="shop") == (
        'resource.type="k8s_node" AND resource.labels.cluster_name="shop"'
        ' AND resource.labels.node_name="gke-shop-web-1a2b-v000"'
        ' AND logName="projects/shop-prod/logs/kube-proxy"'
        ' AND timestamp>="2026-11-24T08:00:00Z" AND timestamp<="2026-11-24T09:00:00Z" AND severity>=WARNING'
    )


def test_the_autoscaler_log_name_is_percent_encoded() -> None:
    text = build_filter(LogQuery(target="autoscaler", since=SINCE), project="p", cluster="c")
    assert 'logName="projects/p/logs/container.googleapis.com%2Fcluster-autoscaler-visibility"' in text
    assert 'resource.type="k8s_cluster"' in text


def test_a_pod_query_with_grep_quotes_every_value() -> None:
    query = LogQuery(target="pod", since=SINCE, namespace="web", pod="api-1", container="app", grep=INJECTION)
    text = build_filter(query, project="p", cluster="c")
    assert 'resource.labels.container_name="app"' in text
    assert text.endswith('AND "x\\" OR severity>=DEBUG OR \\""')


@pytest.mark.parametrize(
    "query",
    [
        LogQuery(target="node", since=SINCE),
        LogQuery(target="node", since=SINCE, node="n", component="sshd"),
        LogQuery(target="pod", since=SINCE, pod="p"),
        LogQuery(target="autoscaler", since=SINCE, min_severity="LOUD"),
        LogQuery(target="autoscaler", since=SINCE, until=SINCE),
    ],
)
def test_incomplete_or_unknown_parts_are_bad_input(query: LogQuery) -> None:
    with pytest.raises(BadInput):
        build_filter(query, project="p", cluster="c")


def test_the_explorer_link_carries_the_same_filter_and_window() -> None:
    text = build_filter(LogQuery(target="node", since=SINCE, node="n1", grep="a b;c=d"), project="p", cluster="c")
    url = explorer_url(text, project="shop prod", since=SINCE, until=datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    assert url.startswith("https://console.cloud.google.com/logs/query;query=")
    encoded = url.split(";query=", 1)[1].split(";timeRange=", 1)[0]
    assert unquote(encoded) == text
    assert all(c not in encoded for c in ' ";=()')
    assert ";timeRange=2026-11-24T08%3A00%3A00Z%2F2026-11-24T09%3A00%3A00Z?project=shop%20prod" in url

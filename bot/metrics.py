"""The bot's Prometheus metrics, on a registry of their own.

Operators need to see from outside whether commands fail, checks reach their
clusters and Slack pushes back (retries, API errors). The metrics live on a
dedicated registry, not the process-wide default, so a test can build a fresh
``Metrics`` and read exactly what it caused.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

COMMAND_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)
# Slack gives up on an unacknowledged request after 3 seconds: the buckets are finest below that.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)


PREFIX = "k8s_chatops_"  # one namespace for every series the bot exports


class Metrics:
    """Every metric the bot exports; the methods are what the rest of the code calls."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.commands = Counter(
            PREFIX + "commands_total", "Commands run, by command and outcome", ["command", "outcome"], registry=self.registry
        )
        self.command_seconds = Histogram(
            PREFIX + "command_seconds", "Time from receiving a command to having its answer", ["command"],
            buckets=COMMAND_BUCKETS, registry=self.registry,
        )
        self.checks = Counter(
            PREFIX + "checks_total", "Scheduled check runs, by cluster and outcome", ["cluster", "outcome"],
            registry=self.registry,
        )
        self.incidents_open = Gauge(PREFIX + "incidents_open", "Incidents currently open", registry=self.registry)
        self.slack_retries = Counter(
            PREFIX + "slack_retries_total", "Slack Web API requests retried (rate limits, 5xx, connection errors), by method",
            ["method"], registry=self.registry,
        )
        self.slack_api_errors = Counter(
            PREFIX + "slack_api_errors_total", "Slack Web API calls that failed for good, by method and error",
            ["method", "error"], registry=self.registry,
        )
        self.ack_seconds = Histogram(
            PREFIX + "ack_seconds", "Time from a Slack request reaching a listener to its acknowledgement, by kind",
            ["kind"], buckets=ACK_BUCKETS, registry=self.registry,
        )
        self.busy_refusals = Counter(
            PREFIX + "busy_refusals_total", "Requests refused because the answer backlog was full, by kind",
            ["kind"], registry=self.registry,
        )
        self.rejected_requests = Counter(
            PREFIX + "rejected_requests_total", "HTTP requests refused before reaching a listener, by reason",
            ["reason"], registry=self.registry,
        )
        self.outbox_depth = Gauge(
            PREFIX + "outbox_depth", "Alert posts waiting in the outbox to be sent to Slack", registry=self.registry
        )
        self.socket_mode_connected = Gauge(
            PREFIX + "socket_mode_connected", "1 while the Socket Mode connection to Slack is open", registry=self.registry
        )
        self.slack_ready = Gauge(
            PREFIX + "slack_ready", "1 while the bot can serve Slack (token accepted, transport up)",
            registry=self.registry,
        )
        self.cluster_up = Gauge(
            PREFIX + "cluster_up", "1 when the cluster's API answered the last probe", ["cluster"], registry=self.registry
        )

    def command_done(self, command: str, outcome: str, seconds: float) -> None:
        self.commands.labels(command=command, outcome=outcome).inc()
        self.command_seconds.labels(command=command).observe(seconds)

    def check_done(self, cluster: str, outcome: str) -> None:
        self.checks.labels(cluster=cluster, outcome=outcome).inc()

    def set_incidents_open(self, count: int) -> None:
        self.incidents_open.set(count)

    def slack_retried(self, method: str) -> None:
        self.slack_retries.labels(method=method or "?").inc()

    def acked(self, kind: str, seconds: float) -> None:
        self.ack_seconds.labels(kind=kind).observe(seconds)

    def busy(self, kind: str) -> None:
        self.busy_refusals.labels(kind=kind).inc()

    def rejected(self, reason: str) -> None:
        self.rejected_requests.labels(reason=reason).inc()

    def set_outbox_depth(self, count: int) -> None:
        self.outbox_depth.set(count)

    def set_socket_connected(self, connected: bool) -> None:
        self.socket_mode_connected.set(1 if connected else 0)

    def set_slack_ready(self, ready: bool) -> None:
        self.slack_ready.set(1 if ready else 0)

    def set_cluster_up(self, cluster: str, up: bool) -> None:
        self.cluster_up.labels(cluster=cluster).set(1 if up else 0)

    def slack_api_error(self, method: str, error: str) -> None:
        self.slack_api_errors.labels(method=method or "?", error=error or "unknown").inc()

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)


# The process's metrics; components take a ``Metrics`` argument defaulting to this one.
metrics = Metrics()

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
            PREFIX + "slack_retries_total", "Slack Web API requests retried (rate limits, 5xx, connection errors)",
            registry=self.registry,
        )
        self.slack_api_errors = Counter(
            PREFIX + "slack_api_errors_total", "Slack Web API calls that failed for good, by method and error",
            ["method", "error"], registry=self.registry,
        )

    def command_done(self, command: str, outcome: str, seconds: float) -> None:
        self.commands.labels(command=command, outcome=outcome).inc()
        self.command_seconds.labels(command=command).observe(seconds)

    def check_done(self, cluster: str, outcome: str) -> None:
        self.checks.labels(cluster=cluster, outcome=outcome).inc()

    def set_incidents_open(self, count: int) -> None:
        self.incidents_open.set(count)

    def slack_retried(self) -> None:
        self.slack_retries.inc()

    def slack_api_error(self, method: str, error: str) -> None:
        self.slack_api_errors.labels(method=method or "?", error=error or "unknown").inc()

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)


# The process's metrics; components take a ``Metrics`` argument defaulting to this one.
metrics = Metrics()

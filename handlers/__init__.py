"""Command handlers: importing this package declares every command on the registry."""

from handlers import alerts, cluster, clusters, help, logs, nodes, pods, ssh  # noqa: F401

"""Command handlers: importing this package declares every command on the registry."""

from handlers import cluster, clusters, help, logs, nodes, pods, ssh  # noqa: F401

"""Command handlers: importing this package declares every command on the registry."""

from handlers import cluster, logs, nodes, ssh  # noqa: F401

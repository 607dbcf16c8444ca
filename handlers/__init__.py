"""Command handlers: importing this package declares every command on the registry."""

from handlers import cluster, nodes, ssh  # noqa: F401

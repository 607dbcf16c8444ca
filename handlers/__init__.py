"""Command handlers: importing this package declares every command on the registry."""

from handlers import nodes  # noqa: F401

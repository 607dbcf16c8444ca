"""What a running command may use: the invocation, its cluster, and the bot's services."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.clock import Clock
from bot.clusters import ClusterHandle, ClusterRegistry
from bot.commands.invocation import Invocation
from bot.settings import Settings


@dataclass
class CommandContext:
    invocation: Invocation
    settings: Settings
    clusters: ClusterRegistry
    clock: Clock
    cluster: ClusterHandle | None = None  # resolved for commands that need one
    public: bool = False
    # Optional services other parts provide (e.g. "incidents" for the alerts commands).
    services: dict[str, Any] = field(default_factory=dict)

    @property
    def handle(self) -> ClusterHandle:
        if self.cluster is None:
            raise RuntimeError("this command was declared without needs_cluster")
        return self.cluster

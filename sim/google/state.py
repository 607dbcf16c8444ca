"""Placeholder: GKE clusters, operations, instance groups, VMs and log entries (being written)."""
from sim.clock import SimClock


class GoogleState:
    def __init__(self, clock: SimClock, *, project: str) -> None:
        self.clock = clock
        self.project = project

"""Placeholder: the Kubernetes object store (being written)."""
from sim.clock import SimClock


class KubeStore:
    def __init__(self, clock: SimClock) -> None:
        self.clock = clock

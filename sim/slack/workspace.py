"""Placeholder: the Slack workspace, its channels and the recorded calls (being written)."""
from sim.clock import SimClock


class SlackWorkspace:
    def __init__(self, clock: SimClock) -> None:
        self.clock = clock

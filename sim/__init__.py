"""A simulated GKE world on loopback.

The bot's tests, its demo and its benchmarks need Kubernetes, GKE, Compute,
Cloud Logging and Slack, none of which is reachable from a developer's machine
or CI. This package serves all five on 127.0.0.1 in their real wire formats,
so the real client libraries talk to it unchanged. The bot's runtime code never
imports it.
"""

from sim.clock import SimClock
from sim.world import Faults, World

__all__ = ["Faults", "SimClock", "World"]

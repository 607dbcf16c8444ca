"""Many clusters in one simulated project: a ``World`` per cluster around one set of Google and Slack services.

A team with twenty GKE clusters has twenty control planes, each of which can
be down or slow on its own, but one GKE API, one Compute API, one Cloud
Logging and one Slack workspace. A ``Fleet`` keeps exactly that split: each
cluster is a ``World`` of its own (its ``kube`` store and its ``faults``),
and all of them share the fleet's clock, lock, project, ``google`` and
``slack``. Every single-cluster helper (scenarios, timelines, churn, the
generator, the controllers) works unchanged on a cluster's world.

``fleet.faults`` are the shared services' faults (GKE, Compute and Logging
errors, Slack's); a cluster's Kubernetes faults (``kube_down``,
``kube_outage``, ``kube_delay_seconds``, ``metrics_api_missing``) are set on
its own world: ``fleet.worlds["fleet-02"].faults.kube_outage = "refuse"``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

from sim.clock import SimClock
from sim.google.state import GoogleState
from sim.slack.workspace import SlackWorkspace
from sim.world import Faults, World


class Fleet:
    """Clusters by name, each a ``World`` sharing the fleet's clock, lock, Google state and Slack."""

    def __init__(self, clusters: Iterable[str] = (), *, clock: SimClock | None = None, project: str = "demo-project") -> None:
        # The shared services live in a world of their own, which serves no Kubernetes API: the servers build
        # GKE, Compute, Logging and Slack from it, so their faults are the fleet's and no cluster's.
        self.services = World(clock, project=project)
        self.worlds: dict[str, World] = {}
        for name in clusters:
            self.add(name)

    def add(self, cluster: str) -> World:
        """A new cluster's world (an empty Kubernetes API) on the fleet's shared services."""
        if cluster in self.worlds:
            raise ValueError(f"the fleet already has a cluster named {cluster!r}")
        world = World(shares=self.services)
        self.worlds[cluster] = world
        return world

    def __getitem__(self, cluster: str) -> World:
        return self.worlds[cluster]

    def __iter__(self) -> Iterator[str]:
        return iter(self.worlds)

    def __len__(self) -> int:
        return len(self.worlds)

    @property
    def first(self) -> World:
        """The first cluster's world: the one ``Endpoints.kube`` serves, as for a single world."""
        if not self.worlds:
            raise ValueError("the fleet has no cluster yet")
        return next(iter(self.worlds.values()))

    @property
    def clock(self) -> SimClock:
        return self.services.clock

    @property
    def lock(self) -> threading.RLock:
        return self.services.lock

    @property
    def project(self) -> str:
        return self.services.project

    @property
    def google(self) -> GoogleState:
        return self.services.google

    @property
    def slack(self) -> SlackWorkspace:
        return self.services.slack

    @property
    def faults(self) -> Faults:
        """Faults of GKE, Compute, Logging and Slack; each cluster's Kubernetes faults are on its world."""
        return self.services.faults

    def location(self, cluster: str) -> str:
        """Where GKE says ``cluster`` is (a zone or a region)."""
        for resource in self.google.clusters():
            if resource["name"] == cluster:
                return str(resource["location"])
        raise KeyError(f"GKE has no cluster named {cluster!r}")

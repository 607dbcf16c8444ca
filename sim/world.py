"""The state of the simulated world, shared by every simulated API.

One ``World`` holds one clock, one lock and a store per service. The API
servers read it under the lock; scenarios and tests change it under the lock.
Faults are switches a test flips to make an API misbehave the way the real
one does (a control plane down mid-upgrade, Slack rate limiting, ...).

A world may share its clock, lock, project, Google state and Slack workspace
with another (``shares``) and keep only its Kubernetes API and faults: that
is one cluster of a fleet (``sim.fleet``), where every cluster has its own
control plane but GKE, Compute, Logging and Slack are one set of services.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sim.clock import SimClock
from sim.google.state import GoogleState
from sim.kube import apps, controllers
from sim.kube.store import KubeStore
from sim.slack.workspace import SlackWorkspace

OUTAGES = frozenset({"", "refuse", "timeout"})


@dataclass
class Faults:
    """Misbehaviour to inject; every counter is consumed one request at a time."""

    kube_down: bool = False  # every Kubernetes API request answers 503 ServiceUnavailable
    # The control plane gone, as during a zonal master upgrade: "refuse" (nothing listens on the API's ports:
    # connection refused, open connections dropped) or "timeout" (connections accepted, never answered).
    kube_outage: str = ""
    kube_delay_seconds: float = 0.0  # real delay before each Kubernetes answer (timeout tests)
    metrics_api_missing: bool = False  # metrics-server not installed: no metrics.k8s.io in discovery, its URLs 404
    gke_errors: list[int] = field(default_factory=list)  # HTTP codes for the next GKE requests
    compute_errors: list[int] = field(default_factory=list)
    logging_errors: list[int] = field(default_factory=list)
    slack_rate_limited: int = 0  # the next N Web API calls answer 429 with Retry-After
    slack_retry_after: int = 1
    slack_server_errors: int = 0  # the next N Web API calls answer 503
    # Per Web API method ("chat.postMessage"): HTTP statuses (429, 5xx) its next calls answer, not carried out.
    slack_method_errors: dict[str, list[int]] = field(default_factory=dict)
    # Per method: the next N calls get no answer for slack_stall_seconds (the client times out), not carried out.
    slack_stalls: dict[str, int] = field(default_factory=dict)
    slack_stall_seconds: float = 30.0
    # Per method: the next N calls are carried out, then the connection is closed before the answer
    # (the network dropped after Slack accepted: the caller cannot tell whether it happened).
    slack_drop_after_accept: dict[str, int] = field(default_factory=dict)
    # Per method: the next N calls are carried out, then the answer is held back for slack_hold_seconds
    # (a bot killed meanwhile never learns that Slack accepted).
    slack_hold_after_accept: dict[str, int] = field(default_factory=dict)
    slack_hold_seconds: float = 60.0

    _listeners: list[Callable[[str], None]] = field(default_factory=list, repr=False, compare=False)

    def __setattr__(self, name: str, value: object) -> None:
        if name == "kube_outage" and value not in OUTAGES:
            raise ValueError(f"kube_outage must be one of {sorted(OUTAGES)}, not {value!r}")
        super().__setattr__(name, value)
        if name == "kube_outage":
            for listener in list(getattr(self, "_listeners", ())):
                listener(str(value))

    def on_kube_outage(self, listener: Callable[[str], None]) -> None:
        """Call ``listener`` with the mode each time ``kube_outage`` is set (the server opens or closes its ports)."""
        self._listeners.append(listener)

    def take(self, queue: list[int]) -> int | None:
        return queue.pop(0) if queue else None

    def take_one(self, counts: dict[str, int], method: str) -> bool:
        """Consume one of ``method``'s remaining count in ``counts``; False when none is left."""
        left = counts.get(method, 0)
        if left <= 0:
            return False
        counts[method] = left - 1
        return True


class World:
    """Everything the simulated services know, behind one lock."""

    def __init__(self, clock: SimClock | None = None, *, project: str = "demo-project", shares: World | None = None) -> None:
        """``shares``: a world whose clock, lock, project, Google state and Slack this one uses as its own.

        Each cluster then keeps its own Kubernetes store and faults, so one
        control plane can be down while the others answer, as in a real fleet.
        """
        if shares is not None and clock is not None and clock is not shares.clock:
            raise ValueError("a world that shares another's services runs on that world's clock")
        self.clock: SimClock = shares.clock if shares else clock or SimClock()
        self.lock: threading.RLock = shares.lock if shares else threading.RLock()
        self.project: str = shares.project if shares else project
        self.faults = Faults()
        self.kube = KubeStore(self.clock)
        controllers.install(self.kube)
        apps.install(self.kube)
        self.google: GoogleState = shares.google if shares else GoogleState(self.clock, project=project)
        self.slack: SlackWorkspace = shares.slack if shares else SlackWorkspace(self.clock)

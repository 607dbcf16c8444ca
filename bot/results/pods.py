"""The `pods` and `pod NS/NAME` answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.analysis.pending import PendingGroup
from bot.model.kube import Event, Pod
from bot.results.links import LogLink


@dataclass(frozen=True)
class ProblemPod:
    pod: Pod
    problem: str  # pod_problem()'s word
    detail: str  # plain text: the message or last termination that explains it


@dataclass(frozen=True)
class PodsResult:
    cluster: str
    now: datetime
    scope: str  # "all namespaces", "namespace shop", "node X", ...
    total: int
    phases: dict[str, int]
    pending: tuple[PendingGroup, ...]
    problems: tuple[ProblemPod, ...]
    filter_name: str = ""  # "pending", "failing", "node" or ""


@dataclass(frozen=True)
class PodDetail:
    cluster: str
    now: datetime
    pod: Pod
    problem: str | None
    events: tuple[Event, ...]
    log_link: LogLink | None = None

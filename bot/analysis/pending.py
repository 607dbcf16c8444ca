"""Why pods are not running: one reason per pod, and pending pods grouped by cause.

The scheduler's message names every node's objection ("0/3 nodes are
available: 3 Insufficient cpu."); the counts change with every retry, so
grouping on the raw text would split one cause into many groups. Reasons are
normalized to the objections alone, and each group carries what the cluster
autoscaler last said about its pods: that is where "it will scale up" or
"no node group can help" is told.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from bot.model.kube import Event, Pod

AUTOSCALER_REASONS = ("TriggeredScaleUp", "NotTriggerScaleUp", "FailedScaleUp")
# What to ask the API server for them: field selectors cannot say "reason in (...)", so one request each.
AUTOSCALER_EVENT_SELECTORS = tuple(f"involvedObject.kind=Pod,reason={reason}" for reason in AUTOSCALER_REASONS)

# Waiting reasons that are problems in themselves (ContainerCreating is not).
_WAITING_PROBLEMS = (
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
    "CreateContainerError",
    "InvalidImageName",
    "RunContainerError",
)
_NODES_AVAILABLE = re.compile(r"^\s*\d+/\d+ nodes are available:\s*", re.IGNORECASE)
_LEADING_COUNT = re.compile(r"^\d+\s+(node\(s\)\s+)?")
_EPOCH = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class PendingGroup:
    reason: str
    example_message: str
    pods: tuple[Pod, ...]
    autoscaler: str  # the latest autoscaler event message about these pods, "" when none


@lru_cache(maxsize=4096)
def normalize_reason(message: str, fallback: str = "Pending") -> str:
    """"0/3 nodes are available: 1 node(s) had untolerated taint {x: }, 2 Insufficient cpu." -> "Insufficient cpu; had untolerated taint {x: }".

    Objections are ordered by how many nodes raised them, most first, and the
    preemption postscript is dropped (it repeats the same nodes). Cached: a
    thousand pods waiting for the same reason carry the same few messages.
    """
    text = message.split(" preemption:", 1)[0].strip()
    if not _NODES_AVAILABLE.match(text):
        return text.rstrip(".") or fallback
    body = _NODES_AVAILABLE.sub("", text).rstrip(".").strip()
    parts: list[tuple[int, str]] = []
    for raw in _split_outside_braces(body):
        raw = raw.strip()
        if not raw:
            continue
        count_match = re.match(r"^(\d+)", raw)
        count = int(count_match.group(1)) if count_match else 0
        parts.append((count, _LEADING_COUNT.sub("", raw).strip()))
    if not parts:
        return fallback
    parts.sort(key=lambda p: (-p[0], p[1]))
    return "; ".join(p[1] for p in parts)


def _split_outside_braces(text: str) -> list[str]:
    """Split on commas, except inside a taint's ``{key: value}``."""
    pieces: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        depth += char == "{"
        depth -= char == "}"
        if char == "," and depth <= 0:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return pieces


def pending_reason(pod: Pod) -> tuple[str, str]:
    """(normalized reason, raw message) for a pending pod."""
    unschedulable = pod.unschedulable
    if unschedulable is not None:
        message = unschedulable.message or unschedulable.reason
        return normalize_reason(message, unschedulable.reason or "Unschedulable"), message
    for container in pod.containers:
        if container.state == "waiting" and container.reason:
            return container.reason, container.message or container.reason
    return "Pending", pod.message or "Not scheduled yet."


def group_pending(pods: list[Pod], events: list[Event]) -> list[PendingGroup]:
    """Pending pods grouped by normalized reason, biggest group first."""
    grouped: dict[str, list[tuple[Pod, str]]] = defaultdict(list)
    for pod in pods:
        if pod.phase != "Pending" or pod.deleting:
            continue
        reason, message = pending_reason(pod)
        grouped[reason].append((pod, message))
    latest = _latest_autoscaler_events(events)
    groups = []
    for reason, members in grouped.items():
        group_pods = tuple(sorted((p for p, _ in members), key=lambda p: p.key))
        candidates = [latest[p.key] for p in group_pods if p.key in latest]
        newest = max(candidates, key=lambda e: e.last_seen or e.first_seen or _EPOCH, default=None)
        groups.append(
            PendingGroup(
                reason=reason,
                example_message=members[0][1],
                pods=group_pods,
                autoscaler=newest.message if newest else "",
            )
        )
    groups.sort(key=lambda g: (-len(g.pods), g.reason))
    return groups


def _latest_autoscaler_events(events: list[Event]) -> dict[str, Event]:
    latest: dict[str, Event] = {}
    for event in events:
        if event.kind != "Pod" or event.reason not in AUTOSCALER_REASONS:
            continue
        key = f"{event.object_namespace or event.namespace}/{event.object_name}"
        when = event.last_seen or event.first_seen or _EPOCH
        current = latest.get(key)
        if current is None or when >= (current.last_seen or current.first_seen or _EPOCH):
            latest[key] = event
    return latest


def pod_problem(pod: Pod, restart_threshold: int = 5) -> str | None:
    """The one word that says why a pod needs attention, or None when it does not.

    Order matters: a container in CrashLoopBackOff whose last exit was an OOM
    kill is reported as CrashLoopBackOff (what kubectl shows); the OOM shows
    in its last termination.
    """
    if pod.phase == "Succeeded":
        return None
    if pod.reason == "Evicted":
        return "Evicted"
    for container in pod.containers:
        if container.state == "waiting" and container.reason in _WAITING_PROBLEMS:
            return container.reason
    if pod.phase == "Pending":
        return "Unschedulable" if pod.unschedulable is not None else "Pending"
    if pod.phase == "Failed":
        return "Failed"
    for container in pod.containers:
        if container.reason == "OOMKilled" or (container.last_reason == "OOMKilled" and container.restart_count):
            return "OOMKilled"
    if pod.restarts >= restart_threshold:
        return "HighRestarts"
    return None

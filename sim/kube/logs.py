"""pods/{name}/log: which container, which lines, and the real server's refusals.

The bot falls back to these logs where Cloud Logging is not configured, and
must cope with the same refusals kubectl shows: no container named for a
multi-container pod, a container that has not started, a pod not yet
scheduled.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sim.kube.status import bad_request
from sim.kube.tables import parse_time


def choose_container(pod: dict[str, Any], requested: str | None) -> str:
    """The container to read, or the 400 the real server answers."""
    name = pod["metadata"]["name"]
    spec = pod.get("spec") or {}
    containers = [c.get("name", "") for c in spec.get("containers") or []]
    init = [c.get("name", "") for c in spec.get("initContainers") or []]
    if requested:
        if requested not in containers and requested not in init:
            raise bad_request(f"container {requested} is not valid for pod {name}")
        return requested
    if len(containers) == 1:
        return containers[0]
    message = f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
    if init:
        message += f" or one of the init containers: [{' '.join(init)}]"
    raise bad_request(message)


def check_started(pod: dict[str, Any], container: str) -> None:
    """A pod without a node or a container still waiting has no log to read."""
    name = pod["metadata"]["name"]
    if not (pod.get("spec") or {}).get("nodeName"):
        raise bad_request(f"pod {name} does not have a host assigned")
    status = pod.get("status") or {}
    for entry in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if entry.get("name") != container:
            continue
        waiting = (entry.get("state") or {}).get("waiting")
        if waiting and not entry.get("restartCount"):
            reason = waiting.get("reason") or "ContainerCreating"
            raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')


def previous_lines(pod: dict[str, Any], container: str, lines: list[tuple[datetime, str]]) -> list[tuple[datetime, str]]:
    """``previous=true``: the lines of the container's last terminated run, or the 400 when it has none."""
    status = pod.get("status") or {}
    for entry in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if entry.get("name") != container:
            continue
        terminated = (entry.get("lastState") or {}).get("terminated")
        if terminated and entry.get("restartCount"):
            ended = parse_time(terminated.get("finishedAt"))
            return [line for line in lines if ended is None or line[0] <= ended]
    name = pod["metadata"]["name"]
    raise bad_request(f'previous terminated container "{container}" in pod "{name}" not found')


def terminated(pod: dict[str, Any], container: str) -> bool:
    """The container's current run has ended (a followed log ends with it)."""
    status = pod.get("status") or {}
    for entry in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if entry.get("name") == container:
            return bool((entry.get("state") or {}).get("terminated"))
    return False


def go_nanos(moment: datetime) -> str:
    """RFC3339Nano as Go prints it (trailing zeros of the fraction dropped)."""
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


def render(
    lines: list[tuple[datetime, str]],
    *,
    now: datetime,
    tail: int | None,
    since_seconds: int | None,
    since_time: str | None,
    timestamps: bool,
    limit_bytes: int | None,
) -> bytes:
    """The plain-text body: one line each, optionally prefixed with its timestamp."""
    cutoff = now - timedelta(seconds=since_seconds) if since_seconds is not None else parse_time(since_time)
    chosen = [line for line in lines if cutoff is None or line[0] >= cutoff]
    if tail is not None and tail >= 0:
        chosen = chosen[-tail:] if tail else []
    text = "".join(f"{go_nanos(at)} {message}\n" if timestamps else f"{message}\n" for at, message in chosen).encode()
    return text[:limit_bytes] if limit_bytes else text

"""Kubernetes JSON (as decoded by orjson) to the bot's slim snapshot types.

These functions read plain dicts rather than the client's generated models:
building those models for 150,000 pods costs several times what decoding the
JSON does, and the bot only needs a handful of fields from each object. They
never raise on a missing field; the API omits empty fields routinely.
"""

from __future__ import annotations

import sys
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from bot.model.kube import (
    POOL_LABELS,
    ZONE_LABELS,
    Condition,
    ContainerState,
    DisruptionBudget,
    Event,
    Node,
    Pod,
    Resources,
    Taint,
    Toleration,
    Usage,
    Workload,
)
from bot.model.logs import LogLine
from bot.sources.timestamps import parse_time

Json = dict[str, Any]

_BINARY_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL_SUFFIXES = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}
_INSTANCE_TYPE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")


def parse_quantity(text: str | int | float | None) -> Decimal:
    """A Kubernetes resource quantity ("3920m", "16Gi", "1e3", "4") as a plain number.

    A malformed quantity counts as zero: one odd object must not make a whole
    listing fail, and the API server validates quantities on the way in anyway.
    """
    if text is None or text == "":
        return Decimal(0)
    if isinstance(text, (int, float)):
        return Decimal(str(text))
    value = text.strip()
    try:
        if value[-2:] in _BINARY_SUFFIXES:
            return Decimal(value[:-2]) * _BINARY_SUFFIXES[value[-2:]]
        if value[-1:] in _DECIMAL_SUFFIXES:
            return Decimal(value[:-1]) * _DECIMAL_SUFFIXES[value[-1:]]
        return Decimal(value)
    except InvalidOperation:
        return Decimal(0)


def millicores(text: str | int | float | None) -> int:
    """CPU quantity in millicores, rounded up as the scheduler does."""
    return int((parse_quantity(text) * 1000).to_integral_value(rounding="ROUND_CEILING"))


def byte_count(text: str | int | float | None) -> int:
    """Memory or storage quantity in bytes, rounded up."""
    return int(parse_quantity(text).to_integral_value(rounding="ROUND_CEILING"))


def parse_resources(block: Json | None) -> Resources:
    block = block or {}
    return _resources(block.get("cpu"), block.get("memory"), block.get("pods"))


@lru_cache(maxsize=1024)
def _resources(cpu: str | int | float | None, memory: str | int | float | None, pods: str | int | float | None) -> Resources:
    """Cached: nodes of one machine type repeat the same capacity and allocatable, and Resources is immutable."""
    return Resources(cpu_m=millicores(cpu), memory=byte_count(memory), pods=int(parse_quantity(pods)))


def _shared(text: str) -> str:
    """One copy of a string that thousands of objects repeat.

    A node list repeats the same label keys and values, condition types,
    reasons and messages on every node; the watch cache keeps 5,000 nodes for
    as long as the bot runs, and without this each keeps its own copies.
    """
    return sys.intern(text) if isinstance(text, str) else text


def parse_condition(raw: Json) -> Condition:
    return Condition(
        type=_shared(raw.get("type", "")),
        status=_shared(raw.get("status", "Unknown")),
        reason=_shared(raw.get("reason") or ""),
        message=_shared(raw.get("message") or ""),
        last_transition=parse_time(raw.get("lastTransitionTime")),
        last_heartbeat=parse_time(raw.get("lastHeartbeatTime") or raw.get("lastProbeTime")),
    )


def _first_label(labels: dict[str, str], keys: tuple[str, ...]) -> str:
    return next((labels[k] for k in keys if labels.get(k)), "")


def _telling(condition: Json) -> bool:
    """Ready, and any condition that is not plainly False: the ones a node list is judged by."""
    return condition.get("status") != "False" or condition.get("type") == "Ready"


def parse_node(raw: Json, *, all_conditions: bool = True) -> Node:
    """One node; with ``all_conditions`` False (lists and the watch cache) only the telling conditions.

    A GKE node carries a dozen conditions, node-problem-detector's among them,
    and on a healthy node all but Ready say False. Lists are judged by
    readiness and by the conditions that are True, so parsing the False ones
    for 5,000 nodes costs half a listing's parse for nothing; ``get_node``,
    which shows a node's every condition, keeps them all.
    """
    meta = raw.get("metadata") or {}
    spec = raw.get("spec") or {}
    status = raw.get("status") or {}
    labels = meta.get("labels") or {}
    addresses = status.get("addresses") or []
    return Node(
        name=meta.get("name", ""),
        uid=meta.get("uid", ""),
        created=parse_time(meta.get("creationTimestamp")),
        pool=_shared(_first_label(labels, POOL_LABELS)),
        zone=_shared(_first_label(labels, ZONE_LABELS)),
        kubelet_version=_shared((status.get("nodeInfo") or {}).get("kubeletVersion", "")),
        unschedulable=bool(spec.get("unschedulable")),
        conditions=tuple(
            parse_condition(c) for c in status.get("conditions") or () if all_conditions or _telling(c)
        ),
        taints=tuple(
            Taint(
                key=t.get("key", ""), effect=t.get("effect", ""), value=t.get("value") or "",
                time_added=parse_time(t.get("timeAdded")),
            )
            for t in spec.get("taints") or ()
        ),
        allocatable=parse_resources(status.get("allocatable")),
        capacity=parse_resources(status.get("capacity")),
        provider_id=spec.get("providerID") or "",
        internal_ip=next((a.get("address", "") for a in addresses if a.get("type") == "InternalIP"), ""),
        instance_type=_first_label(labels, _INSTANCE_TYPE_LABELS),
        labels={sys.intern(k): _shared(v) for k, v in labels.items()},  # JSON keys are always strings
        deleting=bool(meta.get("deletionTimestamp")),
    )


def _container_state(spec: Json, status: Json | None, *, init: bool) -> ContainerState:
    """Merge a container's spec with its status; a pod not yet scheduled has no status."""
    if status is None:
        return ContainerState(
            name=spec.get("name", ""), image=spec.get("image", ""), ready=False, restart_count=0,
            state="waiting", init=init,
        )
    current = status.get("state") or {}
    last = (status.get("lastState") or {}).get("terminated") or {}
    if "running" in current:
        kind, detail = "running", current["running"] or {}
    elif "waiting" in current:
        kind, detail = "waiting", current["waiting"] or {}
    elif "terminated" in current:
        kind, detail = "terminated", current["terminated"] or {}
    else:
        kind, detail = "unknown", {}
    exit_code = last.get("exitCode")
    return ContainerState(
        name=status.get("name") or spec.get("name", ""),
        image=spec.get("image") or status.get("image", ""),
        ready=bool(status.get("ready")),
        restart_count=int(status.get("restartCount") or 0),
        state=kind,
        reason=detail.get("reason") or "",
        message=detail.get("message") or "",
        started=parse_time(detail.get("startedAt")),
        last_reason=last.get("reason") or "",
        last_exit_code=int(exit_code) if exit_code is not None else None,
        last_finished=parse_time(last.get("finishedAt")),
        init=init,
    )


def _containers(specs: list[Json], statuses: list[Json], *, init: bool) -> list[ContainerState]:
    by_name = {s.get("name"): s for s in statuses}
    return [_container_state(spec, by_name.get(spec.get("name")), init=init) for spec in specs]


def _summed_requests(specs: list[Json]) -> Resources:
    cpu = memory = 0
    for spec in specs:
        requests = (spec.get("resources") or {}).get("requests") or {}
        cpu += millicores(requests.get("cpu"))
        memory += byte_count(requests.get("memory"))
    return Resources(cpu_m=cpu, memory=memory, pods=1)


def parse_pod(raw: Json) -> Pod:
    meta = raw.get("metadata") or {}
    spec = raw.get("spec") or {}
    status = raw.get("status") or {}
    owner: Json = next((o for o in meta.get("ownerReferences") or () if o.get("controller")), {})
    specs = spec.get("containers") or []
    grace = spec.get("terminationGracePeriodSeconds")
    return Pod(
        namespace=meta.get("namespace", ""),
        name=meta.get("name", ""),
        uid=meta.get("uid", ""),
        phase=status.get("phase") or "Unknown",
        node_name=spec.get("nodeName") or "",
        created=parse_time(meta.get("creationTimestamp")),
        labels=meta.get("labels") or {},
        owner_kind=owner.get("kind", ""),
        owner_name=owner.get("name", ""),
        reason=status.get("reason") or "",
        message=status.get("message") or "",
        conditions=tuple(parse_condition(c) for c in status.get("conditions") or ()),
        containers=tuple(
            _containers(spec.get("initContainers") or [], status.get("initContainerStatuses") or [], init=True)
            + _containers(specs, status.get("containerStatuses") or [], init=False)
        ),
        requests=_summed_requests(specs),
        termination_grace_seconds=int(grace) if grace is not None else 30,
        deleting=bool(meta.get("deletionTimestamp")),
        tolerations=_tolerations(spec.get("tolerations")),
    )


def _tolerations(raw: list[Json] | None) -> tuple[Toleration, ...]:
    if not raw:
        return ()
    return _shared_tolerations(tuple(
        (t.get("key") or "", t.get("operator") or "Equal", t.get("value") or "", t.get("effect") or "", t.get("tolerationSeconds"))
        for t in raw
    ))


@lru_cache(maxsize=1024)
def _shared_tolerations(spec: tuple[tuple[str, str, str, str, int | None], ...]) -> tuple[Toleration, ...]:
    """Most pods carry the same few tolerations (the two the API server adds to every pod): one copy each."""
    return tuple(
        Toleration(key=key, operator=operator, value=value, effect=effect, seconds=int(seconds) if seconds is not None else None)
        for key, operator, value, effect, seconds in spec
    )


def parse_event(raw: Json) -> Event:
    """Core v1 events; newer producers fill eventTime/series instead of the timestamps."""
    meta = raw.get("metadata") or {}
    involved = raw.get("involvedObject") or {}
    series = raw.get("series") or {}
    first = parse_time(raw.get("firstTimestamp")) or parse_time(raw.get("eventTime"))
    last = parse_time(raw.get("lastTimestamp")) or parse_time(series.get("lastObservedTime")) or first
    return Event(
        namespace=meta.get("namespace", ""),
        name=meta.get("name", ""),
        kind=involved.get("kind", ""),
        object_name=involved.get("name", ""),
        object_namespace=involved.get("namespace") or "",
        reason=raw.get("reason") or "",
        message=raw.get("message") or "",
        type=raw.get("type") or "Normal",
        count=int(raw.get("count") or series.get("count") or 1),
        first_seen=first,
        last_seen=last,
        source=(raw.get("source") or {}).get("component") or raw.get("reportingComponent") or "",
    )


def parse_disruption_budget(raw: Json) -> DisruptionBudget:
    meta = raw.get("metadata") or {}
    status = raw.get("status") or {}
    selector = (raw.get("spec") or {}).get("selector") or {}
    return DisruptionBudget(
        namespace=meta.get("namespace", ""),
        name=meta.get("name", ""),
        disruptions_allowed=int(status.get("disruptionsAllowed") or 0),
        current_healthy=int(status.get("currentHealthy") or 0),
        desired_healthy=int(status.get("desiredHealthy") or 0),
        expected_pods=int(status.get("expectedPods") or 0),
        match_labels=selector.get("matchLabels") or {},
    )


def parse_log_line(line: str, *, origin: str = "") -> LogLine:
    """One line of a pod log requested with ``timestamps=true``: "<RFC3339Nano> <text>"."""
    stamp, _, text = line.partition(" ")
    moment = parse_time(stamp)
    if moment is None:
        return LogLine(timestamp=None, severity="", text=line, origin=origin)
    return LogLine(timestamp=moment, severity="", text=text, origin=origin)


def parse_listed_node(raw: Json) -> Node:
    """A node from a list or a watch: see ``parse_node``."""
    return parse_node(raw, all_conditions=False)


def label_selector_text(selector: Json | None) -> str:
    """A LabelSelector object (matchLabels, matchExpressions) as the API's ``labelSelector`` parameter."""
    selector = selector or {}
    terms = [f"{key}={value}" for key, value in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or ():
        key, operator = expression.get("key", ""), expression.get("operator", "")
        values = ",".join(sorted(expression.get("values") or ()))
        if operator == "In":
            terms.append(f"{key} in ({values})")
        elif operator == "NotIn":
            terms.append(f"{key} notin ({values})")
        elif operator == "Exists":
            terms.append(key)
        elif operator == "DoesNotExist":
            terms.append(f"!{key}")
    return ",".join(terms)


def _count(block: Json, name: str) -> int:
    value = block.get(name)
    return int(value) if isinstance(value, int) else 0


def _workload_condition(raw: Json) -> Condition:
    """Workload conditions carry lastUpdateTime (the last progress) where nodes carry a heartbeat."""
    return Condition(
        type=raw.get("type", ""),
        status=raw.get("status", "Unknown"),
        reason=raw.get("reason") or "",
        message=raw.get("message") or "",
        last_transition=parse_time(raw.get("lastTransitionTime")),
        last_heartbeat=parse_time(raw.get("lastUpdateTime")),
    )


def parse_workload(raw: Json, kind: str) -> Workload:
    """A Deployment, StatefulSet or DaemonSet (``kind``), its counts read from the fields that kind's controller fills."""
    meta = raw.get("metadata") or {}
    spec = raw.get("spec") or {}
    status = raw.get("status") or {}
    template = (spec.get("template") or {}).get("spec") or {}
    if kind == "DaemonSet":
        desired, current = _count(status, "desiredNumberScheduled"), _count(status, "currentNumberScheduled")
        ready, updated = _count(status, "numberReady"), _count(status, "updatedNumberScheduled")
        available = _count(status, "numberAvailable")
        strategy = (spec.get("updateStrategy") or {}).get("type") or "RollingUpdate"
    else:
        replicas = spec.get("replicas")
        desired = int(replicas) if isinstance(replicas, int) else 1
        current, ready = _count(status, "replicas"), _count(status, "readyReplicas")
        updated, available = _count(status, "updatedReplicas"), _count(status, "availableReplicas")
        if kind == "Deployment":
            strategy = (spec.get("strategy") or {}).get("type") or "RollingUpdate"
        else:
            strategy = (spec.get("updateStrategy") or {}).get("type") or "RollingUpdate"
    deadline = spec.get("progressDeadlineSeconds") if kind == "Deployment" else None
    return Workload(
        kind=kind,
        namespace=meta.get("namespace", ""),
        name=meta.get("name", ""),
        uid=meta.get("uid", ""),
        created=parse_time(meta.get("creationTimestamp")),
        desired=desired,
        current=current,
        ready=ready,
        updated=updated,
        available=available,
        generation=_count(meta, "generation"),
        observed_generation=_count(status, "observedGeneration"),
        conditions=tuple(_workload_condition(c) for c in status.get("conditions") or ()),
        selector=label_selector_text(spec.get("selector")),
        images=tuple(c.get("image", "") for c in template.get("containers") or ()),
        labels=meta.get("labels") or {},
        paused=bool(spec.get("paused")),
        strategy=strategy,
        progress_deadline_seconds=int(deadline) if isinstance(deadline, int) else (600 if kind == "Deployment" else None),
        misscheduled=_count(status, "numberMisscheduled"),
        current_revision=status.get("currentRevision") or "",
        update_revision=status.get("updateRevision") or "",
    )


def parse_deployment(raw: Json) -> Workload:
    return parse_workload(raw, "Deployment")


def parse_statefulset(raw: Json) -> Workload:
    return parse_workload(raw, "StatefulSet")


def parse_daemonset(raw: Json) -> Workload:
    return parse_workload(raw, "DaemonSet")


def _window_seconds(text: str | None) -> float:
    """A Go duration as metrics-server writes its window: "10.5s", "1m0s", "20s"."""
    total, number = 0.0, ""
    for char in text or "":
        if char.isdigit() or char == ".":
            number += char
            continue
        unit = {"h": 3600.0, "m": 60.0, "s": 1.0}.get(char)
        if unit is None or not number:
            return 0.0
        total += float(number) * unit
        number = ""
    return total


def parse_node_metrics(raw: Json) -> Usage:
    """One metrics.k8s.io NodeMetrics."""
    usage = raw.get("usage") or {}
    return Usage(
        name=(raw.get("metadata") or {}).get("name", ""),
        cpu_m=millicores(usage.get("cpu")),
        memory=byte_count(usage.get("memory")),
        timestamp=parse_time(raw.get("timestamp")),
        window_seconds=_window_seconds(raw.get("window")),
    )


def parse_pod_metrics(raw: Json) -> Usage:
    """One metrics.k8s.io PodMetrics, its containers' usage summed."""
    meta = raw.get("metadata") or {}
    containers = [c.get("usage") or {} for c in raw.get("containers") or ()]
    return Usage(
        name=meta.get("name", ""),
        namespace=meta.get("namespace", ""),
        cpu_m=sum(millicores(c.get("cpu")) for c in containers),
        memory=sum(byte_count(c.get("memory")) for c in containers),
        timestamp=parse_time(raw.get("timestamp")),
        window_seconds=_window_seconds(raw.get("window")),
    )

"""GKE API messages (container_v1 proto-plus objects) to the bot's snapshot types.

Enums become their names ("RUNNING", "UPGRADE_MASTER"), the unset value
becomes "", and the maintenance policy becomes one sentence, because that is
how it is shown: "weekly on Sat, Sun at 02:00 UTC for 4h".
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from google.cloud.container_v1 import types

from bot.model.gke import Autoscaling, GkeCluster, NodePool, Operation
from bot.sources.timestamps import parse_time

_DAYS = {"MO": "Mon", "TU": "Tue", "WE": "Wed", "TH": "Thu", "FR": "Fri", "SA": "Sat", "SU": "Sun"}
_FREQUENCIES = {"DAILY": "daily", "WEEKLY": "weekly", "MONTHLY": "monthly"}
_ISO_DURATION = re.compile(r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$")


def enum_name(value: Any) -> str:
    """An enum's name, "" for the protocol's unset/unspecified value."""
    name = getattr(value, "name", "") or ""
    return "" if name.endswith("UNSPECIFIED") else name


def parse_cluster(cluster: types.Cluster, *, project: str) -> GkeCluster:
    return GkeCluster(
        project=project,
        name=cluster.name,
        location=cluster.location,
        locations=tuple(cluster.locations),
        status=enum_name(cluster.status),
        status_message=cluster.status_message or _condition_messages(cluster),
        master_version=cluster.current_master_version,
        node_version=cluster.current_node_version,
        release_channel=enum_name(cluster.release_channel.channel),
        maintenance_window=maintenance_summary(cluster.maintenance_policy),
        endpoint=cluster.endpoint,
        node_pools=tuple(parse_node_pool(pool) for pool in cluster.node_pools),
        autoprovisioning=bool(cluster.autoscaling.enable_node_autoprovisioning),
        maintenance_exclusions=maintenance_exclusions(cluster.maintenance_policy),
    )


def parse_node_pool(pool: types.NodePool) -> NodePool:
    scaling = pool.autoscaling
    return NodePool(
        name=pool.name,
        locations=tuple(pool.locations),
        version=pool.version,
        status=enum_name(pool.status),
        machine_type=pool.config.machine_type,
        autoscaling=Autoscaling(
            enabled=bool(scaling.enabled),
            min_nodes=scaling.min_node_count,
            max_nodes=scaling.max_node_count,
            total_min=scaling.total_min_node_count or None,
            total_max=scaling.total_max_node_count or None,
            location_policy=enum_name(scaling.location_policy),
        ),
        initial_node_count=pool.initial_node_count,
        instance_groups=tuple(pool.instance_group_urls),
    )


def parse_operation(op: types.Operation) -> Operation:
    return Operation(
        name=op.name,
        type=enum_name(op.operation_type),
        status=enum_name(op.status),
        location=op.location or op.zone,
        target=operation_target(op.target_link),
        started=parse_time(op.start_time),
        ended=parse_time(op.end_time),
        detail=op.detail or op.status_message,
        error=op.error.message if op.error else "",
        progress=progress_metrics(op.progress),
        status_message=op.status_message,
    )


def operation_target(target_link: str) -> str:
    """The link from ``clusters/`` on: "clusters/prod/nodePools/default"."""
    parts = target_link.split("/")
    return "/".join(parts[parts.index("clusters"):]) if "clusters" in parts else ""


def targets_cluster(target_link: str, *, cluster: str, location: str) -> bool:
    """Whether an operation acts on this cluster (or one of its pools).

    The link may spell the project as a number and the location as ``zones/``
    or ``locations/``; only location and cluster name are compared.
    """
    parts = target_link.split("/")
    if "clusters" not in parts[:-1]:
        return False
    at = parts.index("clusters")
    return parts[at + 1] == cluster and at >= 1 and parts[at - 1] == location


def progress_metrics(progress: types.OperationProgress) -> dict[str, int]:
    """Integer metrics (NODES_TOTAL, NODES_DONE, ...), from the stages when the top level has none."""
    metrics = list(progress.metrics) or [m for stage in progress.stages for m in stage.metrics]
    flat: dict[str, int] = {}
    for metric in metrics:
        kind = type(metric).pb(metric).WhichOneof("value")
        if kind == "int_value":
            flat[metric.name] = metric.int_value
        elif kind == "double_value":
            flat[metric.name] = round(metric.double_value)
    return flat


def maintenance_summary(policy: types.MaintenancePolicy) -> str:
    window = policy.window
    daily = window.daily_maintenance_window
    if daily.start_time:
        length = _iso_duration(daily.duration) or timedelta(hours=4)  # GKE's daily windows are 4 hours
        return f"daily at {daily.start_time} UTC for {_hours(length)}"
    recurring = window.recurring_window
    if recurring.recurrence:
        start, end = recurring.window.start_time, recurring.window.end_time
        when = f" at {start:%H:%M} UTC for {_hours(end - start)}" if start and end and end > start else ""
        return f"{rrule_summary(recurring.recurrence)}{when}"
    return ""


_EXCLUSION_SCOPES = {
    "NO_UPGRADES": "no upgrades",
    "NO_MINOR_UPGRADES": "no minor upgrades",
    "NO_MINOR_OR_NODE_UPGRADES": "no minor or node upgrades",
}


def maintenance_exclusions(policy: types.MaintenancePolicy) -> tuple[str, ...]:
    """Each exclusion as "NAME: START to END UTC (no upgrades)", soonest first."""
    found = []
    for name, window in policy.window.maintenance_exclusions.items():
        start, end = window.start_time, window.end_time
        scope = _EXCLUSION_SCOPES.get(enum_name(window.maintenance_exclusion_options.scope), "no upgrades")
        when = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC" if start and end else "no dates given"
        found.append((start.timestamp() if start else 0.0, f"{name}: {when} ({scope})"))
    return tuple(text for _, text in sorted(found))


def rrule_summary(rule: str) -> str:
    """``FREQ=WEEKLY;BYDAY=SA,SU`` as "weekly on Sat, Sun"; an unusual rule is shown as written."""
    fields = dict(part.split("=", 1) for part in rule.removeprefix("RRULE:").split(";") if "=" in part)
    frequency = _FREQUENCIES.get(fields.pop("FREQ", ""))
    days = fields.pop("BYDAY", "")
    if frequency is None or fields or any(d not in _DAYS for d in days.split(",") if d):
        return rule
    return f"{frequency} on {', '.join(_DAYS[d] for d in days.split(','))}" if days else frequency


def _hours(length: timedelta) -> str:
    minutes = int(length.total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    return f"{hours}h{rest:02d}m" if rest else f"{hours}h"


def _iso_duration(text: str) -> timedelta | None:
    match = _ISO_DURATION.match(text or "")
    if not match or not any(match.groupdict().values()):
        return None
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"])




def _condition_messages(cluster: types.Cluster) -> str:
    return "; ".join(c.message for c in cluster.conditions if c.message)

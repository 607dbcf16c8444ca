"""What GKE operations say: target versions, progress, and why a control plane does not answer.

Both the alert checks and the commands need this: a check to word its
incident, a command to turn a bare "503" into "the control plane is being
upgraded, and this cluster has only one".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.model.gke import GkeCluster, Operation, region_of

_VERSION = re.compile(r"\d+\.\d+\.\d+(?:-gke\.\d+)?")


def duration(span: timedelta) -> str:
    minutes = max(int(span.total_seconds()) // 60, 0)
    return f"{minutes // 60}h {minutes % 60}m" if minutes >= 60 else f"{minutes}m"


def target_version(op: Operation) -> str:
    versions = _VERSION.findall(op.detail)
    return versions[-1] if versions else ""


def progress_percent(op: Operation) -> int | None:
    """From the operation's metrics: an explicit percentage, else nodes done of total."""
    for name, value in op.progress.items():
        if "percent" in name.lower() or "progress" in name.lower():
            return max(0, min(100, int(value)))
    total = op.progress.get("NODES_TOTAL") or op.progress.get("nodes_total")
    done = op.progress.get("NODES_DONE", op.progress.get("NODES_COMPLETE", op.progress.get("nodes_done")))
    if total and done is not None:
        return int(100 * done / total)
    return None


def regional_fix(cluster: GkeCluster) -> str:
    """The one-line fix for a zonal cluster, naming its own region."""
    return f"Make the cluster regional (Terraform: `location = \"{region_of(cluster.location)}\"`) so upgrades keep the API available."


def explain_unreachable(cluster: GkeCluster | None, operations: Sequence[Operation], now: datetime) -> str | None:
    """Why GKE thinks the Kubernetes API may not answer, or None when GKE knows of nothing."""
    running = [op for op in operations if op.running]
    master = next((op for op in running if op.type == "UPGRADE_MASTER"), None)
    if master is not None:
        to = target_version(master)
        percent = progress_percent(master)
        sentence = f"GKE is upgrading the control plane{f' to {to}' if to else ''} ({master.name}"
        sentence += f", {percent}%" if percent is not None else ""
        sentence += f", for {duration(now - master.started)})." if master.started else ")."
        if cluster is not None and not cluster.regional:
            sentence += (
                f" The cluster is zonal, with one control plane in {cluster.location}: the API is back when the "
                "upgrade finishes; `cluster` shows the fix."
            )
        return sentence
    if running:
        return f"GKE is running {running[0].type} ({running[0].name}), which may explain it."
    if cluster is not None and cluster.status not in ("RUNNING", ""):
        return f"GKE reports the cluster {cluster.status}: {cluster.status_message}".rstrip(": ")
    return None

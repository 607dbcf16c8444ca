"""The `logs` answers."""

from __future__ import annotations

from dataclasses import dataclass

from bot.model.logs import LogLine


@dataclass(frozen=True)
class LogsResult:
    cluster: str
    title: str  # "kube-proxy on gke-...-y1", "shop/web-0", "cluster autoscaler"
    window: str  # "last 1h"
    lines: tuple[LogLine, ...]  # newest first
    source: str  # "Cloud Logging" | "Kubernetes API"
    filter: str = ""  # the Cloud Logging filter, when from Cloud Logging
    explorer_url: str = ""
    notes: tuple[str, ...] = ()

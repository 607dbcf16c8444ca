"""Findings: what a check or an answer concluded, before anyone decides how to show it.

The same finding drives a line in `/k8s cluster`, an incident in the alert
channel and a row in the daily digest; renderers turn it into words and
blocks, the incident engine compares ``facts`` between checks to decide
whether a change is worth a thread update.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Severity = Literal["critical", "warning", "info"]

# Kinds, each keyed with (cluster, kind, scope) into one incident.
ZONAL_CLUSTER = "zonal-cluster"
UNREGISTERED_VMS = "unregistered-vms"
PENDING_PODS = "pending-pods"
NODES_NOT_READY = "nodes-not-ready"
ZONE_NOT_READY = "zone-not-ready"  # most or all nodes of one zone
AUTOSCALER_AT_MAX = "autoscaler-at-max"
MASTER_UPGRADE = "master-upgrade"
NODE_POOL_UPGRADE = "node-pool-upgrade"
CONTROL_PLANE_UNREACHABLE = "control-plane-unreachable"


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: Severity
    cluster: str
    title: str  # one line, plain text: "2 of 3 zones have node-pool VMs that never registered"
    detail: str = ""  # plain text, may span lines
    fix: str = ""  # what to do about it, plain text
    scope: str = ""  # narrows the incident key: a pool, a zone, an operation
    since: datetime | None = None
    facts: dict[str, Any] = field(default_factory=dict)  # counts, zones, names: compared between checks

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.cluster, self.kind, self.scope)

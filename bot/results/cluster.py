"""The `cluster` answer: the GKE configuration that decides availability."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.model.findings import Finding
from bot.model.gke import GkeCluster, NodePool, Operation


@dataclass(frozen=True)
class PoolRow:
    pool: NodePool
    registered: int | None  # nodes carrying the pool's label; None when the Kubernetes API did not answer


@dataclass(frozen=True)
class ClusterResult:
    cluster: str
    now: datetime
    gke: GkeCluster
    pools: tuple[PoolRow, ...]
    operations: tuple[Operation, ...]  # running first, then the recent ones
    findings: tuple[Finding, ...]
    kube_error: str = ""  # why node counts are missing (the API is down during a zonal upgrade)

"""The `clusters` answer: every configured cluster, reachable or not."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClusterStatus:
    name: str
    reachable: bool
    version: str = ""  # the API server's version when reachable
    reason: str = ""  # why not, when unreachable
    gke: bool = False
    location: str = ""
    location_type: str = ""  # zonal | regional | "" when not GKE
    cloud_logging: bool = False


@dataclass(frozen=True)
class ClustersResult:
    clusters: tuple[ClusterStatus, ...]

"""Configuration choices of a GKE cluster that cost availability, as findings.

The incident behind this bot was a configuration finding nobody saw: the
Terraform lost ``location = "us-west1"``, the cluster became zonal, and every
control-plane upgrade took the Kubernetes API away. These findings say what
each choice costs and how to undo it, in words a Terraform author acts on.
"""

from __future__ import annotations

from bot.analysis.nodes import minors_behind
from bot.model.findings import ZONAL_CLUSTER, Finding
from bot.model.gke import GkeCluster, region_of

NO_RELEASE_CHANNEL = "no-release-channel"
NO_MAINTENANCE_WINDOW = "no-maintenance-window"
NODE_POOL_BEHIND = "node-pool-behind"


def config_findings(cluster: GkeCluster, cluster_name: str) -> list[Finding]:
    """Findings about ``cluster``, most severe first."""
    findings = []
    if not cluster.regional:
        findings.append(_zonal(cluster, cluster_name))
    if not cluster.release_channel:
        findings.append(
            Finding(
                kind=NO_RELEASE_CHANNEL,
                severity="info",
                cluster=cluster_name,
                title="No release channel: upgrades are picked and scheduled by hand",
                detail=(
                    "Without a release channel the cluster gets only forced upgrades when a version "
                    "reaches end of life, at a moment GKE chooses."
                ),
                fix="Enroll the cluster in a release channel (REGULAR or STABLE); in Terraform, `release_channel { channel = \"REGULAR\" }`.",
            )
        )
    if not cluster.maintenance_window:
        findings.append(
            Finding(
                kind=NO_MAINTENANCE_WINDOW,
                severity="info",
                cluster=cluster_name,
                title="No maintenance window: automatic upgrades may start at any hour",
                detail=(
                    "GKE upgrades control plane and nodes when it sees fit; "
                    + ("on a zonal cluster the API is down meanwhile." if not cluster.regional else "nodes are drained meanwhile.")
                ),
                fix="Set a maintenance window in quiet hours; in Terraform, `maintenance_policy { recurring_window { ... } }`.",
            )
        )
    for pool in cluster.node_pools:
        behind = minors_behind(pool.version, cluster.master_version)
        if behind is not None and behind > 0:
            findings.append(
                Finding(
                    kind=NODE_POOL_BEHIND,
                    severity="warning" if behind >= 2 else "info",
                    cluster=cluster_name,
                    title=f"Node pool {pool.name} is {behind} minor version{'s' if behind != 1 else ''} behind the control plane",
                    detail=f"Nodes run {pool.version}; the control plane runs {cluster.master_version}.",
                    fix=f"Upgrade the node pool: `gcloud container clusters upgrade {cluster.name} --node-pool {pool.name}`.",
                    scope=pool.name,
                    facts={"pool_version": pool.version, "master_version": cluster.master_version, "behind": behind},
                )
            )
    order = {"critical": 0, "warning": 1, "info": 2}
    findings.sort(key=lambda f: order[f.severity])
    return findings


def _zonal(cluster: GkeCluster, cluster_name: str) -> Finding:
    zone = cluster.location
    region = region_of(zone)
    other_zones = [z for z in cluster.locations if z != zone]
    detail = (
        f"The control plane has one replica, in {zone}. While GKE upgrades it, and during an outage of {zone}, "
        "the Kubernetes API is unavailable: no deploys, no scaling, no kubectl, and the cluster autoscaler stops."
    )
    if other_zones:
        detail += (
            f" The node pools also run in {', '.join(other_zones)}; those nodes depend on the control plane in {zone}, "
            "so a zone outage there stops the whole cluster."
        )
    return Finding(
        kind=ZONAL_CLUSTER,
        severity="warning",
        cluster=cluster_name,
        title=f"Zonal cluster: one control plane in {zone}",
        detail=detail,
        fix=(
            f"Use a regional cluster (control-plane replicas in every zone of {region}). "
            f"In Terraform set `location = \"{region}\"` (the region), not a zone such as `{zone}`; "
            "`node_locations` lists the nodes' zones. The location cannot be changed in place: "
            "create the regional cluster and move the workloads to it."
        ),
        scope=zone,
        facts={"location": zone, "region": region, "node_zones": list(cluster.locations)},
    )

"""All scheduled checks of one cluster: a snapshot in, findings out, nothing else touched.

``run_checks`` is pure. What it needs to remember between cycles (when a node
first went NotReady, when a VM was first seen unregistered, when the API first
stopped answering) comes in as ``marks`` and goes back out through
``next_marks`` for the caller to persist. ``checked_kinds`` says which kinds
this snapshot could judge at all: an incident of a kind that could not be
checked (the API was down) must not count the cycle as clean.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from bot.alerts import shortfall_checks as shortfall
from bot.alerts import upgrade_checks as upgrades
from bot.alerts.snapshot import ClusterSnapshot
from bot.model.findings import (
    AUTOSCALER_AT_MAX,
    CONTROL_PLANE_UNREACHABLE,
    MASTER_UPGRADE,
    NODE_POOL_UPGRADE,
    NODES_NOT_READY,
    PENDING_PODS,
    UNREGISTERED_VMS,
    Finding,
)
from bot.settings import AlertConfig

Marks = Mapping[str, datetime]


def shortfall_paused(snapshot: ClusterSnapshot) -> bool:
    """Shortfall is not judged from a control plane that is down or being replaced (zonal master upgrade)."""
    return not snapshot.reachable or upgrades.zonal_master_upgrade(snapshot) is not None


def checked_kinds(snapshot: ClusterSnapshot) -> frozenset[str]:
    kinds = {CONTROL_PLANE_UNREACHABLE}
    if snapshot.gke_known:
        kinds |= {MASTER_UPGRADE, NODE_POOL_UPGRADE}
    if not shortfall_paused(snapshot):
        kinds |= {PENDING_PODS, NODES_NOT_READY}
        if snapshot.gke_known:
            kinds.add(AUTOSCALER_AT_MAX)
        if snapshot.vms_known:
            kinds.add(UNREGISTERED_VMS)
    return frozenset(kinds)


def run_checks(snapshot: ClusterSnapshot, marks: Marks | None, settings: AlertConfig) -> list[Finding]:
    """Findings past their grace periods, for the kinds this snapshot can judge."""
    known = dict(marks or {})
    kinds = checked_kinds(snapshot)
    findings = upgrades.control_plane_unreachable(snapshot, known, settings)
    if MASTER_UPGRADE in kinds:
        findings += upgrades.master_upgrade(snapshot)
    if NODE_POOL_UPGRADE in kinds and snapshot.reachable:
        findings += upgrades.node_pool_upgrades(snapshot, known)
    if UNREGISTERED_VMS in kinds:
        findings += shortfall.unregistered_vms(snapshot, known, settings)
    if PENDING_PODS in kinds:
        findings += shortfall.pending_pods(snapshot, settings)
    if NODES_NOT_READY in kinds:
        findings += shortfall.nodes_not_ready(snapshot, known, settings)
    if AUTOSCALER_AT_MAX in kinds:
        findings += shortfall.autoscaler_at_max(snapshot, settings)
    return findings


def next_marks(snapshot: ClusterSnapshot, marks: Marks | None) -> dict[str, datetime]:
    """First-seen times to keep: old ones for subjects still in trouble, now for new ones.

    Subjects of parts the snapshot could not see keep their marks: a node that
    was NotReady before the API went away is still NotReady as far as we know.
    """
    previous = dict(marks or {})
    now = snapshot.taken_at
    current: list[str] = []
    if not snapshot.reachable:
        current.append("unreachable")
    current += upgrades.progress_subjects(snapshot)
    if not shortfall_paused(snapshot):
        current += shortfall.trouble_subjects(snapshot)
    else:
        current += [s for s in previous if s.startswith(("node:", "vm:"))]
    return {subject: previous.get(subject, now) for subject in current}

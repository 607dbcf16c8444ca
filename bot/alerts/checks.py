"""All scheduled checks of one cluster: a snapshot in, findings out, nothing else touched.

``run_checks`` is pure. What it needs to remember between cycles (when a node
first went NotReady, when a VM was first seen unregistered, when the API first
stopped answering) comes in as ``marks`` and goes back out through
``next_marks`` for the caller to persist. ``checked_kinds`` says which kinds
this snapshot could judge at all: an incident of a kind that could not be
checked (the API was down) must not count the cycle as clean.

``judge`` also says which incidents the cycle must not count as clean although
it has no finding for them: trouble seen but still inside its grace period (a
node NotReady for one minute of three) is not a clean check, and trouble that
just cleared after flapping may not resolve yet (``held`` and ``settling``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.alerts import node_checks as nodes
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
    ZONE_NOT_READY,
    Finding,
)
from bot.settings import AlertConfig

Marks = Mapping[str, datetime]
Key = tuple[str, str, str]


@dataclass(frozen=True)
class Judgement:
    findings: list[Finding]
    held: frozenset[Key] = frozenset()  # trouble inside its grace period: not a clean check
    settling: frozenset[Key] = frozenset()  # trouble cleared but not yet stable: not resolved yet


def shortfall_paused(snapshot: ClusterSnapshot) -> bool:
    """Shortfall is not judged from a control plane that is down or being replaced (zonal master upgrade)."""
    return not snapshot.reachable or upgrades.zonal_master_upgrade(snapshot) is not None


def checked_kinds(snapshot: ClusterSnapshot) -> frozenset[str]:
    kinds = {CONTROL_PLANE_UNREACHABLE}
    if snapshot.gke_known:
        kinds |= {MASTER_UPGRADE, NODE_POOL_UPGRADE}
    if not shortfall_paused(snapshot):
        kinds |= {PENDING_PODS, NODES_NOT_READY, ZONE_NOT_READY}
        if snapshot.gke_known:
            kinds.add(AUTOSCALER_AT_MAX)
        if snapshot.vms_known:
            kinds.add(UNREGISTERED_VMS)
    return frozenset(kinds)


def run_checks(snapshot: ClusterSnapshot, marks: Marks | None, settings: AlertConfig) -> list[Finding]:
    """Findings past their grace periods, for the kinds this snapshot can judge."""
    return judge(snapshot, marks, settings).findings


def judge(snapshot: ClusterSnapshot, marks: Marks | None, settings: AlertConfig) -> Judgement:
    """The findings, and the incidents this cycle must not count as clean or resolve."""
    known = dict(marks or {})
    kinds = checked_kinds(snapshot)
    held: set[Key] = set()
    settling: set[Key] = set()
    findings = upgrades.control_plane_unreachable(snapshot, known, settings)
    if MASTER_UPGRADE in kinds:
        findings += upgrades.master_upgrade(snapshot)
    if NODE_POOL_UPGRADE in kinds and snapshot.reachable:
        findings += upgrades.node_pool_upgrades(snapshot, known)
    # Trouble already there but inside its grace period: what the checks would say with half of it. (Pods
    # and VMs come and go in seconds on a busy cluster; one just created must not hold an incident open.)
    held_settings = settings.model_copy(update={
        "pending_grace_seconds": settings.pending_grace_seconds // 2,
        "unregistered_grace_seconds": settings.unregistered_grace_seconds // 2,
    })
    if UNREGISTERED_VMS in kinds:
        findings += shortfall.unregistered_vms(snapshot, known, settings)
        held |= {f.key for f in shortfall.unregistered_vms(snapshot, known, held_settings)}
    if PENDING_PODS in kinds:
        findings += shortfall.pending_pods(snapshot, settings)
        held |= {f.key for f in shortfall.pending_pods(snapshot, held_settings)}
    if NODES_NOT_READY in kinds:
        verdict = nodes.judge_nodes(snapshot, known, settings)
        findings += verdict.findings
        held |= verdict.held
        settling |= verdict.settling
    if AUTOSCALER_AT_MAX in kinds:
        findings += shortfall.autoscaler_at_max(snapshot, settings)
        held |= {f.key for f in shortfall.autoscaler_at_max(snapshot, held_settings)}
    return Judgement(findings, frozenset(held), frozenset(settling))


def next_marks(snapshot: ClusterSnapshot, marks: Marks | None, settings: AlertConfig | None = None) -> dict[str, datetime]:
    """First-seen times to keep: old ones for subjects still in trouble, now for new ones.

    Subjects of parts the snapshot could not see keep their marks: a node that
    was NotReady before the API went away is still NotReady as far as we know.
    A node's marks outlive a brief Ready (see ``node_checks``).
    """
    previous = dict(marks or {})
    now = snapshot.taken_at
    current: list[str] = []
    if not snapshot.reachable:
        current.append("unreachable")
    current += upgrades.progress_subjects(snapshot)
    kept: dict[str, datetime] = {}
    if not shortfall_paused(snapshot):
        current += shortfall.trouble_subjects(snapshot)
        kept = nodes.node_marks(snapshot, previous, settings or AlertConfig())
    else:
        current += [s for s in previous if s.startswith(("vm:", *nodes.MARK_PREFIXES))]
    return {**{subject: previous.get(subject, now) for subject in current}, **kept}

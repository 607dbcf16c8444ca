"""Add what GKE knows to "the Kubernetes API did not answer".

A bare 503 sends people hunting; during a zonal cluster's control-plane
upgrade the answer is already in GKE's operations. Asked only on this error
path, so a healthy cluster never pays for it.
"""

from __future__ import annotations

import logging

from bot.analysis.operations import explain_unreachable
from bot.clock import Clock
from bot.clusters import ClusterHandle
from bot.errors import ChatOpsError, Unreachable
from bot.sources.kube_errors import SERVICE as KUBE_SERVICE

log = logging.getLogger(__name__)


def explained(error: Unreachable, handle: ClusterHandle, clock: Clock) -> Unreachable:
    """``error`` with GKE's reason appended when the Kubernetes API is what failed and GKE knows why."""
    if error.service != KUBE_SERVICE or handle.gke is None:
        return error
    try:
        cluster = handle.gke.get_cluster()
        reason = explain_unreachable(cluster, handle.gke.list_operations(), clock.now())
    except ChatOpsError as exc:  # GKE cannot say either: the first error stands alone
        log.info("no GKE view of %s: %s", handle.name, exc)
        return error
    if reason is None:
        return error
    first = str(error).rstrip()
    joiner = " " if first.endswith((".", "!", "?")) else ". "
    return Unreachable(f"{first}{joiner}{reason}", service=error.service, reason=error.reason)

"""Whether a Deployment, StatefulSet or DaemonSet is where it wants to be, and if not, why.

Each controller keeps its own account in the workload's status; this reads
it the way ``kubectl rollout status`` does: a Deployment whose Progressing
condition turned False with ProgressDeadlineExceeded is stuck; one whose
pods are not all updated, or whose controller has not seen the newest spec,
is rolling out; one with every pod updated but fewer available than wanted
is short. The pods themselves then say why (``pod_trouble``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from bot.analysis.pending import pending_reason, pod_problem
from bot.model.kube import Pod, Workload

STUCK, ROLLING, SHORT, PAUSED, OK = "stuck", "rolling out", "short", "paused", "ok"
SEVERITY = {STUCK: 0, SHORT: 1, ROLLING: 2, PAUSED: 3, OK: 4}


@dataclass(frozen=True)
class Rollout:
    state: str  # STUCK, ROLLING, SHORT, PAUSED or OK
    reason: str  # a phrase: what the controller says, or what the counts say

    @property
    def healthy(self) -> bool:
        return self.state == OK


def rollout(w: Workload) -> Rollout:
    """The workload's state from its status alone."""
    if w.kind == "Deployment":
        progressing = w.condition("Progressing")
        if progressing is not None and progressing.status == "False" and progressing.reason == "ProgressDeadlineExceeded":
            return Rollout(STUCK, progressing.message or f"no progress for {w.progress_deadline_seconds}s")
        if w.paused:
            return Rollout(PAUSED, f"rollout paused with {w.updated} of {w.desired} updated")
    if w.observed_generation < w.generation:
        return Rollout(ROLLING, "the controller has not yet acted on the latest change")
    if w.kind == "StatefulSet" and w.update_revision and w.current_revision and w.update_revision != w.current_revision:
        return Rollout(ROLLING, f"{w.updated} of {w.desired} pods on revision {w.update_revision}")
    if w.updated < w.desired:
        return Rollout(ROLLING, f"{w.updated} of {w.desired} updated")
    if w.kind == "Deployment" and w.current > w.desired:
        return Rollout(ROLLING, f"{w.current - w.desired} old pods still terminating")
    if w.ready < w.desired or w.available < w.desired:
        missing = w.desired - min(w.ready, w.available)
        what = "nodes' pods" if w.kind == "DaemonSet" else "replicas"
        reason = f"{missing} of {w.desired} {what} not available"
        if w.kind == "StatefulSet" and w.current < w.desired:
            reason += f" (only {w.current} pods created: each waits for the one before to be Ready)"
        available = w.condition("Available")
        if available is not None and available.status == "False" and available.message:
            reason += f"; {available.message.rstrip('.')}"
        return Rollout(SHORT, reason)
    if w.kind == "DaemonSet" and w.misscheduled:
        return Rollout(SHORT, f"{w.misscheduled} pods on nodes that should not run one")
    return Rollout(OK, "")


def pod_trouble(pods: Iterable[Pod]) -> str:
    """Why a workload's pods are not ready, in one phrase: "3 Pending: Insufficient cpu; 1 CrashLoopBackOff"."""
    counts: Counter[str] = Counter()
    for pod in pods:
        if pod.deleting or pod.phase == "Succeeded":
            continue
        problem = pod_problem(pod)
        if problem in ("Pending", "Unschedulable"):
            counts[f"Pending: {pending_reason(pod)[0]}"] += 1
        elif problem is not None:
            counts[problem] += 1
        elif pod.phase == "Running" and not all(c.ready for c in pod.containers if not c.init):
            counts["Running, not ready"] += 1
    return "; ".join(f"{count} {what}" for what, count in counts.most_common())


def owner_workload(pod: Pod) -> tuple[str, str] | None:
    """(kind, name) of the workload that runs ``pod``: a ReplicaSet's name is its Deployment's plus the template hash."""
    if pod.owner_kind in ("StatefulSet", "DaemonSet"):
        return pod.owner_kind, pod.owner_name
    if pod.owner_kind == "ReplicaSet":
        template_hash = pod.labels.get("pod-template-hash", "")
        if template_hash and pod.owner_name.endswith("-" + template_hash):
            return "Deployment", pod.owner_name.removesuffix("-" + template_hash)
        return "ReplicaSet", pod.owner_name
    if pod.owner_kind:
        return pod.owner_kind, pod.owner_name
    return None

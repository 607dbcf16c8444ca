"""pods/{name}/eviction: the Eviction subresource that ``kubectl drain`` uses.

An eviction deletes the pod unless a PodDisruptionBudget that selects it
allows no more disruptions: then the answer is 429 TooManyRequests with the
DisruptionBudget cause, the real server's words, and kubectl waits and tries
again. A granted eviction counts against the budget at once (its
``disruptionsAllowed`` drops and the pod is listed in ``disruptedPods``), as
the API server records it before the disruption controller catches up.
Pods that already finished are evicted whatever the budgets say.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sim.clock import rfc3339
from sim.kube.status import KubeError
from sim.kube.store import KubeStore

SUCCESS = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A metav1.LabelSelector against labels; an empty selector selects every pod of the namespace (policy/v1)."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, operator, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def evict(store: KubeStore, namespace: str, name: str, pod: dict[str, Any], now: datetime, *, dry_run: bool) -> dict[str, Any]:
    """Evict ``pod`` or raise the 429 (or the 500 for several budgets) the real server answers."""
    labels = pod["metadata"].get("labels") or {}
    finished = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
    budgets = [
        pdb for pdb in store.items("poddisruptionbudgets")
        if pdb["metadata"].get("namespace") == namespace and selects((pdb.get("spec") or {}).get("selector"), labels)
    ]
    if not finished and len(budgets) > 1:
        raise KubeError(500, "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.")
    if not finished and budgets:
        budget = budgets[0]
        state = budget.setdefault("status", {})
        if int(state.get("disruptionsAllowed") or 0) <= 0:
            budget_name = budget["metadata"]["name"]
            raise KubeError(
                429,
                "Cannot evict pod as it would violate the pod's disruption budget.",
                reason="TooManyRequests",
                details={"causes": [{
                    "reason": "DisruptionBudget",
                    "message": f"The disruption budget {budget_name} needs {int(state.get('desiredHealthy') or 0)} "
                               f"healthy pods and has {int(state.get('currentHealthy') or 0)} currently",
                }]},
            )
        if not dry_run:
            state["disruptionsAllowed"] = int(state["disruptionsAllowed"]) - 1
            state["disruptedPods"] = {**(state.get("disruptedPods") or {}), name: rfc3339(now)}
            store.upsert("poddisruptionbudgets", budget)
    if not dry_run:
        store.delete("pods", namespace, name)
    return SUCCESS

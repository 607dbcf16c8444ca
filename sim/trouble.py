"""Timeline steps that make trouble: nodes NotReady or Unknown, a zone failing, pods that cannot be placed, operations that fail.

Each changes the world the way the real event would:

- ``node_not_ready``: the kubelet posts Ready=False with a reason and message
  (``reason: KubeletNotReady``, ``message: "PLEG is not healthy: ..."``); the node
  lifecycle controller taints the node ``node.kubernetes.io/not-ready``;
- ``node_unknown``: the kubelet stops posting; the node controller turns its
  conditions Unknown ("NodeStatusUnknown: Kubelet stopped posting node status.")
  and taints it ``node.kubernetes.io/unreachable``;
- ``node_ready``: the kubelet posts Ready again and the taints go;
- ``zone_down`` / ``zone_up``: every node of a zone goes Unknown, or comes back;
- ``create_pods``: a workload's pods are created then (``sim.workloads``), placed
  or left Pending with the scheduler's FailedScheduling message;
- ``abort_operation``: GKE gives up an operation and rolls it back (status
  ABORTING, its ``statusMessage`` and ``error``).

A condition's lastTransitionTime moves only when its status changes, as in
the real API, so a repeated step changes nothing.
"""

from __future__ import annotations

import copy
from typing import Any

from sim import workloads
from sim.clock import rfc3339
from sim.kube.builders import not_ready_taints
from sim.kube.controllers import CONDITION_TAINTS
from sim.scenario_spec import Scenario, WorkloadSpec

# The kubelet's own conditions and what they say when all is well.
KUBELET_HEALTHY = {
    "MemoryPressure": ("False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    "DiskPressure": ("False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    "PIDPressure": ("False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    "Ready": ("True", "KubeletReady", "kubelet is posting ready status. AppArmor enabled"),
}
UNKNOWN = ("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")


def _node_name(scenario: Scenario, ref: Any) -> str:
    return scenario.node_names[ref] if isinstance(ref, int) else str(ref)


def _set_condition(condition: dict[str, Any], status: str, reason: str, message: str, now: str, *, heartbeat: bool) -> None:
    if condition.get("status") != status:
        condition["lastTransitionTime"] = now
    condition.update(status=status, reason=reason, message=message)
    if heartbeat:
        condition["lastHeartbeatTime"] = now


def set_readiness(scenario: Scenario, name: str, status: str, reason: str = "", message: str = "") -> None:
    """Ready True, False (the kubelet says why) or Unknown (the kubelet is silent), with the controller's taints."""
    store = scenario.world.kube
    node = store.get("nodes", None, name)
    if node is None:
        return
    node = copy.deepcopy(node)
    now = rfc3339(scenario.world.clock.now())
    for condition in node.get("status", {}).get("conditions", []):
        kind = condition.get("type")
        if kind not in KUBELET_HEALTHY:
            continue
        if status == "Unknown":  # the node controller speaks for a silent kubelet; heartbeats stay old
            _set_condition(condition, *UNKNOWN, now, heartbeat=False)
        elif kind == "Ready":
            if status == "True":
                _set_condition(condition, *KUBELET_HEALTHY["Ready"], now, heartbeat=True)
            else:
                _set_condition(condition, "False", reason or "KubeletNotReady", message or "container runtime is down", now, heartbeat=True)
        else:
            _set_condition(condition, *KUBELET_HEALTHY[kind], now, heartbeat=True)
    spec = node.setdefault("spec", {})
    taints = [t for t in spec.get("taints", []) if t.get("key") not in CONDITION_TAINTS]
    taints += not_ready_taints(status, scenario.world.clock.now())
    if taints:
        spec["taints"] = taints
    else:
        spec.pop("taints", None)
    store.upsert("nodes", node)


def _node_not_ready(scenario: Scenario, params: dict[str, Any]) -> None:
    status = str(params.get("status", "False"))
    if status == "Unknown":
        _node_unknown(scenario, params)
        return
    set_readiness(scenario, _node_name(scenario, params.get("node", 0)), "False",
                  str(params.get("reason", "KubeletNotReady")),
                  str(params.get("message", "container runtime is down, PLEG is not healthy: pleg was last seen active 3m0s ago")))


def _node_unknown(scenario: Scenario, params: dict[str, Any]) -> None:
    set_readiness(scenario, _node_name(scenario, params.get("node", 0)), "Unknown")


def _node_ready(scenario: Scenario, params: dict[str, Any]) -> None:
    set_readiness(scenario, _node_name(scenario, params.get("node", 0)), "True")


def zone_nodes(scenario: Scenario, zone: str) -> list[str]:
    return sorted(
        node["metadata"]["name"]
        for node in scenario.world.kube.items("nodes")
        if node["metadata"].get("labels", {}).get("topology.kubernetes.io/zone") == zone
    )


def _zone(scenario: Scenario, params: dict[str, Any], status: str) -> None:
    zone = params.get("zone")
    if not zone:
        raise ValueError("zone_down and zone_up name their `zone`")
    for name in zone_nodes(scenario, str(zone)):
        set_readiness(scenario, name, status)


def _create_pods(scenario: Scenario, params: dict[str, Any]) -> None:
    workload = WorkloadSpec.model_validate(params)
    pending = workloads.create(scenario.world, scenario.spec, workload, scenario.world.clock.now())
    if workload.scheduler_message:
        scenario.held_pending |= {(workload.namespace, name) for name in pending}


def _abort_operation(scenario: Scenario, params: dict[str, Any]) -> None:
    """GKE gives up the operation and rolls back: ABORTING, with why."""
    op_type = params.get("type", "UPGRADE_MASTER")
    ops = [op for op in scenario.world.google.operations() if op.get("operationType") == op_type]
    if not ops:
        return
    message = str(params.get("message", "Operation was aborted: the control plane did not become healthy."))
    fields: dict[str, Any] = {
        "status": "ABORTING",
        "statusMessage": str(params.get("status_message", message)),
        "error": {"code": int(params.get("code", 10)), "message": message},
    }
    scenario.world.google.update_operation(ops[-1]["name"], **fields)


STEPS = {
    "node_not_ready": _node_not_ready,
    "node_unknown": _node_unknown,
    "node_ready": _node_ready,
    "zone_down": lambda s, p: _zone(s, p, "Unknown"),
    "zone_up": lambda s, p: _zone(s, p, "True"),
    "create_pods": _create_pods,
    "abort_operation": _abort_operation,
}

"""What each scenario step does to the world.

Steps change the world the way the real event would: a control-plane upgrade
is a GKE operation that runs, reports progress and finishes; on a zonal
cluster the Kubernetes API is gone for as long as it runs (connections
refused, or as the cluster's ``master_outage`` says: never answered, or 503;
a regional one keeps serving from its other replicas). Nodes going NotReady, Unknown or
Ready, a zone failing, pods created mid-scenario and operations that abort are
in ``sim.trouble``; cordons, drains, rollouts, scale-ups and disruption
budgets in ``sim.churn``, which also settles the world after every step (the
scheduler's retry, the budgets' status).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sim import churn, trouble
from sim.google import names
from sim.populate import write_pod_logs
from sim.scenario_spec import Scenario, StepSpec, parse_offset


def apply_due_steps(scenario: Scenario, now: datetime) -> None:
    """Apply, in order, every step of the timeline whose time has come and that has not run yet."""
    timeline = scenario.spec.timeline
    while scenario.next_step < len(timeline):
        step = timeline[scenario.next_step]
        if scenario.started + parse_offset(step.at) > now:
            return
        scenario.next_step += 1
        with scenario.world.lock:
            apply_step(scenario, step)


def start(scenario: Scenario) -> None:
    """Once the world is filled: the running containers' logs so far, and the scenario's ReplicaSets and
    StatefulSets replacing the pods that taint-based eviction deletes from then on."""
    with scenario.world.lock:
        write_pod_logs(scenario.world, scenario.spec)

    def replace(pods: list[dict[str, Any]]) -> None:
        with scenario.world.lock:
            churn.replace_evicted(scenario, pods)

    scenario.world.kube.eviction_listeners.append(replace)


def apply_step(scenario: Scenario, step: StepSpec) -> None:
    handler = _STEPS[step.do]
    handler(scenario, step.params)
    churn.settle(scenario, step.do)


def _operation_for(scenario: Scenario, op_type: str) -> dict[str, Any] | None:
    ops = [op for op in scenario.world.google.operations() if op.get("operationType") == op_type]
    return ops[-1] if ops else None


def _start_operation(scenario: Scenario, params: dict[str, Any]) -> None:
    world, spec = scenario.world, scenario.spec
    op_type = params.get("type", "UPGRADE_MASTER")
    to_version = str(params.get("to_version") or "")
    cluster_path = f"projects/{scenario.project}/locations/{scenario.location}/clusters/{scenario.cluster_name}"
    target = f"https://container.googleapis.com/v1/{cluster_path}"
    detail = ""
    if op_type == "UPGRADE_MASTER":
        current = world.google.get_cluster(scenario.location, scenario.cluster_name) or {}
        detail = f"Upgrading control plane from {current.get('currentMasterVersion', spec.cluster.version)} to {to_version}" if to_version else ""
    elif op_type == "UPGRADE_NODES":
        pool = params.get("pool", spec.node_pools[0].name)
        target += f"/nodePools/{pool}"
        detail = f"Upgrading node pool {pool} to {to_version}" if to_version else ""
    op: dict[str, Any] = {
        "operationType": op_type,
        "status": "RUNNING",
        "targetLink": target,
        "progress": {"metrics": [{"name": "PERCENT_DONE", "intValue": "0"}]},
    }
    if detail:
        op["detail"] = detail
    started = world.google.add_operation(scenario.location, op)
    if to_version:
        scenario.target_versions[started["name"]] = to_version
    if op_type == "UPGRADE_MASTER":
        world.google.update_cluster(scenario.location, scenario.cluster_name, status="RECONCILING",
                                    statusMessage="Upgrading control plane.")
        if scenario.zonal:  # the one replica is replaced: its endpoint refuses, stalls or (rarely) answers 503
            outage = scenario.spec.cluster.master_outage
            if outage == "503":
                world.faults.kube_down = True
            else:
                world.faults.kube_outage = outage


def _progress_operation(scenario: Scenario, params: dict[str, Any]) -> None:
    op = _operation_for(scenario, params.get("type", "UPGRADE_MASTER"))
    if op is not None:
        percent = str(int(params.get("percent", 50)))
        scenario.world.google.update_operation(op["name"], progress={"metrics": [{"name": "PERCENT_DONE", "intValue": percent}]})


def _finish_operation(scenario: Scenario, params: dict[str, Any], *, failed: bool = False) -> None:
    world = scenario.world
    op_type = params.get("type", "UPGRADE_MASTER")
    op = _operation_for(scenario, op_type)
    if op is None:
        return
    fields: dict[str, Any] = {"status": "DONE", "progress": {"metrics": [{"name": "PERCENT_DONE", "intValue": "100"}]}}
    if failed:
        fields["error"] = {"code": int(params.get("code", 13)), "message": params.get("message", "Upgrade failed: the control plane did not become healthy.")}
        fields["statusMessage"] = params.get("status_message", fields["error"]["message"])
    world.google.update_operation(op["name"], **fields)
    to_version = scenario.target_versions.pop(op["name"], "")
    if op_type == "UPGRADE_MASTER":
        updates: dict[str, Any] = {"status": "RUNNING", "statusMessage": None}
        if not failed and to_version:
            updates["currentMasterVersion"] = to_version
        world.google.update_cluster(scenario.location, scenario.cluster_name, **updates)
        world.faults.kube_down = False
        if world.faults.kube_outage:
            world.faults.kube_outage = ""
    elif op_type == "UPGRADE_NODES" and not failed and to_version:
        _node_pool_upgraded(scenario, op["targetLink"].rsplit("/", 1)[-1], to_version)


def _node_pool_upgraded(scenario: Scenario, pool: str, version: str) -> None:
    """The pool's version, the cluster's node version and the kubelets of the pool's nodes move together."""
    world = scenario.world
    cluster = world.google.get_cluster(scenario.location, scenario.cluster_name) or {}
    pools = cluster.get("nodePools", [])
    for entry in pools:
        if entry.get("name") == pool:
            entry["version"] = version
    oldest = min((p.get("version", version) for p in pools), key=names.version_key, default=version)
    world.google.update_cluster(scenario.location, scenario.cluster_name, nodePools=pools, currentNodeVersion=oldest)
    for node in world.kube.items("nodes"):
        if node["metadata"].get("labels", {}).get("cloud.google.com/gke-nodepool") == pool:
            node["status"]["nodeInfo"]["kubeletVersion"] = f"v{version}"
            node["status"]["nodeInfo"]["kubeProxyVersion"] = f"v{version}"
            world.kube.upsert("nodes", node)


def _fail_operation(scenario: Scenario, params: dict[str, Any]) -> None:
    _finish_operation(scenario, params, failed=True)


def _control_plane(scenario: Scenario, params: dict[str, Any], down: bool) -> None:
    scenario.world.faults.kube_down = down


_STEPS = {
    "start_operation": _start_operation,
    "progress_operation": _progress_operation,
    "finish_operation": _finish_operation,
    "fail_operation": _fail_operation,
    "control_plane_down": lambda s, p: _control_plane(s, p, True),
    "control_plane_up": lambda s, p: _control_plane(s, p, False),
    **trouble.STEPS,
    **churn.STEPS,
}

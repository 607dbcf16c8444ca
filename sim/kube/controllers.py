"""What the cluster does after a node changes: taints, events, and its pods' readiness.

In a real cluster these follow a node write within a second: the node
lifecycle controller taints a node whose Ready condition is False
(``node.kubernetes.io/not-ready``) or Unknown (``.../unreachable``), NoSchedule
and NoExecute, taints a cordoned one ``node.kubernetes.io/unschedulable``,
records ``NodeNotReady`` and marks the node's pods not Ready; the kubelet
records ``NodeReady``, ``NodeNotSchedulable`` and ``NodeSchedulable``,
reports its pods Ready again and renews its Lease from then on; a silent
kubelet's Lease stays at its last renewal.

``install`` makes a store run ``after_node_write`` after every node write
(a scenario step, a test's upsert, a PATCH from kubectl), as further writes:
the answer to the write that cordoned a node shows no taint yet and the next
read does, as on a real cluster.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from sim.clock import rfc3339
from sim.kube import pulse
from sim.kube.builders import make_event, node_uid, not_ready_taints
from sim.kube.selectors import parse_field_selector
from sim.kube.store import KubeStore

Json = dict[str, Any]
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
CONDITION_TAINTS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")


def ready_status(node: Json | None) -> str:
    for condition in ((node or {}).get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return str(condition.get("status", "Unknown"))
    return "Unknown"


def desired_taints(node: Json, now: datetime) -> list[Json]:
    """The node's taints with the controllers' own brought in line with its spec and Ready condition."""
    spec = node.get("spec") or {}
    current = list(spec.get("taints") or ())
    keep = [t for t in current if t.get("key") not in (UNSCHEDULABLE, *CONDITION_TAINTS)]
    owned: list[Json] = []
    if spec.get("unschedulable"):
        owned += [t for t in current if t.get("key") == UNSCHEDULABLE] or [
            {"key": UNSCHEDULABLE, "effect": "NoSchedule", "timeAdded": rfc3339(now)}
        ]
    wanted = not_ready_taints(ready_status(node), now)
    for taint in wanted:
        same = next((t for t in current if t.get("key") == taint["key"] and t.get("effect") == taint["effect"]), None)
        owned.append(same or taint)
    return keep + owned


def install(store: KubeStore) -> None:
    """Have ``store`` react to node writes as the cluster's controllers and kubelets would."""

    def react(resource: str, before: Json | None, after: Json) -> None:
        if resource == "nodes":
            after_node_write(store, before, after, store.clock.now())

    store.on_write(react)


def after_node_write(store: KubeStore, before: Json | None, after: Json, now: datetime) -> Json:
    """React to a node write; returns the node as it stands afterwards."""
    name = after["metadata"]["name"]
    taints = desired_taints(after, now)
    if taints != list((after.get("spec") or {}).get("taints") or ()):
        spec = dict(after.get("spec") or {})
        if taints:
            spec["taints"] = taints
        else:
            spec.pop("taints", None)
        after = store.upsert("nodes", {**after, "spec": spec})
    if before is None:
        return after
    was, now_ = bool((before.get("spec") or {}).get("unschedulable")), bool((after.get("spec") or {}).get("unschedulable"))
    if was != now_:
        status = "NodeNotSchedulable" if now_ else "NodeSchedulable"
        _node_event(store, name, status, "kubelet", now, uid=name, host=name)
    old_ready, new_ready = ready_status(before), ready_status(after)
    if new_ready == "Unknown" and old_ready != "Unknown":
        _freeze_lease(store, name, now)
    elif old_ready == "Unknown" and new_ready != "Unknown":
        _renew_lease(store, name, now)
    if old_ready != new_ready:
        if new_ready == "True":
            _node_event(store, name, "NodeReady", "kubelet", now, uid=name, host=name)
        elif old_ready == "True":
            _node_event(store, name, "NodeNotReady", "node-controller", now, uid=after["metadata"].get("uid") or node_uid(name))
        set_pods_ready(store, name, new_ready == "True", now)
    return after


def _freeze_lease(store: KubeStore, node: str, now: datetime) -> None:
    """The kubelet fell silent: its Lease keeps the last renewal it made."""
    lease = store.get("leases", pulse.NODE_LEASE_NAMESPACE, node)
    beat = pulse.for_object("leases", lease) if lease else None
    if lease is None or beat is None:
        return
    store.upsert("leases", orjson.loads(beat.apply(orjson.dumps(lease), now)))


def _renew_lease(store: KubeStore, node: str, now: datetime) -> None:
    lease = store.get("leases", pulse.NODE_LEASE_NAMESPACE, node)
    if lease is not None and (lease.get("spec") or {}).get("holderIdentity"):
        lease["spec"]["renewTime"] = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        store.upsert("leases", lease)


def _node_event(store: KubeStore, node: str, reason: str, source: str, now: datetime, *, uid: str, host: str | None = None) -> None:
    store.upsert("events", make_event(
        "default", kind="Node", name=node, reason=reason, message=f"Node {node} status is now: {reason}",
        type="Normal", source=source, host=host, uid=uid, first=now, last=now,
    ))


def set_pods_ready(store: KubeStore, node: str, ready: bool, now: datetime) -> None:
    """The pods on ``node`` turn not Ready (node controller) or Ready again (their kubelet), with a pod event when lost."""
    on_node = store.select("pods", fields=parse_field_selector("pods", f"spec.nodeName={node},status.phase=Running"))
    pods = on_node.objects()
    for pod in pods:
        status = pod["status"]
        changed = False
        for condition in status.get("conditions") or ():
            if condition.get("type") != "Ready":
                continue
            wanted = "True" if ready and all(c.get("ready") for c in status.get("containerStatuses") or ()) else "False"
            if condition.get("status") != wanted:
                condition.update(status=wanted, lastTransitionTime=rfc3339(now))
                condition.pop("reason", None)
                condition.pop("message", None)
                changed = True
        if not changed:
            continue
        store.upsert("pods", pod)
        if not ready:
            meta = pod["metadata"]
            store.upsert("events", make_event(
                meta["namespace"], kind="Pod", name=meta["name"], uid=meta.get("uid"), reason="NodeNotReady",
                message="Node is not ready", type="Warning", source="node-controller", first=now, last=now,
            ))

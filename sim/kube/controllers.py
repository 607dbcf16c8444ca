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

Time-driven work follows the clock (``install`` hooks both on it):

- taint-based eviction (``TaintEviction``): a pod on a node with a NoExecute
  taint it does not tolerate is deleted at once, one that tolerates it for
  ``tolerationSeconds`` (the 300 s the DefaultTolerationSeconds admission
  plugin gives every pod for not-ready and unreachable) once that long has
  passed since the node was first tainted NoExecute; a toleration without
  seconds (DaemonSet and static pods) keeps the pod. As the node lifecycle
  controller does, nothing is evicted while every node of the cluster is
  NotReady (it blames itself, not the nodes), nor in a zone of at most 50
  nodes where more than two and at least 55% are NotReady (partial
  disruption), while a zone that is down altogether beside healthy ones is
  evicted. The evicted pods go to ``KubeStore.eviction_listeners``, where a
  scenario's controllers create their replacements;
- the kubelets' node status reports (``KubeStore.report_heartbeats``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
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
ZONE_LABEL = "topology.kubernetes.io/zone"
UNHEALTHY_ZONE_THRESHOLD = 0.55  # kube-controller-manager --unhealthy-zone-threshold
LARGE_CLUSTER_THRESHOLD = 50  # --large-cluster-size-threshold: a smaller zone in partial disruption evicts nothing
ZONES_INDEX = "controllers.zones"
ALL_NODES = "all"


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
    """Have ``store`` react to node writes and to the clock as the cluster's controllers and kubelets would."""
    evictions = TaintEviction(store)

    def react(resource: str, before: Json | None, after: Json) -> None:
        if resource == "nodes":
            evictions.seen(after_node_write(store, before, after, store.clock.now()))

    def tick(now: datetime) -> None:
        store.report_heartbeats(now)
        evictions.run(now)

    store.on_write(react)
    store.clock.on_advance(tick)


def _parse_time(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).astimezone(UTC) if text else None
    except ValueError:
        return None


def _no_execute(node: Json) -> list[Json]:
    return [t for t in (node.get("spec") or {}).get("taints") or () if t.get("effect") == "NoExecute"]


def tolerates(toleration: Json, taint: Json) -> bool:
    """Whether one toleration matches one taint, as the scheduler and the taint manager read them."""
    if toleration.get("effect") not in (None, "", taint.get("effect")):
        return False
    if toleration.get("operator") == "Exists":
        return toleration.get("key") in (None, "", taint.get("key"))
    return toleration.get("key") == taint.get("key") and (toleration.get("value") or "") == (taint.get("value") or "")


def eviction_delay(pod: Json, taints: list[Json]) -> timedelta | None:
    """How long after the node's NoExecute taints ``pod`` goes: zero if one is not tolerated, None if never."""
    tolerations = (pod.get("spec") or {}).get("tolerations") or ()
    limits: list[int] = []
    for taint in taints:
        used = [t for t in tolerations if tolerates(t, taint)]
        if not used:
            return timedelta(0)
        limits += [int(t["tolerationSeconds"]) for t in used if t.get("tolerationSeconds") is not None]
    return timedelta(seconds=max(min(limits), 0)) if limits else None


def zone_and_readiness(node: Json) -> tuple[str, tuple[str, bool]]:
    """The store's ``ZONES_INDEX``: each node's zone and whether it is Ready, kept per write.

    The eviction controller weighs every zone's health on every clock step;
    reading two values per node from the index instead of decoding thousands
    of nodes keeps a generated cluster's clock steps cheap.
    """
    zone = ((node.get("metadata") or {}).get("labels") or {}).get(ZONE_LABEL, "")
    return ALL_NODES, (zone, ready_status(node) == "True")


def _evicting_zones(nodes: Iterable[tuple[str, bool]]) -> set[str]:
    """The zones where the node lifecycle controller taints (and so evicts) now, from every node's (zone, Ready)."""
    ready: Counter[str] = Counter()
    not_ready: Counter[str] = Counter()
    for zone, is_ready in nodes:
        (ready if is_ready else not_ready)[zone] += 1
    zones = set(ready) | set(not_ready)
    if all(ready[z] == 0 for z in zones):
        return set()  # full disruption everywhere: the controller suspects itself and evicts nothing
    allowed = set()
    for zone in zones:
        down, size = not_ready[zone], ready[zone] + not_ready[zone]
        partial = ready[zone] > 0 and down > 2 and down / size >= UNHEALTHY_ZONE_THRESHOLD
        if not partial or size > LARGE_CLUSTER_THRESHOLD:
            allowed.add(zone)
    return allowed


class TaintEviction:
    """The taint eviction controller: pods leave NoExecute-tainted nodes once their tolerations run out.

    The clock of a pod's toleration starts when its node was first tainted
    NoExecute and keeps running when the taint changes (not-ready becoming
    unreachable), as the controller keeps the eviction it scheduled first.
    """

    def __init__(self, store: KubeStore) -> None:
        self.store = store
        self.since: dict[str, datetime] = {}
        store.add_index("nodes", ZONES_INDEX, zone_and_readiness)

    def seen(self, node: Json) -> None:
        """A node write: note when its NoExecute stretch began, or that it ended."""
        name = node["metadata"]["name"]
        taints = _no_execute(node)
        if not taints:
            self.since.pop(name, None)
        elif name not in self.since:
            added = [t for t in (_parse_time(x.get("timeAdded")) for x in taints) if t is not None]
            self.since[name] = min(added) if added else self.store.clock.now()

    def run(self, now: datetime) -> list[Json]:
        """Evict what is due at ``now``; returns the pods deleted (after telling the store's eviction listeners)."""
        store = self.store
        with store.lock:
            tainted = [n for n in store.scan("nodes", b'"NoExecute"') if _no_execute(n)]
            names = {n["metadata"]["name"] for n in tainted}
            for gone in set(self.since) - names:
                del self.since[gone]
            if not tainted:
                return []
            for node in tainted:
                self.seen(node)  # nodes loaded in bulk were never written one by one
            zones = _evicting_zones(store.grouped("nodes", ZONES_INDEX, None, ALL_NODES).values())
            evicted: list[Json] = []
            for node in tainted:
                name = node["metadata"]["name"]
                if ((node["metadata"].get("labels") or {}).get(ZONE_LABEL, "")) not in zones:
                    continue
                taints, start = _no_execute(node), self.since[name]
                on_node = store.select("pods", fields=parse_field_selector("pods", f"spec.nodeName={name}")).objects()
                for pod in on_node:
                    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                        continue
                    delay = eviction_delay(pod, taints)
                    if delay is None or start + delay > now:
                        continue
                    meta = pod["metadata"]
                    store.delete("pods", meta.get("namespace"), meta["name"])
                    store.upsert("events", make_event(
                        meta.get("namespace", "default"), kind="Pod", name=meta["name"], uid=meta.get("uid"),
                        reason="TaintManagerEviction", message=f"Marking for deletion Pod {meta.get('namespace')}/{meta['name']}",
                        source="taint-eviction-controller", first=now, last=now,
                    ))
                    evicted.append(pod)
            listeners = list(store.eviction_listeners)
        if evicted:
            for listener in listeners:
                listener(evicted)
        return evicted


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

"""apps/v1 workloads: the Deployments, StatefulSets and DaemonSets behind the pods, with the status their controllers write.

A scenario writes pods (its workloads', the cluster add-ons'); each names its
controller in ``ownerReferences`` as the real ones do: a ReplicaSet
``<deployment>-<pod-template-hash>``, a StatefulSet, a DaemonSet. ``install``
makes the store keep, for every such owner, the workload object a real
cluster would hold, and its ``status`` the way the controllers fill it:

- a Deployment counts replicas, updated (on the newest ReplicaSet), ready and
  available pods; ``Available`` is True while no more than maxUnavailable
  (25%) are missing; ``Progressing`` is True with NewReplicaSetAvailable once
  complete, ReplicaSetUpdated while progressing, and turns False with
  ProgressDeadlineExceeded when nothing progressed for
  ``progressDeadlineSeconds`` (600) — checked again as the clock moves, as
  the controller requeues itself for the deadline;
- a StatefulSet counts replicas, ready, current and updated pods and its
  revisions;
- a DaemonSet wants one pod per node and counts scheduled, ready, updated and
  available ones (a new node raises ``desiredNumberScheduled`` at once).

The workload's spec (its selector, its template, replicas) is the one its
pods were made from; replicas never shrinks when a pod goes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from sim.clock import rfc3339
from sim.kube.store import Change, KubeStore

Json = dict[str, Any]
KINDS = {"ReplicaSet": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets"}
PLURAL_KIND = {"deployments": "Deployment", "statefulsets": "StatefulSet", "daemonsets": "DaemonSet"}
# Labels a controller adds to its pods; never part of the workload's own selector.
CONTROLLER_LABELS = ("pod-template-hash", "controller-revision-hash", "pod-template-generation", "statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index")
PROGRESS_DEADLINE = 600
ADMITTED_TOLERATIONS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")
OWNER_INDEX = "apps.workload"


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def controller_of(pod: Json) -> tuple[str, str] | None:
    """(workload plural, workload name) that runs ``pod``, or None for a bare or a mirror pod."""
    meta = pod.get("metadata") or {}
    ref = next((r for r in meta.get("ownerReferences") or () if r.get("controller")), None)
    if ref is None or ref.get("kind") not in KINDS:
        return None
    name = str(ref.get("name", ""))
    if ref["kind"] == "ReplicaSet":
        template_hash = (meta.get("labels") or {}).get("pod-template-hash", "")
        if template_hash and name.endswith("-" + template_hash):
            return "deployments", name.removesuffix("-" + template_hash)
        base, dash, _ = name.rpartition("-")
        return ("deployments", base) if dash else None
    return KINDS[ref["kind"]], name


def _ready(pod: Json) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions") or ())


def _ready_since(pod: Json) -> datetime | None:
    for c in (pod.get("status") or {}).get("conditions") or ():
        if c.get("type") == "Ready" and c.get("status") == "True":
            return _parse(c.get("lastTransitionTime"))
    return None


@dataclass(frozen=True, slots=True)
class Member:
    """What a workload's status reads of one of its pods, taken when the pod is written."""

    replica_set: str  # the pod's controller: its ReplicaSet for a Deployment's pod
    created: datetime | None
    ready: bool
    ready_since: datetime | None
    scheduled: bool


def member(pod: Json) -> tuple[tuple[str, str], Member] | None:
    """(the workload that counts ``pod``, what it reads of it); None for a bare, a mirror or a terminating pod.

    This is the store's ``OWNER_INDEX``: every pod write updates it, so a
    controller woken by one pod reads its workload's other pods without
    decoding them again.
    """
    meta = pod.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return None
    owner = controller_of(pod)
    if owner is None:
        return None
    ref = next(r for r in meta["ownerReferences"] if r.get("controller"))
    return owner, Member(
        replica_set=str(ref.get("name", "")),
        created=_parse(meta.get("creationTimestamp")),
        ready=_ready(pod),
        ready_since=_ready_since(pod),
        scheduled=bool((pod.get("spec") or {}).get("nodeName")),
    )


def _owned(store: KubeStore, plural: str, namespace: str, name: str) -> dict[tuple[str, str], Member]:
    """The workload's pods (not terminating), by key, as the index holds them."""
    return store.grouped("pods", OWNER_INDEX, namespace, (plural, name))


def _template(pods: list[Json]) -> tuple[dict[str, str], Json]:
    """The selector's labels (what every pod shares, less the controllers' own) and the pod template."""
    shared: dict[str, str] | None = None
    for pod in pods:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        shared = dict(labels) if shared is None else {k: v for k, v in shared.items() if labels.get(k) == v}
    selector = {k: v for k, v in (shared or {}).items() if k not in CONTROLLER_LABELS}
    first = pods[0]
    spec = first.get("spec") or {}
    containers = [
        {key: c[key] for key in ("name", "image", "resources", "ports", "command", "args") if key in c}
        for c in spec.get("containers") or ()
    ]
    pod_spec: Json = {"containers": containers}
    for key in ("nodeSelector", "priorityClassName", "serviceAccountName", "volumes", "hostNetwork"):
        if key in spec:
            pod_spec[key] = spec[key]
    # The DefaultTolerationSeconds admission plugin adds these to every pod; the template never held them.
    tolerations = [t for t in spec.get("tolerations") or () if t.get("key") not in ADMITTED_TOLERATIONS or "tolerationSeconds" not in t]
    if tolerations:
        pod_spec["tolerations"] = tolerations
    return selector, {"metadata": {"labels": dict(selector)}, "spec": pod_spec}


def _new_workload(plural: str, namespace: str, name: str, pods: list[Json]) -> Json:
    selector, template = _template(pods)
    times = [t for p in pods if (t := _parse((p.get("metadata") or {}).get("creationTimestamp"))) is not None]
    created = min(times) if times else None
    meta: Json = {"name": name, "namespace": namespace, "labels": dict(selector), "generation": 1}
    if created is not None:
        meta["creationTimestamp"] = rfc3339(created - timedelta(seconds=1))
    ref = next(r for r in pods[0]["metadata"]["ownerReferences"] if r.get("controller"))
    spec: Json = {"selector": {"matchLabels": selector}, "template": template, "revisionHistoryLimit": 10}
    if plural == "deployments":
        meta["annotations"] = {"deployment.kubernetes.io/revision": "1"}
        spec.update(
            replicas=len(pods),
            progressDeadlineSeconds=PROGRESS_DEADLINE,
            strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
        )
    elif plural == "statefulsets":
        meta["uid"] = ref.get("uid")
        spec.update(
            replicas=len(pods),
            serviceName=name,
            podManagementPolicy="OrderedReady",
            updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            persistentVolumeClaimRetentionPolicy={"whenDeleted": "Retain", "whenScaled": "Retain"},
        )
    else:
        meta["uid"] = ref.get("uid")
        meta["annotations"] = {"deprecated.daemonset.template.generation": "1"}
        spec["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    return {"metadata": {k: v for k, v in meta.items() if v is not None}, "spec": spec}


def _revision(namespace: str, name: str) -> str:
    return hashlib.sha256(f"{namespace}/{name}/1".encode()).hexdigest()[:10]


def _condition(kind: str, status: str, reason: str, message: str, at: datetime, previous: list[Json]) -> Json:
    """A workload condition; its times stay as they were while its status and reason do."""
    old = next((c for c in previous if c.get("type") == kind), None)
    if old is not None and old.get("status") == status and old.get("reason") == reason:
        return {**old, "message": message}
    stamp = rfc3339(at)
    return {"type": kind, "status": status, "lastUpdateTime": stamp, "lastTransitionTime": stamp, "reason": reason, "message": message}


def deployment_status(deployment: Json, pods: list[Member], now: datetime) -> Json:
    spec = deployment.get("spec") or {}
    meta = deployment.get("metadata") or {}
    wanted = int(spec.get("replicas", 1))
    started: dict[str, datetime] = {}
    counts: dict[str, int] = {}
    for pod in pods:
        created = pod.created or now
        rs = pod.replica_set
        started[rs] = min(started[rs], created) if rs in started else created
        counts[rs] = counts.get(rs, 0) + 1
    newest = max(started, key=lambda rs: (started[rs], rs)) if started else f"{meta.get('name', '')}-{_revision(meta.get('namespace', ''), meta.get('name', ''))[:9]}"
    ready = [p for p in pods if p.ready]
    updated = counts.get(newest, 0)
    max_unavailable = wanted * 25 // 100
    previous = list((deployment.get("status") or {}).get("conditions") or ())
    progressed = max([started.get(newest, now)] + [p.ready_since for p in ready if p.ready_since is not None])
    if len(ready) >= wanted - max_unavailable:
        available = _condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", progressed, previous)
    else:
        available = _condition("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.", progressed, previous)
    deadline = progressed + timedelta(seconds=int(spec.get("progressDeadlineSeconds", PROGRESS_DEADLINE)))
    if updated == wanted and len(ready) == wanted and len(pods) == wanted:
        progressing = _condition("Progressing", "True", "NewReplicaSetAvailable", f'ReplicaSet "{newest}" has successfully progressed.', progressed, previous)
    elif now >= deadline:
        progressing = _condition("Progressing", "False", "ProgressDeadlineExceeded", f'ReplicaSet "{newest}" has timed out progressing.', deadline, previous)
    else:
        progressing = _condition("Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{newest}" is progressing.', progressed, previous)
        progressing["lastUpdateTime"] = rfc3339(progressed)
    status: Json = {"observedGeneration": int(meta.get("generation", 1)), "replicas": len(pods), "updatedReplicas": updated}
    if ready:
        status.update(readyReplicas=len(ready), availableReplicas=len(ready))
    if wanted - len(ready) > 0:
        status["unavailableReplicas"] = wanted - len(ready)
    status["conditions"] = [available, progressing]
    return status


def statefulset_status(statefulset: Json, pods: list[Member]) -> Json:
    meta = statefulset.get("metadata") or {}
    revision = f"{meta.get('name', '')}-{_revision(meta.get('namespace', ''), meta.get('name', ''))}"
    ready = sum(1 for p in pods if p.ready)
    status: Json = {
        "observedGeneration": int(meta.get("generation", 1)),
        "replicas": len(pods),
        "currentReplicas": len(pods),
        "updatedReplicas": len(pods),
        "currentRevision": revision,
        "updateRevision": revision,
        "collisionCount": 0,
        "availableReplicas": ready,
    }
    if ready:
        status["readyReplicas"] = ready
    return status


def daemonset_status(daemonset: Json, pods: list[Member], nodes: int) -> Json:
    meta = daemonset.get("metadata") or {}
    scheduled = [p for p in pods if p.scheduled]
    ready = sum(1 for p in scheduled if p.ready)
    status: Json = {
        "observedGeneration": int(meta.get("generation", 1)),
        "desiredNumberScheduled": nodes,
        "currentNumberScheduled": len(scheduled),
        "numberMisscheduled": 0,
        "numberReady": ready,
        "updatedNumberScheduled": len(scheduled),
        "numberAvailable": ready,
    }
    if nodes - ready > 0:
        status["numberUnavailable"] = nodes - ready
    return status


def sync(store: KubeStore, plural: str, namespace: str, name: str, *, now: datetime | None = None) -> None:
    """Bring one workload in line with its pods: create it from them if it is missing, then write its status if it changed."""
    now = now or store.clock.now()
    with store.lock:
        owned = _owned(store, plural, namespace, name)
        pods = list(owned.values())
        current = store.get(plural, namespace, name)
        if current is None:
            if not pods:
                return
            # Once per workload: its spec is read from the pods themselves, in key order as a list would give them.
            current = _new_workload(plural, namespace, name, [p for key in sorted(owned) if (p := store.get("pods", *key)) is not None])
        spec = current.setdefault("spec", {})
        if plural != "daemonsets" and len(pods) > int(spec.get("replicas", 1)):
            spec["replicas"] = len(pods)
        if plural == "deployments":
            status = deployment_status(current, pods, now)
        elif plural == "statefulsets":
            status = statefulset_status(current, pods)
        else:
            status = daemonset_status(current, pods, store.count("nodes"))
        if status == current.get("status") and current.get("metadata", {}).get("resourceVersion"):
            return
        current["status"] = status
        store.upsert(plural, current)


def resync(store: KubeStore, plurals: tuple[str, ...] = ("deployments", "statefulsets", "daemonsets")) -> None:
    """Every workload of ``plurals`` again (the clock moved past a deadline, or the nodes changed)."""
    with store.lock:
        for plural in plurals:
            for workload in store.items(plural):
                meta = workload["metadata"]
                sync(store, plural, meta.get("namespace", ""), meta["name"])


def install(store: KubeStore) -> None:
    """Have ``store`` keep its pods' workloads and their status, as the apps controllers would.

    Like the real controllers, this watches: every pod change syncs the pod's
    workload, a new node resyncs the DaemonSets, and each clock tick (which
    watchers receive too) rechecks the Deployments' progress deadlines.
    Listeners run inside the write, so a read after it sees the workload's
    new status. A bulk load (a generated cluster) is not followed.
    """

    def on_pod(message: Change | str) -> None:
        if message == "tick":
            resync(store, ("deployments",))
        elif isinstance(message, Change):
            pod = orjson.loads(message.raw)
            owner = controller_of(pod)
            if owner is not None:
                sync(store, owner[0], pod["metadata"].get("namespace", ""), owner[1])

    def on_node(message: Change | str) -> None:
        if isinstance(message, Change) and message.type in ("ADDED", "DELETED"):
            resync(store, ("daemonsets",))

    store.add_index("pods", OWNER_INDEX, member)
    store.watch("pods", None, on_pod)
    store.watch("nodes", None, on_node)

"""meta.k8s.io/v1 Table answers, so kubectl prints the real columns.

kubectl asks the server to render lists as tables (``Accept: ...;as=Table``)
and prints whatever columns come back; without them `kubectl get nodes` would
show NAME and AGE only. The columns and their status logic follow the real
server's printers for the kinds the bot reads.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

Row = list[Any]
Column = tuple[str, str, int, str]  # name, type, priority (1 = only with -o wide), description


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def human_duration(seconds: float) -> str:
    """The apiserver's short age format: 45s, 3m20s, 5h, 2d3h, 400d, 2y10d."""
    if seconds < -1:
        return "<invalid>"
    s = int(max(seconds, 0))
    minutes, hours = s // 60, s // 3600
    if s < 120:
        return f"{s}s"
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years, days = hours // (24 * 365), (hours // 24) % 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // (24 * 365)}y"


def since(text: str | None, now: datetime) -> str:
    moment = parse_time(text)
    return "<unknown>" if moment is None else human_duration((now - moment).total_seconds())


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


NAME: Column = ("Name", "string", 0, "Name must be unique within a namespace.")
AGE: Column = ("Age", "string", 0, "Time since the object was created.")


def _row(obj: dict[str, Any], now: datetime, cells: Row, after_age: Row | None = None) -> Row:
    """The layout of most printers: NAME, the kind's own cells, AGE, then the cells that follow it."""
    return [_meta(obj).get("name"), *cells, since(_meta(obj).get("creationTimestamp"), now), *(after_age or [])]


# --- nodes ------------------------------------------------------------------

NODE_COLUMNS: list[Column] = [
    NAME,
    ("Status", "string", 0, "The status of the node"),
    ("Roles", "string", 0, "The roles of the node"),
    AGE,
    ("Version", "string", 0, "Kubelet Version reported by the node."),
    ("Internal-IP", "string", 1, "The node's internal IP."),
    ("External-IP", "string", 1, "The node's external IP."),
    ("OS-Image", "string", 1, "OS image reported by the node."),
    ("Kernel-Version", "string", 1, "Kernel version reported by the node."),
    ("Container-Runtime", "string", 1, "Container runtime reported by the node."),
]


def node_status(node: dict[str, Any]) -> str:
    ready = next((c for c in (node.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), None)
    words = [("Ready" if ready.get("status") == "True" else "NotReady") if ready else "Unknown"]
    if (node.get("spec") or {}).get("unschedulable"):
        words.append("SchedulingDisabled")
    return ",".join(words)


def node_roles(node: dict[str, Any]) -> str:
    labels = _meta(node).get("labels") or {}
    roles = {key.split("/", 1)[1] for key in labels if key.startswith("node-role.kubernetes.io/") and key != "node-role.kubernetes.io/"}
    if labels.get("kubernetes.io/role"):
        roles.add(labels["kubernetes.io/role"])
    return ",".join(sorted(roles)) or "<none>"


def node_row(node: dict[str, Any], now: datetime) -> Row:
    status = node.get("status") or {}
    info = status.get("nodeInfo") or {}
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    after_age = [
        info.get("kubeletVersion", ""),
        addresses.get("InternalIP", "<none>"),
        addresses.get("ExternalIP", "<none>"),
        info.get("osImage", "<unknown>"),
        info.get("kernelVersion", "<unknown>"),
        info.get("containerRuntimeVersion", "<unknown>"),
    ]
    return _row(node, now, [node_status(node), node_roles(node)], after_age)


# --- pods -------------------------------------------------------------------

POD_COLUMNS: list[Column] = [
    NAME,
    ("Ready", "string", 0, "The aggregate readiness state of this pod for accepting traffic."),
    ("Status", "string", 0, "The aggregate status of the containers in this pod."),
    ("Restarts", "string", 0, "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
    AGE,
    ("IP", "string", 1, "IP address allocated to the pod."),
    ("Node", "string", 1, "Name of the Node this pod is assigned to."),
    ("Nominated Node", "string", 1, "Name of the node nominated for the pod."),
    ("Readiness Gates", "string", 1, "Pod readiness gates."),
]


def pod_reason(pod: dict[str, Any]) -> str:
    """The STATUS column: a waiting or terminated reason beats the phase."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"
    init = status.get("initContainerStatuses") or []
    for index, container in enumerate(init):
        state = container.get("state") or {}
        terminated = state.get("terminated")
        if terminated and terminated.get("exitCode") == 0:
            continue
        waiting_reason = (state.get("waiting") or {}).get("reason")
        if terminated:
            reason = "Init:" + (terminated.get("reason") or f"ExitCode:{terminated.get('exitCode')}")
        elif waiting_reason and waiting_reason != "PodInitializing":
            reason = "Init:" + waiting_reason
        else:
            reason = f"Init:{index}/{len(init)}"
        break
    else:
        running = False
        for container in reversed(status.get("containerStatuses") or []):
            state = container.get("state") or {}
            if (state.get("waiting") or {}).get("reason"):
                reason = state["waiting"]["reason"]
            elif state.get("terminated"):
                term = state["terminated"]
                reason = term.get("reason") or (f"Signal:{term['signal']}" if term.get("signal") else f"ExitCode:{term.get('exitCode')}")
            elif container.get("ready") and state.get("running") is not None:
                running = True
        if reason == "Completed" and running:
            reason = "Running"
    if _meta(pod).get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return reason


def pod_restarts(pod: dict[str, Any], now: datetime) -> str:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    total = sum(int(c.get("restartCount") or 0) for c in statuses)
    finished = [parse_time((c.get("lastState") or {}).get("terminated", {}).get("finishedAt")) for c in statuses]
    latest = max((f for f in finished if f), default=None)
    return f"{total} ({human_duration((now - latest).total_seconds())} ago)" if total and latest else str(total)


def pod_row(pod: dict[str, Any], now: datetime) -> Row:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    containers = spec.get("containers") or []
    ready = sum(1 for c in status.get("containerStatuses") or [] if c.get("ready"))
    after_age = [
        status.get("podIP") or "<none>",
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        "<none>",
    ]
    return _row(pod, now, [f"{ready}/{len(containers)}", pod_reason(pod), pod_restarts(pod, now)], after_age)


# --- events, namespaces, leases, PDBs -----------------------------------------

EVENT_COLUMNS: list[Column] = [
    ("Last Seen", "string", 0, "Time since the event was last seen."),
    ("Type", "string", 0, "Type of this event (Normal, Warning)."),
    ("Reason", "string", 0, "Why the action was taken."),
    ("Object", "string", 0, "The object this Event is about."),
    ("Message", "string", 0, "A human-readable description of the status of this operation."),
    ("Subobject", "string", 1, "The field of the object this Event is about."),
    ("Source", "string", 1, "The component reporting this event."),
    ("First Seen", "string", 1, "Time since the event was first seen."),
    ("Count", "string", 1, "The number of times this event has occurred."),
    ("Name", "string", 1, "The name of the event."),
]


def event_row(event: dict[str, Any], now: datetime) -> Row:
    involved = event.get("involvedObject") or {}
    last = event.get("lastTimestamp") or event.get("eventTime") or _meta(event).get("creationTimestamp")
    first = event.get("firstTimestamp") or event.get("eventTime") or _meta(event).get("creationTimestamp")
    source = event.get("source") or {}
    source_text = ", ".join(part for part in (source.get("component"), source.get("host")) if part) or event.get("reportingComponent", "")
    return [
        since(last, now),
        event.get("type", ""),
        event.get("reason", ""),
        f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
        str(event.get("message", "")).strip(),
        involved.get("fieldPath", ""),
        source_text,
        since(first, now),
        str(event.get("count") or 1),
        _meta(event).get("name"),
    ]


NAMESPACE_COLUMNS: list[Column] = [NAME, ("Status", "string", 0, "The status of the namespace"), AGE]


def namespace_row(ns: dict[str, Any], now: datetime) -> Row:
    return _row(ns, now, [(ns.get("status") or {}).get("phase", "Active")])


LEASE_COLUMNS: list[Column] = [NAME, ("Holder", "string", 0, "The holder of the lease."), AGE]


def lease_row(lease: dict[str, Any], now: datetime) -> Row:
    holder = (lease.get("spec") or {}).get("holderIdentity") or ""
    return _row(lease, now, [holder])


PDB_COLUMNS: list[Column] = [
    NAME,
    ("Min Available", "string", 0, "The minimum number of pods that must be available."),
    ("Max Unavailable", "string", 0, "The maximum number of pods that may be unavailable."),
    ("Allowed Disruptions", "integer", 0, "How many pods may currently be disrupted."),
    AGE,
]


def pdb_row(pdb: dict[str, Any], now: datetime) -> Row:
    spec = pdb.get("spec") or {}
    return _row(
        pdb,
        now,
        [
            str(spec["minAvailable"]) if "minAvailable" in spec else "N/A",
            str(spec["maxUnavailable"]) if "maxUnavailable" in spec else "N/A",
            int((pdb.get("status") or {}).get("disruptionsAllowed") or 0),
        ],
    )


# --- apps/v1 workloads ---------------------------------------------------------

CONTAINERS: Column = ("Containers", "string", 1, "Names of each container in the template.")
IMAGES: Column = ("Images", "string", 1, "Images referenced by each container in the template.")
SELECTOR: Column = ("Selector", "string", 1, "Label selector of the pods this object manages.")


def _template_cells(obj: dict[str, Any], *, selector: bool = True) -> Row:
    """The wide cells every workload printer ends with; the StatefulSet printer leaves the selector out."""
    spec = obj.get("spec") or {}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    cells: Row = [",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)]
    if selector:
        cells.append(selector_text(spec.get("selector")))
    return cells


def _ready_replicas(obj: dict[str, Any]) -> str:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return f"{int(status.get('readyReplicas') or 0)}/{int(spec.get('replicas', 1))}"


def _pairs_text(pairs: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(pairs.items())) or "<none>"


def selector_text(selector: dict[str, Any] | None) -> str:
    """A LabelSelector as kubectl prints it: matchLabels first, then expressions."""
    selector = selector or {}
    terms = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op, values = expr.get("operator"), ",".join(expr.get("values") or [])
        terms.append({"In": f"{expr.get('key')} in ({values})", "NotIn": f"{expr.get('key')} notin ({values})",
                      "Exists": str(expr.get("key")), "DoesNotExist": f"!{expr.get('key')}"}.get(str(op), ""))
    return ",".join(t for t in terms if t) or "<none>"


DEPLOYMENT_COLUMNS: list[Column] = [
    NAME,
    ("Ready", "string", 0, "Number of the pod with ready state"),
    ("Up-to-date", "integer", 0, "Total number of non-terminated pods targeted by this deployment that have the desired template spec."),
    ("Available", "integer", 0, "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
]


def deployment_row(obj: dict[str, Any], now: datetime) -> Row:
    status = obj.get("status") or {}
    cells = [_ready_replicas(obj), int(status.get("updatedReplicas") or 0), int(status.get("availableReplicas") or 0)]
    return _row(obj, now, cells, _template_cells(obj))


STATEFULSET_COLUMNS: list[Column] = [NAME, ("Ready", "string", 0, "Number of the pod with ready state"), AGE, CONTAINERS, IMAGES]


def statefulset_row(obj: dict[str, Any], now: datetime) -> Row:
    return _row(obj, now, [_ready_replicas(obj)], _template_cells(obj, selector=False))


DAEMONSET_COLUMNS: list[Column] = [
    NAME,
    ("Desired", "integer", 0, "The number of nodes that should be running the daemon pod."),
    ("Current", "integer", 0, "The number of nodes running at least one daemon pod and are supposed to."),
    ("Ready", "integer", 0, "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready."),
    ("Up-to-date", "integer", 0, "The total number of nodes that are running updated daemon pod."),
    ("Available", "integer", 0, "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available."),
    ("Node Selector", "string", 0, "NodeSelector is a selector which must be true for the pod to fit on a node."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
]


def daemonset_row(obj: dict[str, Any], now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    node_selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    counts = ["desiredNumberScheduled", "currentNumberScheduled", "numberReady", "updatedNumberScheduled", "numberAvailable"]
    cells: Row = [int(status.get(count) or 0) for count in counts]
    cells.append(_pairs_text(node_selector))
    return _row(obj, now, cells, _template_cells(obj))


SERVICE_COLUMNS: list[Column] = [
    NAME,
    ("Type", "string", 0, "type determines how the Service is exposed."),
    ("Cluster-IP", "string", 0, "clusterIP is the IP address of the service."),
    ("External-IP", "string", 0, "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service."),
    ("Port(s)", "string", 0, "The list of ports that are exposed by this service."),
    AGE,
    ("Selector", "string", 1, "Route service traffic to pods with label keys and values matching this selector."),
]


def service_row(service: dict[str, Any], now: datetime) -> Row:
    spec = service.get("spec") or {}
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    external = [i.get("ip") or i.get("hostname") for i in ingress] + list(spec.get("externalIPs") or [])
    ports = ",".join(
        f"{p['port']}:{p['nodePort']}/{p.get('protocol', 'TCP')}" if p.get("nodePort") else f"{p['port']}/{p.get('protocol', 'TCP')}"
        for p in spec.get("ports") or []
    )
    selector = spec.get("selector") or {}
    cells = [
        spec.get("type", "ClusterIP"),
        spec.get("clusterIP") or "<none>",
        ",".join(e for e in external if e) or ("<pending>" if spec.get("type") == "LoadBalancer" else "<none>"),
        ports or "<none>",
    ]
    return _row(service, now, cells, [_pairs_text(selector)])


PRINTERS: dict[str, tuple[list[Column], Callable[[dict[str, Any], datetime], Row]]] = {
    "nodes": (NODE_COLUMNS, node_row),
    "pods": (POD_COLUMNS, pod_row),
    "events": (EVENT_COLUMNS, event_row),
    "services": (SERVICE_COLUMNS, service_row),
    "namespaces": (NAMESPACE_COLUMNS, namespace_row),
    "leases": (LEASE_COLUMNS, lease_row),
    "poddisruptionbudgets": (PDB_COLUMNS, pdb_row),
    "deployments": (DEPLOYMENT_COLUMNS, deployment_row),
    "statefulsets": (STATEFULSET_COLUMNS, statefulset_row),
    "daemonsets": (DAEMONSET_COLUMNS, daemonset_row),
}


def wants_table(accept: str) -> bool:
    """kubectl's Accept header lists the Table form first; plain clients never ask for it."""
    return "as=Table" in accept and "g=meta.k8s.io" in accept


def table(resource: str, objects: list[dict[str, Any]], now: datetime, list_meta: dict[str, Any], include: str = "Metadata") -> dict[str, Any]:
    """A Table of ``objects``; rows carry the object's metadata so kubectl can add NAMESPACE."""
    columns, printer = PRINTERS[resource]
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": printer(obj, now)}
        if include == "Object":
            row["object"] = obj
        elif include != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": _meta(obj)}
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": [
            {"name": name, "type": kind, "format": "name" if name == "Name" else "", "description": text, "priority": priority}
            for name, kind, priority, text in columns
        ],
        "rows": rows,
    }

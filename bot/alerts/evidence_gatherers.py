"""What the evidence of each kind of incident is, and where it is read.

- VMs that never registered: for one affected VM per zone, its last
  kube-proxy and kubelet errors (Cloud Logging), the tail of its console
  (Compute's serial port output), its age and its state in its instance
  group, and the IAP SSH line; one Logs Explorer link for all the VMs.
- Pending pods (and a pool at its maximum while pods wait): the scheduler's
  messages grouped by reason, the autoscaler's last decisions (its events and
  its Cloud Logging visibility log), the workloads short of replicas.
- NotReady nodes (one by one, or a zone): each node's conditions, its last
  kubelet and container-runtime errors, its pods and when each will be
  evicted (tolerationSeconds for the not-ready or unreachable taint, 300 s
  unless the pod says otherwise).
- Upgrades (and a control plane that does not answer): the operation and its
  progress, the maintenance window and exclusions, the release channel; for
  a node-pool upgrade, the PodDisruptionBudgets and pods that keep its
  cordoned nodes from draining.

Each gatherer reads through ``Reads``, so what fails or is too slow is named
rather than missing, and never raises: the worst evidence is one that says
what it could not read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

import orjson

from bot.alerts.evidence import Evidence, Excerpt, Link, Part, Pending, Reads, one_line
from bot.alerts.render import human_duration
from bot.alerts.store import Incident
from bot.alerts.upgrade_checks import state_of, what_gke_said
from bot.analysis.operations import duration, progress_percent, target_version
from bot.analysis.pending import AUTOSCALER_EVENT_SELECTORS, AUTOSCALER_REASONS, group_pending
from bot.analysis.ssh import ssh_hint
from bot.clusters import ClusterHandle
from bot.model.findings import (
    AUTOSCALER_AT_MAX,
    CONTROL_PLANE_UNREACHABLE,
    MASTER_UPGRADE,
    NODE_POOL_UPGRADE,
    NODES_NOT_READY,
    PENDING_PODS,
    UNREGISTERED_VMS,
    ZONE_NOT_READY,
)
from bot.model.gke import GkeCluster, ManagedVm, Operation, SerialOutput
from bot.model.kube import DisruptionBudget, Event, Node, Pod, Taint, Workload
from bot.model.logs import LogLine
from bot.sources.contracts import LogQuery
from bot.sources.google.compute_parse import pools_by_group

BUDGET_SECONDS = 20.0  # one gathering, every read included
LOG_LOOKBACK = timedelta(hours=3)  # how far back a component's last errors are looked for
LOG_ERRORS = 5  # a component's last error lines read (the newest are shown)
SERIAL_LINES = 60  # console lines kept from the tail (the newest are shown)
MAX_NODES = 3  # nodes whose evidence is read, of a NotReady incident
MAX_NODE_PODS = 30  # pods listed per node
MAX_GROUPS = 8  # pending reasons shown
MAX_EXAMPLES = 5  # pods named per reason
MAX_NAMESPACES = 5  # namespaces whose workloads are read
MAX_DRAINING = 5  # cordoned nodes whose pods are read, of a node-pool upgrade
AUTOSCALER_WINDOW = timedelta(hours=1)
DEFAULT_TOLERATION_SECONDS = 300  # what the DefaultTolerationSeconds admission plugin gives a pod
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
LONG_GRACE_SECONDS = 600
_EPOCH = datetime.min.replace(tzinfo=UTC)


@dataclass
class Context:
    handle: ClusterHandle
    incident: Incident
    now: datetime
    reads: Reads

    @property
    def facts(self) -> dict[str, object]:
        return dict(self.incident.rendered_facts or {})


@dataclass
class Found:
    title: str
    parts: list[Part] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


Gatherer = Callable[[Context], Found]


def gather(
    handle: ClusterHandle,
    incident: Incident,
    now: datetime,
    *,
    budget_seconds: float = BUDGET_SECONDS,
    monotonic: Callable[[], float] = time.monotonic,
) -> Evidence | None:
    """The evidence of ``incident``, read within ``budget_seconds``; None for a kind that has none."""
    gatherer = GATHERERS.get(incident.kind)
    if gatherer is None:
        return None
    started = monotonic()
    reads = Reads(budget_seconds, clock=monotonic)
    try:
        found = gatherer(Context(handle, incident, now, reads))
    finally:
        reads.close()
    return Evidence(
        incident_id=incident.id,
        cluster=incident.cluster,
        kind=incident.kind,
        title=found.title,
        gathered_at=now,
        took_seconds=round(monotonic() - started, 2),
        parts=tuple(found.parts),
        links=tuple(found.links),
        unread=tuple(reads.unread),
        notes=tuple(found.notes),
    )


# -- shared --------------------------------------------------------------------------


def _stamp(moment: datetime | None) -> str:
    return f"{moment:%H:%M:%S}" if moment is not None else "--:--:--"


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment is not None else "unknown"


def _span(window: timedelta) -> str:
    """A look-back as people say it: "3h", "90m"."""
    minutes = int(window.total_seconds() // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def _log_lines(lines: Iterable[LogLine]) -> tuple[str, ...]:
    """Oldest first, as a log reads: Cloud Logging answers newest first."""
    return tuple(f"{_stamp(line.timestamp)} {one_line(line.text)}" for line in reversed(list(lines)))


def _component_errors(ctx: Context, node: str, component: str) -> Pending[list[LogLine]] | None:
    """Start reading ``component``'s last errors on ``node``; None when Cloud Logging is not configured."""
    logs = ctx.handle.logs
    if logs is None:
        return None
    query = LogQuery(
        target="node", node=node, component=component, min_severity="ERROR", since=ctx.now - LOG_LOOKBACK, limit=LOG_ERRORS
    )
    return ctx.reads.start(f"{component} errors of {node}", lambda: logs.query(query))


def _errors_excerpt(ctx: Context, pending: Pending[list[LogLine]] | None, component: str) -> Excerpt | None:
    if pending is None:
        return None
    lines = ctx.reads.result(pending)
    if lines is None:
        return None
    return Excerpt(
        f"{component} errors (Cloud Logging, last {_span(LOG_LOOKBACK)})", _log_lines(lines),
        empty=f"no errors in the last {_span(LOG_LOOKBACK)}", shown=3,
    )


def _no_logging(ctx: Context, what: str) -> None:
    if ctx.handle.logs is None:
        ctx.reads.missing(what, "Cloud Logging is not configured for this cluster")


def _gke(ctx: Context) -> GkeCluster | None:
    if ctx.handle.gke is None:
        ctx.reads.missing("the GKE cluster", "this cluster is not configured as GKE")
        return None
    return ctx.reads.read("the GKE cluster", ctx.handle.gke.get_cluster)


# -- VMs that never registered --------------------------------------------------------


def unregistered_vms(ctx: Context) -> Found:
    facts = ctx.facts
    names = [str(n) for n in facts.get("vms") or []]  # type: ignore[attr-defined]
    pool = ctx.incident.scope
    gke = _gke(ctx)
    known = {vm.name: vm for vm in ctx.handle.recent_vms}
    compute = ctx.handle.compute
    if any(name not in known for name in names) and gke is not None and compute is not None:
        urls = [url for p in gke.node_pools if not pool or p.name == pool for url in p.instance_groups]
        listing = partial(compute.list_managed_vms, urls, pools=pools_by_group(gke))
        known.update({vm.name: vm for vm in ctx.reads.read(f"the VMs of node pool {pool}", listing) or ()})
    vms = [known[name] for name in names if name in known]
    chosen: dict[str, ManagedVm] = {}
    for vm in sorted(vms, key=lambda v: (v.zone, v.name)):
        chosen.setdefault(vm.zone, vm)
    undated = [vm for vm in chosen.values() if vm.created is None]
    if undated and compute is not None:
        dated = ctx.reads.read("VM creation times", partial(compute.with_created, undated, limit=len(undated)))
        for vm in dated or ():
            chosen[vm.zone] = vm
    found = Found(
        title=f"Why {len(names)} VM{'s' if len(names) != 1 else ''} of node pool {pool or '?'} did not register: "
        f"one VM per zone ({', '.join(sorted(chosen)) or 'none found'})"
    )
    if len(chosen) < len(names):
        found.notes.append(f"{len(names) - len(chosen)} more VMs in these zones are not shown; their logs are in the link below.")
    _no_logging(ctx, "kube-proxy and kubelet errors")
    if compute is None:
        ctx.reads.missing("serial port output", "the Compute Engine API is not configured for this cluster")
    started = []
    for vm in chosen.values():
        proxy = _component_errors(ctx, vm.name, "kube-proxy")
        kubelet = _component_errors(ctx, vm.name, "kubelet")
        serial = _serial_tail(ctx, vm)
        started.append((vm, proxy, kubelet, serial))
    for vm, proxy, kubelet, serial in started:
        excerpts = [e for e in (_errors_excerpt(ctx, proxy, "kube-proxy"), _errors_excerpt(ctx, kubelet, "kubelet")) if e]
        if serial is not None:
            output = ctx.reads.result(serial)
            if output is not None:
                excerpts.append(Excerpt("serial port 1 (console), last lines", tuple(output.last_lines(SERIAL_LINES)), empty="empty", shown=8))
        found.parts.append(
            Part(title=f"VM {vm.name} ({vm.zone})", facts=tuple(_vm_facts(vm, ctx.now)), excerpts=tuple(excerpts), command=_ssh_line(ctx, gke, vm))
        )
    if ctx.handle.logs is not None and names:
        query = LogQuery(target="node", nodes=tuple(names), components=("kube-proxy", "kubelet"), since=ctx.now - LOG_LOOKBACK)
        found.links.append(Link(f"Logs Explorer: kube-proxy and kubelet of all {len(names)} VMs", ctx.handle.logs.explorer_url(query)))
    return found


def _serial_tail(ctx: Context, vm: ManagedVm) -> Pending[SerialOutput] | None:
    compute = ctx.handle.compute
    if compute is None:
        return None
    return ctx.reads.start(f"serial port output of {vm.name}", lambda: compute.serial_port_tail(vm.zone, vm.name))


def _vm_facts(vm: ManagedVm, now: datetime) -> list[str]:
    facts = []
    if vm.created is not None:
        facts.append(f"Running for {duration(now - vm.created)} (created {_when(vm.created)}), never registered as a node")
    else:
        facts.append("Creation time unknown; never registered as a node")
    facts.append(
        f"Instance group {vm.instance_group or '?'}: {vm.status or 'status unknown'}, current action {vm.current_action or 'NONE'}"
    )
    return facts


def _ssh_line(ctx: Context, gke: GkeCluster | None, vm: ManagedVm) -> str:
    config = ctx.handle.config.gke
    if config is None:
        return ""
    return ssh_hint(
        cluster=ctx.handle.name,
        target=vm.name,
        zone=vm.zone,
        project=gke.project if gke is not None else config.project,
        gke_cluster=gke.name if gke is not None else config.cluster,
        gke_location=gke.location if gke is not None else config.location,
        registered=False,
    ).ssh_command


# -- pending pods --------------------------------------------------------------------


def pending_pods(ctx: Context) -> Found:
    kube = ctx.handle.kube
    pending_read = ctx.reads.start("pending pods", partial(kube.list_pods, field_selector="status.phase=Pending"))
    event_reads = [
        ctx.reads.start(f"autoscaler events ({selector.rsplit('=', 1)[-1]})", partial(kube.list_events, field_selector=selector))
        for selector in AUTOSCALER_EVENT_SELECTORS
    ]
    logs = ctx.handle.logs
    visibility: Pending[list[LogLine]] | None = None
    if logs is not None:
        recent = LogQuery(target="autoscaler", since=ctx.now - AUTOSCALER_WINDOW, limit=LOG_ERRORS)
        visibility = ctx.reads.start("the autoscaler's decisions in Cloud Logging", lambda: logs.query(recent))
    _no_logging(ctx, "the autoscaler's decisions in Cloud Logging")
    pods = [p for p in ctx.reads.result(pending_read) or () if not p.deleting]
    events: list[Event] = [e for r in event_reads for e in ctx.reads.result(r) or ()]
    groups = group_pending(pods, events)
    waiting = f"{len(pods)} pending pod{'s' if len(pods) != 1 else ''}"
    found = Found(title=f"{waiting}: the scheduler's reasons, the autoscaler, the workloads")
    if ctx.incident.kind == AUTOSCALER_AT_MAX:
        found.title = f"Node pool {ctx.incident.scope} at its maximum while {waiting} wait: the pool, the scheduler, the autoscaler"
        pool = _pool_part(ctx, ctx.incident.scope)
        if pool is not None:
            found.parts.append(pool)
    for group in groups[:MAX_GROUPS]:
        names = ", ".join(p.key for p in group.pods[:MAX_EXAMPLES])
        more = f" and {len(group.pods) - MAX_EXAMPLES} more" if len(group.pods) > MAX_EXAMPLES else ""
        facts = [f"Pods: {names}{more}"]
        if group.autoscaler:
            facts.append(f"Autoscaler: {one_line(group.autoscaler)}")
        found.parts.append(
            Part(
                title=f"{len(group.pods)} × {group.reason}",
                facts=tuple(facts),
                excerpts=(Excerpt("the scheduler's message", (one_line(group.example_message),), shown=1),),
            )
        )
    if len(groups) > MAX_GROUPS:
        found.notes.append(f"{len(groups) - MAX_GROUPS} more reasons ({sum(len(g.pods) for g in groups[MAX_GROUPS:])} pods) are not shown.")
    decisions = list(_autoscaler_events(events))
    if visibility is not None:
        lines = ctx.reads.result(visibility)
        if lines is not None:
            decisions_logged = tuple(f"{_stamp(line.timestamp)} {autoscaler_decision(line.text)}" for line in reversed(lines))
            found.parts.append(
                Part(
                    title="The autoscaler's last decisions",
                    facts=tuple(decisions) or ("No autoscaler events about these pods.",),
                    excerpts=(Excerpt(f"cluster-autoscaler visibility log (Cloud Logging, last {_span(AUTOSCALER_WINDOW)})", decisions_logged, empty="no decisions logged", shown=5),),
                )
            )
            decisions = []
    if decisions:
        found.parts.append(Part(title="The autoscaler's last decisions", facts=tuple(decisions)))
    workloads = _short_workloads(ctx, pods)
    if workloads:
        found.parts.append(Part(title="Workloads waiting for these pods", facts=tuple(workloads)))
    if logs is not None:
        query = LogQuery(target="autoscaler", since=ctx.now - AUTOSCALER_WINDOW)
        found.links.append(Link("Logs Explorer: the autoscaler's decisions", logs.explorer_url(query)))
    return found


def _pool_part(ctx: Context, name: str) -> Part | None:
    """The pool at its maximum: its bounds, and per zone its VMs and how many of them are nodes."""
    gke = _gke(ctx)
    pool = next((p for p in gke.node_pools if p.name == name), None) if gke is not None else None
    if pool is None:
        return None
    scaling = pool.autoscaling
    if scaling.total_max is not None:
        bounds = f"{scaling.total_min or 0} to {scaling.total_max} nodes in all"
    else:
        bounds = f"{scaling.min_nodes} to {scaling.max_nodes} nodes per zone in {len(pool.locations)} zones"
    facts = [f"Autoscaling {'on' if scaling.enabled else 'off'}: {bounds}" + (f", location policy {scaling.location_policy}" if scaling.location_policy else "")]
    nodes = ctx.reads.read("nodes", ctx.handle.kube.list_nodes)
    registered = {n.name for n in nodes or () if n.pool == name}
    vms = [vm for vm in ctx.handle.recent_vms if vm.pool == name]
    for zone in pool.locations:
        in_zone = [vm for vm in vms if vm.zone == zone]
        became = sum(1 for vm in in_zone if vm.name in registered)
        facts.append(f"{zone}: {len(in_zone)} VM{'s' if len(in_zone) != 1 else ''}, {became} registered as nodes")
    return Part(title=f"Node pool {name} ({pool.machine_type or 'machine type unknown'})", facts=tuple(facts))


def _autoscaler_events(events: Sequence[Event], limit: int = 5) -> Iterable[str]:
    """The newest autoscaler events, one line per reason and message."""
    def seen(event: Event) -> datetime:
        return event.last_seen or event.first_seen or _EPOCH

    latest: dict[tuple[str, str], Event] = {}
    for event in events:
        if event.reason not in AUTOSCALER_REASONS:
            continue
        key = (event.reason, event.message)
        if key not in latest or seen(event) > seen(latest[key]):
            latest[key] = event
    for event in sorted(latest.values(), key=seen, reverse=True)[:limit]:
        who = f"{event.object_namespace or event.namespace}/{event.object_name}"
        yield f"{_stamp(event.last_seen)} {event.reason} (×{event.count}, e.g. {who}): {one_line(event.message)}"


def autoscaler_decision(text: str) -> str:
    """A cluster-autoscaler visibility entry in one line: what it did or why it did not."""
    try:
        payload = orjson.loads(text)
    except orjson.JSONDecodeError:
        return one_line(text)
    if not isinstance(payload, dict):
        return one_line(text)
    decision = payload.get("decision") or {}
    if decision.get("scaleUp"):
        migs = [f"{m.get('mig', {}).get('name', '?')} +{m.get('requestedNodes', '?')}" for m in decision["scaleUp"].get("increasedMigs") or ()]
        return "scale-up: " + (", ".join(migs) or "requested")
    if decision.get("scaleDown"):
        nodes = [n.get("node", {}).get("name", "?") for n in decision["scaleDown"].get("nodesToBeRemoved") or ()]
        return "scale-down: " + (", ".join(nodes) or "requested")
    if decision.get("nodePoolCreated"):
        return "node pool created"
    status = payload.get("noDecisionStatus") or {}
    no_up = status.get("noScaleUp")
    if no_up:
        groups = no_up.get("unhandledPodGroups") or ()
        top = str((no_up.get("reason") or {}).get("messageId") or "")
        per_group = {str((m.get("reason") or {}).get("messageId") or "") for g in groups for m in g.get("rejectedMigs") or ()}
        reasons = sorted(({top} | per_group) - {""})
        pods = sum(int((g.get("podGroup") or {}).get("totalPodCount") or 1) for g in groups)
        return f"no scale-up for {pods} pod{'s' if pods != 1 else ''}: {', '.join(reasons) or 'no reason given'}"
    if status.get("noScaleDown"):
        reason = (status["noScaleDown"].get("reason") or {}).get("messageId") or "no reason given"
        return f"no scale-down: {reason}"
    return one_line(text)[:300]


def workload_of(pod: Pod) -> tuple[str, str] | None:
    """(kind, name) of the workload behind a pod: a ReplicaSet's Deployment by its pod-template-hash."""
    if pod.owner_kind == "ReplicaSet":
        suffix = pod.labels.get("pod-template-hash", "")
        name = pod.owner_name.removesuffix(f"-{suffix}") if suffix and pod.owner_name.endswith(f"-{suffix}") else pod.owner_name.rsplit("-", 1)[0]
        return ("Deployment", name)
    if pod.owner_kind in ("StatefulSet", "DaemonSet"):
        return (pod.owner_kind, pod.owner_name)
    return None


def _short_workloads(ctx: Context, pods: Sequence[Pod]) -> list[str]:
    """Each workload with pending pods: desired and ready replicas, and how many of its pods wait."""
    waiting: dict[tuple[str, str, str], int] = {}
    bare = 0
    for pod in pods:
        owner = workload_of(pod)
        if owner is None:
            bare += 1
            continue
        key = (owner[0], pod.namespace, owner[1])
        waiting[key] = waiting.get(key, 0) + 1
    kube = ctx.handle.kube
    namespaces = sorted({ns for _, ns, _ in waiting})[:MAX_NAMESPACES]
    lists: dict[str, Callable[..., list[Workload]]] = {
        "Deployment": kube.list_deployments,
        "StatefulSet": kube.list_statefulsets,
        "DaemonSet": kube.list_daemonsets,
    }
    started = [
        (kind, ns, ctx.reads.start(f"{kind}s in {ns}", partial(lists[kind], namespace=ns)))
        for kind in sorted({kind for kind, _, _ in waiting})
        for ns in namespaces
        if any(k == kind and n == ns for k, n, _ in waiting)
    ]
    known: dict[tuple[str, str, str], Workload] = {}
    for kind, _, pending in started:
        for workload in ctx.reads.result(pending) or ():
            known[(kind, workload.namespace, workload.name)] = workload
    lines = []
    for key, count in sorted(waiting.items(), key=lambda item: (-item[1], item[0])):
        kind, namespace, name = key
        if key not in known:
            lines.append(f"{kind} {namespace}/{name}: {count} pod{'s' if count != 1 else ''} pending (the workload itself was not read)")
            continue
        workload = known[key]
        lines.append(
            f"{kind} {namespace}/{name}: {workload.desired} desired, {workload.ready} ready, {workload.available} available; "
            f"{count} pod{'s' if count != 1 else ''} pending"
        )
    if bare:
        lines.append(f"{bare} pending pod{'s have' if bare != 1 else ' has'} no controller")
    return lines


# -- NotReady nodes -------------------------------------------------------------------


def not_ready_nodes(ctx: Context) -> Found:
    names = [str(n) for n in ctx.facts.get("nodes") or []]  # type: ignore[attr-defined]
    shown = names[:MAX_NODES]
    kube = ctx.handle.kube
    found = Found(title=f"{len(names)} node{'s' if len(names) != 1 else ''} not Ready: conditions, kubelet and runtime errors, pods and their eviction")
    if len(names) > len(shown):
        found.notes.append(f"{len(names) - len(shown)} more nodes are not Ready; this shows the first {len(shown)}.")
    _no_logging(ctx, "kubelet and container-runtime errors")
    started = []
    for name in shown:
        node_read = ctx.reads.start(f"node {name}", partial(kube.get_node, name))
        pods_read = ctx.reads.start(f"pods on {name}", partial(kube.list_pods, field_selector=f"spec.nodeName={name}"))
        kubelet = _component_errors(ctx, name, "kubelet")
        runtime = _component_errors(ctx, name, "container-runtime")
        started.append((name, node_read, pods_read, kubelet, runtime))
    for name, node_read, pods_read, kubelet, runtime in started:
        node = ctx.reads.result(node_read)
        pods = ctx.reads.result(pods_read)
        facts = _condition_lines(node, ctx.now) if node is not None else []
        excerpts = [e for e in (_errors_excerpt(ctx, kubelet, "kubelet"), _errors_excerpt(ctx, runtime, "container-runtime")) if e]
        if node is not None and pods is not None:
            excerpts.append(Excerpt("pods on the node and when each is evicted", tuple(eviction_lines(node, pods, ctx.now)), empty="no pods", shown=10))
        where = f" ({node.zone or 'no zone'}, {node.pool or 'no pool'})" if node is not None else ""
        found.parts.append(Part(title=f"Node {name}{where}", facts=tuple(facts), excerpts=tuple(excerpts)))
    if ctx.handle.logs is not None and shown:
        query = LogQuery(target="node", nodes=tuple(shown), components=("kubelet", "container-runtime"), since=ctx.now - LOG_LOOKBACK)
        found.links.append(Link("Logs Explorer: kubelet and container runtime of these nodes", ctx.handle.logs.explorer_url(query)))
    return found


def _condition_lines(node: Node, now: datetime) -> list[str]:
    """Ready, and every condition that says something is wrong (True, or Unknown), each with its reason; the rest named."""
    lines = []
    fine = []
    for condition in sorted(node.conditions, key=lambda c: (c.type != "Ready", c.type)):
        if condition.type != "Ready" and condition.status == "False":
            fine.append(condition.type)
            continue
        why = ": ".join(part for part in (condition.reason, one_line(condition.message)) if part)
        since = f" for {human_duration(now - condition.last_transition)}" if condition.last_transition else ""
        lines.append(f"{condition.type}={condition.status}{since}" + (f" ({why})" if why else ""))
    if fine:
        lines.append(f"False, as they should be: {', '.join(fine)}")
    taints = [t for t in node.taints if t.effect == "NoExecute"]
    for taint in taints:
        lines.append(f"Taint {taint.key}:{taint.effect}" + (f" since {_when(taint.time_added)}" if taint.time_added else ""))
    if node.unschedulable:
        lines.append("Cordoned (unschedulable)")
    return lines


def _eviction_taint(node: Node) -> Taint:
    """The NoExecute taint the node controller put on the node, or the one it will put."""
    for key in (UNREACHABLE_TAINT, NOT_READY_TAINT):
        for taint in node.taints:
            if taint.key == key and taint.effect == "NoExecute":
                return taint
    return Taint(key=UNREACHABLE_TAINT if node.readiness == "Unknown" else NOT_READY_TAINT, effect="NoExecute")


def eviction_lines(node: Node, pods: Sequence[Pod], now: datetime, limit: int = MAX_NODE_PODS) -> list[str]:
    """Each pod on ``node`` and when the taint manager evicts it, the soonest first.

    A pod tolerates the not-ready or unreachable taint for its
    tolerationSeconds (300 s unless it says otherwise, which the API server's
    admission adds); a DaemonSet's pods, and pods that tolerate every
    NoExecute taint, stay.
    """
    taint = _eviction_taint(node)
    short = taint.key.rsplit("/", 1)[-1]
    rows: list[tuple[float, str]] = []
    for pod in pods:
        if pod.phase in ("Succeeded", "Failed"):
            continue
        matching = [t for t in pod.tolerations if t.tolerates(taint)]
        if not pod.tolerations and pod.owner_kind not in ("DaemonSet", "Node"):
            seconds: int | None = DEFAULT_TOLERATION_SECONDS  # as admission would have added
        elif not matching:
            seconds = 0
        elif any(t.seconds is None for t in matching):
            rows.append((float("inf"), f"{pod.key}: stays (tolerates {short} without a limit)"))
            continue
        else:
            seconds = min(t.seconds or 0 for t in matching)
        if taint.time_added is None:
            rows.append((float(seconds or 0) + 1e9, f"{pod.key}: evicted {seconds} s after the node is tainted {short}"))
            continue
        at = taint.time_added + timedelta(seconds=seconds or 0)
        if at <= now:
            text = f"{pod.key}: eviction due since {at:%H:%M:%S} UTC (tolerates {short} for {seconds} s)"
        else:
            text = f"{pod.key}: evicted at {at:%H:%M:%S} UTC, in {_seconds(at - now)} (tolerates {short} for {seconds} s)"
        rows.append((at.timestamp(), text))
    rows.sort(key=lambda row: (row[0], row[1]))
    lines = [text for _, text in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"… and {len(rows) - limit} more pods")
    return lines


def _seconds(span: timedelta) -> str:
    seconds = max(0, int(span.total_seconds()))
    return f"{seconds // 60}m {seconds % 60}s" if seconds >= 60 else f"{seconds}s"


# -- upgrades and the control plane -----------------------------------------------------


def upgrades(ctx: Context) -> Found:
    gke_reader = ctx.handle.gke
    operations_read = ctx.reads.start("GKE operations", gke_reader.list_operations) if gke_reader is not None else None
    gke = _gke(ctx)
    operations: list[Operation] = (ctx.reads.result(operations_read) or []) if operations_read is not None else []
    kind, scope = ctx.incident.kind, ctx.incident.scope
    if kind == MASTER_UPGRADE:
        chosen = [op for op in operations if op.name == scope]
        title = "The control-plane upgrade: operation, progress, maintenance policy"
    elif kind == NODE_POOL_UPGRADE:
        chosen = [op for op in operations if op.type == "UPGRADE_NODES" and op.node_pool == scope][:1]
        title = f"The upgrade of node pool {scope}: operation, progress, maintenance policy, what blocks the drain"
    else:
        chosen = [op for op in operations if op.running or (op.ended and ctx.now - op.ended <= timedelta(hours=1))][:3]
        title = "What GKE says about the control plane: its status, recent operations, maintenance policy"
    found = Found(title=title)
    if gke is not None and kind == CONTROL_PLANE_UNREACHABLE:
        found.parts.append(Part(title=f"Cluster {gke.name} ({gke.location_type}, {gke.location})", facts=(
            f"Status {gke.status or 'unknown'}" + (f": {one_line(gke.status_message)}" if gke.status_message else ""),
            f"Control plane {gke.master_version}, nodes {gke.node_version}",
        )))
    for op in chosen:
        found.parts.append(Part(title=f"Operation {op.name}", facts=tuple(_operation_facts(op, ctx.now))))
    if not chosen and operations_read is not None and kind != CONTROL_PLANE_UNREACHABLE:
        found.notes.append(f"GKE lists no operation for {scope or 'this incident'} any more.")
    if gke is not None:
        found.parts.append(Part(title="Maintenance policy and release channel", facts=tuple(_policy_facts(gke))))
    if kind == NODE_POOL_UPGRADE:
        blockers = _drain_blockers(ctx, scope)
        if blockers is not None:
            found.parts.append(Part(title="What keeps the cordoned nodes from draining", facts=tuple(blockers) or ("Nothing found: no budget allows 0 disruptions and no pod on a cordoned node is bare or slow to stop.",)))
    return found


def _operation_facts(op: Operation, now: datetime) -> list[str]:
    facts = [f"{op.type}: {state_of(op)}" + (f" to {target_version(op)}" if target_version(op) else "")]
    took = (op.ended or now) - op.started if op.started else None
    if op.started:
        facts.append(f"Started {_when(op.started)}, {'took' if op.ended else 'running for'} {duration(took or timedelta(0))}")
    percent = progress_percent(op)
    metrics = ", ".join(f"{name} {value}" for name, value in sorted(op.progress.items()))
    if percent is not None or metrics:
        facts.append("Progress: " + (f"{percent}%" if percent is not None else "") + (f" ({metrics})" if metrics else ""))
    facts += what_gke_said(op)
    if op.target:
        facts.append(f"Target: {op.target}")
    return facts


def _policy_facts(gke: GkeCluster) -> list[str]:
    facts = [
        f"Release channel: {gke.release_channel or 'none (static version)'}",
        f"Maintenance window: {gke.maintenance_window or 'none: GKE may upgrade at any time'}",
        "Maintenance exclusions: " + ("; ".join(gke.maintenance_exclusions) if gke.maintenance_exclusions else "none"),
        f"Control plane {gke.master_version}; "
        + ", ".join(f"pool {p.name} {p.version}" for p in gke.node_pools),
    ]
    return facts


def _drain_blockers(ctx: Context, pool: str) -> list[str] | None:
    kube = ctx.handle.kube
    budgets_read = ctx.reads.start("PodDisruptionBudgets", kube.list_disruption_budgets)
    nodes = ctx.reads.read("nodes", kube.list_nodes)
    budgets: list[DisruptionBudget] = ctx.reads.result(budgets_read) or []
    if nodes is None:
        return None
    cordoned = sorted((n for n in nodes if n.pool == pool and n.unschedulable), key=lambda n: n.name)
    pod_reads = [
        (node, ctx.reads.start(f"pods on {node.name}", partial(kube.list_pods, field_selector=f"spec.nodeName={node.name}")))
        for node in cordoned[:MAX_DRAINING]
    ]
    blocking = [b for b in budgets if b.disruptions_allowed == 0]
    lines = [
        f"PodDisruptionBudget {b.namespace}/{b.name} allows 0 disruptions ({b.current_healthy} healthy, {b.desired_healthy} required, {b.expected_pods} expected)"
        for b in blocking
    ]
    if not cordoned:
        lines.append(f"No node of pool {pool} is cordoned: GKE has not started draining one.")
    for node, pending in pod_reads:
        for pod in ctx.reads.result(pending) or ():
            if pod.phase in ("Succeeded", "Failed") or pod.owner_kind in ("DaemonSet", "Node"):
                continue
            held = [b for b in blocking if b.namespace == pod.namespace and b.match_labels and all(pod.labels.get(k) == v for k, v in b.match_labels.items())]
            if held:
                lines.append(f"Pod {pod.key} on {node.name}: its budget {held[0].name} allows no eviction")
            if not pod.owner_kind:
                lines.append(f"Pod {pod.key} on {node.name}: bare (no controller recreates it)")
            if pod.termination_grace_seconds > LONG_GRACE_SECONDS:
                lines.append(f"Pod {pod.key} on {node.name}: terminationGracePeriodSeconds {pod.termination_grace_seconds}")
    if len(cordoned) > MAX_DRAINING:
        lines.append(f"… {len(cordoned) - MAX_DRAINING} more cordoned nodes not read")
    return lines


GATHERERS: dict[str, Gatherer] = {
    UNREGISTERED_VMS: unregistered_vms,
    PENDING_PODS: pending_pods,
    AUTOSCALER_AT_MAX: pending_pods,
    NODES_NOT_READY: not_ready_nodes,
    ZONE_NOT_READY: not_ready_nodes,
    MASTER_UPGRADE: upgrades,
    NODE_POOL_UPGRADE: upgrades,
    CONTROL_PLANE_UNREACHABLE: upgrades,
}

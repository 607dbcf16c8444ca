"""`nodes` and `node NAME`: node health per zone and pool, the pool VMs that never became nodes, one node in detail.

Each answer is fetched, judged by ``bot.analysis``, gathered into a result
and drawn here, for Slack (Block Kit) and for the console (aligned text).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from bot.analysis.nodes import (
    NodeCounts,
    NodeProblem,
    VersionSkew,
    ZoneRegistration,
    count_nodes,
    is_problem_node,
    node_problems,
    registration_by_zone,
    total_counts,
    unregistered_vms,
    version_skew,
)
from bot.analysis.ssh import SshHint
from bot.blocks import (
    Button,
    MessageBuilder,
    Reply,
    Table,
    age,
    code,
    columns,
    cpu,
    escape,
    fallback_text,
    link,
    memory,
    on_cluster,
    percent,
    plural,
    table_attachment,
)
from bot.clusters import ClusterHandle
from bot.commands.registry import Arg, CommandContext, CommandSet, Flag, ParsedArgs
from bot.commands.validate import dns_label, resource_name
from bot.errors import ChatOpsError, NotFound
from bot.model.gke import GkeCluster, ManagedVm
from bot.model.kube import Event, Node, Pod, Resources
from handlers.common import (
    LogLink,
    find_pool_vm,
    gke_cluster_or_none,
    node_log_links,
    node_zone,
    pool_vms,
    ssh_for,
)

commands = CommandSet()


@dataclass(frozen=True)
class ZoneRow:
    """One pool in one zone: the Kubernetes view and, on GKE, the Compute view."""

    zone: str
    pool: str
    counts: NodeCounts | None
    registration: ZoneRegistration | None = None


@dataclass(frozen=True)
class NodesResult:
    cluster: str
    now: datetime
    rows: tuple[ZoneRow, ...]
    total: NodeCounts
    control_plane_version: str
    skew: tuple[VersionSkew, ...]
    problems: tuple[NodeProblem, ...]
    unregistered: tuple[ManagedVm, ...] = ()
    gke: bool = False
    problems_only: bool = False
    filters: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    vm_count: int | None = None  # node-pool VMs before --problems hides rows; None: count the rows


@dataclass(frozen=True)
class NodeDetail:
    cluster: str
    now: datetime
    node: Node
    pods: tuple[Pod, ...]
    requested: Resources
    events: tuple[Event, ...]
    log_links: tuple[LogLink, ...] = ()
    ssh: SshHint | None = None
    control_plane_version: str = ""


@dataclass(frozen=True)
class UnregisteredVmDetail:
    """`node NAME` for a pool VM that never became a node."""

    cluster: str
    now: datetime
    vm: ManagedVm
    log_links: tuple[LogLink, ...] = ()
    ssh: SshHint | None = None


MAX_AGED_VMS = 20  # unregistered VMs whose creation time is looked up, one request each


@commands.command(
    "nodes",
    "Nodes per zone and node pool: Ready / NotReady / cordoned, versions, VMs that never registered",
    flags=(
        Flag("--pool", metavar="POOL", help="Only this node pool", parse=lambda v: dns_label(v, "node pool name")),
        Flag("--zone", metavar="ZONE", help="Only this zone, e.g. us-west1-b", parse=lambda v: resource_name(v, "zone")),
        Flag("--problems", takes_value=False, help="Only zones and nodes with something wrong"),
    ),
    examples=("nodes", "nodes --zone us-west1-b", "nodes --pool default-pool --problems"),
)
def nodes(context: CommandContext, args: ParsedArgs) -> Reply:
    handle = context.handle
    pool, zone, problems_only = args.get("pool"), args.get("zone"), bool(args.get("problems"))
    notes: list[str] = []
    # GKE and Compute answer while the nodes are read and parsed: the slowest side sets the time, not the sum.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nodes-gke") as side:
        google = side.submit(_cluster_and_vms, handle, pool, zone)
        view = context.handle.watched()
        all_nodes = view.nodes if view is not None else handle.kube.list_nodes()
        listed = [n for n in all_nodes if (not pool or n.pool == pool) and (not zone or n.zone == zone)]
        gke, vms, vm_note = google.result()
    registrations = []
    if gke is not None:
        pools = [p for p in gke.node_pools if not pool or p.name == pool]
        if vm_note:
            notes.append(vm_note)
        else:
            pools_in_zone = [p for p in pools if not zone or zone in p.locations]
            registrations = [r for r in registration_by_zone(listed, vms, pools_in_zone) if not zone or r.zone == zone]
        control_plane = gke.master_version
    else:
        try:
            control_plane = handle.kube.server_version()
        except ChatOpsError:
            control_plane = ""
    unregistered = unregistered_vms(registrations)
    if unregistered and handle.compute is not None:
        try:  # how long they have run is the point; one request each, so only for the first few
            unregistered = handle.with_creation_times(unregistered, MAX_AGED_VMS)
        except ChatOpsError as exc:
            notes.append(f"When the VMs were created could not be read: {exc}")
    counts = count_nodes(listed)
    rows = _merge(counts, registrations)
    problems = node_problems(listed)
    vm_count = sum(r.registration.vms for r in rows if r.registration)
    if problems_only:
        troubled = {(n.zone, n.pool) for n in listed if is_problem_node(n)}
        rows = [r for r in rows if (r.zone, r.pool) in troubled or (r.registration is not None and r.registration.unregistered)]
    result = NodesResult(
        cluster=handle.name,
        now=context.clock.now(),
        rows=tuple(rows),
        total=total_counts(counts),
        control_plane_version=control_plane,
        skew=tuple(version_skew(listed, control_plane)),
        problems=tuple(problems),
        unregistered=tuple(unregistered),
        gke=gke is not None,
        problems_only=problems_only,
        filters={k: v for k, v in (("pool", pool), ("zone", zone)) if v},
        notes=tuple(notes),
        vm_count=vm_count,
    )
    return render_nodes(result)


def _cluster_and_vms(handle: ClusterHandle, pool: str | None, zone: str | None) -> tuple[GkeCluster | None, list[ManagedVm], str]:
    """GKE's view of the cluster and its pools' VMs; a Compute failure is a note, not the whole answer."""
    gke = gke_cluster_or_none(handle)
    if gke is None:
        return None, [], ""
    if handle.compute is None:
        return gke, [], "The Compute API is not configured, so VMs that never registered cannot be seen."
    pools = [p.name for p in gke.node_pools if not pool or p.name == pool]
    try:
        return gke, [vm for vm in pool_vms(handle, gke, pools) if not zone or vm.zone == zone], ""
    except ChatOpsError as exc:
        return gke, [], f"Node-pool VMs could not be read: {exc}"


def _merge(counts: list[NodeCounts], registrations: list[ZoneRegistration]) -> list[ZoneRow]:
    """One row per (zone, pool) seen by either API, so a zone with VMs and no nodes still shows."""
    by_key: dict[tuple[str, str], ZoneRow] = {(c.zone, c.pool): ZoneRow(c.zone, c.pool, c) for c in counts}
    for reg in registrations:
        existing = by_key.get((reg.zone, reg.pool))
        by_key[(reg.zone, reg.pool)] = ZoneRow(reg.zone, reg.pool, existing.counts if existing else None, reg)
    return [by_key[k] for k in sorted(by_key)]


@commands.command(
    "node",
    "One node: conditions, taints, requested vs allocatable, pods, events, log links, SSH hint",
    args=(Arg("NAME", help="Node name (or a pool VM that never registered)", parse=lambda v: resource_name(v, "node name")),),
    examples=("node gke-prod-default-pool-1a2b-x1",),
)
def node(context: CommandContext, args: ParsedArgs) -> Reply:
    handle = context.handle
    name = args.NAME
    now = context.clock.now()
    try:
        found = handle.kube.get_node(name)
    except NotFound:
        gke = gke_cluster_or_none(handle)
        vm = find_pool_vm(handle, gke, name) if gke is not None else None
        if vm is None:
            raise
        if handle.compute is not None:
            try:  # how long it has run without joining is the point of showing it
                vm = handle.compute.with_created([vm])[0]
            except ChatOpsError:
                pass  # the age shows as unknown; the rest of the answer still helps
        unregistered = UnregisteredVmDetail(
            cluster=handle.name,
            now=now,
            vm=vm,
            log_links=node_log_links(handle, vm.name, context),
            ssh=ssh_for(handle, vm.name, vm.zone, registered=False, gke=gke),
        )
        return render_unregistered_vm(unregistered)
    pods = handle.kube.list_pods(field_selector=f"spec.nodeName={name}")
    events = handle.kube.list_events(field_selector=f"involvedObject.kind=Node,involvedObject.name={name}")
    active = [p for p in pods if p.phase not in ("Succeeded", "Failed")]
    requested = Resources(
        cpu_m=sum(p.requests.cpu_m for p in active), memory=sum(p.requests.memory for p in active), pods=len(active)
    )
    ssh = None
    if handle.config.gke is not None and node_zone(found):
        ssh = ssh_for(handle, found.name, node_zone(found), registered=True)
    detail = NodeDetail(
        cluster=handle.name,
        now=now,
        node=found,
        pods=tuple(sorted(pods, key=lambda p: p.key)),
        requested=requested,
        events=tuple(sorted(events, key=lambda e: e.last_seen or now, reverse=True)),
        log_links=node_log_links(handle, found.name, context),
        ssh=ssh,
    )
    return render_node(detail)


MAX_VM_BUTTONS = 5
MAX_NODE_BUTTONS = 5
MAX_PROBLEM_LINES = 40
MAX_VM_LINES = 40


def render_nodes(result: NodesResult) -> Reply:
    cluster = result.cluster
    summary = _summary(result)
    out = MessageBuilder()
    out.header(f"Nodes in {result.cluster}" + "".join(f" · {k} {v}" for k, v in result.filters.items()))
    out.section(escape(summary))
    zones = _shortfall_zones(result.unregistered)
    if result.unregistered:
        out.section(
            f":warning: *{escape(_shortfall_sentence(result.unregistered))}* "
            "They run (and are billed) but no pod can use them; their kube-proxy and kubelet logs say why."
        )
    row_lines = [_row_mrkdwn(row) for row in result.rows]
    if len(row_lines) <= 10:
        out.fields(row_lines)
    else:
        out.lines([line.replace("\n", " · ") for line in row_lines], noun="zone rows", reserve=12, limit=30)
    if result.unregistered:
        out.divider()
        lines = [
            f"• {code(vm.name)} {escape(vm.zone)} · running for {age(vm.created, result.now)} · pool {escape(vm.pool or vm.instance_group)}"
            for vm in result.unregistered
        ]
        out.lines(lines, noun="unregistered VMs", reserve=8, limit=MAX_VM_LINES)
        buttons = []
        for vm in result.unregistered[:MAX_VM_BUTTONS]:
            buttons.append(Button(f"Logs kube-proxy {vm.name}", on_cluster(f"logs node {vm.name} --component kube-proxy", cluster)))
            buttons.append(Button(f"SSH hint {vm.name}", on_cluster(f"ssh {vm.name}", cluster)))
        out.buttons(buttons)
    if result.problems:
        out.divider()
        out.section(f"*{plural(len({p.node for p in result.problems}), 'node')} with problems*")
        out.lines([_problem_mrkdwn(p) for p in result.problems], noun="node problems", reserve=3, limit=MAX_PROBLEM_LINES)
        names = list(dict.fromkeys(p.node for p in result.problems))[:MAX_NODE_BUTTONS]
        out.buttons([Button(f"Details {name}", on_cluster(f"node {name}", cluster)) for name in names])
    if _nothing_wrong(result):
        out.context(f":white_check_mark: {_NO_PROBLEMS}")
    versions = _versions_mrkdwn(result)
    if versions:
        out.context(versions)
    for note in result.notes:
        out.context(escape(note))
    attachment = None
    if out.cut:
        attachment = table_attachment(f"nodes-{result.cluster}.tsv", f"Nodes in {result.cluster}", _tables(result))
    text = summary + (f" {_shortfall_sentence(result.unregistered)}" if zones else "")
    return Reply(text=fallback_text(escape(text)), blocks=out.build(), plain=_plain(result, summary), attachment=attachment)


_NO_PROBLEMS = "No node problems: every node is Ready and every node-pool VM registered."


def _nothing_wrong(result: NodesResult) -> bool:
    """`--problems` found nothing: say so, rather than leave an empty answer to interpret."""
    return result.problems_only and not result.rows and not result.problems and not result.unregistered


def _summary(result: NodesResult) -> str:
    t = result.total
    parts = [f"{plural(t.total, 'node')}: {t.ready} Ready, {t.not_ready} NotReady, {t.unknown} Unknown, {t.cordoned} cordoned"]
    if result.gke:
        vms = result.vm_count if result.vm_count is not None else sum(r.registration.vms for r in result.rows if r.registration)
        parts.append(f"{plural(vms, 'node-pool VM')}, {len(result.unregistered)} never registered")
    if result.control_plane_version:
        parts.append(f"control plane {result.control_plane_version}")
    return " · ".join(parts)


def _shortfall_zones(vms: tuple[ManagedVm, ...]) -> list[str]:
    return sorted({vm.zone for vm in vms})


def _shortfall_sentence(vms: tuple[ManagedVm, ...]) -> str:
    zones = _shortfall_zones(vms)
    return f"{plural(len(vms), 'VM')} in {', '.join(zones)} {'is' if len(vms) == 1 else 'are'} running but never registered as {'a node' if len(vms) == 1 else 'nodes'}."


def _row_mrkdwn(row: ZoneRow) -> str:
    c, reg = row.counts, row.registration
    head = f"*{escape(row.zone or 'no zone label')}* · {code(row.pool or 'no pool label')}"
    if c is None:
        state = "no nodes"
    else:
        state = f"Ready {c.ready} · NotReady {c.not_ready} · Unknown {c.unknown} · cordoned {c.cordoned}"
    if reg is not None:
        vms = f"{reg.registered} of {plural(reg.vms, 'VM')} registered"
        if reg.unregistered:
            vms = f":warning: {vms}"
        if reg.changing:
            vms += f" ({len(reg.changing)} being created or deleted)"
        return f"{head}\n{state}\n{vms}"
    return f"{head}\n{state}"


def _problem_mrkdwn(problem: NodeProblem) -> str:
    what = "NotReady" if problem.condition == "Ready" and problem.status == "NotReady" else (
        "Unknown (kubelet stopped reporting)" if problem.condition == "Ready" else problem.condition
    )
    reason = f" ({escape(problem.reason)})" if problem.reason else ""
    message = f": {escape(problem.message[:200])}" if problem.message else ""
    return f"• {code(problem.node)} {escape(problem.zone)} · {escape(what)}{reason}{message}"


def _versions_mrkdwn(result: NodesResult) -> str:
    parts = []
    for skew in result.skew:
        behind = ""
        if skew.minors_behind:
            behind = f" ({skew.minors_behind} minor{'s' if skew.minors_behind != 1 else ''} behind)"
        parts.append(f"{code(skew.version)} ×{skew.nodes}{behind}")
    return ("Kubelet versions: " + " · ".join(parts)) if parts else ""


def _row_cells(row: ZoneRow) -> tuple[str, ...]:
    c, reg = row.counts, row.registration
    return (
        row.zone or "-",
        row.pool or "-",
        str(c.total if c else 0),
        str(c.ready if c else 0),
        str(c.not_ready if c else 0),
        str(c.unknown if c else 0),
        str(c.cordoned if c else 0),
        str(reg.vms) if reg else "-",
        str(len(reg.unregistered)) if reg else "-",
    )


_ROW_HEADERS = ("ZONE", "POOL", "NODES", "READY", "NOTREADY", "UNKNOWN", "CORDONED", "VMS", "UNREGISTERED")
_VM_HEADERS = ("VM", "ZONE", "POOL", "STATUS", "RUNNING FOR")
_PROBLEM_HEADERS = ("NODE", "ZONE", "CONDITION", "STATUS", "REASON", "MESSAGE")


def _vm_cells(vm: ManagedVm, result: NodesResult) -> tuple[str, ...]:
    return (vm.name, vm.zone, vm.pool or vm.instance_group, vm.status, age(vm.created, result.now))


def _problem_cells(p: NodeProblem) -> tuple[str, ...]:
    return (p.node, p.zone, p.condition, p.status, p.reason, p.message)


def _tables(result: NodesResult) -> list[Table]:
    return [
        Table("Nodes per zone and pool", _ROW_HEADERS, tuple(_row_cells(r) for r in result.rows)),
        Table("VMs that never registered", _VM_HEADERS, tuple(_vm_cells(v, result) for v in result.unregistered)),
        Table("Node problems", _PROBLEM_HEADERS, tuple(_problem_cells(p) for p in result.problems)),
    ]


def _plain(result: NodesResult, summary: str) -> str:
    out = [f"Nodes in {result.cluster}", summary]
    if result.unregistered:
        out.append("WARNING: " + _shortfall_sentence(result.unregistered))
    if _nothing_wrong(result):
        out += ["", _NO_PROBLEMS]
    else:
        out += ["", columns(_ROW_HEADERS, [_row_cells(r) for r in result.rows]) or "  (no nodes)"]
    if result.unregistered:
        out += ["", "VMs that never registered:", columns(_VM_HEADERS, [_vm_cells(v, result) for v in result.unregistered])]
    if result.problems:
        out += ["", "Node problems:", columns(_PROBLEM_HEADERS[:5], [_problem_cells(p)[:5] for p in result.problems])]
    if result.skew:
        out += ["", "Kubelet versions: " + ", ".join(
            f"{s.version} x{s.nodes}" + (f" ({s.minors_behind} behind)" if s.minors_behind else "") for s in result.skew
        )]
    out += result.notes
    return "\n".join(out)


MAX_POD_LINES = 30
MAX_EVENT_LINES = 10


def _buttons(cluster: str, name: str, ssh: bool) -> list[Button]:
    buttons = [
        Button("Logs kube-proxy", on_cluster(f"logs node {name} --component kube-proxy", cluster)),
        Button("Logs kubelet", on_cluster(f"logs node {name} --component kubelet", cluster)),
    ]
    if ssh:
        buttons.append(Button("SSH hint", on_cluster(f"ssh {name}", cluster)))
    return buttons


def _event_line(event: Event, now: datetime) -> str:
    return f"• {age(event.last_seen or event.first_seen, now)} ago {escape(event.type)} {code(event.reason)}: {escape(event.message[:300])}"


def render_node(d: NodeDetail) -> Reply:
    n = d.node
    out = MessageBuilder()
    out.header(f"Node {n.name}")
    alloc = n.allocatable
    out.section(
        "",
        fields=[
            f"*State*\n{escape(n.readiness)}{' · cordoned' if n.unschedulable else ''}",
            f"*Zone / pool*\n{escape(n.zone or '?')} / {escape(n.pool or '?')}",
            f"*Kubelet*\n{code(n.kubelet_version)}",
            f"*Age*\n{age(n.created, d.now)}",
            f"*CPU requested*\n{cpu(d.requested.cpu_m)} of {cpu(alloc.cpu_m)} ({percent(d.requested.cpu_m, alloc.cpu_m)})",
            f"*Memory requested*\n{memory(d.requested.memory)} of {memory(alloc.memory)} ({percent(d.requested.memory, alloc.memory)})",
            f"*Pods*\n{d.requested.pods} of {alloc.pods}",
            f"*Machine*\n{escape(n.instance_type or '?')} {escape(n.internal_ip)}",
        ],
    )
    conditions = [
        f"{':x:' if (c.type == 'Ready') != (c.status == 'True') else ':white_check_mark:'} {code(c.type)} {escape(c.status)}"
        + (f" ({escape(c.reason)}): {escape(c.message[:200])}" if c.reason or c.message else "")
        for c in n.conditions
    ]
    out.section("*Conditions*\n" + "\n".join(conditions))
    if n.taints:
        out.context("Taints: " + ", ".join(code(f"{t.key}={t.value}:{t.effect}") for t in n.taints))
    pod_lines = [f"• {code(p.key)} {escape(p.phase)} · {cpu(p.requests.cpu_m)} CPU · {p.restarts} restarts" for p in d.pods]
    out.section(f"*Pods on the node* ({len(d.pods)})")
    out.lines(pod_lines or ["_none_"], noun="pods", reserve=5, limit=MAX_POD_LINES)
    if d.events:
        out.lines(["*Events*"] + [_event_line(e, d.now) for e in d.events], noun="events", reserve=4, limit=MAX_EVENT_LINES + 1)
    if d.log_links:
        out.section("Cloud Logging: " + " · ".join(link(log_link.url, log_link.label) for log_link in d.log_links))
    out.buttons(_buttons(d.cluster, n.name, d.ssh is not None))
    if d.ssh is not None:
        out.context("SSH: " + code(d.ssh.ssh_command))
    plain = [
        f"Node {n.name}: {n.readiness}{' (cordoned)' if n.unschedulable else ''}, zone {n.zone or '?'}, pool {n.pool or '?'}, kubelet {n.kubelet_version}",
        f"  CPU requested {cpu(d.requested.cpu_m)} of {cpu(alloc.cpu_m)}; memory {memory(d.requested.memory)} of {memory(alloc.memory)}; pods {d.requested.pods} of {alloc.pods}",
        "Conditions:",
        columns(("TYPE", "STATUS", "REASON", "MESSAGE"), [(c.type, c.status, c.reason, c.message) for c in n.conditions]),
    ]
    if n.taints:
        plain.append("Taints: " + ", ".join(f"{t.key}={t.value}:{t.effect}" for t in n.taints))
    plain += ["Pods:", columns(("POD", "PHASE", "RESTARTS"), [(p.key, p.phase, str(p.restarts)) for p in d.pods]) or "  (none)"]
    if d.events:
        plain += ["Events:", columns(("AGE", "TYPE", "REASON", "MESSAGE"), [(age(e.last_seen, d.now), e.type, e.reason, e.message) for e in d.events])]
    plain += [f"Logs ({log_link.label}): {log_link.url}" for log_link in d.log_links]
    if d.ssh is not None:
        plain.append(f"SSH: {d.ssh.ssh_command}")
    return Reply(text=fallback_text(escape(f"Node {n.name}: {n.readiness}")), blocks=out.build(), plain="\n".join(plain))


def render_unregistered_vm(d: UnregisteredVmDetail) -> Reply:
    vm = d.vm
    sentence = f"VM {vm.name} in {vm.zone} is running but never registered as a node"
    if vm.status != "RUNNING" or vm.current_action != "NONE":
        sentence = f"VM {vm.name} in {vm.zone} is a node-pool VM ({vm.status.lower()}, {vm.current_action.lower()}) but not a node"
    out = MessageBuilder()
    out.header(f"VM {vm.name}")
    out.section(
        f":warning: *{escape(sentence)}* (for {age(vm.created, d.now)}, pool {escape(vm.pool or vm.instance_group)}). "
        "Its kubelet and kube-proxy logs say why it did not join."
    )
    if d.log_links:
        out.section("Cloud Logging: " + " · ".join(link(log_link.url, log_link.label) for log_link in d.log_links))
    out.buttons(_buttons(d.cluster, vm.name, d.ssh is not None))
    if d.ssh is not None:
        out.context("SSH: " + code(d.ssh.ssh_command))
    plain = [sentence + f" (for {age(vm.created, d.now)}, pool {vm.pool or vm.instance_group})."]
    plain += [f"Logs ({log_link.label}): {log_link.url}" for log_link in d.log_links]
    if d.ssh is not None:
        plain.append(f"SSH: {d.ssh.ssh_command}")
    return Reply(text=fallback_text(escape(sentence)), blocks=out.build(), plain="\n".join(plain))

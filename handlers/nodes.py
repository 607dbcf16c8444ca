"""`nodes` and `node NAME`: node health per zone and pool, the pool VMs that never became nodes, one node in detail."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bot.analysis.nodes import count_nodes, is_problem_node, node_problems, total_counts, version_skew
from bot.analysis.registration import registration_by_zone, unregistered_vms
from bot.clusters import ClusterHandle
from bot.commands.context import CommandContext
from bot.commands.registry import Arg, Flag, ParsedArgs, command
from bot.commands.reply import Reply
from bot.commands.validate import dns_label, resource_name
from bot.errors import ChatOpsError, NotFound
from bot.model.gke import GkeCluster, ManagedVm
from bot.model.kube import Resources
from bot.render.node import render_node, render_unregistered_vm
from bot.render.nodes import render_nodes
from bot.results.nodes import NodeDetail, NodesResult, UnregisteredVmDetail, ZoneRow
from handlers.common import find_pool_vm, gke_cluster_or_none, node_log_links, node_zone, pool_vms, ssh_for, watched, with_creation_times

MAX_AGED_VMS = 20  # unregistered VMs whose creation time is looked up, one request each


@command(
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
        view = watched(context)
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
            unregistered = with_creation_times(context, unregistered, MAX_AGED_VMS)
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


def _merge(counts, registrations) -> list[ZoneRow]:
    """One row per (zone, pool) seen by either API, so a zone with VMs and no nodes still shows."""
    by_key: dict[tuple[str, str], ZoneRow] = {(c.zone, c.pool): ZoneRow(c.zone, c.pool, c) for c in counts}
    for reg in registrations:
        existing = by_key.get((reg.zone, reg.pool))
        by_key[(reg.zone, reg.pool)] = ZoneRow(reg.zone, reg.pool, existing.counts if existing else None, reg)
    return [by_key[k] for k in sorted(by_key)]


@command(
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
        detail = UnregisteredVmDetail(
            cluster=handle.name,
            now=now,
            vm=vm,
            log_links=node_log_links(handle, vm.name, context),
            ssh=ssh_for(handle, vm.name, vm.zone, registered=False, gke=gke),
        )
        return render_unregistered_vm(detail)
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

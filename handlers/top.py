"""`top nodes` and `top pods`: what is used (metrics.k8s.io) beside what is requested and what there is.

Usage alone misleads on Kubernetes: the scheduler places pods by their
requests, so a node at 20% CPU can still be full. Each row shows both, the
fullest first. Where the cluster serves no metrics API (metrics-server is
not installed, or not answering), the answer says so and ranks by requests.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from bot.blocks import (
    MessageBuilder,
    Reply,
    Table,
    code,
    cpu,
    escape,
    listing_reply,
    memory,
    percent,
    plural,
)
from bot.commands.registry import CommandContext, CommandSet, Flag, ParsedArgs
from bot.commands.validate import dns_label, resource_name
from bot.model.kube import Node, Pod, Resources, Usage
from handlers.common import ALL_NAMESPACES_FLAG, NAMESPACE_FLAG, chosen_namespace, require_namespace

commands = CommandSet()

ACTIVE_PODS = "status.phase!=Succeeded,status.phase!=Failed"  # what still holds its requests on a node
MAX_LINES = 30


def no_metrics_note(cluster: str) -> str:
    return (
        f"Cluster {cluster} does not serve the metrics API (metrics.k8s.io; is metrics-server installed and running?), "
        "so this shows requests against allocatable, not usage."
    )


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _share(part: Resources | Usage, whole: Resources) -> float:
    """The larger of the CPU and memory shares: whichever runs out first is what makes it full."""
    return max(_ratio(part.cpu_m, whole.cpu_m), _ratio(part.memory, whole.memory))


@dataclass(frozen=True)
class NodeTop:
    node: Node
    requested: Resources
    usage: Usage | None

    @property
    def fullness(self) -> float:
        """The larger share of CPU or memory: used when measured, else requested."""
        return _share(self.usage if self.usage is not None else self.requested, self.node.allocatable)


@dataclass(frozen=True)
class TopNodesResult:
    cluster: str
    now: datetime
    scope: str
    rows: tuple[NodeTop, ...]
    metrics: bool  # whether the cluster serves metrics.k8s.io


@dataclass(frozen=True)
class PodTop:
    key: str
    node: str
    requested: Resources
    usage: Usage | None
    allocatable: Resources | None = None  # its node's, to weigh requests by when there is no usage

    @property
    def fullness(self) -> float:
        """Usage against requests when measured (a pod past its requests is the one to look at), else the node share."""
        if self.usage is not None:
            return _share(self.usage, self.requested)
        return _share(self.requested, self.allocatable or Resources())


@dataclass(frozen=True)
class TopPodsResult:
    cluster: str
    now: datetime
    scope: str
    rows: tuple[PodTop, ...]
    metrics: bool


def requested_per_node(pods: list[Pod]) -> dict[str, Resources]:
    sums: dict[str, list[int]] = {}
    for pod in pods:
        if not pod.node_name or pod.phase in ("Succeeded", "Failed"):
            continue
        total = sums.setdefault(pod.node_name, [0, 0, 0])
        total[0] += pod.requests.cpu_m
        total[1] += pod.requests.memory
        total[2] += 1
    return {name: Resources(cpu_m=c, memory=m, pods=n) for name, (c, m, n) in sums.items()}


@commands.command(
    "top nodes",
    "Nodes by CPU and memory used (metrics.k8s.io) beside requested and allocatable, the fullest first",
    flags=(
        Flag("--pool", metavar="POOL", help="Only this node pool", parse=lambda v: dns_label(v, "node pool name")),
        Flag("--zone", metavar="ZONE", help="Only this zone, e.g. us-west1-b", parse=lambda v: resource_name(v, "zone")),
    ),
    examples=("top nodes", "top nodes --pool default-pool", "top nodes --zone us-west1-a"),
)
def top_nodes(context: CommandContext, args: ParsedArgs) -> Reply:
    handle = context.handle
    pool, zone = args.get("pool"), args.get("zone")
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="top-nodes") as side:
        measured = side.submit(handle.kube.node_metrics)
        pods = side.submit(handle.kube.list_pods, field_selector=ACTIVE_PODS)
        view = handle.watched()
        listed = view.nodes if view is not None else handle.kube.list_nodes()
        usage = measured.result()
        requested = requested_per_node(pods.result())
    by_name = {u.name: u for u in usage or ()}
    chosen = [n for n in listed if (not pool or n.pool == pool) and (not zone or n.zone == zone)]
    rows = [NodeTop(n, requested.get(n.name, Resources()), by_name.get(n.name)) for n in chosen]
    rows.sort(key=lambda r: (r.usage is None and usage is not None, -r.fullness, r.node.name))
    scope = ", ".join(f"{k} {v}" for k, v in (("pool", pool), ("zone", zone)) if v) or "all nodes"
    result = TopNodesResult(handle.name, context.clock.now(), scope, tuple(rows), usage is not None)
    return render_top_nodes(result)


@commands.command(
    "top pods",
    "Pods by CPU and memory used (metrics.k8s.io) against what they requested, the fullest first",
    flags=(NAMESPACE_FLAG, ALL_NAMESPACES_FLAG),
    examples=("top pods -n shop", "top pods -A"),
)
def top_pods(context: CommandContext, args: ParsedArgs) -> Reply:
    ns = chosen_namespace(args)
    handle = context.handle
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="top-pods") as side:
        measured = side.submit(handle.kube.pod_metrics, namespace=ns)
        pods = handle.kube.list_pods(namespace=ns, field_selector=ACTIVE_PODS)
        usage = measured.result()
    if not pods and not usage:
        require_namespace(handle, ns)
    by_key = {p.key: p for p in pods}
    rows: list[PodTop]
    if usage is not None:
        rows = []
        for u in usage:
            pod = by_key.get(u.key)
            rows.append(PodTop(u.key, pod.node_name if pod else "", pod.requests if pod else Resources(), u))
    else:
        view = handle.watched()
        nodes = {n.name: n.allocatable for n in (view.nodes if view is not None else handle.kube.list_nodes())}
        rows = [PodTop(p.key, p.node_name, p.requests, None, nodes.get(p.node_name)) for p in pods if p.node_name]
    rows.sort(key=lambda r: (-r.fullness, -(r.usage.cpu_m if r.usage else r.requested.cpu_m), r.key))
    result = TopPodsResult(handle.name, context.clock.now(), f"namespace {ns}" if ns else "all namespaces", tuple(rows), usage is not None)
    return render_top_pods(result)


# -- nodes ---------------------------------------------------------------------------------

NODE_HEADERS = ("NODE", "POOL", "ZONE", "CPU USED", "CPU%", "CPU REQUESTED", "REQ%", "CPU ALLOCATABLE",
                "MEMORY USED", "MEM%", "MEMORY REQUESTED", "REQ%", "MEMORY ALLOCATABLE", "PODS")


def _node_cells(r: NodeTop) -> tuple[str, ...]:
    a, q, u = r.node.allocatable, r.requested, r.usage
    return (
        r.node.name, r.node.pool or "-", r.node.zone or "-",
        cpu(u.cpu_m) if u else "-", percent(u.cpu_m, a.cpu_m) if u else "-",
        cpu(q.cpu_m), percent(q.cpu_m, a.cpu_m), cpu(a.cpu_m),
        memory(u.memory) if u else "-", percent(u.memory, a.memory) if u else "-",
        memory(q.memory), percent(q.memory, a.memory), memory(a.memory),
        f"{q.pods}/{a.pods}",
    )


def _node_line(r: NodeTop) -> str:
    a, q, u = r.node.allocatable, r.requested, r.usage
    cpu_text = f"CPU {cpu(q.cpu_m)} of {cpu(a.cpu_m)} requested ({percent(q.cpu_m, a.cpu_m)})"
    mem_text = f"memory {memory(q.memory)} of {memory(a.memory)} requested ({percent(q.memory, a.memory)})"
    if u is not None:
        cpu_text = f"CPU *{cpu(u.cpu_m)}* used ({percent(u.cpu_m, a.cpu_m)}), " + cpu_text.removeprefix("CPU ")
        mem_text = f"memory *{memory(u.memory)}* used ({percent(u.memory, a.memory)}), " + mem_text.removeprefix("memory ")
    where = " / ".join(x for x in (r.node.zone, r.node.pool) if x)
    return f"• {code(r.node.name)}{' ' + escape(where) if where else ''}\n   {cpu_text} · {mem_text} · {q.pods}/{a.pods} pods"


def _nodes_summary(r: TopNodesResult) -> str:
    if not r.rows:
        return f"No nodes in {r.scope}."
    alloc_cpu = sum(x.node.allocatable.cpu_m for x in r.rows)
    alloc_mem = sum(x.node.allocatable.memory for x in r.rows)
    req_cpu = sum(x.requested.cpu_m for x in r.rows)
    req_mem = sum(x.requested.memory for x in r.rows)
    text = f"{plural(len(r.rows), 'node')} ({r.scope}): CPU {cpu(req_cpu)} of {cpu(alloc_cpu)} cores requested ({percent(req_cpu, alloc_cpu)})"
    text += f", memory {memory(req_mem)} of {memory(alloc_mem)} ({percent(req_mem, alloc_mem)})"
    if r.metrics:
        measured = [x for x in r.rows if x.usage is not None]
        used_cpu = sum(x.usage.cpu_m for x in measured if x.usage)
        used_mem = sum(x.usage.memory for x in measured if x.usage)
        text += f"; used CPU {cpu(used_cpu)} ({percent(used_cpu, alloc_cpu)}), memory {memory(used_mem)} ({percent(used_mem, alloc_mem)})"
        if len(measured) < len(r.rows):
            text += f"; {len(r.rows) - len(measured)} without metrics"
    return text + "."


def render_top_nodes(r: TopNodesResult) -> Reply:
    lines = [_node_line(x) for x in r.rows]
    cells = [_node_cells(x) for x in r.rows]
    return _render_top("nodes", r.cluster, _nodes_summary(r), r.metrics, lines, NODE_HEADERS, cells)


# -- pods ----------------------------------------------------------------------------------

POD_HEADERS = ("POD", "NODE", "CPU USED", "CPU REQUESTED", "USED/REQ", "MEMORY USED", "MEMORY REQUESTED", "USED/REQ")
POD_HEADERS_NO_METRICS = ("POD", "NODE", "CPU REQUESTED", "OF NODE", "MEMORY REQUESTED", "OF NODE")


def _pod_cells(r: PodTop) -> tuple[str, ...]:
    q, u = r.requested, r.usage
    if u is None:
        a = r.allocatable or Resources()
        return (r.key, r.node or "-", cpu(q.cpu_m), percent(q.cpu_m, a.cpu_m), memory(q.memory), percent(q.memory, a.memory))
    return (
        r.key, r.node or "-", cpu(u.cpu_m), cpu(q.cpu_m) if q.cpu_m else "-", percent(u.cpu_m, q.cpu_m),
        memory(u.memory), memory(q.memory) if q.memory else "-", percent(u.memory, q.memory),
    )


def _pod_line(r: PodTop) -> str:
    q, u = r.requested, r.usage
    if u is None:
        a = r.allocatable or Resources()
        text = f"CPU {cpu(q.cpu_m)} requested ({percent(q.cpu_m, a.cpu_m)} of its node) · memory {memory(q.memory)} ({percent(q.memory, a.memory)})"
    else:
        cpu_req = f" of {cpu(q.cpu_m)} requested ({percent(u.cpu_m, q.cpu_m)})" if q.cpu_m else " (no request)"
        mem_req = f" of {memory(q.memory)} ({percent(u.memory, q.memory)})" if q.memory else " (no request)"
        text = f"CPU *{cpu(u.cpu_m)}*{cpu_req} · memory *{memory(u.memory)}*{mem_req}"
    return f"• {code(r.key)} {text}"


def render_top_pods(r: TopPodsResult) -> Reply:
    if r.rows:
        summary = f"{plural(len(r.rows), 'pod')} in {r.scope}, " + (
            "the most used against their requests first." if r.metrics else "the largest share of their node first."
        )
    else:
        summary = f"No running pods in {r.scope}."
    headers = POD_HEADERS if r.metrics else POD_HEADERS_NO_METRICS
    lines = [_pod_line(x) for x in r.rows]
    cells = [_pod_cells(x) for x in r.rows]
    return _render_top("pods", r.cluster, summary, r.metrics, lines, headers, cells)


# -- both ----------------------------------------------------------------------------------


def _render_top(
    noun: str,
    cluster: str,
    summary: str,
    metrics: bool,
    lines: list[str],
    headers: tuple[str, ...],
    cells: list[tuple[str, ...]],
) -> Reply:
    title = f"Top {noun} in {cluster}"
    out = MessageBuilder()
    out.header(title)
    out.section(escape(summary))
    if not metrics:
        out.context(":information_source: " + escape(no_metrics_note(cluster)))
    if lines:
        out.lines(lines, noun=noun, reserve=1, limit=MAX_LINES)
    notes = () if metrics else (no_metrics_note(cluster),)
    table = Table(noun.capitalize(), headers, tuple(cells))
    return listing_reply(out, title, summary, table, f"top-{noun}-{cluster}.tsv", notes)

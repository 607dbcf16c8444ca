"""`workloads`: Deployments, StatefulSets and DaemonSets, how many pods each has of what it wants, and why not."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from bot.analysis.workloads import SEVERITY, Rollout, pod_trouble, rollout
from bot.blocks import (
    Button,
    MessageBuilder,
    Reply,
    Table,
    code,
    escape,
    listing_reply,
    on_cluster,
    plural,
)
from bot.commands.registry import CommandContext, CommandSet, Flag, ParsedArgs
from bot.model.kube import Workload
from bot.sources.contracts import KubeReader
from handlers.common import ALL_NAMESPACES_FLAG, NAMESPACE_FLAG, chosen_namespace, require_namespace

commands = CommandSet()

MAX_EXPLAINED = 10  # unhealthy workloads whose pods are read to say why; one request each
MAX_LINES = 40
MAX_BUTTONS = 5
ICONS = {"stuck": ":red_circle:", "short": ":large_orange_circle:", "rolling out": ":arrows_counterclockwise:", "paused": ":double_vertical_bar:", "ok": ":white_check_mark:"}


@dataclass(frozen=True)
class WorkloadRow:
    workload: Workload
    rollout: Rollout
    pods: str = ""  # what its pods say, for an unhealthy one: "3 Pending: Insufficient cpu"

    @property
    def reason(self) -> str:
        return "; pods: ".join(part for part in (self.rollout.reason.rstrip("."), self.pods) if part)


@dataclass(frozen=True)
class WorkloadsResult:
    cluster: str
    now: datetime
    scope: str
    rows: tuple[WorkloadRow, ...]  # the unhealthy first
    total: int
    unhealthy: int
    unhealthy_only: bool


def list_workloads(kube: KubeReader, namespace: str | None) -> list[Workload]:
    """Deployments, StatefulSets and DaemonSets side by side: three requests, one wait."""
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="workloads") as side:
        futures = [
            side.submit(kube.list_deployments, namespace=namespace),
            side.submit(kube.list_statefulsets, namespace=namespace),
            side.submit(kube.list_daemonsets, namespace=namespace),
        ]
        return [w for future in futures for w in future.result()]


def explain(kube: KubeReader, rows: list[WorkloadRow]) -> list[WorkloadRow]:
    """The first few unhealthy workloads with what their pods say (each read by its own selector)."""
    chosen = [r for r in rows if not r.rollout.healthy and r.workload.selector][:MAX_EXPLAINED]
    if not chosen:
        return rows
    with ThreadPoolExecutor(max_workers=min(4, len(chosen)), thread_name_prefix="workload-pods") as side:
        futures = {
            r.workload.uid or r.workload.key: side.submit(
                kube.list_pods, namespace=r.workload.namespace, label_selector=r.workload.selector
            )
            for r in chosen
        }
        said = {key: pod_trouble(future.result()) for key, future in futures.items()}
    return [
        WorkloadRow(r.workload, r.rollout, said.get(r.workload.uid or r.workload.key, "")) for r in rows
    ]


@commands.command(
    "workloads",
    "Deployments, StatefulSets and DaemonSets: desired / ready / updated / available, rollouts in progress or stuck, and why",
    flags=(
        NAMESPACE_FLAG,
        ALL_NAMESPACES_FLAG,
        Flag("--unhealthy", takes_value=False, help="Only workloads short of what they want, rolling out or stuck"),
    ),
    examples=("workloads --unhealthy", "workloads -n shop"),
)
def workloads(context: CommandContext, args: ParsedArgs) -> Reply:
    ns = chosen_namespace(args)
    handle = context.handle
    found = list_workloads(handle.kube, ns)
    if not found:
        require_namespace(handle, ns)
    rows = [WorkloadRow(w, rollout(w)) for w in found]
    rows.sort(key=lambda r: (SEVERITY[r.rollout.state], r.workload.namespace, r.workload.name, r.workload.kind))
    rows = explain(handle.kube, rows)
    unhealthy = sum(1 for r in rows if not r.rollout.healthy)
    if args.get("unhealthy"):
        rows = [r for r in rows if not r.rollout.healthy]
    result = WorkloadsResult(
        cluster=handle.name,
        now=context.clock.now(),
        scope=f"namespace {ns}" if ns else "all namespaces",
        rows=tuple(rows),
        total=len(found),
        unhealthy=unhealthy,
        unhealthy_only=bool(args.get("unhealthy")),
    )
    return render_workloads(result)


def counts(w: Workload) -> str:
    return f"{w.ready}/{w.desired} ready · {w.updated} updated · {w.available} available"


def _line(r: WorkloadRow) -> str:
    w = r.workload
    text = f"• {ICONS.get(r.rollout.state, '')} {escape(w.kind)} {code(w.key)} {counts(w)}"
    if not r.rollout.healthy:
        text += f" · *{escape(r.rollout.state)}*: {escape(r.reason[:400])}"
    return text


HEADERS = ("KIND", "WORKLOAD", "DESIRED", "READY", "UPDATED", "AVAILABLE", "STATE", "REASON")


def _cells(r: WorkloadRow) -> tuple[str, ...]:
    w = r.workload
    return (w.kind, w.key, str(w.desired), str(w.ready), str(w.updated), str(w.available), r.rollout.state, r.reason or "-")


def describe_command(w: Workload) -> str:
    return f"describe {w.kind.lower()} {w.key}"


def render_workloads(r: WorkloadsResult) -> Reply:
    summary = f"{plural(r.total, 'workload')} in {r.scope}, {r.unhealthy} not where they want to be."
    if r.total == 0:
        summary = f"No Deployments, StatefulSets or DaemonSets in {r.scope}."
    out = MessageBuilder()
    out.header(f"Workloads in {r.cluster}" + (" · unhealthy" if r.unhealthy_only else ""))
    out.section(escape(summary))
    if r.rows:
        out.lines([_line(row) for row in r.rows], noun="workloads", reserve=2, limit=MAX_LINES)
    elif r.total:
        out.context(":white_check_mark: Every workload has what it wants.")
    troubled = [row for row in r.rows if not row.rollout.healthy][:MAX_BUTTONS]
    if troubled:
        out.buttons([Button(f"Describe {row.workload.name}", on_cluster(describe_command(row.workload), r.cluster)) for row in troubled])
    table = Table("Workloads", HEADERS, tuple(_cells(row) for row in r.rows))
    return listing_reply(out, f"Workloads in {r.cluster}", summary, table, f"workloads-{r.cluster}.tsv")

"""`pods` and `pod NS/NAME`: what is not running and why, with the scheduler's and autoscaler's words."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from bot.analysis.pending import (
    AUTOSCALER_EVENT_SELECTORS,
    PendingGroup,
    group_pending,
    pending_reason,
    pod_problem,
)
from bot.blocks import (
    Button,
    MessageBuilder,
    Reply,
    Table,
    age,
    code,
    columns,
    escape,
    fallback_text,
    link,
    on_cluster,
    plural,
    table_attachment,
)
from bot.commands.registry import Arg, CommandContext, CommandSet, Flag, ParsedArgs
from bot.commands.validate import (
    label_selector,
    namespace,
    namespaced_name,
    resource_name,
)
from bot.errors import BadInput
from bot.model.kube import Event, Pod
from bot.sources.contracts import KubeReader, LogQuery
from handlers.common import LINK_WINDOW, LogLink

commands = CommandSet()


@dataclass(frozen=True)
class ProblemPod:
    pod: Pod
    problem: str  # pod_problem()'s word
    detail: str  # plain text: the message or last termination that explains it


@dataclass(frozen=True)
class PodsResult:
    cluster: str
    now: datetime
    scope: str  # "all namespaces", "namespace shop", "node X", ...
    total: int
    phases: dict[str, int]
    pending: tuple[PendingGroup, ...]
    problems: tuple[ProblemPod, ...]
    filter_name: str = ""  # "pending", "failing", "node" or ""


@dataclass(frozen=True)
class PodDetail:
    cluster: str
    now: datetime
    pod: Pod
    problem: str | None
    events: tuple[Event, ...]
    log_link: LogLink | None = None


def _detail(pod: Pod, problem: str) -> str:
    if pod.phase == "Pending":
        return pending_reason(pod)[1]
    if pod.reason == "Evicted":
        return pod.message
    for c in pod.containers:
        if c.last_reason or c.reason:
            last = f"last {c.last_reason} (exit {c.last_exit_code})" if c.last_reason else ""
            now = c.reason if c.reason and c.reason != problem else ""
            return ", ".join(x for x in (f"{c.restart_count} restarts", now, last, c.message) if x)
    return f"{pod.restarts} restarts" if pod.restarts else pod.message


@commands.command(
    "pods",
    "Pods by phase and the ones in trouble: Pending with the scheduler's reason, CrashLoopBackOff, OOMKilled, ...",
    flags=(
        Flag("--namespace", "-n", metavar="NS", help="Only this namespace (default: all)", parse=namespace),
        Flag("--all-namespaces", "-A", takes_value=False, help="All namespaces (the default)"),
        Flag("--selector", "-l", metavar="SELECTOR", help="Label selector, e.g. app=web", parse=label_selector),
        Flag("--pending", takes_value=False, help="Only Pending pods, grouped by reason, with the autoscaler's view"),
        Flag("--failing", takes_value=False, help="Only pods in trouble"),
        Flag("--node", metavar="NODE", help="Only pods on this node", parse=lambda v: resource_name(v, "node name")),
    ),
    examples=("pods --pending", "pods -n shop --failing", "pods -l app=web", "pods --node gke-prod-default-pool-1a2b-x1"),
)
def pods(context: CommandContext, args: ParsedArgs) -> Reply:
    chosen = [name for name in ("pending", "failing", "node") if args.get(name)]
    if len(chosen) > 1:
        raise BadInput("Pick one of `--pending`, `--failing` and `--node`.")
    if args.get("namespace") and args.get("all_namespaces"):
        raise BadInput("Use either `-n NAMESPACE` or `-A`, not both.")
    ns = args.get("namespace")
    field_selector = None
    scope = f"namespace {ns}" if ns else "all namespaces"
    if args.get("pending"):
        field_selector = "status.phase=Pending"
    elif args.get("node"):
        field_selector = f"spec.nodeName={args.node}"
        scope += f", node {args.node}"
    if args.get("selector"):
        scope += f", {args.selector}"
    kube = context.handle.kube
    with ThreadPoolExecutor(max_workers=len(AUTOSCALER_EVENT_SELECTORS), thread_name_prefix="pods-events") as side:
        # With --pending the autoscaler's events are nearly always wanted: ask for them while the pods are read.
        early = _autoscaler_events(side, kube, ns) if args.get("pending") else None
        view = context.handle.watched() if args.get("pending") and not args.get("selector") else None
        if view is not None:  # the watch cache holds every pod that is not Running or Succeeded
            listed = [p for p in view.pods if p.phase == "Pending" and (not ns or p.namespace == ns)]
        else:
            listed = kube.list_pods(namespace=ns, label_selector=args.get("selector"), field_selector=field_selector)
        problems = [ProblemPod(p, word, _detail(p, word)) for p in listed if (word := pod_problem(p)) is not None]
        pending_pods = [p for p in listed if p.phase == "Pending"]
        events = []
        if pending_pods:
            events = [e for future in (early or _autoscaler_events(side, kube, ns)) for e in future.result()]
    result = PodsResult(
        cluster=context.handle.name,
        now=context.clock.now(),
        scope=scope,
        total=len(listed),
        phases=dict(Counter(p.phase for p in listed).most_common()),
        pending=tuple(group_pending(pending_pods, events)),
        problems=tuple(sorted((pp for pp in problems if pp.pod.phase != "Pending"), key=lambda pp: (pp.problem, pp.pod.key))),
        filter_name=chosen[0] if chosen else "",
    )
    return render_pods(result)


def _autoscaler_events(side: ThreadPoolExecutor, kube: KubeReader, namespace: str | None) -> list[Future[list[Event]]]:
    """The autoscaler's view of pending pods: only its events, one selective request per reason, side by side.

    Field selectors cannot say "reason in (...)", and listing every pod event
    instead costs megabytes on a big cluster for the few lines the answer shows.
    """
    return [
        side.submit(kube.list_events, namespace=namespace, field_selector=selector)
        for selector in AUTOSCALER_EVENT_SELECTORS
    ]


@commands.command(
    "pod",
    "One pod: containers, states, last termination, events, log link",
    args=(Arg("NS/NAME", help="namespace/pod (a bare name means namespace default)", parse=namespaced_name),),
    examples=("pod shop/web-0",),
)
def pod(context: CommandContext, args: ParsedArgs) -> Reply:
    ns, name = args.values["NS/NAME"]
    kube = context.handle.kube
    found = kube.get_pod(ns, name)
    events = kube.list_events(namespace=ns, field_selector=f"involvedObject.kind=Pod,involvedObject.name={name}")
    link = None
    if context.handle.logs is not None:
        query = LogQuery(target="pod", since=context.clock.now() - LINK_WINDOW, namespace=ns, pod=name)
        link = LogLink("pod logs", context.handle.logs.explorer_url(query))
    now = context.clock.now()
    detail = PodDetail(
        cluster=context.handle.name,
        now=now,
        pod=found,
        problem=pod_problem(found),
        events=tuple(sorted(events, key=lambda e: e.last_seen or now, reverse=True)),
        log_link=link,
    )
    return render_pod(detail)


MAX_GROUPS = 8
MAX_PROBLEM_LINES = 60
MAX_EVENT_LINES = 10


def render_pods(r: PodsResult) -> Reply:
    phases = ", ".join(f"{count} {phase}" for phase, count in r.phases.items()) or "none"
    summary = f"{plural(r.total, 'pod')} in {r.scope}: {phases}"
    out = MessageBuilder()
    out.header(f"Pods in {r.cluster}" + (f" · {r.filter_name}" if r.filter_name else ""))
    out.section(escape(summary))
    for group in r.pending[:MAX_GROUPS]:
        if out.room <= 6:
            out.cut = True
            break
        names = ", ".join(code(p.key) for p in group.pods[:5]) + (f" and {len(group.pods) - 5} more" if len(group.pods) > 5 else "")
        text = f":hourglass: *{plural(len(group.pods), 'pod')} Pending: {escape(group.reason)}*\n{names}\n> {escape(group.example_message[:500])}"
        text += f"\nAutoscaler: {escape(group.autoscaler[:500])}" if group.autoscaler else "\nAutoscaler: _no decision recorded for these pods_"
        out.section(text)
    if len(r.pending) > MAX_GROUPS:
        out.cut = True
        out.context(f"…and {len(r.pending) - MAX_GROUPS} more pending reasons (attached)")
    if r.pending:
        out.buttons([Button("Autoscaler logs", on_cluster("logs autoscaler", r.cluster)), Button("Nodes", on_cluster("nodes", r.cluster))])
    if r.problems:
        out.divider()
        lines = [f"• {code(pp.pod.key)} *{escape(pp.problem)}* · {escape(pp.detail[:300])}" for pp in r.problems]
        out.lines(lines, noun="problem pods", reserve=1, limit=MAX_PROBLEM_LINES)
    elif not r.pending:
        out.context(":white_check_mark: No pod in trouble.")
    attachment = None
    if out.cut:
        attachment = table_attachment(f"pods-{r.cluster}.tsv", f"Pods in {r.cluster}", _tables(r))
    return Reply(text=fallback_text(escape(summary)), blocks=out.build(), plain=_plain(r, summary), attachment=attachment)


def _tables(r: PodsResult) -> list[Table]:
    pending = tuple((p.key, g.reason, g.autoscaler) for g in r.pending for p in g.pods)
    problems = tuple((pp.pod.key, pp.problem, pp.pod.node_name, str(pp.pod.restarts), pp.detail) for pp in r.problems)
    return [
        Table("Pending pods", ("POD", "REASON", "AUTOSCALER"), pending),
        Table("Problem pods", ("POD", "PROBLEM", "NODE", "RESTARTS", "DETAIL"), problems),
    ]


def _plain(r: PodsResult, summary: str) -> str:
    lines = [f"Pods in {r.cluster}", summary]
    for g in r.pending:
        lines += ["", f"{plural(len(g.pods), 'pod')} Pending: {g.reason}", f"  {g.example_message}"]
        lines.append(f"  autoscaler: {g.autoscaler or '(no decision recorded)'}")
        lines += [f"    {p.key}" for p in g.pods]
    if r.problems:
        lines += ["", "Problem pods:"]
        lines.append(columns(("POD", "PROBLEM", "RESTARTS", "DETAIL"), [(pp.pod.key, pp.problem, str(pp.pod.restarts), pp.detail) for pp in r.problems]))
    return "\n".join(lines)


def render_pod(d: PodDetail) -> Reply:
    p = d.pod
    out = MessageBuilder()
    out.header(f"Pod {p.key}")
    out.section(
        "",
        fields=[
            f"*Phase*\n{escape(p.phase)}" + (f" · *{escape(d.problem)}*" if d.problem else ""),
            f"*Node*\n{code(p.node_name) if p.node_name else '_not scheduled_'}",
            f"*Owner*\n{escape(f'{p.owner_kind}/{p.owner_name}' if p.owner_kind else 'none')}",
            f"*Age*\n{age(p.created, d.now)}",
        ],
    )
    if p.unschedulable is not None:
        out.section(f"*Scheduler:* {escape(p.unschedulable.message[:1000])}")
    if p.reason or p.message:
        out.context(escape(f"{p.reason}: {p.message}"[:1000]))
    containers = []
    for c in p.containers:
        line = f"• {code(c.name)} {escape(c.state)}" + (f" ({escape(c.reason)})" if c.reason else "")
        line += f" · ready {'yes' if c.ready else 'no'} · {c.restart_count} restarts · {code(c.image)}"
        if c.last_reason:
            line += f"\n   last termination: {escape(c.last_reason)} (exit {c.last_exit_code}), {age(c.last_finished, d.now)} ago"
        containers.append(line)
    out.lines(["*Containers*"] + containers, noun="containers", reserve=4, limit=20)
    if d.events:
        lines = ["*Events*"] + [
            f"• {age(e.last_seen or e.first_seen, d.now)} ago {escape(e.type)} {code(e.reason)}: {escape(e.message[:300])}" for e in d.events
        ]
        out.lines(lines, noun="events", reserve=2, limit=MAX_EVENT_LINES + 1)
    if d.log_link is not None:
        out.section(link(d.log_link.url, "Pod logs in Logs Explorer"))
    out.buttons([Button("Logs", on_cluster(f"logs pod {p.key}", d.cluster))] + (
        [Button("Node", on_cluster(f"node {p.node_name}", d.cluster))] if p.node_name else []
    ))
    plain = [f"Pod {p.key}: {p.phase}{' (' + d.problem + ')' if d.problem else ''}, node {p.node_name or '-'}"]
    if p.unschedulable is not None:
        plain.append(f"  scheduler: {p.unschedulable.message}")
    plain.append(columns(
        ("CONTAINER", "STATE", "REASON", "RESTARTS", "LAST TERMINATION"),
        [(c.name, c.state, c.reason or "-", str(c.restart_count), f"{c.last_reason} (exit {c.last_exit_code})" if c.last_reason else "-") for c in p.containers],
    ))
    if d.events:
        plain += ["Events:", columns(("AGE", "TYPE", "REASON", "MESSAGE"), [(age(e.last_seen, d.now), e.type, e.reason, e.message) for e in d.events])]
    if d.log_link is not None:
        plain.append(f"Logs: {d.log_link.url}")
    return Reply(text=fallback_text(escape(f"Pod {p.key}: {p.phase}")), blocks=out.build(), plain="\n".join(plain))

"""`pods` and `pod NS/NAME`: what is not running and why, with the scheduler's and autoscaler's words."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor

from bot.analysis.pending import AUTOSCALER_EVENT_SELECTORS, group_pending, pending_reason, pod_problem
from bot.commands.context import CommandContext
from bot.commands.registry import Arg, Flag, ParsedArgs, command
from bot.commands.reply import Reply
from bot.commands.validate import label_selector, namespace, namespaced_name, resource_name
from bot.errors import BadInput
from bot.model.kube import Event, Pod
from bot.render.pods import render_pod, render_pods
from bot.results.links import LogLink
from bot.results.pods import PodDetail, PodsResult, ProblemPod
from bot.sources.contracts import KubeReader, LogQuery
from handlers.common import LINK_WINDOW, watched


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


@command(
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
        view = watched(context) if args.get("pending") and not args.get("selector") else None
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


@command(
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

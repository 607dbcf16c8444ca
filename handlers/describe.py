"""`describe KIND NAME`: one object in a few lines: its state, the conditions that matter, its owner, its warnings.

Not kubectl's wall of text: a node, pod or workload is summarized by what
someone asking "what is wrong" reads first, with a button to the longer
answer where the bot has one (`node`, `pod`, `events --for`).
"""

from __future__ import annotations

import shlex
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from bot.analysis.events import EventGroup, group_events
from bot.analysis.pending import pending_reason, pod_problem
from bot.analysis.workloads import owner_workload, pod_trouble, rollout
from bot.blocks import (
    Button,
    MessageBuilder,
    Reply,
    age,
    columns,
    cpu,
    escape,
    fallback_text,
    memory,
    on_cluster,
)
from bot.commands.registry import Arg, CommandContext, CommandSet, ParsedArgs
from bot.commands.validate import kind_name, namespace, resource_name, shown
from bot.errors import BadInput
from bot.model.kube import Condition, Event, Node, Pod, Workload
from bot.sources.contracts import KubeReader
from handlers.events import event_line, event_selector

commands = CommandSet()

DESCRIBE_KINDS = ("Node", "Pod", "Deployment", "StatefulSet", "DaemonSet")
MAX_EVENTS = 5
MAX_CONDITIONS = 8


@dataclass(frozen=True)
class Description:
    """What the answer says about one object, whatever its kind."""

    cluster: str
    now: datetime
    kind: str
    key: str  # name, or namespace/name
    status: str  # one line: "Running", "Ready, cordoned", "stuck: ..."
    healthy: bool
    facts: tuple[tuple[str, str], ...]  # (label, value), shown as fields
    conditions: tuple[Condition, ...]  # the ones worth reading: all that say something is wrong, and Ready
    owner: str
    details: tuple[str, ...] = ()  # a few more lines: containers, pods
    warnings: tuple[EventGroup, ...] = ()
    more: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (button label, command)


def parse_target(kind: str, raw: str) -> tuple[str, str]:
    """(namespace, name) for ``raw``: a node's bare name, or NS/NAME (a bare name means default) for the rest."""
    what = f"{kind.lower()} name"
    if kind == "Node":
        if "/" in raw:
            raise BadInput(f"Nodes are not in a namespace: give the node's name alone, not `{shown(raw)}`.")
        return "", resource_name(raw, what)
    ns, slash, name = raw.partition("/")
    if not slash:
        return "default", resource_name(raw, what)
    return namespace(ns), resource_name(name, what)


@commands.command(
    "describe",
    "A short summary of one object: status, key conditions, owner, recent warning events",
    args=(
        Arg("KIND", help="node, pod, deployment, statefulset or daemonset", parse=lambda v: kind_name(v, allowed=DESCRIBE_KINDS)),
        Arg("NAME", help="the node's name, or NS/NAME for the others (a bare name means namespace default)"),
    ),
    examples=("describe deployment shop/web", "describe pod shop/web-7d4b9c6f5-x2x9k", "describe node gke-prod-default-pool-1a2b-x1"),
)
def describe(context: CommandContext, args: ParsedArgs) -> Reply:
    kind: str = args.KIND
    ns, name = parse_target(kind, args.NAME)
    handle = context.handle
    now = context.clock.now()
    kube = handle.kube
    if kind == "Node":
        return render_description(_node(kube, handle.name, now, name))
    if kind == "Pod":
        return render_description(_pod(kube, handle.name, now, ns, name))
    return render_description(_workload(kube, handle.name, now, kind, ns, name))


def _warnings(events: list[Event]) -> tuple[EventGroup, ...]:
    return tuple(g for g in group_events(events) if g.warning)[:MAX_EVENTS]


def _shown_conditions(conditions: tuple[Condition, ...], good: dict[str, str]) -> tuple[Condition, ...]:
    """Conditions not in their good state (``good`` maps a type to its good status; others are good when False)."""
    return tuple(c for c in conditions if c.status != good.get(c.type, "False"))[:MAX_CONDITIONS]


# -- nodes ---------------------------------------------------------------------------------


def _node(kube: KubeReader, cluster: str, now: datetime, name: str) -> Description:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="describe") as side:
        events = side.submit(kube.list_events, field_selector=event_selector("Node", name, warnings=True))
        node: Node = kube.get_node(name)
        warnings = _warnings(events.result())
    words = [node.readiness]
    if node.unschedulable:
        words.append("cordoned")
    if node.deleting:
        words.append("being deleted")
    words += [c.type for c in node.problem_conditions]
    instance = node.gce_instance
    owner = f"GCE VM {instance[2]} in {instance[1]} (project {instance[0]})" if instance else (node.provider_id or "none")
    taints = ", ".join(f"{t.key}{'=' + t.value if t.value else ''}:{t.effect}" for t in node.taints) or "none"
    a = node.allocatable
    facts = (
        ("Zone / pool", " / ".join(x for x in (node.zone, node.pool) if x) or "-"),
        ("Kubelet", node.kubelet_version or "-"),
        ("Allocatable", f"{cpu(a.cpu_m)} CPU, {memory(a.memory)}, {a.pods} pods"),
        ("Age", age(node.created, now)),
        ("Taints", taints),
    )
    return Description(
        cluster=cluster, now=now, kind="Node", key=name,
        status=", ".join(words),
        healthy=node.readiness == "Ready" and not node.problem_conditions and not node.unschedulable,
        facts=facts,
        conditions=_shown_conditions(node.conditions, {"Ready": "True"}),
        owner=owner,
        warnings=warnings,
        more=(("Node details", f"node {name}"), ("Events", f"events --for node/{name}")),
    )


# -- pods ----------------------------------------------------------------------------------


def _pod(kube: KubeReader, cluster: str, now: datetime, ns: str, name: str) -> Description:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="describe") as side:
        events = side.submit(kube.list_events, namespace=ns, field_selector=event_selector("Pod", name, warnings=True))
        pod: Pod = kube.get_pod(ns, name)
        warnings = _warnings(events.result())
    problem = pod_problem(pod)
    status = pod.phase + (f" · {problem}" if problem and problem != pod.phase else "")
    if pod.phase == "Pending":
        status += f": {pending_reason(pod)[0]}"
    owner = "none (a bare pod: nothing recreates it)"
    workload = owner_workload(pod)
    if workload is not None:
        owner = f"{pod.owner_kind} {pod.owner_name}"
        if workload[0] != pod.owner_kind:
            owner += f", of {workload[0]} {workload[1]}"
    containers = tuple(
        f"{'init ' if c.init else ''}{c.name}: {c.state}{' (' + c.reason + ')' if c.reason else ''}, "
        f"{'ready' if c.ready else 'not ready'}, {c.restart_count} restarts"
        + (f", last {c.last_reason} (exit {c.last_exit_code})" if c.last_reason else "")
        for c in pod.containers
    )
    facts = (
        ("Node", pod.node_name or "not scheduled"),
        ("Requests", f"{cpu(pod.requests.cpu_m)} CPU, {memory(pod.requests.memory)}"),
        ("Restarts", str(pod.restarts)),
        ("Age", age(pod.created, now)),
    )
    more = [("Pod details", f"pod {pod.key}"), ("Logs", f"logs pod {pod.key}")]
    if workload is not None and workload[0] in ("Deployment", "StatefulSet", "DaemonSet"):
        more.append((f"Describe {workload[1]}", f"describe {workload[0].lower()} {ns}/{workload[1]}"))
    return Description(
        cluster=cluster, now=now, kind="Pod", key=pod.key,
        status=status,
        healthy=problem is None and pod.phase in ("Running", "Succeeded"),
        facts=facts,
        conditions=_shown_conditions(pod.conditions, {c: "True" for c in ("PodScheduled", "Initialized", "ContainersReady", "Ready", "PodReadyToStartContainers")}),
        owner=owner,
        details=containers,
        warnings=warnings,
        more=tuple(more),
    )


# -- workloads -----------------------------------------------------------------------------


def _get_workload(kube: KubeReader, kind: str, ns: str, name: str) -> Workload:
    if kind == "Deployment":
        return kube.get_deployment(ns, name)
    if kind == "StatefulSet":
        return kube.get_statefulset(ns, name)
    return kube.get_daemonset(ns, name)


def _theirs(event: Event, kind: str, name: str, pods: set[str]) -> bool:
    """Whether an event is about the workload, one of its ReplicaSets or one of its pods."""
    if event.kind == kind and event.object_name == name:
        return True
    if event.kind == "ReplicaSet" and kind == "Deployment" and event.object_name.startswith(name + "-"):
        return True
    return event.kind == "Pod" and event.object_name in pods


def _workload(kube: KubeReader, cluster: str, now: datetime, kind: str, ns: str, name: str) -> Description:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="describe") as side:
        # The namespace's warnings are one request; the workload's, its ReplicaSets' and its pods' are picked out below.
        events = side.submit(kube.list_events, namespace=ns, field_selector=event_selector(warnings=True))
        w = _get_workload(kube, kind, ns, name)
        pods = kube.list_pods(namespace=ns, label_selector=w.selector) if w.selector else []
        names = {p.name for p in pods}
        warnings = _warnings([e for e in events.result() if _theirs(e, kind, name, names)])
    state = rollout(w)
    status = f"{w.ready}/{w.desired} ready, {w.updated} updated, {w.available} available"
    status += f" · {state.state}" + (f": {state.reason}" if state.reason else "")
    phases = Counter(p.phase for p in pods)
    details = []
    if pods:
        details.append("Pods: " + ", ".join(f"{count} {phase}" for phase, count in phases.most_common()))
        trouble = pod_trouble(pods)
        if trouble:
            details.append(f"Why not ready: {trouble}")
        troubled = sorted((p for p in pods if pod_problem(p) is not None), key=lambda p: p.name)[:3]
        for p in troubled:
            details.append(f"  {p.name}: {pod_problem(p)}" + (f", {pending_reason(p)[1][:200]}" if p.phase == "Pending" else ""))
    elif w.selector:
        details.append("No pods match its selector.")
    facts = (
        ("Strategy", w.strategy or "-"),
        ("Selector", w.selector or "-"),
        ("Images", ", ".join(dict.fromkeys(w.images)) or "-"),
        ("Age", age(w.created, now)),
    )
    good = {"Available": "True", "Progressing": "True"}
    more = [("Events", f"events -n {ns} --for {kind.lower()}/{name}"), ("Pods", f"pods -n {ns} -l {shlex.quote(w.selector)}" if w.selector else f"pods -n {ns}")]
    return Description(
        cluster=cluster, now=now, kind=kind, key=w.key,
        status=status,
        healthy=state.healthy,
        facts=facts,
        conditions=_shown_conditions(w.conditions, good),
        owner="none (top-level)",
        details=tuple(details),
        warnings=warnings,
        more=tuple(more),
    )


# -- rendering -----------------------------------------------------------------------------


def _condition_text(c: Condition, now: datetime) -> str:
    since = f" for {age(c.last_transition, now)}" if c.last_transition else ""
    text = f"{c.type}={c.status}{since}"
    if c.reason:
        text += f" ({c.reason})"
    if c.message:
        text += f": {c.message[:300]}"
    return text


def render_description(d: Description) -> Reply:
    icon = ":white_check_mark:" if d.healthy else ":warning:"
    headline = f"{d.kind} {d.key}: {d.status}"
    out = MessageBuilder()
    out.header(f"{d.kind} {d.key}")
    out.section(f"{icon} *{escape(d.status[:1500])}*")
    out.section("", fields=[f"*{escape(label)}*\n{escape(value[:500])}" for label, value in d.facts] + [f"*Owner*\n{escape(d.owner)}"])
    if d.conditions:
        out.lines(["*Conditions*"] + [f"• {escape(_condition_text(c, d.now))}" for c in d.conditions], noun="conditions", reserve=4)
    if d.details:
        out.lines([escape(line) for line in d.details], noun="lines", reserve=3, limit=12)
    if d.warnings:
        out.lines(["*Recent warnings*"] + [event_line(g, d.now) for g in d.warnings], noun="warnings", reserve=2)
    else:
        out.context("No warning events recorded for it (events are kept for about an hour).")
    out.buttons([Button(label, on_cluster(command, d.cluster)) for label, command in d.more])
    plain = [headline]
    plain += [f"  {label}: {value}" for label, value in d.facts]
    plain.append(f"  Owner: {d.owner}")
    if d.conditions:
        plain.append("Conditions:")
        plain += [f"  {_condition_text(c, d.now)}" for c in d.conditions]
    plain += list(d.details)
    if d.warnings:
        plain.append("Recent warnings:")
        plain.append(columns(("LAST SEEN", "REASON", "OBJECT", "COUNT", "MESSAGE"), [
            (age(g.last_seen, d.now), g.reason, g.object, str(g.count), g.message) for g in d.warnings
        ]))
    else:
        plain.append("No warning events recorded for it.")
    return Reply(text=fallback_text(escape(headline)), blocks=out.build(), plain="\n".join(plain))

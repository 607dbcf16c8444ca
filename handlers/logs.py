"""`logs node|pod|autoscaler`: Cloud Logging queries built from validated flags, with a Logs Explorer link.

The filter text is always derived from a ``LogQuery`` by the source, never
typed by the user; ``--grep`` text travels as a value for the source to quote.
"""

from __future__ import annotations

from bot.commands.context import CommandContext
from bot.commands.registry import Arg, Flag, ParsedArgs, command
from bot.commands.reply import Reply
from bot.commands.validate import dns_label, namespaced_name, resource_name
from bot.errors import NotConfigured
from bot.render.logs import render_logs
from bot.results.logs import LogsResult
from bot.sources.contracts import LogQuery
from handlers.common import GREP_FLAG, LIMIT_FLAG, NODE_COMPONENTS, SEVERITY_FLAG, SINCE_FLAG

_WINDOW_FLAGS = (SINCE_FLAG, SEVERITY_FLAG, GREP_FLAG, LIMIT_FLAG)


def _window(args: ParsedArgs) -> str:
    seconds = int(args.since.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"last {seconds // size}{unit}"
    return f"last {seconds}s"


def _require_logging(context: CommandContext, what: str) -> None:
    if context.handle.logs is None:
        raise NotConfigured(
            f"Cloud Logging is not configured for `{context.handle.name}`, so {what} cannot be read; "
            "it needs a GKE cluster with `cloud_logging: true`."
        )


def _query(context: CommandContext, args: ParsedArgs, **target: str) -> LogQuery:
    return LogQuery(
        since=context.clock.now() - args.since,
        min_severity=args.get("severity", ""),
        grep=args.get("grep", ""),
        limit=args.limit,
        **target,  # type: ignore[arg-type]
    )


def _from_cloud_logging(context: CommandContext, query: LogQuery, title: str, args: ParsedArgs) -> Reply:
    reader = context.handle.logs
    assert reader is not None
    result = LogsResult(
        cluster=context.handle.name,
        title=title,
        window=_window(args),
        lines=tuple(reader.query(query)),
        source="Cloud Logging",
        filter=reader.filter_for(query),
        explorer_url=reader.explorer_url(query),
    )
    return render_logs(result)


@command(
    "logs node",
    "A node's (or pool VM's) component logs from Cloud Logging: kube-proxy, kubelet, container runtime",
    args=(Arg("NAME", help="Node or VM name", parse=lambda v: resource_name(v, "node or VM name")),),
    flags=(
        Flag("--component", metavar="COMPONENT", help="One component (default: all of them)", choices=NODE_COMPONENTS),
        *_WINDOW_FLAGS,
    ),
    sensitive=True,
    examples=("logs node gke-prod-default-pool-3c4d-y1 --component kube-proxy --since 2h", "logs node NODE --grep 'failed to'"),
)
def logs_node(context: CommandContext, args: ParsedArgs) -> Reply:
    _require_logging(context, "node logs")
    component = args.get("component", "")
    query = _query(context, args, target="node", node=args.NAME, component=component)
    return _from_cloud_logging(context, query, f"{component or 'node components'} on {args.NAME}", args)


@command(
    "logs pod",
    "A pod's logs (Cloud Logging, or the Kubernetes API where it is not configured)",
    args=(Arg("NS/NAME", help="namespace/pod", parse=namespaced_name),),
    flags=(Flag("--container", "-c", metavar="CONTAINER", help="One container", parse=lambda v: dns_label(v, "container name")), *_WINDOW_FLAGS),
    sensitive=True,
    examples=("logs pod shop/web-0 -c app --since 15m", "logs pod shop/web-0 --severity error"),
)
def logs_pod(context: CommandContext, args: ParsedArgs) -> Reply:
    namespace, name = args.values["NS/NAME"]
    container = args.get("container", "")
    title = f"{namespace}/{name}" + (f" [{container}]" if container else "")
    if context.handle.logs is not None:
        query = _query(context, args, target="pod", namespace=namespace, pod=name, container=container)
        return _from_cloud_logging(context, query, title, args)
    lines = context.handle.kube.pod_log(
        namespace, name, container=container or None, tail_lines=args.limit, since_seconds=int(args.since.total_seconds())
    )
    notes = []
    grep = args.get("grep", "")
    if grep:
        lines = [line for line in lines if grep.lower() in line.text.lower()]
    if args.get("severity"):
        notes.append("--severity is ignored: the Kubernetes API's pod logs carry no severity.")
    result = LogsResult(
        cluster=context.handle.name,
        title=title,
        window=_window(args),
        lines=tuple(reversed(lines)),
        source="Kubernetes API",
        notes=tuple(notes),
    )
    return render_logs(result)


@command(
    "logs autoscaler",
    "The cluster autoscaler's decisions (scale up, no scale up and why) from Cloud Logging",
    flags=_WINDOW_FLAGS,
    sensitive=True,
    examples=("logs autoscaler --since 30m", "logs autoscaler --grep noScaleUp"),
)
def logs_autoscaler(context: CommandContext, args: ParsedArgs) -> Reply:
    _require_logging(context, "the autoscaler's decisions")
    return _from_cloud_logging(context, _query(context, args, target="autoscaler"), "cluster autoscaler", args)

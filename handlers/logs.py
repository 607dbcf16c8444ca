"""`logs node|pod|autoscaler`: Cloud Logging queries built from validated flags, with a Logs Explorer link.

The filter text is always derived from a ``LogQuery`` by the source, never
typed by the user; ``--grep`` text travels as a value for the source to quote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Required, TypedDict, Unpack

from bot.blocks import (
    MAX_SECTION_TEXT,
    MessageBuilder,
    Reply,
    Table,
    code,
    code_block,
    escape,
    fallback_text,
    link,
    table_attachment,
)
from bot.commands.registry import Arg, CommandContext, CommandSet, Flag, ParsedArgs
from bot.commands.validate import dns_label, namespaced_name, resource_name
from bot.errors import NotConfigured
from bot.model.logs import LogLine
from bot.sources.contracts import LogQuery, LogTarget
from handlers.common import (
    GREP_FLAG,
    LIMIT_FLAG,
    NODE_COMPONENTS,
    SEVERITY_FLAG,
    SINCE_FLAG,
)

commands = CommandSet()


@dataclass(frozen=True)
class LogsResult:
    cluster: str
    title: str  # "kube-proxy on gke-...-y1", "shop/web-0", "cluster autoscaler"
    window: str  # "last 1h"
    lines: tuple[LogLine, ...]  # newest first
    source: str  # "Cloud Logging" | "Kubernetes API"
    filter: str = ""  # the Cloud Logging filter, when from Cloud Logging
    explorer_url: str = ""
    notes: tuple[str, ...] = ()


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


class _Target(TypedDict, total=False):
    """Which logs a query is about: the target fields of ``LogQuery``."""

    target: Required[LogTarget]
    node: str
    component: str
    namespace: str
    pod: str
    container: str


def _query(context: CommandContext, args: ParsedArgs, **target: Unpack[_Target]) -> LogQuery:
    return LogQuery(
        since=context.clock.now() - args.since,
        min_severity=args.get("severity", ""),
        grep=args.get("grep", ""),
        limit=args.limit,
        **target,
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


@commands.command(
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


@commands.command(
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


@commands.command(
    "logs autoscaler",
    "The cluster autoscaler's decisions (scale up, no scale up and why) from Cloud Logging",
    flags=_WINDOW_FLAGS,
    sensitive=True,
    examples=("logs autoscaler --since 30m", "logs autoscaler --grep noScaleUp"),
)
def logs_autoscaler(context: CommandContext, args: ParsedArgs) -> Reply:
    _require_logging(context, "the autoscaler's decisions")
    return _from_cloud_logging(context, _query(context, args, target="autoscaler"), "cluster autoscaler", args)


_LINE_LIMIT = 400  # characters of one log line shown in Slack; the file has all of it


def _line_text(line: LogLine) -> str:
    when = line.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ") if line.timestamp else "-"
    parts = [when, line.severity or "-"]
    if line.origin:
        parts.append(line.origin)
    return " ".join(parts) + " " + line.text.replace("\n", " ")


def render_logs(result: LogsResult) -> Reply:
    title = f"Logs: {result.title} ({result.window}, {result.source})"
    out = MessageBuilder()
    out.header(title)
    if result.explorer_url:
        out.section(f"{link(result.explorer_url, 'Open in Logs Explorer')} (same query, same window)")
    if result.filter:
        out.context("Filter: " + code(result.filter))
    texts = [_line_text(line) for line in result.lines]
    if not texts:
        out.section("_No log lines in this window._")
    shown = 0
    chunk: list[str] = []
    budget = MAX_SECTION_TEXT - 10
    for text in texts:
        text = text if len(text) <= _LINE_LIMIT else text[: _LINE_LIMIT - 1] + "…"
        if chunk and len(code_block("\n".join(chunk + [text]))) > budget:
            if out.room <= 3:
                break
            out.section(code_block("\n".join(chunk)))
            shown += len(chunk)
            chunk = []
        chunk.append(text)
    if chunk and out.room > 2:
        out.section(code_block("\n".join(chunk)))
        shown += len(chunk)
    long_lines = any(len(t) > _LINE_LIMIT for t in texts)
    if shown < len(texts) or long_lines:
        out.cut = True
        if shown < len(texts):
            out.context(f"…and {len(texts) - shown:,} more lines (all of them are attached)")
    for note in result.notes:
        out.context(escape(note))
    attachment = None
    if out.cut:
        table = Table(title, ("TIME", "SEVERITY", "ORIGIN", "TEXT"), tuple(
            (line.timestamp.isoformat() if line.timestamp else "", line.severity, line.origin, line.text)
            for line in result.lines
        ))
        attachment = table_attachment(f"logs-{result.cluster}.tsv", title, [table])
    plain = [title]
    if result.filter:
        plain.append(f"Filter: {result.filter}")
    if result.explorer_url:
        plain.append(f"Logs Explorer: {result.explorer_url}")
    plain += [f"  {t}" for t in texts] or ["  (no log lines in this window)"]
    plain += list(result.notes)
    return Reply(text=fallback_text(escape(f"{len(texts)} log lines: {result.title}")), blocks=out.build(), plain="\n".join(plain), attachment=attachment)

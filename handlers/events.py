"""`events`: what the cluster said lately, one line per story, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.analysis.events import EventGroup, group_events
from bot.blocks import (
    MessageBuilder,
    Reply,
    Table,
    age,
    code,
    escape,
    listing_reply,
    plural,
)
from bot.commands.registry import CommandContext, CommandSet, Flag, ParsedArgs
from bot.commands.validate import object_ref
from handlers.common import (
    ALL_NAMESPACES_FLAG,
    NAMESPACE_FLAG,
    SINCE_FLAG,
    chosen_namespace,
    require_namespace,
    span,
)

commands = CommandSet()

CLUSTER_SCOPED = ("Node", "Namespace", "PersistentVolume")
MAX_LINES = 40


@dataclass(frozen=True)
class EventsResult:
    cluster: str
    now: datetime
    scope: str  # "all namespaces", "namespace shop"
    window: timedelta
    warnings_only: bool
    groups: tuple[EventGroup, ...]
    subject: str = ""  # "deployment web" with --for

    @property
    def where(self) -> str:
        return f"about {self.subject} in {self.scope}" if self.subject else f"in {self.scope}"

    @property
    def total(self) -> int:
        return sum(g.count for g in self.groups)

    @property
    def warnings(self) -> int:
        return sum(1 for g in self.groups if g.warning)


def event_selector(kind: str | None = None, name: str | None = None, *, warnings: bool = False) -> str | None:
    """The field selector for events about one object and/or of type Warning; built from validated parts only."""
    terms = []
    if kind and name:
        terms += [f"involvedObject.kind={kind}", f"involvedObject.name={name}"]
    if warnings:
        terms.append("type=Warning")
    return ",".join(terms) or None


@commands.command(
    "events",
    "Recent events, grouped (same reason, object and message counted together), newest first",
    flags=(
        NAMESPACE_FLAG,
        ALL_NAMESPACES_FLAG,
        Flag("--for", metavar="KIND/NAME", help="Only events about this object, e.g. pod/web-0, deployment/web, node/NAME", parse=object_ref),
        Flag("--warnings", takes_value=False, help="Only warnings"),
        SINCE_FLAG,
    ),
    examples=("events --warnings", "events -n shop --for deployment/web", "events --for node/gke-prod-default-pool-1a2b-x1 --since 6h"),
)
def events(context: CommandContext, args: ParsedArgs) -> Reply:
    ns = chosen_namespace(args)
    kind, name = args.get("for") or (None, None)
    if kind in CLUSTER_SCOPED:
        ns = None  # their events are recorded in the default namespace, whatever -n says
    handle = context.handle
    window: timedelta = args.since
    now = context.clock.now()
    selector = event_selector(kind, name, warnings=bool(args.get("warnings")))
    listed = handle.kube.list_events(namespace=ns, field_selector=selector)
    groups = group_events(listed, since=now - window)
    if not listed:
        require_namespace(handle, ns)
    scope = f"namespace {ns}" if ns else "all namespaces"
    result = EventsResult(
        cluster=handle.name,
        now=now,
        scope=scope,
        window=window,
        warnings_only=bool(args.get("warnings")),
        groups=tuple(groups),
        subject=f"{kind.lower()} {name}" if kind else "",
    )
    return render_events(result)


def _summary(r: EventsResult) -> str:
    what = "warning events" if r.warnings_only else "events"
    if not r.groups:
        return f"No {what} {r.where} in the last {span(r.window)}."
    text = f"{plural(r.total, 'event')} in {plural(len(r.groups), 'group')} {r.where} in the last {span(r.window)}"
    if not r.warnings_only:
        text += f", {plural(r.warnings, 'warning')}"
    return text + "."


def event_line(g: EventGroup, now: datetime) -> str:
    """One group as a mrkdwn bullet: when, what, about which object, how often."""
    icon = ":warning: " if g.warning else ""
    times = f" ×{g.count}" if g.count > 1 else ""
    return f"• {age(g.last_seen, now)} ago {icon}*{escape(g.reason)}* {code(g.object)}{times}: {escape(g.message[:300])}"


def event_rows(groups: tuple[EventGroup, ...] | list[EventGroup], now: datetime) -> list[tuple[str, ...]]:
    return [
        (age(g.last_seen, now), g.type, g.reason, g.object, str(g.count), age(g.first_seen, now), g.message)
        for g in groups
    ]


EVENT_HEADERS = ("LAST SEEN", "TYPE", "REASON", "OBJECT", "COUNT", "FIRST SEEN", "MESSAGE")


def render_events(r: EventsResult) -> Reply:
    summary = _summary(r)
    out = MessageBuilder()
    out.header(f"Events in {r.cluster}" + (" · warnings" if r.warnings_only else ""))
    out.section(escape(summary))
    if r.groups:
        out.lines([event_line(g, r.now) for g in r.groups], noun="event groups", reserve=1, limit=MAX_LINES)
    table = Table("Events", EVENT_HEADERS, tuple(event_rows(r.groups, r.now)))
    return listing_reply(out, f"Events in {r.cluster}", summary, table, f"events-{r.cluster}.tsv")

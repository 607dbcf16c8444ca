"""`pods` and `pod NS/NAME` as Block Kit and text."""

from __future__ import annotations

from bot.commands.reply import Reply
from bot.render.limits import Button, MessageBuilder, Table, fallback_text, table_attachment
from bot.render.mrkdwn import code, escape, link
from bot.render.text import age, columns, plural
from bot.results.pods import PodDetail, PodsResult

MAX_GROUPS = 8
MAX_PROBLEM_LINES = 60
MAX_EVENT_LINES = 10


def render_pods(r: PodsResult) -> Reply:
    flag = f"--cluster {r.cluster}"
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
        out.buttons([Button("Autoscaler logs", f"logs autoscaler {flag}"), Button("Nodes", f"nodes {flag}")])
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
    out.buttons([Button("Logs", f"logs pod {p.key} --cluster {d.cluster}")] + (
        [Button("Node", f"node {p.node_name} --cluster {d.cluster}")] if p.node_name else []
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

"""`nodes` as Block Kit and aligned text."""

from __future__ import annotations

from bot.analysis.nodes import NodeProblem
from bot.commands.reply import Reply
from bot.model.gke import ManagedVm
from bot.render.limits import Button, MessageBuilder, Table, fallback_text, table_attachment
from bot.render.mrkdwn import code, escape
from bot.render.text import age, columns, plural
from bot.results.nodes import NodesResult, ZoneRow

MAX_VM_BUTTONS = 5
MAX_NODE_BUTTONS = 5
MAX_PROBLEM_LINES = 40
MAX_VM_LINES = 40


def render_nodes(result: NodesResult) -> Reply:
    flag = f"--cluster {result.cluster}"
    summary = _summary(result)
    out = MessageBuilder()
    out.header(f"Nodes in {result.cluster}" + "".join(f" · {k} {v}" for k, v in result.filters.items()))
    out.section(escape(summary))
    zones = _shortfall_zones(result.unregistered)
    if result.unregistered:
        out.section(
            f":warning: *{escape(_shortfall_sentence(result.unregistered))}* "
            "They run (and are billed) but no pod can use them; their kube-proxy and kubelet logs say why."
        )
    row_lines = [_row_mrkdwn(row) for row in result.rows]
    if len(row_lines) <= 10:
        out.fields(row_lines)
    else:
        out.lines([line.replace("\n", " · ") for line in row_lines], noun="zone rows", reserve=12, limit=30)
    if result.unregistered:
        out.divider()
        lines = [
            f"• {code(vm.name)} {escape(vm.zone)} · running for {age(vm.created, result.now)} · pool {escape(vm.pool or vm.instance_group)}"
            for vm in result.unregistered
        ]
        out.lines(lines, noun="unregistered VMs", reserve=8, limit=MAX_VM_LINES)
        buttons = []
        for vm in result.unregistered[:MAX_VM_BUTTONS]:
            buttons.append(Button(f"Logs kube-proxy {vm.name}", f"logs node {vm.name} --component kube-proxy {flag}"))
            buttons.append(Button(f"SSH hint {vm.name}", f"ssh {vm.name} {flag}"))
        out.buttons(buttons)
    if result.problems:
        out.divider()
        out.section(f"*{plural(len({p.node for p in result.problems}), 'node')} with problems*")
        out.lines([_problem_mrkdwn(p) for p in result.problems], noun="node problems", reserve=3, limit=MAX_PROBLEM_LINES)
        names = list(dict.fromkeys(p.node for p in result.problems))[:MAX_NODE_BUTTONS]
        out.buttons([Button(f"Details {name}", f"node {name} {flag}") for name in names])
    if _nothing_wrong(result):
        out.context(f":white_check_mark: {_NO_PROBLEMS}")
    versions = _versions_mrkdwn(result)
    if versions:
        out.context(versions)
    for note in result.notes:
        out.context(escape(note))
    attachment = None
    if out.cut:
        attachment = table_attachment(f"nodes-{result.cluster}.tsv", f"Nodes in {result.cluster}", _tables(result))
    text = summary + (f" {_shortfall_sentence(result.unregistered)}" if zones else "")
    return Reply(text=fallback_text(escape(text)), blocks=out.build(), plain=_plain(result, summary), attachment=attachment)


_NO_PROBLEMS = "No node problems: every node is Ready and every node-pool VM registered."


def _nothing_wrong(result: NodesResult) -> bool:
    """`--problems` found nothing: say so, rather than leave an empty answer to interpret."""
    return result.problems_only and not result.rows and not result.problems and not result.unregistered


def _summary(result: NodesResult) -> str:
    t = result.total
    parts = [f"{plural(t.total, 'node')}: {t.ready} Ready, {t.not_ready} NotReady, {t.unknown} Unknown, {t.cordoned} cordoned"]
    if result.gke:
        vms = result.vm_count if result.vm_count is not None else sum(r.registration.vms for r in result.rows if r.registration)
        parts.append(f"{plural(vms, 'node-pool VM')}, {len(result.unregistered)} never registered")
    if result.control_plane_version:
        parts.append(f"control plane {result.control_plane_version}")
    return " · ".join(parts)


def _shortfall_zones(vms: tuple[ManagedVm, ...]) -> list[str]:
    return sorted({vm.zone for vm in vms})


def _shortfall_sentence(vms: tuple[ManagedVm, ...]) -> str:
    zones = _shortfall_zones(vms)
    return f"{plural(len(vms), 'VM')} in {', '.join(zones)} {'is' if len(vms) == 1 else 'are'} running but never registered as {'a node' if len(vms) == 1 else 'nodes'}."


def _row_mrkdwn(row: ZoneRow) -> str:
    c, reg = row.counts, row.registration
    head = f"*{escape(row.zone or 'no zone label')}* · {code(row.pool or 'no pool label')}"
    if c is None:
        state = "no nodes"
    else:
        state = f"Ready {c.ready} · NotReady {c.not_ready} · Unknown {c.unknown} · cordoned {c.cordoned}"
    if reg is not None:
        vms = f"{reg.registered} of {plural(reg.vms, 'VM')} registered"
        if reg.unregistered:
            vms = f":warning: {vms}"
        if reg.changing:
            vms += f" ({len(reg.changing)} being created or deleted)"
        return f"{head}\n{state}\n{vms}"
    return f"{head}\n{state}"


def _problem_mrkdwn(problem: NodeProblem) -> str:
    what = "NotReady" if problem.condition == "Ready" and problem.status == "NotReady" else (
        "Unknown (kubelet stopped reporting)" if problem.condition == "Ready" else problem.condition
    )
    reason = f" ({escape(problem.reason)})" if problem.reason else ""
    message = f": {escape(problem.message[:200])}" if problem.message else ""
    return f"• {code(problem.node)} {escape(problem.zone)} · {escape(what)}{reason}{message}"


def _versions_mrkdwn(result: NodesResult) -> str:
    parts = []
    for skew in result.skew:
        behind = ""
        if skew.minors_behind:
            behind = f" ({skew.minors_behind} minor{'s' if skew.minors_behind != 1 else ''} behind)"
        parts.append(f"{code(skew.version)} ×{skew.nodes}{behind}")
    return ("Kubelet versions: " + " · ".join(parts)) if parts else ""


def _row_cells(row: ZoneRow) -> tuple[str, ...]:
    c, reg = row.counts, row.registration
    return (
        row.zone or "-",
        row.pool or "-",
        str(c.total if c else 0),
        str(c.ready if c else 0),
        str(c.not_ready if c else 0),
        str(c.unknown if c else 0),
        str(c.cordoned if c else 0),
        str(reg.vms) if reg else "-",
        str(len(reg.unregistered)) if reg else "-",
    )


_ROW_HEADERS = ("ZONE", "POOL", "NODES", "READY", "NOTREADY", "UNKNOWN", "CORDONED", "VMS", "UNREGISTERED")
_VM_HEADERS = ("VM", "ZONE", "POOL", "STATUS", "RUNNING FOR")
_PROBLEM_HEADERS = ("NODE", "ZONE", "CONDITION", "STATUS", "REASON", "MESSAGE")


def _vm_cells(vm: ManagedVm, result: NodesResult) -> tuple[str, ...]:
    return (vm.name, vm.zone, vm.pool or vm.instance_group, vm.status, age(vm.created, result.now))


def _problem_cells(p: NodeProblem) -> tuple[str, ...]:
    return (p.node, p.zone, p.condition, p.status, p.reason, p.message)


def _tables(result: NodesResult) -> list[Table]:
    return [
        Table("Nodes per zone and pool", _ROW_HEADERS, tuple(_row_cells(r) for r in result.rows)),
        Table("VMs that never registered", _VM_HEADERS, tuple(_vm_cells(v, result) for v in result.unregistered)),
        Table("Node problems", _PROBLEM_HEADERS, tuple(_problem_cells(p) for p in result.problems)),
    ]


def _plain(result: NodesResult, summary: str) -> str:
    out = [f"Nodes in {result.cluster}", summary]
    if result.unregistered:
        out.append("WARNING: " + _shortfall_sentence(result.unregistered))
    if _nothing_wrong(result):
        out += ["", _NO_PROBLEMS]
    else:
        out += ["", columns(_ROW_HEADERS, [_row_cells(r) for r in result.rows]) or "  (no nodes)"]
    if result.unregistered:
        out += ["", "VMs that never registered:", columns(_VM_HEADERS, [_vm_cells(v, result) for v in result.unregistered])]
    if result.problems:
        out += ["", "Node problems:", columns(_PROBLEM_HEADERS[:5], [_problem_cells(p)[:5] for p in result.problems])]
    if result.skew:
        out += ["", "Kubelet versions: " + ", ".join(
            f"{s.version} x{s.nodes}" + (f" ({s.minors_behind} behind)" if s.minors_behind else "") for s in result.skew
        )]
    out += result.notes
    return "\n".join(out)

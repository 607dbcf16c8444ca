"""`node NAME` (and a pool VM that never registered) as Block Kit and text."""

from __future__ import annotations

from bot.commands.reply import Reply
from bot.model.kube import Event
from bot.render.limits import Button, MessageBuilder, fallback_text
from bot.render.mrkdwn import code, escape, link
from bot.render.text import age, columns, cpu, memory, percent
from bot.results.nodes import NodeDetail, UnregisteredVmDetail

MAX_POD_LINES = 30
MAX_EVENT_LINES = 10


def _buttons(cluster: str, name: str, ssh: bool) -> list[Button]:
    flag = f"--cluster {cluster}"
    buttons = [
        Button("Logs kube-proxy", f"logs node {name} --component kube-proxy {flag}"),
        Button("Logs kubelet", f"logs node {name} --component kubelet {flag}"),
    ]
    if ssh:
        buttons.append(Button("SSH hint", f"ssh {name} {flag}"))
    return buttons


def _event_line(event: Event, now) -> str:
    return f"• {age(event.last_seen or event.first_seen, now)} ago {escape(event.type)} {code(event.reason)}: {escape(event.message[:300])}"


def render_node(d: NodeDetail) -> Reply:
    n = d.node
    out = MessageBuilder()
    out.header(f"Node {n.name}")
    alloc = n.allocatable
    out.section(
        "",
        fields=[
            f"*State*\n{escape(n.readiness)}{' · cordoned' if n.unschedulable else ''}",
            f"*Zone / pool*\n{escape(n.zone or '?')} / {escape(n.pool or '?')}",
            f"*Kubelet*\n{code(n.kubelet_version)}",
            f"*Age*\n{age(n.created, d.now)}",
            f"*CPU requested*\n{cpu(d.requested.cpu_m)} of {cpu(alloc.cpu_m)} ({percent(d.requested.cpu_m, alloc.cpu_m)})",
            f"*Memory requested*\n{memory(d.requested.memory)} of {memory(alloc.memory)} ({percent(d.requested.memory, alloc.memory)})",
            f"*Pods*\n{d.requested.pods} of {alloc.pods}",
            f"*Machine*\n{escape(n.instance_type or '?')} {escape(n.internal_ip)}",
        ],
    )
    conditions = [
        f"{':x:' if (c.type == 'Ready') != (c.status == 'True') else ':white_check_mark:'} {code(c.type)} {escape(c.status)}"
        + (f" ({escape(c.reason)}): {escape(c.message[:200])}" if c.reason or c.message else "")
        for c in n.conditions
    ]
    out.section("*Conditions*\n" + "\n".join(conditions))
    if n.taints:
        out.context("Taints: " + ", ".join(code(f"{t.key}={t.value}:{t.effect}") for t in n.taints))
    pod_lines = [f"• {code(p.key)} {escape(p.phase)} · {cpu(p.requests.cpu_m)} CPU · {p.restarts} restarts" for p in d.pods]
    out.section(f"*Pods on the node* ({len(d.pods)})")
    out.lines(pod_lines or ["_none_"], noun="pods", reserve=5, limit=MAX_POD_LINES)
    if d.events:
        out.lines(["*Events*"] + [_event_line(e, d.now) for e in d.events], noun="events", reserve=4, limit=MAX_EVENT_LINES + 1)
    if d.log_links:
        out.section("Cloud Logging: " + " · ".join(link(l.url, l.label) for l in d.log_links))
    out.buttons(_buttons(d.cluster, n.name, d.ssh is not None))
    if d.ssh is not None:
        out.context("SSH: " + code(d.ssh.ssh_command))
    plain = [
        f"Node {n.name}: {n.readiness}{' (cordoned)' if n.unschedulable else ''}, zone {n.zone or '?'}, pool {n.pool or '?'}, kubelet {n.kubelet_version}",
        f"  CPU requested {cpu(d.requested.cpu_m)} of {cpu(alloc.cpu_m)}; memory {memory(d.requested.memory)} of {memory(alloc.memory)}; pods {d.requested.pods} of {alloc.pods}",
        "Conditions:",
        columns(("TYPE", "STATUS", "REASON", "MESSAGE"), [(c.type, c.status, c.reason, c.message) for c in n.conditions]),
    ]
    if n.taints:
        plain.append("Taints: " + ", ".join(f"{t.key}={t.value}:{t.effect}" for t in n.taints))
    plain += ["Pods:", columns(("POD", "PHASE", "RESTARTS"), [(p.key, p.phase, str(p.restarts)) for p in d.pods]) or "  (none)"]
    if d.events:
        plain += ["Events:", columns(("AGE", "TYPE", "REASON", "MESSAGE"), [(age(e.last_seen, d.now), e.type, e.reason, e.message) for e in d.events])]
    plain += [f"Logs ({l.label}): {l.url}" for l in d.log_links]
    if d.ssh is not None:
        plain.append(f"SSH: {d.ssh.ssh_command}")
    return Reply(text=fallback_text(escape(f"Node {n.name}: {n.readiness}")), blocks=out.build(), plain="\n".join(plain))


def render_unregistered_vm(d: UnregisteredVmDetail) -> Reply:
    vm = d.vm
    sentence = f"VM {vm.name} in {vm.zone} is running but never registered as a node"
    if vm.status != "RUNNING" or vm.current_action != "NONE":
        sentence = f"VM {vm.name} in {vm.zone} is a node-pool VM ({vm.status.lower()}, {vm.current_action.lower()}) but not a node"
    out = MessageBuilder()
    out.header(f"VM {vm.name}")
    out.section(
        f":warning: *{escape(sentence)}* (for {age(vm.created, d.now)}, pool {escape(vm.pool or vm.instance_group)}). "
        "Its kubelet and kube-proxy logs say why it did not join."
    )
    if d.log_links:
        out.section("Cloud Logging: " + " · ".join(link(l.url, l.label) for l in d.log_links))
    out.buttons(_buttons(d.cluster, vm.name, d.ssh is not None))
    if d.ssh is not None:
        out.context("SSH: " + code(d.ssh.ssh_command))
    plain = [sentence + f" (for {age(vm.created, d.now)}, pool {vm.pool or vm.instance_group})."]
    plain += [f"Logs ({l.label}): {l.url}" for l in d.log_links]
    if d.ssh is not None:
        plain.append(f"SSH: {d.ssh.ssh_command}")
    return Reply(text=fallback_text(escape(sentence)), blocks=out.build(), plain="\n".join(plain))

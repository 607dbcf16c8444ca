"""instances.getSerialPortOutput: what a VM wrote to its console, made from its record and its logs.

A GKE node's console (serial port 1) shows the firmware and the kernel
booting Container-Optimized OS, systemd starting containerd and the kubelet,
and then, as journald echoes them, the lines of the node's services. Here a
VM's console is derived from what the world already holds about it, so the
two can never disagree: it boots at its ``creationTimestamp``, and every
kubelet and kube-proxy line Cloud Logging has for it (the logging agent ships
the same lines) follows in journald's console format, up to the simulated
now. A VM that never registered therefore shows on its console the same
"Unable to register node" and "Failed to retrieve node info" errors that
``logs node VM`` reads from Cloud Logging; one that registered shows the
kubelet saying so.

What Compute does with the buffer is kept: only the last megabyte is held
(``start`` before it is moved up to the oldest byte still there), a negative
``start`` asks for that many of the most recent bytes, ``next`` is where the
following read begins, and ports 2 to 4 exist but stay empty.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from sim.google import names
from sim.google.errors import GoogleApiError
from sim.google.timestamps import parse_timestamp
from sim.world import World

Json = dict[str, Any]

BUFFER_BYTES = 1024 * 1024  # Compute keeps the last megabyte of each port
PORTS = range(1, 5)
CONSOLE = 1
# The node components whose lines journald echoes to the console, by their Cloud Logging log id.
CONSOLE_LOGS = ("kubelet", "kube-proxy", "container-runtime")


def _pid(vm: str, unit: str) -> int:
    """A stable process id for ``unit`` on ``vm`` (systemd is 1)."""
    if unit == "systemd":
        return 1
    return 900 + int(hashlib.sha256(f"{vm}/{unit}".encode()).hexdigest()[:6], 16) % 2400


def _journal(moment: datetime, vm: str, unit: str, text: str) -> str:
    """One line as journald writes it to the console."""
    return f"{moment:%b %d %H:%M:%S} {vm} {unit}[{_pid(vm, unit)}]: {text}"


def boot_lines(vm: Json) -> list[tuple[datetime, str]]:
    """Firmware, kernel and systemd up to the kubelet's start, timed from the VM's creation."""
    created = parse_timestamp(vm["creationTimestamp"])
    assert created is not None, "a VM always has a creation time"
    name = vm["name"]

    def at(seconds: float) -> datetime:
        return created + timedelta(seconds=seconds)

    kernel = [
        (0.0, "Linux version 6.1.100+ (builder@localhost) (Chromium OS 17.0_pre498229-r33 clang version 17.0.0) #1 SMP PREEMPT_DYNAMIC"),
        (0.0, "Command line: BOOT_IMAGE=/syslinux/vmlinuz.A init=/usr/lib/systemd/systemd boot=local rootwait ro noresume loglevel=7 console=tty1 console=ttyS0"),
        (0.0, "DMI: Google Google Compute Engine/Google Compute Engine, BIOS Google 10/01/2025"),
        (0.41, "Hypervisor detected: KVM"),
        (2.73, "EXT4-fs (sda1): mounted filesystem with ordered data mode."),
        (3.05, "systemd[1]: systemd 255 running in system mode (+PAM +AUDIT +SELINUX -APPARMOR +IMA +SMACK +SECCOMP)"),
        (3.12, f"systemd[1]: Hostname set to <{name}>."),
    ]
    lines: list[tuple[datetime, str]] = [
        (created, "SeaBIOS (version 1.8.2-google)"),
        (created, "Booting from Hard Disk 0..."),
    ]
    lines += [(at(offset), f"[{offset:12.6f}] {text}") for offset, text in kernel]
    units = [
        (6.0, "systemd", "Started google-guest-agent.service - Google Compute Engine Guest Agent."),
        (8.0, "systemd", "Started containerd.service - containerd container runtime."),
        (9.0, "google_metadata_script_runner", "Starting startup scripts (version 20251001.00)."),
        (14.0, "systemd", "Started kube-node-configuration.service - Configure kubernetes node."),
        (21.0, "systemd", "Started kubelet.service - Kubernetes kubelet."),
    ]
    for offset, unit, text in units:
        lines.append((at(offset), _journal(at(offset), name, unit, text)))
    started = at(23.0)
    klog = f'I{started:%m%d %H:%M:%S}.000000 {_pid(name, "kubelet"):>7} kubelet.go:1618] "Started kubelet"'
    lines.append((started, _journal(started, name, "kubelet", klog)))
    return lines


def _text(entry: Json) -> str:
    if "textPayload" in entry:
        return str(entry["textPayload"])
    payload = entry.get("jsonPayload") or {}
    return str(payload.get("message") or payload.get("MESSAGE") or "")


def component_lines(vm: str, entries: Iterable[Json], until: datetime) -> list[tuple[datetime, str]]:
    """The VM's kubelet, kube-proxy and container runtime lines from Cloud Logging, as the console echoed them."""
    found = []
    for entry in entries:
        resource = entry.get("resource") or {}
        if resource.get("type") != "k8s_node" or (resource.get("labels") or {}).get("node_name") != vm:
            continue
        log_id = str(entry.get("logName", "")).rsplit("/logs/", 1)[-1]
        if log_id not in CONSOLE_LOGS:
            continue
        moment = parse_timestamp(entry.get("timestamp", ""))
        if moment is None or moment > until:
            continue
        text = _text(entry).replace("\n", " ")
        unit = "containerd" if log_id == "container-runtime" else log_id
        found.append((moment, _journal(moment, vm, unit, text)))
    return found


def console(vm: Json, entries: Iterable[Json], now: datetime) -> str:
    """Everything the VM wrote to its console up to ``now``."""
    lines = [line for line in boot_lines(vm) if line[0] <= now]
    lines += component_lines(vm["name"], entries, now)
    lines.sort(key=lambda line: line[0])
    return "".join(text + "\r\n" for _, text in lines)


def window(content: bytes, start: int | None) -> tuple[bytes, int, int]:
    """(bytes returned, their start, the next start) for ``start``, as Compute answers it."""
    total = len(content)
    oldest = max(0, total - BUFFER_BYTES)
    if start is None:
        start = 0
    if start < 0:
        start = max(oldest, total + start)
    start = max(start, oldest)
    if start >= total:
        return b"", total, total
    return content[start:], start, total


def serial_port_output(world: World) -> Any:
    """The aiohttp handler for ``GET .../zones/{zone}/instances/{instance}/serialPort``."""
    google = world.google

    async def handler(request: web.Request) -> web.Response:
        project, zone, name = request.match_info["project"], request.match_info["zone"], request.match_info["instance"]
        if project != google.project:
            raise GoogleApiError(403, f"Required 'compute.instances.getSerialPortOutput' permission for 'projects/{project}/zones/{zone}/instances/{name}'")
        port = _integer(request, "port", 1)
        if port not in PORTS:
            raise GoogleApiError(400, f"Invalid value for field 'port': '{port}'. Must be in the range [1, 4].")
        start = _integer(request, "start", None)
        vm = google.instance(zone, name)
        if vm is None:
            raise GoogleApiError(404, f"The resource 'projects/{project}/zones/{zone}/instances/{name}' was not found")
        text = console(vm, google.log_entries(), google.clock.now()) if port == CONSOLE else ""
        chunk, begins, following = window(text.encode(), start)
        link = f"{names.instance_url(project, zone, name)}/serialPort"
        return web.json_response({
            "kind": "compute#serialPortOutput",
            "contents": chunk.decode(errors="replace"),
            "start": str(begins),
            "next": str(following),
            "selfLink": link + (f"?port={port}" if port != CONSOLE else ""),
        })

    return handler


def _integer(request: web.Request, field: str, default: int | None) -> Any:
    raw = request.query.get(field)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise GoogleApiError(400, f"Invalid value for field '{field}': '{raw}'.") from None

"""What a live kubelet keeps moving: its node's heartbeat and its Lease's renewal.

A kubelet reports its node's status every five minutes when nothing changed
(``nodeStatusReportFrequency``), which moves every condition's
``lastHeartbeatTime``, and renews its Lease in kube-node-lease every ten
seconds. A node whose Ready condition is Unknown has a silent kubelet:
nothing moves, and neither does its Lease.

Node reports are real writes: when the clock moves past a node's next report
(``KubeStore.report_heartbeats``), the node is written once with its latest
report time, a new resourceVersion and a MODIFIED watch event, however far
the clock jumped (coalesced, as a watcher that fell behind would see it).
Each node reports on its own phase, a fraction of the period drawn from its
name, so five thousand nodes do not all write in the same simulated second.

Lease renewals every ten seconds would be 500 writes a second on a
5,000-node cluster, so they stay lazy: the stored time is the anchor, a
reader sees the last renewal at or before now, and neither the Lease's
resourceVersion nor a watch event moves with them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

HEARTBEAT_SECONDS = 300  # kubelet nodeStatusReportFrequency
RENEW_SECONDS = 10  # kubelet lease renew interval (a quarter of the 40 s lease)
NODE_LEASE_NAMESPACE = "kube-node-lease"

_HEARTBEAT = b'"lastHeartbeatTime":"'
_RENEW = b'"renewTime":"'


@dataclass(frozen=True, slots=True)
class Pulse:
    """How to bring one stored object up to date: replace ``needle`` with the latest tick."""

    field: bytes  # b'"lastHeartbeatTime":"' or b'"renewTime":"'
    stamp: str  # the stored time, as written
    anchor: datetime
    period: int
    micro: bool  # MicroTime (leases) or second precision (node conditions)
    follows: str | None = None  # a lease follows its node: it ticks only while the node's does
    phase: int | None = None  # None: ticks a period apart from the anchor; else on a grid, ``phase`` s into each period

    def apply(self, raw: bytes, now: datetime) -> bytes:
        swap = _swap(self.field, self.stamp, self.anchor, self.period, self.micro, self.phase, now)
        return raw if swap is None else raw.replace(*swap)


def phase_of(name: str, period: int = HEARTBEAT_SECONDS) -> int:
    """Where in the period a node's kubelet reports, steady per node so reports spread over the period."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "big") % period


@lru_cache(maxsize=4096)
def _swap(field: bytes, stamp: str, anchor: datetime, period: int, micro: bool, phase: int | None, now: datetime) -> tuple[bytes, bytes] | None:
    """(stored text, current text) for one anchor at ``now``; many objects share an anchor, so it is cached."""
    if phase is None:
        first = anchor + timedelta(seconds=period)
    else:  # the first grid point after the anchor: the node keeps its phase across reports
        offset = (phase - int(anchor.timestamp())) % period
        first = anchor.replace(microsecond=0) + timedelta(seconds=offset or period)
    if now < first:
        return None
    moment = first + timedelta(seconds=int((now - first).total_seconds() // period) * period)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")
    return field + stamp.encode() + b'"', field + text.encode() + b'"'


def _parse(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def for_object(plural: str, obj: dict[str, Any]) -> Pulse | None:
    """The pulse of a node whose kubelet posts status, or of a node's Lease; None for anything else."""
    if plural == "nodes":
        ready = next((c for c in (obj.get("status") or {}).get("conditions") or () if c.get("type") == "Ready"), None)
        if ready is None or ready.get("status") not in ("True", "False") or not ready.get("lastHeartbeatTime"):
            return None
        anchor = _parse(ready["lastHeartbeatTime"])
        name = (obj.get("metadata") or {}).get("name", "")
        return Pulse(_HEARTBEAT, ready["lastHeartbeatTime"], anchor, HEARTBEAT_SECONDS, False, phase=phase_of(name)) if anchor else None
    if plural == "leases" and (obj.get("metadata") or {}).get("namespace") == NODE_LEASE_NAMESPACE:
        spec = obj.get("spec") or {}
        holder, renewed = spec.get("holderIdentity"), spec.get("renewTime")
        anchor = _parse(renewed) if renewed else None
        if holder and anchor:
            return Pulse(_RENEW, renewed, anchor, RENEW_SECONDS, True, follows=holder)
    return None


def current(pulse: Pulse | None, raw: bytes, now: datetime, alive: bool = True) -> bytes:
    return raw if pulse is None or not alive else pulse.apply(raw, now)

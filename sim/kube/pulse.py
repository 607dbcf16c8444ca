"""What a live kubelet keeps moving: its node's heartbeat and its Lease's renewal.

A kubelet reports its node's status every five minutes when nothing changed
(``nodeStatusReportFrequency``), which moves every condition's
``lastHeartbeatTime``, and renews its Lease in kube-node-lease every ten
seconds. Writing thousands of objects every few simulated seconds would
flood the store's history, so the store computes both when an object is read:
the stored time is the anchor, and a reader sees the last tick at or before
now. A node whose Ready condition is Unknown has a silent kubelet: nothing
moves, and neither does its Lease.

The objects' resourceVersions do not move with these ticks, and watches see
no MODIFIED event for them (the real kubelet's writes would bring both).
"""

from __future__ import annotations

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

    def apply(self, raw: bytes, now: datetime) -> bytes:
        swap = _swap(self.field, self.stamp, self.anchor, self.period, self.micro, now)
        return raw if swap is None else raw.replace(*swap)


@lru_cache(maxsize=4096)
def _swap(field: bytes, stamp: str, anchor: datetime, period: int, micro: bool, now: datetime) -> tuple[bytes, bytes] | None:
    """(stored text, current text) for one anchor at ``now``; many nodes share an anchor, so it is cached."""
    ticks = int((now - anchor).total_seconds() // period)
    if ticks <= 0:
        return None
    moment = anchor + timedelta(seconds=ticks * period)
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
        return Pulse(_HEARTBEAT, ready["lastHeartbeatTime"], anchor, HEARTBEAT_SECONDS, False) if anchor else None
    if plural == "leases" and (obj.get("metadata") or {}).get("namespace") == NODE_LEASE_NAMESPACE:
        spec = obj.get("spec") or {}
        holder, renewed = spec.get("holderIdentity"), spec.get("renewTime")
        anchor = _parse(renewed) if renewed else None
        if holder and anchor:
            return Pulse(_RENEW, renewed, anchor, RENEW_SECONDS, True, follows=holder)
    return None


def current(pulse: Pulse | None, raw: bytes, now: datetime, alive: bool = True) -> bytes:
    return raw if pulse is None or not alive else pulse.apply(raw, now)

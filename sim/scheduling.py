"""A first-fit stand-in for kube-scheduler, so scenarios get realistic Pending pods.

Pods are placed on Ready, schedulable nodes by CPU request; what does not fit
stays Pending with the message the real scheduler writes ("0/3 nodes are
available: 3 Insufficient cpu."), which is what the bot groups and explains.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def cpu_millicores(quantity: str) -> int:
    if quantity.endswith("m"):
        return int(quantity[:-1])
    return int(float(quantity) * 1000)


@dataclass
class NodeRoom:
    name: str
    free_cpu_m: int
    pods: list[str] = field(default_factory=list)


@dataclass
class Placement:
    assigned: dict[str, str]  # pod key -> node name
    unschedulable: dict[str, str]  # pod key -> scheduler message


def place(pods: list[tuple[str, int]], nodes: list[NodeRoom]) -> Placement:
    """First fit in the given order; ``pods`` are (key, cpu millicores)."""
    assigned: dict[str, str] = {}
    unschedulable: dict[str, str] = {}
    for key, cpu in pods:
        room = next((n for n in nodes if n.free_cpu_m >= cpu), None)
        if room is None:
            unschedulable[key] = scheduler_message(len(nodes))
            continue
        room.free_cpu_m -= cpu
        room.pods.append(key)
        assigned[key] = room.name
    return Placement(assigned, unschedulable)


def scheduler_message(node_count: int) -> str:
    if node_count == 0:
        return "no nodes available to schedule pods"
    return (
        f"0/{node_count} nodes are available: {node_count} Insufficient cpu. "
        f"preemption: 0/{node_count} nodes are available: {node_count} No preemption victims found for incoming pod."
    )

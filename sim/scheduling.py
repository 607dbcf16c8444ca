"""A stand-in for kube-scheduler, so scenarios get realistic placements and Pending pods.

A pod goes only to a node with room for its CPU request. Among those, the
real scheduler's default scoring spreads a workload: its system-default
topology spread constraints weigh the pods of the same workload per zone
and per node, and NodeResourcesFit prefers the least allocated node. Here
that is one ordering: fewest pods of the workload in the zone, then on the
node, then the most free CPU, then the name. What does not fit anywhere
stays Pending with the message the real scheduler writes ("0/3 nodes are
available: 3 Insufficient cpu."), which is what the bot groups and explains.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


def cpu_millicores(quantity: str) -> int:
    if quantity.endswith("m"):
        return int(quantity[:-1])
    return int(float(quantity) * 1000)


@dataclass
class NodeRoom:
    name: str
    free_cpu_m: int
    zone: str = ""
    pods: list[str] = field(default_factory=list)
    groups: Counter[str] = field(default_factory=Counter)  # workload -> pods of it here


@dataclass
class Placement:
    assigned: dict[str, str]  # pod key -> node name
    unschedulable: dict[str, str]  # pod key -> scheduler message


def place(pods: list[tuple[str, int] | tuple[str, int, str]], nodes: list[NodeRoom]) -> Placement:
    """Place pods in order; each is (key, cpu millicores) or (key, cpu, workload) to spread by workload."""
    assigned: dict[str, str] = {}
    unschedulable: dict[str, str] = {}
    in_zone: Counter[tuple[str, str]] = Counter()
    for room in nodes:
        for group, count in room.groups.items():
            in_zone[(room.zone, group)] += count
    for pod in pods:
        key, cpu = pod[0], pod[1]
        group = pod[2] if len(pod) > 2 else key  # type: ignore[misc]
        fitting = [n for n in nodes if n.free_cpu_m >= cpu]
        if not fitting:
            unschedulable[key] = scheduler_message(len(nodes))
            continue
        room = min(fitting, key=lambda n: (in_zone[(n.zone, group)], n.groups[group], -n.free_cpu_m, n.name))
        room.free_cpu_m -= cpu
        room.pods.append(key)
        room.groups[group] += 1
        in_zone[(room.zone, group)] += 1
        assigned[key] = room.name
    return Placement(assigned, unschedulable)


def scheduler_message(node_count: int) -> str:
    if node_count == 0:
        return "no nodes available to schedule pods"
    return (
        f"0/{node_count} nodes are available: {node_count} Insufficient cpu. "
        f"preemption: 0/{node_count} nodes are available: {node_count} No preemption victims found for incoming pod."
    )

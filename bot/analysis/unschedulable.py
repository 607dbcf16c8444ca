"""What keeps a pod Pending, as a cause with the fix that fits it.

The scheduler's objections (normalized by ``pending.normalize_reason``) fall
in two kinds. Room is short ("Insufficient cpu", "Too many pods"): more or
bigger nodes help, so the autoscaler and the pool's maximum are the question.
Or no node could ever take the pod as it is written: its node selector or
affinity matches no node, the nodes carry a taint it does not tolerate, its
PersistentVolumeClaim is not bound. No amount of nodes helps those; the fix
is in the pod or the claim, and saying "raise the pool's maximum" would send
the on-call engineer the wrong way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TAINT = re.compile(r"\{([^}]*)\}")


@dataclass(frozen=True)
class Cause:
    kind: str  # capacity | selector | taint | not-ready | cordoned | volume | ports | spread | affinity | other
    objection: str  # the scheduler's words
    fix: str

    @property
    def capacity(self) -> bool:
        """Whether more room (more nodes) could place the pod."""
        return self.kind == "capacity"


# What a cause is called where a title has room for a few words.
SHORT = {
    "capacity": "not enough room on the nodes",
    "selector": "no node matches their node selector or affinity",
    "taint": "the nodes carry a taint they do not tolerate",
    "not-ready": "the nodes are not Ready",
    "cordoned": "the nodes are cordoned",
    "volume": "their PersistentVolumeClaim is not bound",
    "ports": "no node has the host ports free",
    "spread": "their topology spread constraints cannot be met",
    "affinity": "their pod affinity rules cannot be met",
    "other": "the scheduler objects",
}


def cause(objection: str) -> Cause:
    text = objection.strip()
    lower = text.lower()
    if lower.startswith("insufficient ") or lower.startswith("too many pods") or "no nodes available" in lower:
        return Cause("capacity", text, "More room: the autoscaler adds nodes while the pool may grow; past its maximum, raise the pool's maximum or lower the pods' requests.")
    if "node affinity/selector" in lower or "didn't match node selector" in lower or "node(s) didn't match pod's node affinity" in lower:
        return Cause("selector", text, "No node has the labels the pods ask for: fix the pods' nodeSelector or node affinity, or label (or add) a node pool that matches.")
    if "taint" in lower:
        taint = _TAINT.search(text)
        shown = taint.group(1).strip() if taint else ""
        key = shown.split(":", 1)[0].strip()
        if key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
            return Cause("not-ready", text, "Those nodes are NotReady: see the NotReady nodes; the pods schedule when they recover.")
        if key == "node.kubernetes.io/unschedulable":
            return Cause("cordoned", text, "Those nodes are cordoned: uncordon them, or let the drain finish and the pods go elsewhere.")
        named = f" `{shown}`" if shown else ""
        return Cause("taint", text, f"Nodes carry the taint{named} and the pods do not tolerate it: add a toleration for it to the pods, or run them on a pool without the taint.")
    if "were unschedulable" in lower:
        return Cause("cordoned", text, "Those nodes are cordoned: uncordon them, or let the drain finish and the pods go elsewhere.")
    if "persistentvolumeclaim" in lower or "persistent volumes to bind" in lower or "volume node affinity conflict" in lower:
        if "volume node affinity conflict" in lower:
            return Cause("volume", text, "The pods' volumes live in another zone than the nodes with room: add room in the volume's zone, or recreate the volume where the nodes are.")
        return Cause("volume", text, "The pods' PersistentVolumeClaim is not bound: `kubectl describe pvc` says why (no StorageClass, no PersistentVolume that matches, a quota); bind it and the pods schedule.")
    if "free ports" in lower:
        return Cause("ports", text, "The pods ask for a hostPort that every node already has in use: drop the hostPort or add nodes where it is free.")
    if "topology spread" in lower:
        return Cause("spread", text, "The pods' topology spread constraints cannot be met: relax maxSkew or whenUnsatisfiable, or add nodes in the zones that lack them.")
    if "affinity" in lower:
        return Cause("affinity", text, "The pods' (anti-)affinity to other pods cannot be met on any node: relax the rule or move the pods it names.")
    return Cause("other", text, "Read the scheduler's message in `pods --pending -A` for what it objects to.")


def causes(reason: str) -> list[Cause]:
    """The causes in a normalized reason ("Insufficient cpu; had untolerated taint {x: }"), in its order."""
    return [cause(part) for part in reason.split("; ") if part.strip()]


def short_of_room(reason: str) -> bool:
    """Whether more nodes could help any of the nodes that objected (some objection is a shortage of room)."""
    return any(c.capacity for c in causes(reason))


# Cordoned nodes beside a spread constraint: the pods cannot "go elsewhere", the spread is what forbids it.
CORDONED_AND_SPREAD = (
    "Those nodes are cordoned, and the spread keeps the pods out of the other zones: uncordon them, or add "
    "uncordoned nodes in their zone, or relax the spread while the zone is out."
)


def fixes(reasons: list[str]) -> list[str]:
    """One fix per distinct cause, most common reasons first."""
    seen: dict[str, str] = {}
    spread = any(c.kind == "spread" for reason in reasons for c in causes(reason))
    for reason in reasons:
        for found in causes(reason):
            fix = CORDONED_AND_SPREAD if found.kind == "cordoned" and spread else found.fix
            seen.setdefault(found.kind if found.kind != "taint" else found.fix, fix)
    return list(seen.values())


def summary(reason: str) -> str:
    """A few words for the first cause of a reason, for a title."""
    found = causes(reason)
    if not found:
        return SHORT["other"]
    kinds = [c.kind for c in found]
    if "selector" in kinds and "taint" in kinds:
        return "no node they select would tolerate them (node selector and taint)"
    if "not-ready" in kinds and "capacity" in kinds:
        # A zone or a few nodes down, and the rest full: the nodes that went away are the news, not the room.
        return "some nodes are not Ready and the rest are full"
    return SHORT[found[0].kind]

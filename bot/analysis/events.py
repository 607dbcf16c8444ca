"""Events told once each: the same reason about the same object with the same message is one line, counted.

Kubernetes already folds repeats of one event into ``count``, but only per
event object, and several components (or a restarted one) write their own
copies; a list of raw events then repeats one story many times. Grouping
sums the counts and keeps the first and last time it was seen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.model.kube import Event


@dataclass(frozen=True)
class EventGroup:
    type: str  # Warning when any of the group is a warning
    reason: str
    kind: str
    namespace: str  # the object's namespace, "" for cluster-scoped objects
    name: str
    message: str
    count: int
    first_seen: datetime | None
    last_seen: datetime | None
    sources: tuple[str, ...] = ()

    @property
    def object(self) -> str:
        """``pod shop/web-0``, ``node gke-...``: how the answer names the object."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind.lower()} {where}".strip()

    @property
    def warning(self) -> bool:
        return self.type == "Warning"


def group_events(events: Iterable[Event], *, since: datetime | None = None) -> list[EventGroup]:
    """Groups of events last seen at or after ``since``, the most recent first."""
    groups: dict[tuple[str, str, str, str, str], list[Event]] = {}
    for event in events:
        if since is not None and (event.last_seen is None or event.last_seen < since):
            continue
        namespace = event.object_namespace or (event.namespace if event.kind not in ("Node", "Namespace") else "")
        key = (event.reason, event.kind, namespace, event.object_name, event.message.strip())
        groups.setdefault(key, []).append(event)
    out = []
    for (reason, kind, namespace, name, message), members in groups.items():
        firsts = [e.first_seen for e in members if e.first_seen is not None]
        lasts = [e.last_seen for e in members if e.last_seen is not None]
        out.append(EventGroup(
            type="Warning" if any(e.type == "Warning" for e in members) else members[0].type,
            reason=reason,
            kind=kind,
            namespace=namespace,
            name=name,
            message=message,
            count=sum(max(e.count, 1) for e in members),
            first_seen=min(firsts) if firsts else None,
            last_seen=max(lasts) if lasts else None,
            sources=tuple(sorted({e.source for e in members if e.source})),
        ))
    return sorted(out, key=lambda g: (_epoch(g.last_seen), g.count), reverse=True)


def _epoch(moment: datetime | None) -> float:
    return moment.timestamp() if moment is not None else 0.0

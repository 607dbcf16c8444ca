"""The kinds the simulated API server knows, described once.

Discovery documents, URL routing, Status messages ("pods \"x\" not found",
"leases.coordination.k8s.io ...") and the store's defaults all need the same
facts about a resource: its group, version, kind, scope and short names. Keeping
them in one table means a new kind is one entry, not five edits.
"""

from __future__ import annotations

from dataclasses import dataclass

READ_VERBS = ("get", "list", "watch")
WRITE_VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")  # what api.py serves for every kind


@dataclass(frozen=True)
class Resource:
    """One REST resource as kube-apiserver exposes it."""

    plural: str
    kind: str
    group: str  # "" for the core group
    version: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = WRITE_VERBS
    singular: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """The name Status messages use: ``pods`` or ``leases.coordination.k8s.io``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"


RESOURCES: dict[str, Resource] = {
    r.plural: r
    for r in (
        Resource("namespaces", "Namespace", "", "v1", False, ("ns",), singular="namespace"),
        Resource("nodes", "Node", "", "v1", False, ("no",), singular="node"),
        Resource("pods", "Pod", "", "v1", True, ("po",), singular="pod"),
        Resource("events", "Event", "", "v1", True, ("ev",), singular="event"),
        Resource("services", "Service", "", "v1", True, ("svc",), singular="service"),
        Resource("poddisruptionbudgets", "PodDisruptionBudget", "policy", "v1", True, ("pdb",), singular="poddisruptionbudget"),
        Resource("leases", "Lease", "coordination.k8s.io", "v1", True, (), singular="lease"),
        Resource("deployments", "Deployment", "apps", "v1", True, ("deploy",), singular="deployment"),
        Resource("statefulsets", "StatefulSet", "apps", "v1", True, ("sts",), singular="statefulset"),
        Resource("daemonsets", "DaemonSet", "apps", "v1", True, ("ds",), singular="daemonset"),
    )
}

# Subresources advertised in discovery so kubectl knows `logs` is possible.
SUBRESOURCES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "pods/log": ("Pod", "pods", ("get",)),
    "pods/status": ("Pod", "pods", ("get",)),
    "pods/eviction": ("Eviction", "pods", ("create",)),
    "nodes/status": ("Node", "nodes", ("get",)),
    "deployments/status": ("Deployment", "deployments", ("get",)),
    "statefulsets/status": ("StatefulSet", "statefulsets", ("get",)),
    "daemonsets/status": ("DaemonSet", "daemonsets", ("get",)),
}

# Subresources whose kind lives in another group: discovery names it (kubectl drain looks for policy/v1 Eviction).
SUBRESOURCE_GROUPS: dict[str, tuple[str, str]] = {"pods/eviction": ("policy", "v1")}

# Kinds `kubectl get all` lists (their discovery entry names the category "all").
CATEGORY_ALL = ("pods", "services", "deployments", "statefulsets", "daemonsets")


def resource(plural: str) -> Resource:
    """The resource for a plural name; a KeyError names the known ones."""
    try:
        return RESOURCES[plural]
    except KeyError:
        raise KeyError(f"unknown resource {plural!r}; known: {', '.join(sorted(RESOURCES))}") from None


def groups() -> dict[str, list[Resource]]:
    """Resources by API group/version, as discovery lists them."""
    out: dict[str, list[Resource]] = {}
    for res in RESOURCES.values():
        out.setdefault(res.api_version, []).append(res)
    return out

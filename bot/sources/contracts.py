"""What the rest of the bot may ask of a source, independent of how it is fetched."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from bot.model.gke import GkeCluster, ManagedVm, Operation, SerialOutput
from bot.model.kube import DisruptionBudget, Event, Node, Pod, Usage, Workload
from bot.model.logs import LogLine


class KubeReader(Protocol):
    """Reads from one cluster's Kubernetes API, with server-side selectors."""

    def server_version(self) -> str: ...

    def list_nodes(self, *, label_selector: str | None = None, field_selector: str | None = None) -> list[Node]: ...

    def get_node(self, name: str) -> Node: ...

    def list_pods(
        self,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Pod]: ...

    def get_pod(self, namespace: str, name: str) -> Pod: ...

    def list_events(self, *, namespace: str | None = None, field_selector: str | None = None) -> list[Event]: ...

    def list_disruption_budgets(self, *, namespace: str | None = None) -> list[DisruptionBudget]: ...

    def namespace_exists(self, name: str) -> bool: ...

    def list_deployments(self, *, namespace: str | None = None, label_selector: str | None = None) -> list[Workload]: ...

    def list_statefulsets(self, *, namespace: str | None = None, label_selector: str | None = None) -> list[Workload]: ...

    def list_daemonsets(self, *, namespace: str | None = None, label_selector: str | None = None) -> list[Workload]: ...

    def get_deployment(self, namespace: str, name: str) -> Workload: ...

    def get_statefulset(self, namespace: str, name: str) -> Workload: ...

    def get_daemonset(self, namespace: str, name: str) -> Workload: ...

    def node_metrics(self) -> list[Usage] | None:
        """Usage per node from metrics.k8s.io; None when the cluster does not serve that API."""
        ...

    def pod_metrics(self, *, namespace: str | None = None) -> list[Usage] | None:
        """Usage per pod from metrics.k8s.io; None when the cluster does not serve that API."""
        ...

    def pod_log(
        self,
        namespace: str,
        name: str,
        *,
        container: str | None = None,
        tail_lines: int = 100,
        since_seconds: int | None = None,
    ) -> list[LogLine]: ...


class GkeReader(Protocol):
    """The GKE API's view of one configured cluster."""

    def get_cluster(self) -> GkeCluster: ...

    def list_operations(self) -> list[Operation]:
        """Operations on this cluster (running and recent), newest first."""
        ...


class ComputeReader(Protocol):
    def list_managed_vms(
        self, instance_group_urls: list[str], *, pools: Mapping[tuple[str, str], str] | None = None
    ) -> list[ManagedVm]:
        """Members of each group; ``pools`` maps (zone, group name) to the node pool that owns it."""
        ...

    def with_created(
        self, vms: Iterable[ManagedVm], *, known: Iterable[ManagedVm] = (), limit: int | None = None
    ) -> list[ManagedVm]:
        """The same VMs with their creation time: from ``known`` when there, else one request each (at most ``limit``)."""
        ...

    def serial_port_tail(self, zone: str, name: str, *, max_bytes: int = ...) -> SerialOutput:
        """The end of what the VM wrote to its console (serial port 1), at most ``max_bytes``."""
        ...


LogTarget = Literal["node", "pod", "autoscaler"]


@dataclass(frozen=True)
class LogQuery:
    """A Cloud Logging question in the bot's terms; the filter text is derived, never typed by a user."""

    target: LogTarget
    since: datetime
    until: datetime | None = None
    node: str = ""  # for target "node": node or VM name
    component: str = ""  # kube-proxy, kubelet, container-runtime, node-problem-detector
    namespace: str = ""  # for target "pod"
    pod: str = ""
    container: str = ""
    min_severity: str = ""  # DEFAULT .. EMERGENCY
    grep: str = ""  # free text, quoted and escaped into the filter
    limit: int = 50
    # For target "node": several nodes (or VMs) and components at once, instead of ``node`` and ``component``.
    nodes: tuple[str, ...] = ()
    components: tuple[str, ...] = ()


class LogReader(Protocol):
    def query(self, query: LogQuery) -> list[LogLine]:
        """Newest first, at most ``query.limit`` lines."""
        ...

    def filter_for(self, query: LogQuery) -> str:
        """The exact Cloud Logging filter ``query`` runs, for display and links."""
        ...

    def explorer_url(self, query: LogQuery) -> str:
        """A Logs Explorer link that runs the same filter over the same window."""
        ...

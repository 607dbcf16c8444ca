"""``KubeSource``: one cluster's Kubernetes API, read cheaply.

Every call asks the server to do the filtering (label and field selectors),
pages through big lists with ``limit``/``continue`` so that neither side holds
150,000 pods in one answer, and decodes the raw bytes with orjson straight
into snapshot types. Every request carries a timeout, and the counters in
``stats`` are what the benchmark reports as requests per API.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, TypeVar

import orjson

from bot.errors import ChatOpsError
from bot.model.kube import DisruptionBudget, Event, Node, Pod, Usage, Workload
from bot.model.logs import LogLine
from bot.settings import ClusterConfig
from bot.sources.kube import client as kube_client
from bot.sources.kube import errors as kube_errors
from bot.sources.kube.parse import (
    Json,
    parse_daemonset,
    parse_deployment,
    parse_disruption_budget,
    parse_event,
    parse_listed_node,
    parse_log_line,
    parse_node,
    parse_node_metrics,
    parse_pod,
    parse_pod_metrics,
    parse_statefulset,
)
from bot.sources.lazy import Lazy

if TYPE_CHECKING:
    from kubernetes.client.api_client import ApiClient

T = TypeVar("T")

PAGE_SIZE = 500
MAX_TAIL_LINES = 5000
METRICS_GROUP, METRICS_VERSION = "metrics.k8s.io", "v1beta1"
# What the API server answers for metrics.k8s.io when metrics-server is not installed (404)
# or its APIService is registered but not answering (503): usage is then unknown, not an error.
METRICS_ABSENT = (404, 503)
# The API groups read, as their paths start.
CORE, APPS, POLICY = "/api/v1", "/apis/apps/v1", "/apis/policy/v1"
METRICS = f"/apis/{METRICS_GROUP}/{METRICS_VERSION}"
# The query parameters' names, by the keyword the methods take.
SELECTORS = {"label_selector": "labelSelector", "field_selector": "fieldSelector"}


def collection(api: str, plural: str, namespace: str | None = None) -> tuple[str, dict[str, str]]:
    """A list's path template and its parameters: one namespace's, or across all of them."""
    if namespace:
        return f"{api}/namespaces/{{namespace}}/{plural}", {"namespace": namespace}
    return f"{api}/{plural}", {}


def member(api: str, plural: str, name: str, namespace: str | None = None) -> tuple[str, dict[str, str]]:
    """One object's path template and its parameters."""
    path, params = collection(api, plural, namespace)
    return f"{path}/{{name}}", {**params, "name": name}


class KubeSource:
    """Implements ``KubeReader``; safe to share between the command handlers and the scheduler."""

    def __init__(
        self,
        cluster: str,
        api_client: ApiClient | Callable[[], ApiClient],
        *,
        timeout_seconds: float = 10.0,
        page_size: int = PAGE_SIZE,
    ) -> None:
        """``api_client`` may be a factory: it is then called on first use, so a cluster
        whose credentials cannot be loaded fails its own commands, not the bot's start-up."""
        self.cluster = cluster
        self.timeout_seconds = timeout_seconds
        self.page_size = page_size
        self.stats: dict[str, int] = {"requests": 0, "bytes": 0}
        self._lock = threading.Lock()
        self._client: Lazy[ApiClient] = Lazy(api_client)

    @classmethod
    def from_config(cls, config: ClusterConfig) -> KubeSource:
        return cls(config.name, lambda: kube_client.api_client_for(config), timeout_seconds=config.request_timeout_seconds)

    @property
    def api_client(self) -> ApiClient:
        """The client, built on first use (raises ``NotConfigured`` while that fails)."""
        return self._client.get()

    def warm(self) -> None:
        """Build the client now (loading the library, reading the kubeconfig), so a first answer does not wait for it.

        Nothing is sent. A client that cannot be built stays unbuilt: the
        cluster's own commands say why, as they would without this.
        """
        try:
            self._client.get()
        except ChatOpsError:
            pass

    # -- KubeReader ---------------------------------------------------------------------

    def server_version(self) -> str:
        raw = self._get_json(("/version/", {}))
        return str(raw.get("gitVersion", ""))

    def list_nodes(self, *, label_selector: str | None = None, field_selector: str | None = None) -> list[Node]:
        return self._list(collection(CORE, "nodes"), parse_listed_node, label_selector=label_selector, field_selector=field_selector)

    def get_node(self, name: str) -> Node:
        return parse_node(self._get_json(member(CORE, "nodes", name), missing=f"Node `{name}`"))

    def list_pods(
        self,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Pod]:
        return self._list(
            collection(CORE, "pods", namespace), parse_pod, label_selector=label_selector, field_selector=field_selector
        )

    def get_pod(self, namespace: str, name: str) -> Pod:
        return parse_pod(self._get_json(member(CORE, "pods", name, namespace), missing=f"Pod `{namespace}/{name}`"))

    def list_events(self, *, namespace: str | None = None, field_selector: str | None = None) -> list[Event]:
        return self._list(collection(CORE, "events", namespace), parse_event, field_selector=field_selector)

    def list_disruption_budgets(self, *, namespace: str | None = None) -> list[DisruptionBudget]:
        return self._list(collection(POLICY, "poddisruptionbudgets", namespace), parse_disruption_budget)

    def namespace_exists(self, name: str) -> bool:
        try:
            self._fetch(member(CORE, "namespaces", name))
        except kube_errors.ApiException as exc:
            if exc.status == 404:
                return False
            raise kube_errors.translate(exc, cluster=self.cluster) from None
        return True

    def list_deployments(self, *, namespace: str | None = None, label_selector: str | None = None) -> list[Workload]:
        return self._list(collection(APPS, "deployments", namespace), parse_deployment, label_selector=label_selector)

    def list_statefulsets(self, *, namespace: str | None = None, label_selector: str | None = None) -> list[Workload]:
        return self._list(collection(APPS, "statefulsets", namespace), parse_statefulset, label_selector=label_selector)

    def list_daemonsets(self, *, namespace: str | None = None, label_selector: str | None = None) -> list[Workload]:
        return self._list(collection(APPS, "daemonsets", namespace), parse_daemonset, label_selector=label_selector)

    def get_deployment(self, namespace: str, name: str) -> Workload:
        raw = self._get_json(member(APPS, "deployments", name, namespace), missing=f"Deployment `{namespace}/{name}`")
        return parse_deployment(raw)

    def get_statefulset(self, namespace: str, name: str) -> Workload:
        raw = self._get_json(member(APPS, "statefulsets", name, namespace), missing=f"StatefulSet `{namespace}/{name}`")
        return parse_statefulset(raw)

    def get_daemonset(self, namespace: str, name: str) -> Workload:
        raw = self._get_json(member(APPS, "daemonsets", name, namespace), missing=f"DaemonSet `{namespace}/{name}`")
        return parse_daemonset(raw)

    def node_metrics(self) -> list[Usage] | None:
        """Every node's usage from metrics.k8s.io; None when the cluster does not serve that API."""
        return self._metrics(collection(METRICS, "nodes"), parse_node_metrics)

    def pod_metrics(self, *, namespace: str | None = None) -> list[Usage] | None:
        """Pods' usage from metrics.k8s.io (one namespace or all); None when the cluster does not serve that API."""
        return self._metrics(collection(METRICS, "pods", namespace), parse_pod_metrics)

    def pod_log(
        self,
        namespace: str,
        name: str,
        *,
        container: str | None = None,
        tail_lines: int = 100,
        since_seconds: int | None = None,
    ) -> list[LogLine]:
        """The pod's last lines in the API's order, oldest first (as ``kubectl logs`` prints them)."""
        path, params = member(CORE, "pods", name, namespace)
        query: list[tuple[str, str | int | bool]] = [("timestamps", True), ("tailLines", max(1, min(tail_lines, MAX_TAIL_LINES)))]
        if container:
            query.append(("container", container))
        if since_seconds:
            query.append(("sinceSeconds", since_seconds))
        body = self._get_bytes((f"{path}/log", params), query, missing=f"Pod `{namespace}/{name}`")
        origin = f"{name}/{container}" if container else name
        lines = body.decode("utf-8", errors="replace").splitlines()
        return [parse_log_line(line, origin=origin) for line in lines if line]

    # -- plumbing -----------------------------------------------------------------------

    def _list(
        self, where: tuple[str, Mapping[str, str]], parse: Callable[[Json], T], **selectors: str | None
    ) -> list[T]:
        """All pages of a list, parsed page by page so raw JSON never piles up.

        A continue token can expire (410) on a slow walk through a huge list; the
        walk then restarts once from the beginning, as kubectl does.
        """
        query = [(SELECTORS[k], v) for k, v in selectors.items() if v]
        try:
            return [parse(item) for item in self._items(where, query)]
        except kube_errors.ApiException as exc:
            if exc.status != 410:
                raise kube_errors.translate(exc, cluster=self.cluster) from None
        try:
            return [parse(item) for item in self._items(where, query)]
        except kube_errors.ApiException as exc:
            raise kube_errors.translate(exc, cluster=self.cluster) from None

    def _metrics(self, where: tuple[str, Mapping[str, str]], parse: Callable[[Json], Usage]) -> list[Usage] | None:
        try:
            page = self._fetch_json(where)
        except kube_errors.ApiException as exc:
            if exc.status in METRICS_ABSENT:
                return None
            raise kube_errors.translate(exc, cluster=self.cluster) from None
        return [parse(item) for item in page.get("items") or ()]

    def _items(self, where: tuple[str, Mapping[str, str]], query: kube_client.Query) -> Iterator[Json]:
        token: str | None = None
        while True:
            paging: list[tuple[str, str | int | bool]] = [("limit", self.page_size)]
            if token:
                paging.append(("continue", token))
            page = self._fetch_json(where, [*query, *paging])
            yield from page.get("items") or ()
            token = (page.get("metadata") or {}).get("continue") or None
            if not token:
                return

    def _get_json(self, where: tuple[str, Mapping[str, str]], query: kube_client.Query = (), *, missing: str = "") -> Json:
        try:
            return self._fetch_json(where, query)
        except kube_errors.ApiException as exc:
            raise kube_errors.translate(exc, cluster=self.cluster, missing=missing) from None

    def _get_bytes(self, where: tuple[str, Mapping[str, str]], query: kube_client.Query = (), *, missing: str = "") -> bytes:
        try:
            return self._fetch(where, query)
        except kube_errors.ApiException as exc:
            raise kube_errors.translate(exc, cluster=self.cluster, missing=missing) from None

    def _fetch_json(self, where: tuple[str, Mapping[str, str]], query: kube_client.Query = ()) -> Json:
        body = self._fetch(where, query)
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise kube_errors.translate(exc, cluster=self.cluster) from None
        return decoded if isinstance(decoded, dict) else {}

    def _fetch(self, where: tuple[str, Mapping[str, str]], query: kube_client.Query = ()) -> bytes:
        """One request, raw. ``ApiException`` passes through for the caller to place in context."""
        self._count("requests", 1)
        path, params = where
        try:
            response = kube_client.get(self.api_client, path, path_params=params, query=query, timeout=self.timeout_seconds)
            body: bytes = response.data
            response.release_conn()
        except kube_errors.ApiException:
            raise
        except ChatOpsError:
            raise
        except Exception as exc:
            raise kube_errors.translate(exc, cluster=self.cluster) from None
        self._count("bytes", len(body))
        return body

    def _count(self, key: str, amount: int) -> None:
        with self._lock:
            self.stats[key] += amount

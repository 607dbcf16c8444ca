"""``KubeSource``: one cluster's Kubernetes API, read cheaply.

Every call asks the server to do the filtering (label and field selectors),
pages through big lists with ``limit``/``continue`` so that neither side holds
150,000 pods in one answer, and decodes the raw bytes with orjson straight
into snapshot types. Every request carries a timeout, and the counters in
``stats`` are what the benchmark reports as requests per API.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import orjson
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from bot.errors import ChatOpsError
from bot.model.kube import DisruptionBudget, Event, Node, Pod, Usage, Workload
from bot.model.logs import LogLine
from bot.settings import ClusterConfig
from bot.sources.kube import errors as kube_errors
from bot.sources.kube.client import api_client_for
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

T = TypeVar("T")

PAGE_SIZE = 500
MAX_TAIL_LINES = 5000
METRICS_GROUP, METRICS_VERSION = "metrics.k8s.io", "v1beta1"
# What the API server answers for metrics.k8s.io when metrics-server is not installed (404)
# or its APIService is registered but not answering (503): usage is then unknown, not an error.
METRICS_ABSENT = (404, 503)


class KubeSource:
    """Implements ``KubeReader``; safe to share between the command handlers and the scheduler."""

    def __init__(
        self,
        cluster: str,
        api_client: client.ApiClient | Callable[[], client.ApiClient],
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
        self._client = Lazy(api_client, client.ApiClient)

    @classmethod
    def from_config(cls, config: ClusterConfig) -> KubeSource:
        return cls(config.name, lambda: api_client_for(config), timeout_seconds=config.request_timeout_seconds)

    @property
    def api_client(self) -> client.ApiClient:
        """The client, built on first use (raises ``NotConfigured`` while that fails)."""
        return self._client.get()

    # -- KubeReader ---------------------------------------------------------------------

    def server_version(self) -> str:
        raw = self._get_json(client.VersionApi(self.api_client).get_code)
        return str(raw.get("gitVersion", ""))

    def list_nodes(self, *, label_selector: str | None = None, field_selector: str | None = None) -> list[Node]:
        core = client.CoreV1Api(self.api_client)
        return self._list(core.list_node, parse_listed_node, label_selector=label_selector, field_selector=field_selector)

    def get_node(self, name: str) -> Node:
        core = client.CoreV1Api(self.api_client)
        return parse_node(self._get_json(core.read_node, name, missing=f"Node `{name}`"))

    def list_pods(
        self,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Pod]:
        core = client.CoreV1Api(self.api_client)
        if namespace:
            return self._list(
                core.list_namespaced_pod, parse_pod, namespace,
                label_selector=label_selector, field_selector=field_selector,
            )
        return self._list(
            core.list_pod_for_all_namespaces, parse_pod, label_selector=label_selector, field_selector=field_selector
        )

    def get_pod(self, namespace: str, name: str) -> Pod:
        core = client.CoreV1Api(self.api_client)
        return parse_pod(self._get_json(core.read_namespaced_pod, name, namespace, missing=f"Pod `{namespace}/{name}`"))

    def list_events(self, *, namespace: str | None = None, field_selector: str | None = None) -> list[Event]:
        core = client.CoreV1Api(self.api_client)
        if namespace:
            return self._list(core.list_namespaced_event, parse_event, namespace, field_selector=field_selector)
        return self._list(core.list_event_for_all_namespaces, parse_event, field_selector=field_selector)

    def list_disruption_budgets(self, *, namespace: str | None = None) -> list[DisruptionBudget]:
        policy = client.PolicyV1Api(self.api_client)
        if namespace:
            return self._list(policy.list_namespaced_pod_disruption_budget, parse_disruption_budget, namespace)
        return self._list(policy.list_pod_disruption_budget_for_all_namespaces, parse_disruption_budget)

    def namespace_exists(self, name: str) -> bool:
        core = client.CoreV1Api(self.api_client)
        try:
            self._fetch(core.read_namespace, name)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise kube_errors.translate(exc, cluster=self.cluster) from None
        return True

    def list_deployments(self, *, namespace: str | None = None, label_selector: str | None = None) -> list[Workload]:
        apps = client.AppsV1Api(self.api_client)
        if namespace:
            return self._list(apps.list_namespaced_deployment, parse_deployment, namespace, label_selector=label_selector)
        return self._list(apps.list_deployment_for_all_namespaces, parse_deployment, label_selector=label_selector)

    def list_statefulsets(self, *, namespace: str | None = None, label_selector: str | None = None) -> list[Workload]:
        apps = client.AppsV1Api(self.api_client)
        if namespace:
            return self._list(apps.list_namespaced_stateful_set, parse_statefulset, namespace, label_selector=label_selector)
        return self._list(apps.list_stateful_set_for_all_namespaces, parse_statefulset, label_selector=label_selector)

    def list_daemonsets(self, *, namespace: str | None = None, label_selector: str | None = None) -> list[Workload]:
        apps = client.AppsV1Api(self.api_client)
        if namespace:
            return self._list(apps.list_namespaced_daemon_set, parse_daemonset, namespace, label_selector=label_selector)
        return self._list(apps.list_daemon_set_for_all_namespaces, parse_daemonset, label_selector=label_selector)

    def get_deployment(self, namespace: str, name: str) -> Workload:
        apps = client.AppsV1Api(self.api_client)
        raw = self._get_json(apps.read_namespaced_deployment, name, namespace, missing=f"Deployment `{namespace}/{name}`")
        return parse_deployment(raw)

    def get_statefulset(self, namespace: str, name: str) -> Workload:
        apps = client.AppsV1Api(self.api_client)
        raw = self._get_json(apps.read_namespaced_stateful_set, name, namespace, missing=f"StatefulSet `{namespace}/{name}`")
        return parse_statefulset(raw)

    def get_daemonset(self, namespace: str, name: str) -> Workload:
        apps = client.AppsV1Api(self.api_client)
        raw = self._get_json(apps.read_namespaced_daemon_set, name, namespace, missing=f"DaemonSet `{namespace}/{name}`")
        return parse_daemonset(raw)

    def node_metrics(self) -> list[Usage] | None:
        """Every node's usage from metrics.k8s.io; None when the cluster does not serve that API."""
        custom = client.CustomObjectsApi(self.api_client)
        return self._metrics(custom.list_cluster_custom_object, parse_node_metrics, METRICS_GROUP, METRICS_VERSION, "nodes")

    def pod_metrics(self, *, namespace: str | None = None) -> list[Usage] | None:
        """Pods' usage from metrics.k8s.io (one namespace or all); None when the cluster does not serve that API."""
        custom = client.CustomObjectsApi(self.api_client)
        if namespace:
            return self._metrics(
                custom.list_namespaced_custom_object, parse_pod_metrics, METRICS_GROUP, METRICS_VERSION, namespace, "pods"
            )
        return self._metrics(custom.list_cluster_custom_object, parse_pod_metrics, METRICS_GROUP, METRICS_VERSION, "pods")

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
        core = client.CoreV1Api(self.api_client)
        options: dict[str, Any] = {"timestamps": True, "tail_lines": max(1, min(tail_lines, MAX_TAIL_LINES))}
        if container:
            options["container"] = container
        if since_seconds:
            options["since_seconds"] = since_seconds
        body = self._get_bytes(
            core.read_namespaced_pod_log, name, namespace, missing=f"Pod `{namespace}/{name}`", **options
        )
        origin = f"{name}/{container}" if container else name
        lines = body.decode("utf-8", errors="replace").splitlines()
        return [parse_log_line(line, origin=origin) for line in lines if line]

    # -- plumbing -----------------------------------------------------------------------

    def _list(self, call: Callable[..., Any], parse: Callable[[Json], T], *args: Any, **selectors: Any) -> list[T]:
        """All pages of a list, parsed page by page so raw JSON never piles up.

        A continue token can expire (410) on a slow walk through a huge list; the
        walk then restarts once from the beginning, as kubectl does.
        """
        options = {k: v for k, v in selectors.items() if v}
        try:
            return [parse(item) for item in self._items(call, *args, **options)]
        except ApiException as exc:
            if exc.status != 410:
                raise kube_errors.translate(exc, cluster=self.cluster) from None
        try:
            return [parse(item) for item in self._items(call, *args, **options)]
        except ApiException as exc:
            raise kube_errors.translate(exc, cluster=self.cluster) from None

    def _metrics(self, call: Callable[..., Any], parse: Callable[[Json], Usage], *args: Any) -> list[Usage] | None:
        try:
            page = self._fetch_json(call, *args)
        except ApiException as exc:
            if exc.status in METRICS_ABSENT:
                return None
            raise kube_errors.translate(exc, cluster=self.cluster) from None
        return [parse(item) for item in page.get("items") or ()]

    def _items(self, call: Callable[..., Any], *args: Any, **options: Any) -> Iterator[Json]:
        token: str | None = None
        while True:
            page = self._fetch_json(call, *args, limit=self.page_size, _continue=token, **options)
            yield from page.get("items") or ()
            token = (page.get("metadata") or {}).get("continue") or None
            if not token:
                return

    def _get_json(self, call: Callable[..., Any], *args: Any, missing: str = "", **options: Any) -> Json:
        try:
            return self._fetch_json(call, *args, **options)
        except ApiException as exc:
            raise kube_errors.translate(exc, cluster=self.cluster, missing=missing) from None

    def _get_bytes(self, call: Callable[..., Any], *args: Any, missing: str = "", **options: Any) -> bytes:
        try:
            return self._fetch(call, *args, **options)
        except ApiException as exc:
            raise kube_errors.translate(exc, cluster=self.cluster, missing=missing) from None

    def _fetch_json(self, call: Callable[..., Any], *args: Any, **options: Any) -> Json:
        body = self._fetch(call, *args, **options)
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise kube_errors.translate(exc, cluster=self.cluster) from None
        return decoded if isinstance(decoded, dict) else {}

    def _fetch(self, call: Callable[..., Any], *args: Any, **options: Any) -> bytes:
        """One request, raw. ``ApiException`` passes through for the caller to place in context."""
        self._count("requests", 1)
        try:
            response = call(*args, _preload_content=False, _request_timeout=self.timeout_seconds, **options)
            body: bytes = response.data
            response.release_conn()
        except ApiException:
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

"""``GkeSource``: the GKE API's view of one configured cluster.

The client is built on first use: finding Application Default Credentials may
probe the metadata server, and one cluster's missing credentials must not hold
up the bot's start-up or the other clusters.
"""

from __future__ import annotations

from collections.abc import Callable

from google.api_core.retry import Retry
from google.cloud.container_v1 import ClusterManagerClient
from google.cloud.container_v1.services.cluster_manager.transports.rest import (
    ClusterManagerRestTransport,
)

from bot.model.gke import GkeCluster, Operation
from bot.settings import ClusterConfig, GkeConfig
from bot.sources.google.calls import GoogleCalls
from bot.sources.google.endpoint import credentials_for, parse_endpoint
from bot.sources.google.gke_parse import parse_cluster, parse_operation, targets_cluster
from bot.sources.google.retry import bounded_retry
from bot.sources.lazy import Lazy

SERVICE = "The GKE API"
ROLE = "roles/container.viewer"


def cluster_manager_for(gke: GkeConfig) -> ClusterManagerClient:
    """REST transport always: it is what the endpoint override (and the simulated world) speaks."""
    credentials = credentials_for(gke.anonymous)
    if gke.container_endpoint:
        endpoint = parse_endpoint(gke.container_endpoint)
        transport = ClusterManagerRestTransport(host=endpoint.host, url_scheme=endpoint.scheme, credentials=credentials)
    else:
        transport = ClusterManagerRestTransport(credentials=credentials)
    return ClusterManagerClient(transport=transport)


class GkeSource:
    """Implements ``GkeReader``."""

    def __init__(
        self,
        gke: GkeConfig,
        client: ClusterManagerClient | Callable[[], ClusterManagerClient],
        *,
        timeout_seconds: float = 10.0,
        retry: Retry | None = None,
    ) -> None:
        self.gke = gke
        self._calls = GoogleCalls(SERVICE, ROLE, timeout_seconds=timeout_seconds, retry=retry)
        self._client = Lazy(client, ClusterManagerClient)

    @classmethod
    def from_config(cls, config: ClusterConfig) -> GkeSource:
        assert config.gke is not None, "GkeSource needs a cluster configured as GKE"
        gke = config.gke
        timeout = config.request_timeout_seconds
        return cls(gke, lambda: cluster_manager_for(gke), timeout_seconds=timeout, retry=bounded_retry(timeout))

    @property
    def stats(self) -> dict[str, int]:
        return self._calls.stats

    @property
    def client(self) -> ClusterManagerClient:
        return self._client.get()

    @property
    def cluster_path(self) -> str:
        return f"projects/{self.gke.project}/locations/{self.gke.location}/clusters/{self.gke.cluster}"

    def get_cluster(self) -> GkeCluster:
        cluster = self._calls(
            lambda: self.client.get_cluster(name=self.cluster_path, **self._calls.options),
            missing=f"GKE cluster {self.gke.cluster} in {self.gke.project}/{self.gke.location}",
        )
        return parse_cluster(cluster, project=self.gke.project)

    def list_operations(self) -> list[Operation]:
        """Operations whose target is this cluster or one of its pools, newest first.

        They are listed at the cluster's own location: a zonal cluster's
        operations live in its zone, a regional one's in its region.
        """
        parent = f"projects/{self.gke.project}/locations/{self.gke.location}"
        answer = self._calls(lambda: self.client.list_operations(parent=parent, **self._calls.options))
        mine = [
            parse_operation(op)
            for op in answer.operations
            if targets_cluster(op.target_link, cluster=self.gke.cluster, location=self.gke.location)
        ]
        return sorted(mine, key=lambda op: (op.started is not None, op.started), reverse=True)

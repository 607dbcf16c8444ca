"""Building a Kubernetes ``ApiClient`` for one configured cluster.

Each cluster gets its own ``Configuration`` object, never the library's global
default, so several clusters (and several credentials) live side by side.
Retries are bounded here: urllib3 would otherwise retry a read timeout three
times, turning a 10-second timeout into 40 seconds of silence.
"""

from __future__ import annotations

from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException
from urllib3.util.retry import Retry

from bot.errors import NotConfigured
from bot.settings import ClusterConfig

# Reconnect once on a refused or reset connection; never re-send a request that timed out.
CONNECTION_RETRIES = Retry(total=1, connect=1, read=0, status=0, other=0, redirect=2, raise_on_redirect=True)


def api_client_for(cluster: ClusterConfig) -> client.ApiClient:
    """A client from the pod's service account or the kubeconfig context, in a fresh configuration."""
    configuration = client.Configuration()
    configuration.retries = CONNECTION_RETRIES
    try:
        if cluster.in_cluster:
            config.load_incluster_config(client_configuration=configuration)
            return client.ApiClient(configuration=configuration)
        api_client: client.ApiClient = config.new_client_from_config(
            config_file=str(cluster.kubeconfig) if cluster.kubeconfig else None,
            context=cluster.context,
            persist_config=False,
            client_configuration=configuration,
        )
        return api_client
    except (ConfigException, OSError, TypeError, ValueError) as exc:
        where = "the pod's service account" if cluster.in_cluster else _kubeconfig_label(cluster)
        raise NotConfigured(f"Cluster {cluster.name} cannot be reached with {where}: {exc}") from None


def api_client_for_url(url: str, *, token: str | None = None) -> client.ApiClient:
    """A client for a bare API server URL (the simulated world, or a proxy on loopback)."""
    configuration = client.Configuration(host=url.rstrip("/"))
    if token:
        configuration.api_key = {"authorization": token}
        configuration.api_key_prefix = {"authorization": "Bearer"}
    configuration.retries = CONNECTION_RETRIES
    return client.ApiClient(configuration=configuration)


def _kubeconfig_label(cluster: ClusterConfig) -> str:
    path = str(cluster.kubeconfig) if cluster.kubeconfig else "the default kubeconfig"
    return f"{path} (context {cluster.context})" if cluster.context else path

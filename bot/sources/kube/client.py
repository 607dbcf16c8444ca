"""Building a Kubernetes ``ApiClient`` for one configured cluster, and the one way requests go through it.

Each cluster gets its own ``Configuration`` object, never the library's global
default, so several clusters (and several credentials) live side by side.
Retries are bounded here: urllib3 would otherwise retry a read timeout three
times, turning a 10-second timeout into 40 seconds of silence.

The bot decodes every answer itself (orjson, straight into snapshot types), so
it has no use for the client's generated API classes: importing ``CoreV1Api``
and the models its signatures name costs most of a second, paid again by every
`k8s-chatops ask` and every restarted pod before its first answer. ``get``
builds the same request a generated method would (the library's parameter
serialisation, its ``BearerToken`` auth setting, refreshed by kubeconfig exec
and auth-provider plugins, its TLS, proxies and retries) and hands back the
unread urllib3 response, as ``_preload_content=False`` did. The library is
imported only when a client is first built, so a command that reads no
cluster (``help``) never loads it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bot.errors import NotConfigured
from bot.settings import ClusterConfig

if TYPE_CHECKING:
    from kubernetes.client.api_client import ApiClient
    from urllib3 import BaseHTTPResponse
    from urllib3.util.retry import Retry

# The auth setting every generated method names: the configuration's bearer token, when it has one.
AUTH_SETTINGS = ["BearerToken"]
# What the generated methods ask for (the library picks the JSON entry of their lists, watches included).
ACCEPT_JSON = "application/json"

Query = Sequence[tuple[str, str | int | bool]]
Timeout = float | tuple[float, float]


def _connection_retries() -> Retry:
    """Reconnect once on a refused or reset connection; never re-send a request that timed out."""
    from urllib3.util.retry import Retry

    return Retry(total=1, connect=1, read=0, status=0, other=0, redirect=2, raise_on_redirect=True)


def api_client_for(cluster: ClusterConfig) -> ApiClient:
    """A client from the pod's service account or the kubeconfig context, in a fresh configuration."""
    from kubernetes import config
    from kubernetes.client.api_client import ApiClient
    from kubernetes.client.configuration import Configuration
    from kubernetes.config.config_exception import ConfigException

    configuration = Configuration()
    configuration.retries = _connection_retries()
    try:
        if cluster.in_cluster:
            config.load_incluster_config(client_configuration=configuration)
            return ApiClient(configuration=configuration)
        api_client: ApiClient = config.new_client_from_config(
            config_file=str(cluster.kubeconfig) if cluster.kubeconfig else None,
            context=cluster.context,
            persist_config=False,
            client_configuration=configuration,
        )
        return api_client
    except (ConfigException, OSError, TypeError, ValueError) as exc:
        where = "the pod's service account" if cluster.in_cluster else _kubeconfig_label(cluster)
        raise NotConfigured(f"Cluster {cluster.name} cannot be reached with {where}: {exc}") from None


def api_client_for_url(url: str, *, token: str | None = None) -> ApiClient:
    """A client for a bare API server URL (the simulated world, or a proxy on loopback)."""
    from kubernetes.client.api_client import ApiClient
    from kubernetes.client.configuration import Configuration

    configuration = Configuration(host=url.rstrip("/"))
    if token:
        configuration.api_key = {"authorization": token}
        configuration.api_key_prefix = {"authorization": "Bearer"}
    configuration.retries = _connection_retries()
    return ApiClient(configuration=configuration)


def get(
    api_client: ApiClient,
    path: str,
    *,
    path_params: Mapping[str, str] | None = None,
    query: Query = (),
    timeout: Timeout,
) -> BaseHTTPResponse:
    """One GET, its body unread: the caller reads it whole or streams it, then releases the connection.

    ``path`` is the API's template (``/api/v1/namespaces/{namespace}/pods``);
    the library escapes ``path_params`` into it and encodes ``query`` (booleans
    as ``true``) exactly as for its generated methods. An answer outside 2xx
    raises the library's ``ApiException`` (its subclass per status), body read.
    """
    from kubernetes.client.exceptions import ApiException

    method, url, headers, body, post_params = api_client.param_serialize(
        method="GET",
        resource_path=path,
        path_params=dict(path_params or {}),
        query_params=list(query),
        header_params={"Accept": ACCEPT_JSON},
        auth_settings=AUTH_SETTINGS,
    )
    response: Any = api_client.call_api(method, url, headers, body, post_params, _request_timeout=timeout)
    if not 200 <= response.status <= 299:
        response.read()
        raise ApiException.from_response(http_resp=response, body=None, data=None)
    raw: BaseHTTPResponse = response.response
    return raw


def _kubeconfig_label(cluster: ClusterConfig) -> str:
    path = str(cluster.kubeconfig) if cluster.kubeconfig else "the default kubeconfig"
    return f"{path} (context {cluster.context})" if cluster.context else path

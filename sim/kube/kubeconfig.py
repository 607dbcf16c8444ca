"""A kubeconfig pointing at the simulated API server.

kubectl and the kubernetes client both read kubeconfig files; writing one lets
the same tools an operator uses be pointed at the simulated cluster unchanged.
The token is the one the simulated server accepts (``sim.kube.auth``); any
other token is refused. kubectl sends it only over TLS (client-go drops a
kubeconfig's credentials for a plain-HTTP server), so a kubeconfig for the
HTTPS endpoint carries the simulator's CA (``sim.kube.tls``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from sim.kube import tls
from sim.kube.auth import TOKEN


def write_kubeconfig(
    path: str | Path, server_url: str, *, context: str = "sim", cluster: str = "sim", namespace: str = "default", token: str = TOKEN
) -> Path:
    """A kubeconfig for ``server_url``; an ``https://`` one (``Endpoints.kube_tls``) trusts the simulator's CA."""
    return _write(path, [(context, cluster, server_url)], current=context, namespace=namespace, token=token)


def write_fleet_kubeconfig(
    path: str | Path, servers: Mapping[str, str], *, current: str | None = None, namespace: str = "default", token: str = TOKEN
) -> Path:
    """One kubeconfig for a fleet: a context per cluster, named after it (``servers`` maps names to URLs).

    An operator with many clusters switches with ``kubectl --context``; the
    bot's configuration names each cluster's context in the same file.
    """
    if not servers:
        raise ValueError("a fleet kubeconfig needs at least one cluster")
    entries = [(name, name, url) for name, url in servers.items()]
    return _write(path, entries, current=current or entries[0][0], namespace=namespace, token=token)


def _write(path: str | Path, entries: list[tuple[str, str, str]], *, current: str, namespace: str, token: str) -> Path:
    """Write (context, cluster, server URL) entries, each cluster with a user of its own."""
    target = Path(path)
    clusters, users, contexts = [], [], []
    for context, cluster, server_url in entries:
        server: dict[str, str] = {"server": server_url}
        if server_url.startswith("https://"):
            server["certificate-authority-data"] = tls.ca_data()
        clusters.append({"name": cluster, "cluster": server})
        users.append({"name": f"{cluster}-user", "user": {"token": token}})
        contexts.append({"name": context, "context": {"cluster": cluster, "user": f"{cluster}-user", "namespace": namespace}})
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": clusters,
        "users": users,
        "contexts": contexts,
        "current-context": current,
        "preferences": {},
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(config, sort_keys=False))
    return target

"""A kubeconfig pointing at the simulated API server.

kubectl and the kubernetes client both read kubeconfig files; writing one lets
the same tools an operator uses be pointed at the simulated cluster unchanged.
The token is the one the simulated server accepts (``sim.kube.auth``); any
other token is refused. kubectl sends it only over TLS (client-go drops a
kubeconfig's credentials for a plain-HTTP server), so a kubeconfig for the
HTTPS endpoint carries the simulator's CA (``sim.kube.tls``).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from sim.kube import tls
from sim.kube.auth import TOKEN


def write_kubeconfig(
    path: str | Path, server_url: str, *, context: str = "sim", cluster: str = "sim", namespace: str = "default", token: str = TOKEN
) -> Path:
    """A kubeconfig for ``server_url``; an ``https://`` one (``Endpoints.kube_tls``) trusts the simulator's CA."""
    target = Path(path)
    server: dict[str, str] = {"server": server_url}
    if server_url.startswith("https://"):
        server["certificate-authority-data"] = tls.ca_data()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": server}],
        "users": [{"name": f"{cluster}-user", "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": cluster, "user": f"{cluster}-user", "namespace": namespace}}],
        "current-context": context,
        "preferences": {},
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(config, sort_keys=False))
    return target

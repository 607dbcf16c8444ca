"""A kubeconfig pointing at the simulated API server.

kubectl and the kubernetes client both read kubeconfig files; writing one lets
the same tools an operator uses be pointed at the simulated cluster unchanged.
The token is ignored by the server but keeps clients on their normal
authenticated code path.
"""

from __future__ import annotations

from pathlib import Path

import yaml


def write_kubeconfig(path: str | Path, server_url: str, *, context: str = "sim", cluster: str = "sim", namespace: str = "default") -> Path:
    target = Path(path)
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": server_url}}],
        "users": [{"name": f"{cluster}-user", "user": {"token": "sim-token"}}],
        "contexts": [{"name": context, "context": {"cluster": cluster, "user": f"{cluster}-user", "namespace": namespace}}],
        "current-context": context,
        "preferences": {},
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(config, sort_keys=False))
    return target

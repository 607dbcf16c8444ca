"""Write what a user needs to point kubectl and the bot at a running simulated world.

`k8s-chatops sim` and the demo call this so anyone can try `kubectl get nodes`
or `k8s-chatops ask nodes` against the simulation without knowing its ports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sim.server import Endpoints
from sim.world import World


def bot_config(
    endpoints: Endpoints,
    world: World,
    *,
    kubeconfig: Path,
    cluster: str,
    location: str,
    state_dir: Path,
    gke: bool = True,
    alert_channel: str = "#alerts",
) -> dict[str, Any]:
    """A bot configuration (the same shape as a production config.yaml) aimed at the sim."""
    entry: dict[str, Any] = {"name": cluster, "kubeconfig": str(kubeconfig), "context": "sim", "request_timeout_seconds": 5}
    if gke:
        entry["gke"] = {
            "project": world.project,
            "location": location,
            "cluster": cluster,
            "container_endpoint": endpoints.gke,
            "compute_endpoint": endpoints.compute,
            "logging_endpoint": endpoints.logging,
            "anonymous": True,
        }
    return {
        "clusters": [entry],
        "slack": {
            "mode": "socket",
            "api_url": endpoints.slack,
            "bot_token": world.slack.bot_token,
            "app_token": world.slack.app_token,
            "signing_secret": world.slack.signing_secret,
        },
        "alerts": {"channel": alert_channel},
        "health": {"enabled": False},
        "state_dir": str(state_dir),
    }


def write_files(
    directory: Path,
    endpoints: Endpoints,
    world: World,
    *,
    cluster: str,
    location: str,
    gke: bool = True,
) -> tuple[Path, Path]:
    """Write ``DIR/kubeconfig`` and ``DIR/config.yaml``; returns both paths."""
    from sim.kube.kubeconfig import write_kubeconfig

    directory.mkdir(parents=True, exist_ok=True)
    # HTTPS, so kubectl pointed at this file sends the token (it sends none to a plain-HTTP server)
    kubeconfig = write_kubeconfig(directory / "kubeconfig", endpoints.kube_tls or endpoints.kube, context="sim", cluster=cluster)
    config = bot_config(
        endpoints,
        world,
        kubeconfig=kubeconfig,
        cluster=cluster,
        location=location,
        state_dir=directory / "state",
        gke=gke,
    )
    config_path = directory / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return kubeconfig, config_path

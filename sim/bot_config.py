"""Write what a user needs to point kubectl and the bot at a running simulated world.

`k8s-chatops sim` and the demo call this so anyone can try `kubectl get nodes`
or `k8s-chatops ask nodes` against the simulation without knowing its ports.
A fleet gets one kubeconfig with a context per cluster and one bot
configuration listing every cluster, as a team with many clusters has.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sim.fleet import Fleet
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
    entry = _cluster_entry(endpoints, world.project, kubeconfig=kubeconfig, context="sim", cluster=cluster, location=location, gke=gke)
    return _config([entry], endpoints, world, state_dir=state_dir, alert_channel=alert_channel)


def fleet_bot_config(
    endpoints: Endpoints, fleet: Fleet, *, kubeconfig: Path, state_dir: Path, alert_channel: str = "#alerts"
) -> dict[str, Any]:
    """One configuration for every cluster of ``fleet``, each through its own context of ``kubeconfig``."""
    entries = [
        _cluster_entry(endpoints, fleet.project, kubeconfig=kubeconfig, context=name, cluster=name, location=fleet.location(name))
        for name in fleet.worlds
    ]
    return _config(entries, endpoints, fleet.services, state_dir=state_dir, alert_channel=alert_channel)


def _cluster_entry(
    endpoints: Endpoints, project: str, *, kubeconfig: Path, context: str, cluster: str, location: str, gke: bool = True
) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": cluster, "kubeconfig": str(kubeconfig), "context": context, "request_timeout_seconds": 5}
    if gke:
        entry["gke"] = {
            "project": project,
            "location": location,
            "cluster": cluster,
            "container_endpoint": endpoints.gke,
            "compute_endpoint": endpoints.compute,
            "logging_endpoint": endpoints.logging,
            "anonymous": True,
        }
    return entry


def _config(
    clusters: list[dict[str, Any]], endpoints: Endpoints, world: World, *, state_dir: Path, alert_channel: str
) -> dict[str, Any]:
    return {
        "clusters": clusters,
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


def write_fleet_files(directory: Path, endpoints: Endpoints, fleet: Fleet) -> tuple[Path, Path]:
    """Write ``DIR/kubeconfig`` (a context per cluster, the first current) and ``DIR/config.yaml``; returns both."""
    from sim.kube.kubeconfig import write_fleet_kubeconfig

    directory.mkdir(parents=True, exist_ok=True)
    servers = {name: tls_url or plain for name, (plain, tls_url) in endpoints.kube_by_cluster.items()}
    kubeconfig = write_fleet_kubeconfig(directory / "kubeconfig", servers)
    config = fleet_bot_config(endpoints, fleet, kubeconfig=kubeconfig, state_dir=directory / "state")
    config_path = directory / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return kubeconfig, config_path

"""From the settings to a ``ClusterRegistry``: one handle per configured cluster.

Nothing here talks to a network or reads credentials: every reader builds its
client on first use. A cluster whose kubeconfig is missing, or whose Google
credentials cannot be found, therefore fails its own commands with a clear
sentence while the bot starts and serves every other cluster.
"""

from __future__ import annotations

from bot.clock import Clock
from bot.clusters import ClusterHandle, ClusterRegistry
from bot.settings import ClusterConfig, Settings
from bot.sources.cloud_logging import CloudLoggingSource
from bot.sources.compute import ComputeSource
from bot.sources.gke import GkeSource
from bot.sources.kube import KubeSource


def build_cluster(config: ClusterConfig, *, clock: Clock | None = None) -> ClusterHandle:
    """Kubernetes always; GKE and Compute when ``gke`` is set; Cloud Logging when it is also on."""
    handle = ClusterHandle(config=config, kube=KubeSource.from_config(config))
    if config.gke is not None:
        handle.gke = GkeSource.from_config(config)
        handle.compute = ComputeSource.from_config(config)
        if config.uses_cloud_logging:
            handle.logs = CloudLoggingSource.from_config(config, clock=clock)
    return handle


def build_registry(settings: Settings, *, clock: Clock | None = None) -> ClusterRegistry:
    handles = [build_cluster(config, clock=clock) for config in settings.clusters]
    return ClusterRegistry(handles, settings.slack.channel_clusters)

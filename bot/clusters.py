"""The configured clusters: one handle per cluster, holding a reader per API and its watch cache.

Nothing here talks to a network or reads credentials when it is built: every
reader builds its client on first use. A cluster whose kubeconfig is missing,
or whose Google credentials cannot be found, therefore fails its own commands
with a clear sentence while the bot starts and serves every other cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.errors import BadInput, NotConfigured
from bot.model.gke import GkeCluster, ManagedVm
from bot.settings import ClusterConfig, Settings
from bot.sources.contracts import ComputeReader, GkeReader, KubeReader, LogReader
from bot.sources.lazy import Lazy
from bot.sources.shared import SharedReads

if TYPE_CHECKING:  # the Kubernetes client library is imported when a cluster is first read
    from bot.sources.kube.cache import CacheSnapshot, KubeCache


@dataclass
class ClusterHandle:
    """One cluster: its configuration, a reader per API it has, and what was learned from them.

    ``gke``, ``compute`` and ``logs`` are None on plain Kubernetes (or where
    Cloud Logging is off): GKE-specific answers check for them and say what
    is not configured instead of failing. ``watch`` runs only where alerts
    do (their checks keep it busy); commands read it once it has synced.
    """

    config: ClusterConfig
    kube: KubeReader
    gke: GkeReader | None = None
    compute: ComputeReader | None = None
    logs: LogReader | None = None
    watch: KubeCache | None = None
    # Node-pool VMs as the last check cycle read them, creation times included: a command
    # reuses those times instead of asking Compute once per VM again.
    recent_vms: tuple[ManagedVm, ...] = ()
    # Answers being computed at the same moment (a burst of `nodes` during an incident) share these reads.
    shared: SharedReads = field(default_factory=SharedReads)

    @property
    def name(self) -> str:
        return self.config.name

    def gke_cluster(self) -> GkeCluster:
        """GKE's view of the cluster, one request for all the answers that need it at once."""
        gke = self.gke
        if gke is None:
            raise NotConfigured(f"`{self.name}` is not configured as a GKE cluster.")
        return self.shared.get("gke-cluster", gke.get_cluster)

    def group_vms(self, instance_groups: list[str], pools: Mapping[tuple[str, str], str]) -> list[ManagedVm]:
        """The members of these instance groups, shared like ``gke_cluster`` (the costliest read of `nodes`)."""
        compute = self.compute
        if compute is None:
            return []
        key = ("group-vms", tuple(instance_groups))
        return list(self.shared.get(key, lambda: tuple(compute.list_managed_vms(instance_groups, pools=pools))))

    def start_watch(self) -> None:
        """Keep nodes and problem pods in memory from a watch (only for a real Kubernetes reader)."""
        from bot.sources.kube.cache import KubeCache
        from bot.sources.kube.reader import KubeSource

        if self.watch is None and isinstance(self.kube, KubeSource):
            self.watch = KubeCache(self.kube).start()

    def stop_watch(self) -> None:
        if self.watch is not None:
            self.watch.stop()
            self.watch = None

    def watched(self) -> CacheSnapshot | None:
        """Nodes and problem pods from the watch cache, when it has synced; None means "list them".

        On a big cluster reading these from memory instead of listing them is
        the difference between milliseconds and seconds. A watch can outlive
        the API server's ability to answer (a control plane going down
        mid-upgrade), so a version request, which raises the usual error when
        the API is down, comes first: an answer never comes from a frozen cache.
        """
        if self.watch is None or not self.watch.synced:
            return None
        self.kube.server_version()
        return self.watch.snapshot()

    def with_creation_times(self, vms: list[ManagedVm], limit: int) -> list[ManagedVm]:
        """``vms`` with when each was created: from the last check or an earlier lookup, else one request each.

        At most ``limit`` are looked up; the rest keep ``created`` unknown.
        """
        if self.compute is None:
            return vms
        return self.compute.with_created(vms, known=self.recent_vms, limit=limit)


class ClusterRegistry:
    """Looks clusters up by name, with per-channel defaults.

    ``handles`` may be a factory, called the first time a cluster is looked up:
    building a handle imports its readers' client libraries, which a command
    that reads no cluster (``help``) should not wait for.
    """

    def __init__(
        self, handles: list[ClusterHandle] | Callable[[], list[ClusterHandle]], channel_defaults: dict[str, str] | None = None
    ) -> None:
        listed = handles
        self._built: Lazy[dict[str, ClusterHandle]] = Lazy(
            lambda: {h.name: h for h in (listed() if callable(listed) else listed)}
        )
        self._channel_defaults = dict(channel_defaults or {})

    @property
    def _handles(self) -> dict[str, ClusterHandle]:
        return self._built.get()

    def __iter__(self) -> Iterator[ClusterHandle]:
        return iter(self._handles.values())

    def __len__(self) -> int:
        return len(self._handles)

    def names(self) -> list[str]:
        return list(self._handles)

    def get(self, name: str) -> ClusterHandle:
        handle = self._handles.get(name)
        if handle is None:
            known = ", ".join(self._handles) or "none"
            raise BadInput(f"No cluster named `{name}` is configured (known: {known}).")
        return handle

    def resolve(self, name: str | None, *, channel_id: str = "", channel_name: str = "") -> ClusterHandle:
        """The named cluster, else the channel's default, else the only one configured."""
        if name:
            return self.get(name)
        for key in (channel_id, channel_name, f"#{channel_name}" if channel_name else ""):
            if key and key in self._channel_defaults:
                return self.get(self._channel_defaults[key])
        if len(self._handles) == 1:
            return next(iter(self._handles.values()))
        if not self._handles:
            raise BadInput("No cluster is configured: add one under `clusters:` in the configuration.")
        raise BadInput(
            f"Several clusters are configured ({', '.join(self._handles)}): pick one with `--cluster NAME`."
        )

    def stop_watches(self) -> None:
        for handle in self:
            handle.stop_watch()


def build_cluster(config: ClusterConfig, *, clock: Clock | None = None) -> ClusterHandle:
    """Kubernetes always; GKE and Compute when ``gke`` is set; Cloud Logging when it is also on."""
    from bot.sources.kube.reader import KubeSource

    handle = ClusterHandle(config=config, kube=KubeSource.from_config(config), shared=SharedReads(clock=clock))
    if config.gke is not None:  # the Google client libraries only where a cluster is on GKE
        from bot.sources.google.cloud_logging import CloudLoggingSource
        from bot.sources.google.compute import ComputeSource
        from bot.sources.google.gke import GkeSource

        handle.gke = GkeSource.from_config(config)
        handle.compute = ComputeSource.from_config(config)
        if config.uses_cloud_logging:
            handle.logs = CloudLoggingSource.from_config(config, clock=clock)
    return handle


def build_clusters(settings: Settings, *, clock: Clock | None = None) -> ClusterRegistry:
    """Every configured cluster, its handle built when the registry is first used."""
    return ClusterRegistry(
        lambda: [build_cluster(config, clock=clock) for config in settings.clusters], settings.slack.channel_clusters
    )

"""The configured clusters and the readers that reach each of them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from bot.errors import BadInput
from bot.settings import ClusterConfig
from bot.sources.contracts import ComputeReader, GkeReader, KubeReader, LogReader


@dataclass
class ClusterHandle:
    """One cluster: its configuration and a reader per API it has.

    ``gke``, ``compute`` and ``logs`` are None on plain Kubernetes (or where
    Cloud Logging is off): GKE-specific answers check for them and say what
    is not configured instead of failing.
    """

    config: ClusterConfig
    kube: KubeReader
    gke: GkeReader | None = None
    compute: ComputeReader | None = None
    logs: LogReader | None = None

    @property
    def name(self) -> str:
        return self.config.name


class ClusterRegistry:
    """Looks clusters up by name, with per-channel defaults."""

    def __init__(self, handles: list[ClusterHandle], channel_defaults: dict[str, str] | None = None) -> None:
        self._handles = {h.name: h for h in handles}
        self._channel_defaults = dict(channel_defaults or {})

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

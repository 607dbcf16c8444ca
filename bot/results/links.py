"""Links and command hints an answer offers for follow-up."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LogLink:
    """A Logs Explorer link for one component of one node (or a pod, or the autoscaler)."""

    label: str
    url: str


@dataclass(frozen=True)
class SshHint:
    """Everything needed to get a shell on a node-pool VM through IAP."""

    cluster: str
    target: str  # node or VM name
    zone: str
    project: str
    registered: bool  # False: a VM of the pool that never became a node
    ssh_command: str
    browser_url: str
    firewall_command: str
    credentials_command: str

"""The IAP SSH hint for a node or a pool VM: exact commands, nothing run.

The bot never opens a shell itself; it hands the engineer a command that
works the first time. Every value is shell-quoted even though validators
already restrict names, because the line is meant to be pasted into a shell.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from urllib.parse import quote

from bot.model.gke import is_region

IAP_RANGE = "35.235.240.0/20"


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


def _region_or_zone_flag(location: str) -> str:
    return "--region" if is_region(location) else "--zone"


def ssh_hint(
    *,
    cluster: str,
    target: str,
    zone: str,
    project: str,
    gke_cluster: str,
    gke_location: str,
    registered: bool,
    network: str = "NETWORK",
) -> SshHint:
    q = shlex.quote
    ssh = f"gcloud compute ssh {q(target)} --zone {q(zone)} --project {q(project)} --tunnel-through-iap"
    browser = (
        "https://ssh.cloud.google.com/v2/ssh/projects/"
        f"{quote(project, safe='')}/zones/{quote(zone, safe='')}/instances/{quote(target, safe='')}"
    )
    firewall = (
        f"gcloud compute firewall-rules create allow-ssh-from-iap --project {q(project)} "
        f"--network={q(network)} --direction=INGRESS --action=allow --allow=tcp:22 --source-ranges={IAP_RANGE}"
    )
    credentials = (
        f"gcloud container clusters get-credentials {q(gke_cluster)} "
        f"{_region_or_zone_flag(gke_location)} {q(gke_location)} --project {q(project)}"
    )
    return SshHint(
        cluster=cluster,
        target=target,
        zone=zone,
        project=project,
        registered=registered,
        ssh_command=ssh,
        browser_url=browser,
        firewall_command=firewall,
        credentials_command=credentials,
    )

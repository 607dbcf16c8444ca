"""gcloud aimed at the simulated world: one environment shared by every test that runs the real gcloud.

A throwaway configuration directory, credentials off, and each API's
endpoint overridden to the simulator's, so nothing leaves loopback.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

GCLOUD = shutil.which("gcloud") or ("/usr/bin/gcloud" if Path("/usr/bin/gcloud").exists() else None)


def gcloud_env(home: Path, project: str, **endpoints: str) -> dict[str, str]:
    """The environment for gcloud; ``endpoints`` maps an API (``compute``, ``container``...) to its override URL."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "CLOUDSDK_CONFIG": str(home / "gcloud"),
        "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
        "CLOUDSDK_AUTH_DISABLE_CREDENTIALS": "true",
        "CLOUDSDK_CORE_PROJECT": project,
    }
    env.update({f"CLOUDSDK_API_ENDPOINT_OVERRIDES_{api.upper()}": url for api, url in endpoints.items()})
    return env

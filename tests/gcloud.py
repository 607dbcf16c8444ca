"""gcloud aimed at the simulated world: one environment shared by every test that runs the real gcloud.

A throwaway configuration directory, credentials off, and each API's
endpoint overridden to the simulator's, so nothing leaves loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.kubectl import KUBECTL

GCLOUD = shutil.which("gcloud") or ("/usr/bin/gcloud" if Path("/usr/bin/gcloud").exists() else None)


def require(*, kubectl: bool = False) -> None:
    """Skip the calling module, saying what is missing and where it was looked for, when gcloud (or kubectl) is not
    installed; in CI, where the image ships both, a missing one fails the run instead of hiding these tests."""
    missing = [name for name, path in (("gcloud", GCLOUD), ("kubectl", KUBECTL if kubectl else "")) if path is None]
    if not missing:
        return
    reason = " and ".join(missing) + " not installed (looked on PATH and in /usr/bin): the tests that run the real CLI against the simulator need it"
    if os.environ.get("CI"):
        raise RuntimeError(reason)
    pytest.skip(reason, allow_module_level=True)


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


def gcloud_json(env: dict[str, str], *args: str) -> Any:
    """What ``gcloud ARGS --format=json`` prints, parsed; gcloud failing fails the test with its stderr."""
    assert GCLOUD is not None
    done = subprocess.run([GCLOUD, *args, "--format=json"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)

"""kubectl for the tests that run it against the simulated API: where it is, its environment, and what happens without it.

The compatibility tests are only worth something when the real kubectl runs
them, so a machine without it skips them with one reason naming what is
missing, and CI (where `.ci/run` installs kubectl when it is missing) fails
instead of hiding them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

KUBECTL = shutil.which("kubectl") or ("/usr/bin/kubectl" if Path("/usr/bin/kubectl").exists() else None)


def require(*, module: bool = True) -> str:
    """kubectl's path; without it the calling module (or, with ``module=False``, the test) is skipped."""
    if KUBECTL is not None:
        return KUBECTL
    reason = "kubectl is not installed (looked on PATH and in /usr/bin): the tests that run it against the simulator need it"
    if os.environ.get("CI"):
        raise RuntimeError(reason)
    pytest.skip(reason, allow_module_level=module)


def kubectl_env(home: Path, kubeconfig: Path) -> dict[str, str]:
    """Only what kubectl needs: no user's kubeconfig, cache or proxy settings leak in."""
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "KUBECONFIG": str(kubeconfig)}

"""gcloud logging against the simulated Cloud Logging: logs.list and entries:list."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from sim.clock import SimClock
from sim.scenario import load, load_spec
from sim.server import SimServer
from sim.world import World
from tests.gcloud import GCLOUD, gcloud_env

if GCLOUD is None:
    pytest.skip("gcloud is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, dict[str, str]]]:
    spec = load_spec("zonal-shortfall")
    world = World(SimClock(), project=spec.project)
    load(world, "zonal-shortfall")
    home = tmp_path_factory.mktemp("gcloud-logging")
    with SimServer(world) as server:
        assert server.endpoints is not None
        env = gcloud_env(home, spec.project, logging=server.endpoints.logging + "/")
        yield world, env


def gcloud(env: dict[str, str], *args: str) -> object:
    assert GCLOUD is not None
    done = subprocess.run([GCLOUD, *args, "--format=json"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_logs_list_names_every_log_that_holds_entries(setup) -> None:
    world, env = setup
    listed = gcloud(env, "logging", "logs", "list")
    wanted = sorted({entry["logName"] for entry in world.google.log_entries()})
    assert wanted, "the scenario writes kubelet and kube-proxy logs"
    assert listed == wanted


def test_logs_list_pages_as_the_api_does(setup) -> None:
    world, env = setup
    base = env["CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING"] + f"v2/projects/{world.project}/logs?pageSize=1"
    names: list[str] = []
    token = ""
    while True:
        with urllib.request.urlopen(base + (f"&pageToken={token}" if token else ""), timeout=10) as answer:
            body = json.loads(answer.read())
        names += body["logNames"]
        token = body.get("nextPageToken", "")
        if not token:
            break
    assert names == sorted({entry["logName"] for entry in world.google.log_entries()})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(env["CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING"] + "v2/projects/someone-else/logs", timeout=10)
    assert refused.value.code == 403


def test_logging_read_by_resource_type_returns_the_nodes_logs(setup) -> None:
    world, env = setup
    read = gcloud(env, "logging", "read", 'resource.type="k8s_node"', "--freshness=30d", "--limit=5")
    assert isinstance(read, list) and read
    assert all(entry["resource"]["type"] == "k8s_node" for entry in read)

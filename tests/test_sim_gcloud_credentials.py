"""gcloud container clusters get-credentials against the simulator, then kubectl with what it wrote.

The cluster's ``masterAuth.clusterCaCertificate`` is the CA that signed the
simulated API server's certificate, so the kubeconfig gcloud writes carries
``certificate-authority-data`` (not ``insecure-skip-tls-verify``) and kubectl
verifies the HTTPS endpoint with it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sim.clock import SimClock
from sim.kube import auth, tls
from sim.scenario import load, load_spec
from sim.server import SimServer
from sim.world import World
from tests.gcloud import GCLOUD, gcloud_env, gcloud_json, require
from tests.kubectl import KUBECTL

require(kubectl=True)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SimServer, dict[str, str]]]:
    spec = load_spec("zonal-shortfall")
    world = World(SimClock(), project=spec.project)
    load(world, "zonal-shortfall")
    home = tmp_path_factory.mktemp("gcloud-credentials")
    with SimServer(world) as server:
        assert server.endpoints is not None
        env = {
            **gcloud_env(home, spec.project, container=server.endpoints.gke + "/"),
            "KUBECONFIG": str(home / "kubeconfig"),
        }
        yield server, env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done


def test_get_credentials_writes_the_clusters_ca_and_kubectl_verifies_the_api_with_it(setup) -> None:
    server, env = setup
    assert GCLOUD is not None and KUBECTL is not None and server.endpoints is not None
    run(env, GCLOUD, "container", "clusters", "get-credentials", "shop-prod", "--zone", "us-west1-a")
    config = yaml.safe_load(Path(env["KUBECONFIG"]).read_text())
    [cluster] = config["clusters"]
    assert cluster["name"] == "gke_shop-project_us-west1-a_shop-prod"
    assert cluster["cluster"]["certificate-authority-data"] == tls.ca_data()
    assert "insecure-skip-tls-verify" not in cluster["cluster"]
    assert cluster["cluster"]["server"].startswith("https://")
    # The endpoint is the cluster's public address; on loopback the same CA guards the simulator's port.
    # The user is the simulator's token instead of gcloud's auth plugin, which needs Google's sign-in.
    run(env, KUBECTL, "config", "set-cluster", cluster["name"], f"--server={server.endpoints.kube_tls}")
    run(env, KUBECTL, "config", "set-credentials", "sim", f"--token={auth.TOKEN}")
    run(env, KUBECTL, "config", "set-context", "--current", "--user=sim")
    done = run(env, KUBECTL, "get", "nodes", "-o", "name")
    assert done.stdout.startswith("node/gke-shop-prod-default-pool-")
    again = yaml.safe_load(Path(env["KUBECONFIG"]).read_text())
    assert again["clusters"][0]["cluster"]["certificate-authority-data"] == tls.ca_data()


def test_get_server_config_offers_the_running_and_the_upgrade_versions(setup) -> None:
    _server, env = setup
    config = gcloud_json(env, "container", "get-server-config", "--zone", "us-west1-a")
    assert config["defaultClusterVersion"] == "1.30.5-gke.1014001"
    assert config["validMasterVersions"][:2] == ["1.31.1-gke.1146000", "1.30.5-gke.1014001"]
    assert "1.30.5-gke.1014001" in config["validNodeVersions"]
    assert [c["channel"] for c in config["channels"]] == ["RAPID", "REGULAR", "STABLE"]
    assert config["defaultImageType"] == "COS_CONTAINERD"


def test_clusters_describe_counts_the_vms_and_gives_each_pool_its_disks_and_network(setup) -> None:
    server, env = setup
    cluster = gcloud_json(env, "container", "clusters", "describe", "shop-prod", "--zone", "us-west1-a")
    assert cluster["currentNodeCount"] == 3  # one VM per zone, registered or not
    assert cluster["network"] == "default" and cluster["subnetwork"] == "default"
    [pool] = cluster["nodePools"]
    assert pool["config"]["diskSizeGb"] == 100 and pool["config"]["diskType"] == "pd-balanced"
    assert pool["config"]["imageType"] == "COS_CONTAINERD" and pool["config"]["serviceAccount"] == "default"
    assert pool["networkConfig"]["podIpv4CidrBlock"] == cluster["clusterIpv4Cidr"]
    assert pool["maxPodsConstraint"] == {"maxPodsPerNode": "110"}

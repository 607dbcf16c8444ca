"""A fleet: many clusters in one simulated project, each with a control plane of its own.

kubectl switches between the clusters of one kubeconfig by context and must
see each cluster's own nodes; gcloud lists every cluster of the project where
GKE says it is; one control plane refusing connections or answering slowly
leaves the others answering at once; every machine keeps one identity across
Compute and Kubernetes, and no two clusters share a VM or a pod address; and
`k8s-chatops sim --clusters` as a process writes a kubeconfig and a bot
configuration the bot loads and reads every cluster through.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.clusters import build_clusters
from bot.settings import load_settings
from sim import machines
from sim.fleet import Fleet
from sim.generator import GeneratedFleet, generate_fleet
from sim.kube.auth import TOKEN
from sim.kube.kubeconfig import write_fleet_kubeconfig
from sim.server import SimServer
from tests.gcloud import GCLOUD, gcloud_env, gcloud_json
from tests.kubectl import KUBECTL, kubectl_env

REPO = Path(__file__).resolve().parent.parent


Served = tuple[Fleet, GeneratedFleet, SimServer, Path]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    fleet = Fleet()
    made = generate_fleet(fleet, clusters=3, nodes=4, pods=24)
    with SimServer(fleet) as server:
        assert server.endpoints is not None
        servers = {name: tls_url for name, (_plain, tls_url) in server.endpoints.kube_by_cluster.items()}
        kubeconfig = write_fleet_kubeconfig(tmp_path_factory.mktemp("fleet") / "kubeconfig", servers)
        yield fleet, made, server, kubeconfig


def kubectl(kubeconfig: Path, *args: str) -> Any:
    if KUBECTL is None:
        pytest.skip("kubectl is not installed")
    env = kubectl_env(kubeconfig.parent, kubeconfig)
    done = subprocess.run([KUBECTL, *args, "-o", "json"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def node_names(kubeconfig: Path, context: str) -> list[str]:
    return sorted(n["metadata"]["name"] for n in kubectl(kubeconfig, "--context", context, "get", "nodes")["items"])


def get_nodes(url: str, timeout: float) -> int:
    """GET /api/v1/nodes on one cluster's plain endpoint; the HTTP status."""
    request = urllib.request.Request(f"{url}/api/v1/nodes", headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_kubectl_sees_each_contexts_own_nodes(served: Served) -> None:
    fleet, made, _server, kubeconfig = served
    first, second = node_names(kubeconfig, "fleet-01"), node_names(kubeconfig, "fleet-02")
    assert first == sorted(made.clusters["fleet-01"].node_names)
    assert second == sorted(made.clusters["fleet-02"].node_names)
    assert not set(first) & set(second)
    assert node_names(kubeconfig, "fleet-03") == sorted(n["metadata"]["name"] for n in fleet["fleet-03"].kube.items("nodes"))
    contexts = yaml.safe_load(kubeconfig.read_text())
    assert [c["name"] for c in contexts["contexts"]] == ["fleet-01", "fleet-02", "fleet-03"]
    assert contexts["current-context"] == "fleet-01"


def test_gcloud_lists_every_cluster_of_the_fleet_where_it_is(served: Served, tmp_path: Path) -> None:
    if GCLOUD is None:
        pytest.skip("gcloud is not installed")
    fleet, made, server, _kubeconfig = served
    assert server.endpoints is not None
    env = gcloud_env(tmp_path, fleet.project, container=server.endpoints.gke + "/")
    listed = {c["name"]: c for c in gcloud_json(env, "container", "clusters", "list")}
    assert {name: c["location"] for name, c in listed.items()} == {name: c.location for name, c in made.clusters.items()}
    assert listed["fleet-03"]["location"] == "us-east1-b"  # every third cluster is zonal
    assert listed["fleet-01"]["location"] == "us-central1" and len(listed["fleet-01"]["locations"]) == 3
    ranges = [ipaddress.ip_network(c["clusterIpv4Cidr"]) for c in listed.values()]
    assert not any(a.overlaps(b) for i, a in enumerate(ranges) for b in ranges[i + 1:])


def test_one_cluster_refusing_and_another_slow_leave_the_third_answering_at_once(served: Served) -> None:
    fleet, _made, server, _kubeconfig = served
    assert server.endpoints is not None
    urls = {name: plain for name, (plain, _tls) in server.endpoints.kube_by_cluster.items()}
    refusing, slow, healthy = fleet["fleet-01"], fleet["fleet-02"], fleet["fleet-03"]
    refusing.faults.kube_outage = "refuse"
    slow.faults.kube_delay_seconds = 3.0  # held on the server's one event loop, beside the other clusters' requests
    outcome: dict[str, object] = {}

    def ask_slow() -> None:
        started = time.monotonic()
        try:
            outcome["status"] = get_nodes(urls["fleet-02"], timeout=1.0)
        except OSError as exc:  # the socket timed out: the delay is real
            outcome["error"] = exc
        outcome["waited"] = time.monotonic() - started

    try:
        waiting = threading.Thread(target=ask_slow)
        waiting.start()
        time.sleep(0.2)  # the slow request is being held
        with pytest.raises(urllib.error.URLError) as refused:
            get_nodes(urls["fleet-01"], timeout=2)
        assert isinstance(refused.value.reason, ConnectionRefusedError)
        started = time.monotonic()
        assert get_nodes(urls["fleet-03"], timeout=2) == 200
        assert time.monotonic() - started < 0.5
        waiting.join(5)
        assert "error" in outcome and float(outcome["waited"]) >= 0.9, outcome  # type: ignore[arg-type]
        healthy.faults.kube_down = True
        assert get_nodes(urls["fleet-03"], timeout=2) == 503
        healthy.faults.kube_down = False
    finally:
        refusing.faults.kube_outage = ""
        slow.faults.kube_delay_seconds = 0.0
        healthy.faults.kube_down = False
    assert get_nodes(urls["fleet-01"], timeout=2) == 200  # back on the same port
    assert get_nodes(urls["fleet-02"], timeout=2) == 200


def test_fixed_ports_serve_each_cluster_where_asked_and_nothing_else() -> None:
    fleet = Fleet(["east", "west"])
    ports = {name: free_port() for name in ("kube", "kube/west", "kube_tls/west")}
    with SimServer(fleet, ports=ports) as server:
        assert server.endpoints is not None
        assert server.endpoints.kube == f"http://127.0.0.1:{ports['kube']}"
        assert server.endpoints.kube_by_cluster["east"][0] == server.endpoints.kube
        assert server.endpoints.kube_by_cluster["west"] == (
            f"http://127.0.0.1:{ports['kube/west']}", f"https://127.0.0.1:{ports['kube_tls/west']}"
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_every_machine_has_one_identity_and_no_two_clusters_share_one(served: Served) -> None:
    fleet, made, _server, _kubeconfig = served
    vms = {vm["name"]: vm for vm in fleet.google.instances()}
    assert len({vm["id"] for vm in vms.values()}) == len(vms)
    assert len({machines.internal_ip(vm) for vm in vms.values()}) == len(vms)
    pod_ranges: list[ipaddress.IPv4Network] = []
    for name, world in fleet.worlds.items():
        resource = fleet.google.get_cluster(made.clusters[name].location, name)
        assert resource is not None
        cluster_range = ipaddress.IPv4Network(resource["clusterIpv4Cidr"])
        for node in world.kube.items("nodes"):
            vm = vms[node["metadata"]["name"]]
            assert node["metadata"]["annotations"]["container.googleapis.com/instance_id"] == vm["id"]
            internal = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
            assert internal == machines.internal_ip(vm)
            assert node["spec"]["podCIDR"] == machines.pod_range(vm)
            pod_ranges.append(ipaddress.IPv4Network(node["spec"]["podCIDR"]))
            assert pod_ranges[-1].subnet_of(cluster_range)
        for pod in world.kube.items("pods"):
            if pod["status"].get("podIP"):
                assert any(ipaddress.ip_address(pod["status"]["podIP"]) in r for r in pod_ranges), pod["metadata"]["name"]
    assert len(set(pod_ranges)) == len(pod_ranges)


def test_the_troubled_clusters_are_in_trouble_and_the_rest_quiet(served: Served) -> None:
    fleet, made, _server, _kubeconfig = served
    assert made.troubles == {"fleet-02": "unregistered-zone", "fleet-03": "busy"} and made.quiet == ["fleet-01"]
    quiet = made.clusters["fleet-01"]
    assert not (quiet.unregistered_vms or quiet.not_ready_nodes or quiet.pending_pods or quiet.cordoned_nodes)
    assert not [p for p in fleet["fleet-01"].kube.items("pods") if not p["spec"].get("nodeName")]
    zone_down = made.clusters["fleet-02"]
    dark = zone_down.zones[-1]
    assert set(zone_down.unregistered_vms) == set(zone_down.vms_by_zone[dark]) and zone_down.vms_by_zone[dark]
    assert not [n for n in fleet["fleet-02"].kube.items("nodes") if n["metadata"]["labels"]["topology.kubernetes.io/zone"] == dark]
    busy = made.clusters["fleet-03"]
    unscheduled = {f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in fleet["fleet-03"].kube.items("pods") if not p["spec"].get("nodeName")}
    assert unscheduled == set(busy.pending_pods) and unscheduled


def test_sim_clusters_serves_a_fleet_the_bot_loads_and_reads(tmp_path: Path) -> None:
    state = tmp_path / "sim"
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    env = {k: v for k, v in env.items() if not k.startswith("K8S_CHATOPS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "sim", "--clusters", "3", "--nodes", "5", "--pods", "20", "--state-dir", str(state)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        printed = []
        for line in process.stdout:
            printed.append(line)
            if "Ctrl-C stops" in line:
                break
        text = "".join(printed)
        assert "Simulated fleet of 3 clusters" in text, text
        assert all(f"fleet-0{i}" in text for i in (1, 2, 3)), text
        settings = load_settings(state / "config.yaml")
        assert [c.name for c in settings.clusters] == ["fleet-01", "fleet-02", "fleet-03"]
        assert [c.context for c in settings.clusters] == ["fleet-01", "fleet-02", "fleet-03"]
        registry = build_clusters(settings)
        seen: dict[str, list[str]] = {}
        for cluster in settings.clusters:
            handle = registry.get(cluster.name)
            seen[cluster.name] = sorted(node.name for node in handle.kube.list_nodes())
            assert len(seen[cluster.name]) == 5
            assert seen[cluster.name] == node_names(state / "kubeconfig", cluster.name)
            assert handle.gke is not None
            assert handle.gke.get_cluster().location_type == ("zonal" if cluster.name == "fleet-03" else "regional")
        assert len({name for names in seen.values() for name in names}) == 15
    finally:
        process.terminate()
        process.wait(10)

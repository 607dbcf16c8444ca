"""The large-cluster generator: a busy regional GKE cluster, small enough here to check by hand."""

from __future__ import annotations

import ipaddress
import json
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import datetime

import pytest

from sim.generator import GeneratedCluster, generate
from sim.google import names
from sim.server import SimServer
from sim.world import World

NODES, PODS = 60, 1800


@pytest.fixture(scope="module")
def generated() -> tuple[World, GeneratedCluster]:
    world = World()
    return world, generate(world, nodes=NODES, pods=PODS)


@pytest.fixture(scope="module")
def server(generated: tuple[World, GeneratedCluster]) -> Iterator[SimServer]:
    with SimServer(generated[0]) as running:
        yield running


def get(server: SimServer, path: str, **query: str) -> dict:
    assert server.endpoints is not None
    url = server.endpoints.kube + path + ("?" + urllib.parse.urlencode(query) if query else "")
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


def test_counts_are_exactly_what_was_asked(generated: tuple[World, GeneratedCluster]) -> None:
    world, cluster = generated
    assert world.kube.count("nodes") == NODES == cluster.node_count
    assert world.kube.count("pods") == PODS == cluster.pod_count


def test_nodes_spread_over_three_zones_and_two_pools_of_a_regional_cluster(generated: tuple[World, GeneratedCluster]) -> None:
    world, cluster = generated
    assert cluster.location == "us-central1" and not names.is_zone(cluster.location)
    assert cluster.zones == ["us-central1-a", "us-central1-b", "us-central1-c"]
    spread = Counter(
        (n["metadata"]["labels"]["topology.kubernetes.io/zone"], n["metadata"]["labels"]["cloud.google.com/gke-nodepool"])
        for n in world.kube.items("nodes")
    )
    assert len(spread) == 6
    assert max(spread.values()) - min(spread.values()) <= 1


def test_every_node_is_a_vm_of_its_pools_instance_group(generated: tuple[World, GeneratedCluster]) -> None:
    world, cluster = generated
    for node in world.kube.items("nodes"):
        labels = node["metadata"]["labels"]
        zone, pool = labels["topology.kubernetes.io/zone"], labels["cloud.google.com/gke-nodepool"]
        name = node["metadata"]["name"]
        assert node["spec"]["providerID"] == f"gce://{world.project}/{zone}/{name}"
        assert name.startswith(names.instance_name(cluster.cluster, pool, zone, ""))
        members = world.google.managed_instances(zone, names.instance_group_name(cluster.cluster, pool, zone))
        assert members is not None and name in {m["name"] for m in members}


def test_a_handful_of_pool_vms_never_registered_and_say_why_in_their_logs(generated: tuple[World, GeneratedCluster]) -> None:
    world, cluster = generated
    node_names = set(cluster.node_names)
    assert 2 <= len(cluster.unregistered_vms) <= 8
    assert not node_names & set(cluster.unregistered_vms)
    all_vms = {vm for vms in cluster.vms_by_zone.values() for vm in vms}
    assert all_vms == node_names | set(cluster.unregistered_vms)
    logged = {e["resource"]["labels"]["node_name"] for e in world.google.log_entries() if "kube-proxy" in e["logName"]}
    assert logged == set(cluster.unregistered_vms)


def test_the_gke_cluster_names_its_pools_and_their_instance_groups(generated: tuple[World, GeneratedCluster]) -> None:
    world, cluster = generated
    gke = world.google.get_cluster(cluster.location, cluster.cluster)
    assert gke is not None
    assert [p["name"] for p in gke["nodePools"]] == cluster.pools == ["default-pool", "highmem-pool"]
    for pool in gke["nodePools"]:
        assert len(pool["instanceGroupUrls"]) == 3
        assert pool["autoscaling"]["enabled"]


def test_problem_pods_are_there_in_the_shares_asked(generated: tuple[World, GeneratedCluster]) -> None:
    world, cluster = generated
    pods = {f"{p['metadata']['namespace']}/{p['metadata']['name']}": p for p in world.kube.items("pods")}
    workload = PODS - 2 * NODES
    assert len(cluster.pending_pods) == round(workload * 0.01)
    for key in cluster.pending_pods:
        status = pods[key]["status"]
        assert status["phase"] == "Pending" and "nodeName" not in pods[key]["spec"]
        assert status["conditions"][0]["reason"] == "Unschedulable"
        assert f"0/{NODES} nodes are available" in status["conditions"][0]["message"]
    waiting = {
        key: pods[key]["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
        for key in cluster.crashloop_pods + cluster.image_pull_pods
    }
    assert set(waiting.values()) == {"CrashLoopBackOff", "ImagePullBackOff"}
    for key in cluster.oom_pods:
        assert pods[key]["status"]["containerStatuses"][0]["lastState"]["terminated"]["reason"] == "OOMKilled"
    assert len(set(cluster.problem_pods)) == len(cluster.problem_pods)


def test_no_pod_runs_on_a_notready_or_cordoned_node(generated: tuple[World, GeneratedCluster]) -> None:
    world, cluster = generated
    avoided = set(cluster.not_ready_nodes) | set(cluster.cordoned_nodes)
    assert cluster.not_ready_nodes and cluster.cordoned_nodes
    workload = [p for p in world.kube.items("pods") if p["metadata"]["namespace"] != "kube-system"]
    assert not {p["spec"].get("nodeName") for p in workload} & avoided


def test_namespaces_belong_to_teams(generated: tuple[World, GeneratedCluster]) -> None:
    world, cluster = generated
    namespaces = {n["metadata"]["name"]: n["metadata"].get("labels", {}) for n in world.kube.items("namespaces")}
    assert len(cluster.namespaces) >= 3
    for name in cluster.namespaces:
        assert namespaces[name]["team"] and namespaces[name]["env"] in ("prod", "staging", "dev")


def test_selectors_work_through_the_simulated_api(generated: tuple[World, GeneratedCluster], server: SimServer) -> None:
    _, cluster = generated
    pending = get(server, "/api/v1/pods", fieldSelector="status.phase=Pending")["items"]
    assert {f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in pending} == set(cluster.pending_pods + cluster.image_pull_pods)
    pool_nodes = get(server, "/api/v1/nodes", labelSelector="cloud.google.com/gke-nodepool=highmem-pool")["items"]
    assert len(pool_nodes) == NODES // 2
    failed = get(server, "/api/v1/events", fieldSelector="reason=FailedScheduling")["items"]
    assert {e["involvedObject"]["name"] for e in failed} == {key.split("/", 1)[1] for key in cluster.pending_pods}
    namespace = cluster.namespaces[0]
    in_namespace = get(server, f"/api/v1/namespaces/{namespace}/pods", labelSelector="team")["items"]
    assert in_namespace and all(p["metadata"]["namespace"] == namespace for p in in_namespace)
    first = get(server, "/api/v1/pods", limit="100")
    assert len(first["items"]) == 100 and first["metadata"]["continue"]


def test_the_same_seed_makes_the_same_world_and_another_seed_another() -> None:
    one, two, three = World(), World(), World()
    a, b, c = (generate(w, nodes=10, pods=300, seed=s) for w, s in ((one, 1), (two, 1), (three, 2)))
    assert a.node_names == b.node_names and a.pending_pods == b.pending_pods
    assert a.node_names != c.node_names


def test_a_zonal_location_gives_a_single_zone_cluster() -> None:
    world = World()
    cluster = generate(world, nodes=6, pods=100, location="us-west1-a", cluster="zonal")
    assert cluster.zones == ["us-west1-a"]
    assert {n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in world.kube.items("nodes")} == {"us-west1-a"}


def test_sizes_that_cannot_be_made_are_refused() -> None:
    with pytest.raises(ValueError):
        generate(World(), nodes=0, pods=10)
    with pytest.raises(ValueError):
        generate(World(), nodes=3, pods=10, zones=0)


def test_generated_nodes_are_their_vms_through_the_clients(generated: tuple[World, GeneratedCluster], server: SimServer) -> None:
    """The benchmark's cluster keeps one identity per machine too, read with the kubernetes and Compute clients."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import compute_v1
    from google.cloud.compute_v1.services.instances.transports.rest import InstancesRestTransport
    from kubernetes import client as kube_client

    world, cluster = generated
    assert server.endpoints is not None
    instances = compute_v1.InstancesClient(
        transport=InstancesRestTransport(
            host=server.endpoints.compute.removeprefix("http://"), url_scheme="http", credentials=AnonymousCredentials()
        )
    )
    with kube_client.ApiClient(kube_client.Configuration(host=server.endpoints.kube)) as api:
        core = kube_client.CoreV1Api(api)
        nodes = core.list_node().items
        assert kube_client.VersionApi(api).get_code().git_version == "v" + world.google.clusters()[0]["currentMasterVersion"]
        leases = {lease.metadata.name for lease in kube_client.CoordinationV1Api(api).list_namespaced_lease("kube-node-lease").items}
    assert leases == {node.metadata.name for node in nodes}
    subnet = ipaddress.IPv4Network("10.128.0.0/20")  # us-central1's default subnet
    for node in nodes:
        zone = node.metadata.labels["topology.kubernetes.io/zone"]
        vm = instances.get(project=world.project, zone=zone, instance=node.metadata.name)
        internal = next(a.address for a in node.status.addresses if a.type == "InternalIP")
        assert node.metadata.annotations["container.googleapis.com/instance_id"] == str(vm.id)
        assert internal == vm.network_interfaces[0].network_i_p and ipaddress.IPv4Address(internal) in subnet
        assert node.spec.pod_cidr == vm.network_interfaces[0].alias_ip_ranges[0].ip_cidr_range
        assert node.metadata.creation_timestamp > datetime.fromisoformat(vm.creation_timestamp)

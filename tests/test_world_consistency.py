"""One machine, one identity: Kubernetes, GKE and Compute agree on every node, before and after an upgrade.

Given the zonal-shortfall scenario served on loopback, every VM of every
node pool is walked through the three APIs with the official clients (the
``kubernetes`` client, google-cloud-container and google-cloud-compute), and
each fact two APIs share must be the same fact: the VM's id and the node's
``container.googleapis.com/instance_id``, its networkIP and the node's
InternalIP (in us-west1's default subnet), its NAT address and the node's
ExternalIP, its alias range and the node's pod range (where its pods' IPs
come from), its zone, machine type and pool; the cluster was created before
its VMs and each node registered after its VM. After the timeline's
control-plane upgrade, the Kubernetes API's /version is GKE's
currentMasterVersion.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import compute_v1, container_v1
from google.cloud.compute_v1.services.instance_group_managers.transports.rest import (
    InstanceGroupManagersRestTransport,
)
from google.cloud.compute_v1.services.instances.transports.rest import InstancesRestTransport
from google.cloud.container_v1.services.cluster_manager.transports.rest import ClusterManagerRestTransport
from kubernetes import client as kube_client
from kubernetes import config as kube_config

from sim.clock import SimClock
from sim.kube.kubeconfig import write_kubeconfig
from sim.scenario import Scenario, load, load_spec
from sim.server import SimServer
from sim.world import World

SUBNET = ipaddress.IPv4Network("10.138.0.0/20")  # us-west1's default subnet
UPGRADED = "1.31.1-gke.1146000"  # the scenario's UPGRADE_MASTER target


@dataclass
class Clients:
    core: kube_client.CoreV1Api
    coordination: kube_client.CoordinationV1Api
    version: kube_client.VersionApi
    gke: container_v1.ClusterManagerClient
    instances: compute_v1.InstancesClient
    groups: compute_v1.InstanceGroupManagersClient


@pytest.fixture(scope="module")
def incident(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Scenario, Clients]]:
    spec = load_spec("zonal-shortfall")
    world = World(SimClock(), project=spec.project)
    scenario = load(world, "zonal-shortfall")
    with SimServer(world) as server:
        assert server.endpoints is not None
        kubeconfig = write_kubeconfig(tmp_path_factory.mktemp("kube") / "config", server.endpoints.kube)
        api = kube_config.new_client_from_config(config_file=str(kubeconfig))

        def host(url: str) -> str:
            return url.removeprefix("http://")

        anonymous = AnonymousCredentials()
        clients = Clients(
            core=kube_client.CoreV1Api(api),
            coordination=kube_client.CoordinationV1Api(api),
            version=kube_client.VersionApi(api),
            gke=container_v1.ClusterManagerClient(
                transport=ClusterManagerRestTransport(host=host(server.endpoints.gke), url_scheme="http", credentials=anonymous)
            ),
            instances=compute_v1.InstancesClient(
                transport=InstancesRestTransport(host=host(server.endpoints.compute), url_scheme="http", credentials=anonymous)
            ),
            groups=compute_v1.InstanceGroupManagersClient(
                transport=InstanceGroupManagersRestTransport(host=host(server.endpoints.compute), url_scheme="http", credentials=anonymous)
            ),
        )
        try:
            yield scenario, clients
        finally:
            api.close()


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def walk(scenario: Scenario, clients: Clients) -> dict[str, Any]:
    """Every machine through the three APIs: GKE's pools -> Compute's groups and VMs -> the Kubernetes node."""
    cluster = clients.gke.get_cluster(
        name=f"projects/{scenario.project}/locations/{scenario.location}/clusters/{scenario.cluster_name}"
    )
    nodes = {n.metadata.name: n for n in clients.core.list_node().items}
    machines: list[tuple[Any, Any, compute_v1.Instance, Any]] = []
    for pool in cluster.node_pools:
        for url in pool.instance_group_urls:
            zone, group = url.split("/zones/")[1].split("/instanceGroupManagers/")
            members = clients.groups.list_managed_instances(
                project=scenario.project, zone=zone, instance_group_manager=group
            )
            for member in members:
                vm = clients.instances.get(project=scenario.project, zone=zone, instance=member.name)
                machines.append((pool, zone, vm, nodes.get(vm.name)))
    return {"cluster": cluster, "nodes": nodes, "machines": machines}


def check_every_machine(scenario: Scenario, clients: Clients) -> None:
    seen = walk(scenario, clients)
    cluster, nodes, machines = seen["cluster"], seen["nodes"], seen["machines"]
    cluster_created = parse(cluster.create_time)
    assert len(machines) == 3, "one VM per zone in the pool"
    registered = {vm.name for _, _, vm, node in machines if node is not None}
    assert registered == set(nodes), "every node is a VM of a node pool, and only the VMs of us-west1-a registered"
    assert {zone for _, zone, _, node in machines if node is None} == {"us-west1-b", "us-west1-c"}
    for pool, zone, vm, node in machines:
        nic = vm.network_interfaces[0]
        vm_created = parse(vm.creation_timestamp)
        assert ipaddress.IPv4Address(nic.network_i_p) in SUBNET, f"{vm.name}: {nic.network_i_p} is in us-west1's subnet"
        assert nic.subnetwork.endswith("/regions/us-west1/subnetworks/default")
        assert cluster_created < vm_created, "the cluster exists before its node-pool VMs"
        assert vm.labels["goog-k8s-node-pool-name"] == pool.name
        assert vm.machine_type.rsplit("/", 1)[1] == pool.config.machine_type
        if node is None:
            continue
        meta, spec, status = node.metadata, node.spec, node.status
        addresses = {a.type: a.address for a in status.addresses}
        nat = [a.nat_i_p for a in nic.access_configs if a.nat_i_p]
        assert meta.annotations["container.googleapis.com/instance_id"] == str(vm.id)
        assert addresses["InternalIP"] == nic.network_i_p
        assert ("ExternalIP" in addresses) == bool(nat), "an ExternalIP exactly when the VM has a NAT address"
        assert [addresses["ExternalIP"]] == nat
        assert spec.provider_id == f"gce://{scenario.project}/{zone}/{vm.name}"
        assert spec.pod_cidr == nic.alias_ip_ranges[0].ip_cidr_range
        assert meta.labels["topology.kubernetes.io/zone"] == zone == vm.zone.rsplit("/", 1)[1]
        assert meta.labels["cloud.google.com/gke-nodepool"] == pool.name
        assert meta.labels["node.kubernetes.io/instance-type"] == pool.config.machine_type
        assert status.node_info.kubelet_version == f"v{pool.version}"
        assert meta.creation_timestamp > vm_created, "a node registers after its VM was created"
        assert meta.creation_timestamp > cluster_created

        lease = clients.coordination.read_namespaced_lease(vm.name, "kube-node-lease")
        assert lease.spec.holder_identity == vm.name
        assert lease.metadata.owner_references[0].uid == meta.uid

        pods = clients.core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={vm.name}").items
        assert pods, "the node runs pods"
        pod_range = ipaddress.IPv4Network(spec.pod_cidr)
        for pod in pods:
            assert pod.status.host_ip == nic.network_i_p
            assert ipaddress.IPv4Address(pod.status.pod_ip) in pod_range
            assert pod.metadata.creation_timestamp >= meta.creation_timestamp or pod.metadata.namespace != "kube-system"
        assert len({pod.status.pod_ip for pod in pods}) == len(pods), "no two pods share an address"


def test_every_machine_agrees_across_the_three_apis_before_the_upgrade(incident: tuple[Scenario, Clients]) -> None:
    scenario, clients = incident
    check_every_machine(scenario, clients)
    cluster = clients.gke.get_cluster(
        name=f"projects/{scenario.project}/locations/{scenario.location}/clusters/{scenario.cluster_name}"
    )
    assert clients.version.get_code().git_version == f"v{cluster.current_master_version}" == "v1.30.5-gke.1014001"


def test_after_the_control_plane_upgrade_kubernetes_reports_gkes_version(incident: tuple[Scenario, Clients]) -> None:
    scenario, clients = incident
    name = f"projects/{scenario.project}/locations/{scenario.location}/clusters/{scenario.cluster_name}"
    scenario.world.clock.advance(to=scenario.started + timedelta(minutes=35))  # the upgrade runs
    upgrading = clients.gke.get_cluster(name=name)
    assert upgrading.status == container_v1.Cluster.Status.RECONCILING
    operation = clients.gke.list_operations(parent=f"projects/{scenario.project}/locations/{scenario.location}").operations[-1]
    assert operation.status == container_v1.Operation.Status.RUNNING

    scenario.world.clock.advance(to=scenario.started + timedelta(minutes=55))  # and is done
    cluster = clients.gke.get_cluster(name=name)
    assert cluster.status == container_v1.Cluster.Status.RUNNING
    assert cluster.current_master_version == UPGRADED
    assert clients.version.get_code().git_version == f"v{UPGRADED}"
    assert cluster.status_message == "", "no message is left behind once the upgrade is done"
    check_every_machine(scenario, clients)  # the nodes keep their version and everything else


def test_operations_carry_only_googles_fields(incident: tuple[Scenario, Clients]) -> None:
    scenario, _ = incident
    scenario.world.clock.advance(to=scenario.started + timedelta(minutes=55))
    for op in scenario.world.google.operations():
        assert not [key for key in op if key.startswith("_")], op
        assert all(value != "" for value in op.values()), op
    for cluster in scenario.world.google.clusters():
        assert all(value != "" for value in cluster.values())

"""instances.getSerialPortOutput in the simulated Compute API, through the official client and the bot's source.

A VM's console is made from its record and from what Cloud Logging holds for
it, so the two tell the same story: a VM that never registered shows the
kube-proxy and kubelet failures ``logs node`` reads, one that registered
shows its kubelet saying so.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from google.api_core import exceptions

from bot.errors import Forbidden, NotFound
from bot.settings import GkeConfig
from bot.sources.contracts import LogQuery
from bot.sources.google.cloud_logging import CloudLoggingSource, logging_client_for
from bot.sources.google.compute import ComputeSource, groups_client_for, instances_client_for
from sim.cli import build_world
from sim.google.metadata import proxy_environment
from sim.google.serial import BUFFER_BYTES, window
from sim.server import SimServer
from sim.world import World

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[World, GkeConfig]]:
    world, cluster, location = build_world(scenario="zonal-shortfall", nodes=None, pods=None, start=START)
    with SimServer(world) as server:
        endpoints = server.endpoints
        assert endpoints is not None
        for key, value in proxy_environment(endpoints.logging).items():
            monkeypatch.setenv(key, value)
        yield world, GkeConfig(
            project=world.project, location=location, cluster=cluster, container_endpoint=endpoints.gke,
            compute_endpoint=endpoints.compute, logging_endpoint=endpoints.logging, anonymous=True,
        )


def machines(world: World) -> tuple[dict[str, str], dict[str, str]]:
    """(registered, unregistered): VM name -> zone."""
    nodes = {n["metadata"]["name"] for n in world.kube.items("nodes")}
    vms = {vm["name"]: vm["zone"].rsplit("/", 1)[-1] for vm in world.google.instances()}
    return {n: z for n, z in vms.items() if n in nodes}, {n: z for n, z in vms.items() if n not in nodes}


def test_the_console_of_a_vm_that_never_registered_shows_the_failures_its_logs_show(served) -> None:
    world, gke = served
    _, unregistered = machines(world)
    source = ComputeSource(gke, groups_client_for(gke), instances_client_for(gke))
    logs = CloudLoggingSource(gke, logging_client_for(gke, timeout_seconds=5), clock=world.clock)
    for vm, zone in unregistered.items():
        console = source.serial_port_tail(zone, vm, max_bytes=1_000_000)
        assert console.start == 0 and console.next == len(console.contents.encode())
        assert console.contents.startswith("SeaBIOS"), "it begins with the VM's boot"
        assert f"Hostname set to <{vm}>." in console.contents
        lines = console.contents.splitlines()
        for component in ("kube-proxy", "kubelet"):
            logged = logs.query(LogQuery(target="node", node=vm, component=component, since=START.replace(hour=5), limit=100))
            assert logged, f"the scenario logs {component} errors for {vm}"
            for line in logged:
                stamp = f"{line.timestamp:%b %d %H:%M:%S} {vm} {component}["
                assert any(row.startswith(stamp) and row.endswith(line.text) for row in lines), (component, line.text)
        assert "Failed to retrieve node info" in console.contents and "Unable to register node with API server" in console.contents


def test_a_registered_vm_s_console_shows_its_kubelet_registering(served) -> None:
    world, gke = served
    registered, _ = machines(world)
    source = ComputeSource(gke, groups_client_for(gke), instances_client_for(gke))
    [(vm, zone)] = registered.items()
    console = source.serial_port_tail(zone, vm)
    assert "kubelet[" in console.contents and f"Successfully registered node {vm}" in console.contents
    assert "Failed to retrieve node info" not in console.contents


def test_serial_port_output_follows_compute_s_offsets_ports_and_errors(served) -> None:
    world, gke = served
    _, unregistered = machines(world)
    vm, zone = next(iter(unregistered.items()))
    client = instances_client_for(gke)  # the official client, aimed at the simulator
    whole = client.get_serial_port_output(project=world.project, zone=zone, instance=vm)
    size = int(whole.next_)
    tail = client.get_serial_port_output(request={"project": world.project, "zone": zone, "instance": vm, "start": -200})
    assert int(tail.start) == size - 200 and int(tail.next_) == size
    assert whole.contents.encode()[-200:] == tail.contents.encode()
    later = client.get_serial_port_output(request={"project": world.project, "zone": zone, "instance": vm, "start": size})
    assert later.contents == "" and int(later.next_) == size, "nothing new yet"
    other = client.get_serial_port_output(request={"project": world.project, "zone": zone, "instance": vm, "port": 2})
    assert other.contents == ""
    with pytest.raises(exceptions.BadRequest):
        client.get_serial_port_output(request={"project": world.project, "zone": zone, "instance": vm, "port": 5})
    with pytest.raises(exceptions.NotFound):
        client.get_serial_port_output(project=world.project, zone=zone, instance="no-such-vm")
    source = ComputeSource(gke, groups_client_for(gke), instances_client_for(gke))
    with pytest.raises(NotFound, match="VM no-such-vm in"):
        source.serial_port_tail(zone, "no-such-vm")


def test_only_the_last_megabyte_is_kept() -> None:
    content = b"x" * (BUFFER_BYTES + 100)
    chunk, start, following = window(content, 0)
    assert start == 100 and following == len(content) and len(chunk) == BUFFER_BYTES, "the oldest output is gone"
    assert window(content, -10) == (b"x" * 10, len(content) - 10, len(content))
    assert window(b"abc", 7) == (b"", 3, 3)


def test_one_logging_query_reads_the_components_of_several_vms(served) -> None:
    """The filter behind the evidence's Logs Explorer link: every unregistered VM's kube-proxy and kubelet at once."""
    world, gke = served
    _, unregistered = machines(world)
    logs = CloudLoggingSource(gke, logging_client_for(gke, timeout_seconds=5), clock=world.clock)
    query = LogQuery(target="node", nodes=tuple(sorted(unregistered)), components=("kube-proxy", "kubelet"), since=START.replace(hour=7), limit=200)
    text = logs.filter_for(query)
    names = " OR ".join(f'"{vm}"' for vm in sorted(unregistered))
    assert f"resource.labels.node_name=({names})" in text
    assert 'logName=("projects/shop-project/logs/kube-proxy" OR "projects/shop-project/logs/kubelet")' in text
    origins = {line.origin for line in logs.query(query)}
    assert origins == {f"{vm}/{c}" for vm in unregistered for c in ("kube-proxy", "kubelet")}


def test_a_refused_console_names_the_permission_it_needs(served) -> None:
    world, gke = served
    _, unregistered = machines(world)
    vm, zone = next(iter(unregistered.items()))
    source = ComputeSource(gke, groups_client_for(gke), instances_client_for(gke))
    with world.lock:
        world.faults.compute_errors.append(403)
    with pytest.raises(Forbidden, match="Grant its service account a role with compute.instances.getSerialPortOutput"):
        source.serial_port_tail(zone, vm)

"""Leader election against the simulated Kubernetes API, with the real kubernetes client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes.client import ApiClient, Configuration, CoordinationV1Api

from bot.leader import LeaderElector
from sim.server import SimServer
from sim.world import World


@pytest.fixture
def sim() -> Iterator[tuple[World, CoordinationV1Api]]:
    world = World()
    with SimServer(world) as server:
        assert server.endpoints is not None
        config = Configuration(host=server.endpoints.kube)
        with ApiClient(config) as client:
            yield world, CoordinationV1Api(client)


def elector(world: World, api: CoordinationV1Api, identity: str) -> LeaderElector:
    return LeaderElector(api, "default", "k8s-chatops", identity, world.clock, lease_seconds=15)


def test_first_replica_creates_the_lease_and_leads(sim):
    world, api = sim
    assert elector(world, api, "pod-a").try_acquire_or_renew()
    lease = api.read_namespaced_lease("k8s-chatops", "default")
    assert lease.spec.holder_identity == "pod-a"
    assert lease.spec.lease_duration_seconds == 15


def test_second_replica_waits_until_the_lease_expires(sim):
    world, api = sim
    a, b = elector(world, api, "pod-a"), elector(world, api, "pod-b")
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    world.clock.advance(10)
    assert a.try_acquire_or_renew(), "the holder renews"
    world.clock.advance(10)
    assert not b.try_acquire_or_renew(), "renewed 10s ago: still valid"
    world.clock.advance(20)  # pod-a stopped renewing
    assert b.try_acquire_or_renew()
    lease = api.read_namespaced_lease("k8s-chatops", "default")
    assert lease.spec.holder_identity == "pod-b"
    assert lease.spec.lease_transitions == 1
    assert not a.try_acquire_or_renew()


def test_a_stale_write_loses_with_409(sim):
    world, api = sim
    a, b = elector(world, api, "pod-a"), elector(world, api, "pod-b")
    assert a.try_acquire_or_renew()
    world.clock.advance(30)
    stale = api.read_namespaced_lease("k8s-chatops", "default")
    assert b.try_acquire_or_renew()  # b takes the expired lease first
    stale.spec.holder_identity = "pod-a"
    with pytest.raises(Exception) as raised:
        api.replace_namespaced_lease("k8s-chatops", "default", stale)
    assert getattr(raised.value, "status", None) == 409
    assert api.read_namespaced_lease("k8s-chatops", "default").spec.holder_identity == "pod-b"


def test_unreachable_api_means_not_leader(sim):
    world, api = sim
    a = elector(world, api, "pod-a")
    world.faults.kube_down = True
    assert not a.try_acquire_or_renew()

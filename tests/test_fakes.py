"""The in-memory readers honour what the commands ask of them, and the shortfall world is the seed's."""

from __future__ import annotations

from dataclasses import replace

from tests.fakes import FakeKube, make_node, shortfall_nodes, shortfall_pods, shortfall_vms


def test_fake_kube_honours_field_selectors() -> None:
    kube = FakeKube(pods=shortfall_pods())
    pending = kube.list_pods(field_selector="status.phase=Pending")
    assert {p.name for p in pending} == {"checkout-0", "checkout-1", "worker-0"}


def test_shortfall_world_has_unregistered_vms_in_b_and_c() -> None:
    names = {n.name for n in shortfall_nodes()}
    assert {vm.zone for vm in shortfall_vms() if vm.name not in names} == {"us-west1-b", "us-west1-c"}
    assert replace(make_node("n"), name="m").name == "m"

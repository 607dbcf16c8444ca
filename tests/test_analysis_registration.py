"""Given node-pool VMs and nodes, which VMs never became nodes, per zone."""

from __future__ import annotations

from dataclasses import replace

from bot.analysis.nodes import exclusion_reason, registration_by_zone, unregistered_vms
from tests.fakes import make_node, make_pool, make_vm, shortfall_nodes, shortfall_vms


def test_zonal_shortfall_names_the_vms_in_b_and_c() -> None:
    rows = registration_by_zone(shortfall_nodes(), shortfall_vms(), [make_pool()])
    by_zone = {r.zone: r for r in rows}
    assert set(by_zone) == {"us-west1-a", "us-west1-b", "us-west1-c"}
    assert (by_zone["us-west1-a"].vms, by_zone["us-west1-a"].registered) == (1, 1)
    assert (by_zone["us-west1-b"].vms, by_zone["us-west1-b"].registered) == (2, 0)
    assert [vm.name for vm in by_zone["us-west1-c"].unregistered] == ["gke-shop-prod-default-pool-5e6f-z1"]
    assert len(unregistered_vms(rows)) == 3


def test_provider_id_counts_as_registered_even_when_names_differ() -> None:
    node = replace(make_node("renamed", "us-west1-b"), provider_id="gce://shop-project/us-west1-b/vm-b1")
    rows = registration_by_zone([node], [make_vm("vm-b1", "us-west1-b")])
    assert rows[0].registered == 1 and rows[0].unregistered == ()


def test_vms_being_created_or_deleted_are_set_aside_with_a_reason() -> None:
    creating = make_vm("vm-new", "us-west1-b", action="CREATING", status="PROVISIONING")
    rows = registration_by_zone([], [creating, make_vm("vm-old", "us-west1-b")])
    assert rows[0].vms == 1 and [vm.name for vm in rows[0].changing] == ["vm-new"]
    assert "creating" in exclusion_reason(creating)
    assert exclusion_reason(make_vm("vm-ok", "us-west1-b")) is None


def test_pool_zones_without_vms_still_appear() -> None:
    rows = registration_by_zone([], [], [make_pool(zones=("us-west1-a", "us-west1-b"))])
    assert [(r.zone, r.vms) for r in rows] == [("us-west1-a", 0), ("us-west1-b", 0)]


def test_pool_is_found_from_the_instance_group_when_the_vm_does_not_say() -> None:
    vm = replace(make_vm("vm-c1", "us-west1-c"), pool="")
    rows = registration_by_zone([], [vm], [make_pool()])
    assert {r.pool for r in rows} == {"default-pool"}

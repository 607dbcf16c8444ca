"""Configuration findings: a zonal cluster says what it costs and gives the Terraform fix."""

from __future__ import annotations

from bot.analysis.cluster_config import NO_MAINTENANCE_WINDOW, NO_RELEASE_CHANNEL, NODE_POOL_BEHIND, config_findings
from bot.model.findings import ZONAL_CLUSTER
from tests.fakes import make_cluster, make_pool


def test_zonal_cluster_is_a_warning_with_the_regional_fix() -> None:
    findings = config_findings(make_cluster("us-west1-a"), "prod")
    zonal = next(f for f in findings if f.kind == ZONAL_CLUSTER)
    assert zonal.severity == "warning" and zonal.cluster == "prod"
    assert "unavailable" in zonal.detail and "upgrade" in zonal.detail and "us-west1-b" in zonal.detail
    assert 'location = "us-west1"' in zonal.fix and "regional" in zonal.fix


def test_regional_cluster_with_channel_and_window_has_no_findings() -> None:
    assert config_findings(make_cluster("us-west1"), "prod") == []


def test_missing_channel_window_and_old_pool_are_reported() -> None:
    cluster = make_cluster("us-west1", release_channel="", window="", pools=(make_pool(version="1.28.9-gke.1"),))
    kinds = {f.kind: f for f in config_findings(cluster, "prod")}
    assert set(kinds) == {NO_RELEASE_CHANNEL, NO_MAINTENANCE_WINDOW, NODE_POOL_BEHIND}
    assert kinds[NODE_POOL_BEHIND].severity == "warning" and kinds[NODE_POOL_BEHIND].scope == "default-pool"

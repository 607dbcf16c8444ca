"""The fleet digest: one section per cluster that needs someone, the quiet ones named in one line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.alerts import render
from bot.blocks import MAX_BLOCKS
from bot.model.findings import Finding

DAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def incident(number: int, cluster: str, severity: str, title: str) -> render.IncidentSummary:
    return render.IncidentSummary(
        id=number, cluster=cluster, kind="nodes-not-ready", severity=severity, title=title,
        since=DAY - timedelta(hours=2), acknowledged_by=None, muted_until=None, permalink=None,
    )


def texts(blocks: list) -> list[str]:  # type: ignore[type-arg]
    out = []
    for block in blocks:
        body = block.to_dict()
        if "text" in body:
            out.append(body["text"]["text"])
        for element in body.get("elements", []):
            out.append(element.get("text", ""))
    return out


def test_open_incidents_and_findings_are_grouped_under_their_cluster() -> None:
    text, blocks = render.digest(
        DAY,
        [incident(4, "shop-eu", "critical", "3 nodes NotReady"), incident(9, "shop-us", "warning", "pods <Pending>")],
        [Finding("zonal-cluster", "warning", "shop-eu", "The control plane is zonal", fix="Create a regional cluster")],
        ["batch-asia"],
        clusters=["shop-eu", "shop-us", "batch-asia", "tools", "ci"],
    )
    shown = texts(blocks)
    assert text == "Daily digest 2026-11-30"
    assert shown[1] == "5 clusters · 2 open incidents · 1 configuration finding · 1 could not be checked"
    [eu] = [t for t in shown if t.startswith("*shop-eu*")]
    assert eu.splitlines()[0] == "*shop-eu* · 1 open incident · 1 finding"
    assert "#4" in eu and "3 nodes NotReady" in eu and "The control plane is zonal" in eu and "Create a regional" in eu
    [us] = [t for t in shown if t.startswith("*shop-us*")]
    assert "pods &lt;Pending&gt;" in us and "shop-eu" not in us
    [asia] = [t for t in shown if t.startswith("*batch-asia*")]
    assert "could not be asked" in asia
    assert shown[-1] == ":white_check_mark: Nothing open in 2 clusters: tools, ci"


def test_a_large_fleet_fits_one_message() -> None:
    names = [f"fleet-{n:02d}" for n in range(60)]
    _, blocks = render.digest(
        DAY, [incident(n, name, "warning", "pods Pending") for n, name in enumerate(names[:50])], [], [], clusters=names
    )
    shown = texts(blocks)
    assert len(blocks) <= MAX_BLOCKS
    assert any(t.startswith("…and 10 more clusters with something open: fleet-40") for t in shown)
    assert shown[-1].startswith(":white_check_mark: Nothing open in 10 clusters: fleet-50")


def test_one_cluster_keeps_the_single_cluster_digest_plain() -> None:
    _, blocks = render.digest(DAY, [], [], [], clusters=["shop-prod"])
    shown = texts(blocks)
    assert shown[1] == "0 open incidents · 0 configuration findings"
    assert ":white_check_mark: No open incidents." in shown
    assert not any("Nothing open in" in t for t in shown)

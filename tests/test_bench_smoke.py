"""The benchmark runs end to end at a tiny size and reports every measure; no timing is judged here."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.postgres import server_bin_dir

ROOT = Path(__file__).resolve().parent.parent
MEASURES = (
    "/k8s nodes",
    "/k8s nodes --problems",
    "/k8s pods --pending -A",
    "/k8s nodes (no watch cache)",
    "/k8s nodes --problems (no watch cache)",
    "/k8s pods --pending -A (no watch cache)",
    "check cycle, first (no cache): time",
    "check cycle, first: requests",
    "check cycle, first: bytes",
    "watch cache sync (once per start)",
    "check cycle, steady: time",
    "check cycle, steady: requests",
    "check cycle, steady: bytes",
    "ack latency, 50 at once: median",
    "acks within 3 s, 50 at once",
    "burst: 50 nodes at once, p95",
    "bot peak RSS (VmHWM, whole run)",
)
# Measured where PostgreSQL's server binaries are (always in CI: .ci/run installs them).
STORE_MEASURES = ("check cycle, steady, PostgreSQL store", "click (Acknowledge), PostgreSQL store")
# Once per run, on the seed's scenario (bench.coldstart): whole processes, the first two beside kubectl.
COLD_START_MEASURES = (
    'ask "nodes" (whole process)',
    'ask "help" (whole process)',
    "run: process start to ready (/readyz)",
    "run: ready to first /k8s nodes answered",
)
# Once per run (bench.fleet), here on a fleet of six small clusters, three slow by 1 s and two refusing.
FLEET_MEASURES = (
    "watch-cache sync, whole fleet",
    "check cycle, steady, whole fleet",
    "/k8s clusters",
    "/k8s nodes --cluster (a healthy one)",
    "isolation: healthy clusters' cycle",
    "/k8s clusters (3 slow, 2 refusing)",
    "isolation: healthy nodes answers",
    "bot peak RSS (VmHWM, whole run)",
)


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed: the benchmark compares with it")
    out = tmp_path_factory.mktemp("bench") / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--sizes", "20x200", "--repeat", "1", "--json", str(out), "--quiet",
         "--fleet", "6x5x20", "--fleet-slow-seconds", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=170,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, json.loads(out.read_text())


@pytest.mark.timeout(180)
def test_the_table_has_every_measure_and_the_machine(bench_run: tuple[str, dict]) -> None:
    table, _ = bench_run
    for measure in MEASURES + (STORE_MEASURES if server_bin_dir() else ()):
        assert f"20x200        {measure}" in table, measure
    for measure in COLD_START_MEASURES:
        assert f"cold start    {measure}" in table, measure
    for measure in FLEET_MEASURES:
        assert f"fleet 6x5     {measure}" in table, measure
    assert "machine: " in table and "Python 3." in table and "cpu" in table


@pytest.mark.timeout(120)
def test_the_json_holds_every_row_with_numbers_on_both_sides(bench_run: tuple[str, dict]) -> None:
    _, results = bench_run
    assert {"date", "nproc", "cpu", "python"} <= set(results["machine"])
    cold, size, fleet = results["sizes"]
    assert (size["nodes"], size["pods"]) == (20, 200)
    assert (fleet["nodes"], fleet["pods"]) == (30, 120), "six clusters of 5 nodes and 20 pods"
    fleet_rows = {row["measure"]: row for row in fleet["rows"]}
    assert set(FLEET_MEASURES) == set(fleet_rows)
    for measure in FLEET_MEASURES:
        assert fleet_rows[measure]["bot"] is not None, measure
    cold_rows = {row["measure"]: row for row in cold["rows"]}
    assert set(COLD_START_MEASURES) == set(cold_rows)
    for measure in COLD_START_MEASURES:
        assert cold_rows[measure]["bot"] is not None, measure
    for measure in COLD_START_MEASURES[:2]:
        assert cold_rows[measure]["reference"] is not None, measure
    rows = {row["measure"]: row for row in size["rows"]}
    measures = MEASURES + (STORE_MEASURES if server_bin_dir() else ())
    assert set(measures) <= set(rows)
    for measure in measures:
        assert rows[measure]["bot"] is not None and rows[measure]["reference"] is not None, measure


@pytest.mark.timeout(120)
def test_the_bot_answered_each_command_rather_than_failing(bench_run: tuple[str, dict]) -> None:
    _, results = bench_run
    cold, size, _ = results["sizes"]
    assert "never registered" in "".join(cold["raw"]["ask_nodes"]["answer"]), cold["raw"]["ask_nodes"]
    raw = size["raw"]
    for text, measured in raw["commands"].items():
        assert measured["answer"], text
        lists_nodes = any(line.startswith("kube GET /api/v1/nodes?limit") for line in measured["requests"])
        if text.startswith("nodes"):
            # With the alert service running, nodes come from its watch cache; without it, from a list.
            assert lists_nodes == text.endswith("(no watch cache)"), (text, measured["requests"])
        assert any(line.startswith("kube GET /version") or "/api/v1/" in line for line in measured["requests"]), text
    assert raw["acks"]["answered"] == 50
    assert all(seconds != float("inf") for seconds in raw["burst_nodes"]), "every nodes of the burst was answered"
    assert raw["cycle"]["steady"][0]["requests"], "the steady cycle's requests are listed"


@pytest.mark.timeout(120)
def test_skip_leaves_out_the_named_parts_and_keeps_the_rest(tmp_path: Path) -> None:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed: the benchmark compares with it")
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--sizes", "20x200", "--repeat", "1", "--json", str(out), "--quiet",
         "--skip", "cold,cycles,acks,burst,store,cold_start,fleet"],
        cwd=ROOT, capture_output=True, text=True, timeout=110,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    measures = {row["measure"] for row in json.loads(out.read_text())["sizes"][0]["rows"]}
    assert measures == {"/k8s nodes", "/k8s nodes --problems", "/k8s pods --pending -A", "bot peak RSS (VmHWM, whole run)"}
    wrong = subprocess.run([sys.executable, "-m", "bench.run", "--skip", "memory"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 2 and "--skip takes" in wrong.stderr

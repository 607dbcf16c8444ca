"""`k8s-chatops` on the console, as the README has people try it against the simulated world.

Given a simulated world serving the zonal-shortfall scenario and the
kubeconfig and config.yaml `k8s-chatops sim` would write for it, the real
command runs in its own process: `ask` prints the plain-text answer, `check
--once` prints the findings and exits 1, a broken configuration is one line
and exit code 2.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from sim import scenario
from sim.bot_config import write_files
from sim.clock import SimClock
from sim.server import SimServer
from sim.world import World
from tests.bot_process import bot_env

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 120  # a generous bound on a hung process, not a performance expectation


@dataclass
class Sim:
    world: World
    config: Path
    unregistered: dict[str, list[str]]  # zone -> VMs that never registered


def k8s_chatops(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the command as a user would, with no bot settings leaking in from the environment."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=bot_env(), timeout=TIMEOUT, check=False
    )


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    # As `k8s-chatops sim` does: the simulated clock starts now, since the console reads the wall clock.
    world = World(SimClock(datetime.now(UTC).replace(microsecond=0)))
    loaded = scenario.load(world, "zonal-shortfall")
    with SimServer(world) as server:
        assert server.endpoints is not None
        _, config = write_files(
            tmp_path_factory.mktemp("sim"), server.endpoints, world, cluster=loaded.cluster_name, location=loaded.location
        )
        yield Sim(world, config, loaded.unregistered_vms)


def test_ask_nodes_prints_the_vms_that_never_registered(sim: Sim) -> None:
    done = k8s_chatops("ask", "--config", str(sim.config), "nodes")
    assert done.returncode == 0, done.stderr
    assert "WARNING: 2 VMs in us-west1-b, us-west1-c are running but never registered as nodes." in done.stdout
    for zone in ("us-west1-b", "us-west1-c"):
        [vm] = sim.unregistered[zone]
        [row] = [line.split() for line in done.stdout.splitlines() if line.split()[:1] == [vm]]
        assert row[1:4] == [zone, "default-pool", "RUNNING"], row
    assert "`" not in done.stdout and "*" not in done.stdout and ":warning:" not in done.stdout, "plain text, not mrkdwn"


def test_ask_with_a_bad_command_line_prints_the_sentence_and_exits_1(sim: Sim) -> None:
    done = k8s_chatops("ask", "--config", str(sim.config), "node Bad_Name")
    assert done.returncode == 1
    assert done.stdout.strip() == "`Bad_Name` is not a valid node name: lowercase letters, digits, '-' and '.', at most 253."


def test_check_once_prints_the_zonal_and_unregistered_findings_and_exits_1(sim: Sim) -> None:
    done = k8s_chatops("check", "--once", "--config", str(sim.config))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Zonal cluster: one control plane in us-west1-a" in done.stdout
    assert 'location = "us-west1"' in done.stdout
    assert "never registered as nodes in us-west1-b, us-west1-c" in done.stdout
    for zone, [vm] in sorted(sim.unregistered.items()):
        assert f"{zone}: 0 of 1 running VMs registered; never registered: {vm}" in done.stdout


BAD_CONFIGS = {
    "bad-cluster-name": ("clusters:\n  - name: Bad_Name\n", "clusters.0.name"),
    "unknown-key": ("slak:\n  mode: socket\n", "slak: Extra inputs are not permitted"),
    "broken-yaml": ("clusters: [\n  name: x\n", "is not valid YAML"),
    "not-a-mapping": ("- clusters\n- slack\n", "must be a mapping of settings"),
    "missing-file": (None, "does not exist"),
}


def one_line_error(stderr: str, says: str) -> None:
    assert "Traceback" not in stderr
    [line] = stderr.splitlines()
    assert line.startswith("k8s-chatops: ") and says in line, line


@pytest.mark.parametrize("command", [("ask", "nodes"), ("check", "--once")], ids=["ask", "check"])
@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_a_bad_config_file_is_one_line_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, command: tuple[str, str]
) -> None:
    content, says = BAD_CONFIGS[case]
    config = tmp_path / "config.yaml"
    if content is not None:
        config.write_text(content)
    assert main([command[0], "--config", str(config), command[1]]) == 2
    printed = capsys.readouterr()
    assert printed.out == ""
    one_line_error(printed.err, says)


def test_the_process_itself_exits_2_on_a_broken_config(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(BAD_CONFIGS["broken-yaml"][0] or "")
    done = k8s_chatops("ask", "--config", str(config), "nodes")
    assert done.returncode == 2 and done.stdout == ""
    one_line_error(done.stderr, "is not valid YAML: expected ',' or ']'")


def test_config_reference_matches_the_documentation() -> None:
    documented = REPO / "docs" / "configuration.md"
    if not documented.exists():
        pytest.skip("docs/configuration.md is not written yet")
    done = k8s_chatops("config-reference")
    assert done.returncode == 0, done.stderr
    assert done.stdout == documented.read_text()

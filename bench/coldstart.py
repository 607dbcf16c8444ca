"""Cold start: how soon a fresh `k8s-chatops` process answers, beside kubectl on the same server.

Operators run `k8s-chatops ask` from a terminal and `check --once` from
cron, and a restarted pod gets its first question during the incident that
restarted it; each pays for its imports and client set-up before it can
answer. On the seed's scenario (zonal-shortfall, a GKE cluster, so the
Kubernetes, GKE and Compute readers all take part), served from this
process, every number is a whole process or a whole start-up:

- ``ask "nodes"`` and ``ask "help"``, as the console script runs them, from
  process start to exit, beside ``kubectl get nodes`` the same way;
- ``run`` (HTTP mode, alert service on, as deployed) from process start to
  ``/readyz`` answering 200, then from there to the first ``nodes`` answer
  posted to the response_url for a signed slash command.

Each is the median of ``--repeat`` runs after one untimed run (the page cache
and compiled modules warm, as on an operator's machine); ``run`` starts a new
process for every repetition.

Run alone: ``python -m bench.coldstart [--repeat 5] [--json PATH]``; it is
also part of ``python -m bench.run`` (``--skip cold_start`` leaves it out).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bench.run import (
    REQUESTS,
    START_TIMEOUT,
    BotProcess,
    Row,
    SizeReport,
    bot_config,
    end_to_end,
    free_port,
    machine,
    median,
    publish,
    run_measured,
    summarize_requests,
)
from sim import scenario
from sim.bot_config import write_files
from sim.clock import SimClock
from sim.server import SimServer
from sim.slack.sender import SlackSender
from sim.world import World

SCENARIO = "zonal-shortfall"
LABEL = "cold start"  # the table's size column: these rows are about a process, not a cluster size
# The targets these rows are held to (seconds).
TARGETS = {"ask nodes": 1.5, "ask help": 0.5, "first nodes": 1.0}


def console_script() -> list[str]:
    """``k8s-chatops`` as installed beside this interpreter, as an operator runs it; else the module."""
    script = Path(sys.executable).with_name("k8s-chatops")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "bot.cli"]


def whole_runs(argv: Sequence[str], env: dict[str, str], repeat: int) -> tuple[list[float], bytes]:
    """Wall seconds of ``repeat`` runs after an untimed one, and the last run's output."""
    run_measured(argv, env)
    times, out = [], b""
    for _ in range(repeat):
        seconds, _, out = run_measured(argv, env)
        times.append(seconds)
    return times, out


def wait_ready(port: int, bot: BotProcess) -> None:
    """Until ``/readyz`` answers 200 (the bot's own verdict: Slack connected, cluster clients loaded)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if bot.process.poll() is not None:
            raise RuntimeError("the bot exited at start (see its log in the work directory)")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass  # not listening yet, or 503 while it is not ready
        time.sleep(0.01)
    raise TimeoutError("the bot did not say it was ready in time")


def running_config(directory: Path, config_path: Path, *, port: int, health_port: int, state: str) -> Path:
    """The benchmark's deployed-like configuration, with the health server on for ``/readyz``."""
    path = bot_config(directory, config_path, port=port, state=state)
    config = yaml.safe_load(path.read_text())
    config["health"] = {"enabled": True, "host": "127.0.0.1", "port": health_port}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def first_answers(
    world: World, server: SimServer, directory: Path, config_path: Path, log: Any, repeat: int
) -> tuple[list[float], list[float], list[str]]:
    """Per fresh `run`: seconds from process start to ready, from ready to the first `nodes` answer; its requests."""
    to_ready, to_answer, requests = [], [], []
    for attempt in range(repeat + 1):
        port, health_port = free_port(), free_port()
        config = running_config(directory, config_path, port=port, health_port=health_port, state=f"run-{attempt}")
        started = time.perf_counter()
        bot = BotProcess(config, port, log)
        try:
            wait_ready(health_port, bot)
            ready = time.perf_counter()
            mark = REQUESTS.mark()
            seconds, _, _ = end_to_end(world, SlackSender(world, server, bot_url=bot.url, ack_timeout=30.0), "nodes")
            if attempt:  # the first start is the untimed one
                to_ready.append(ready - started)
                to_answer.append(seconds)
                requests = summarize_requests(REQUESTS.since(mark))
        finally:
            bot.stop()
    return to_ready, to_answer, requests


def verdict(seconds: float, target: float) -> str:
    return f"target <= {target:g} s: {'met' if seconds <= target else 'missed'}"


def spread(times: Sequence[float]) -> str:
    return f"min {min(times):.3f}s max {max(times):.3f}s over {len(times)}"


def measure(repeat: int, work: Path, say: Callable[[str], None]) -> SizeReport:
    """The cold-start rows, on the seed's scenario served from this process."""
    world = World(SimClock(datetime.now(UTC).replace(microsecond=0)))
    started = time.perf_counter()
    loaded = scenario.load(world, SCENARIO)
    report = SizeReport(
        LABEL, len(world.kube.items("nodes")), len(world.kube.items("pods")), time.perf_counter() - started,
        made=f"{SCENARIO} loaded",
    )
    directory = work / "cold-start"
    home = directory / "home"
    home.mkdir(parents=True, exist_ok=True)
    with SimServer(world) as server:
        assert server.endpoints is not None
        kubeconfig, config_path = write_files(
            directory, server.endpoints, world, cluster=loaded.cluster_name, location=loaded.location
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("K8S_CHATOPS_", "SLACK_"))}
        env.update(KUBECONFIG=str(kubeconfig), HOME=str(home))
        kubectl = shutil.which("kubectl")
        reference: list[float] = []
        if kubectl:
            reference, _ = whole_runs([kubectl, "get", "nodes"], env, repeat)
        ref_name = "kubectl get nodes (whole process)" if kubectl else "kubectl (not installed)"
        ref = median(reference) if reference else None
        ask = [*console_script(), "ask", "--config", str(config_path)]
        nodes, out = whole_runs([*ask, "nodes"], env, repeat)
        report.raw["ask_nodes"] = {"seconds": nodes, "answer": out.decode(errors="replace").splitlines()[:3]}
        say(f"[{LABEL}] ask nodes: {median(nodes):.3f}s")
        helped, _ = whole_runs([*ask, "help"], env, repeat)
        report.raw["ask_help"] = {"seconds": helped}
        say(f"[{LABEL}] ask help: {median(helped):.3f}s")
        report.raw["kubectl_get_nodes"] = {"seconds": reference}
        with (directory / "bot.log").open("w") as log:
            to_ready, to_answer, requests = first_answers(world, server, directory, config_path, log, repeat)
        report.raw["run"] = {"to_ready": to_ready, "ready_to_first_nodes": to_answer, "requests": requests}
        say(f"[{LABEL}] run: ready after {median(to_ready):.3f}s, first nodes {median(to_answer):.3f}s later")
    report.rows += [
        Row(LABEL, 'ask "nodes" (whole process)', median(nodes), ref, "s", ref_name,
            f"{verdict(median(nodes), TARGETS['ask nodes'])}; {spread(nodes)}"),
        Row(LABEL, 'ask "help" (whole process)', median(helped), ref, "s", ref_name,
            f"{verdict(median(helped), TARGETS['ask help'])}; {spread(helped)}"),
        Row(LABEL, "run: process start to ready (/readyz)", median(to_ready), None, "s", "no target",
            f"HTTP mode, alert service on; Slack connected and cluster clients loaded; {spread(to_ready)}"),
        Row(LABEL, "run: ready to first /k8s nodes answered", median(to_answer), None, "s",
            verdict(median(to_answer), TARGETS["first nodes"]),
            f"signed slash command over HTTP until the answer is posted; {spread(to_answer)}"),
    ]
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.coldstart", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="Runs per measure; the median is reported (default 5)")
    parser.add_argument("--json", metavar="PATH", help="Also write every number as JSON here")
    parser.add_argument("--quiet", action="store_true", help="No progress lines on stderr")
    args = parser.parse_args(argv)
    say: Callable[[str], None] = (lambda _: None) if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    info = machine()
    with tempfile.TemporaryDirectory(prefix="k8s-chatops-coldstart-") as work:
        report = measure(max(1, args.repeat), Path(work), say)
    publish(info, [report], args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The benchmark: the bot on a generated cluster, beside kubectl and a naive client on the same server.

For each size, one simulated world is generated and served from this
process; the bot runs as it does in production (`k8s-chatops run`, HTTP
mode, alert service and watch caches on) in a child process, so its memory
is its own and its CPU is not this process's. Every measure is paired with a
reference run against the same server in the same run:

- ``nodes``, ``nodes --problems``, ``pods --pending -A`` end to end: a signed
  slash command over HTTP until the answer reaches the response_url, beside
  ``kubectl get nodes`` / ``kubectl get pods -A --field-selector=...``;
- one alert check cycle, first (no cache) and steady state (watch cache), in
  a child driven step by step so the requests and bytes each API served are
  counted around exactly that step, beside a naive relist of every node and
  pod with the official client;
- ack latency of 50, and of 200, slash commands sent at once (each then answered or told "busy");
- a burst of 50 ``nodes`` at once, each followed to its answer: p50, p95 and max
  from command to answer, against a 5 s target;
- a steady check cycle and a click (Acknowledge) with the incident store on
  PostgreSQL (a server the benchmark starts, as the tests do), beside the
  same on SQLite;
- the bot's peak RSS (VmHWM), beside kubectl's and the naive client's;
- cold start, once per run on the seed's scenario (``bench.coldstart``): ``ask``
  as a whole process beside ``kubectl get nodes``, and a fresh ``run`` to ready
  and to its first ``nodes`` answer;
- the fleet, once per run (``bench.fleet``): 20 clusters of 500 nodes and
  15,000 pods, watch-cache sync, the whole fleet's cycle, ``clusters``, peak
  RSS, and the same with three clusters slow and two refusing connections.

Run: ``python -m bench.run [--sizes 500x15000,5000x150000] [--repeat 5] [--json bench/results.json]``;
``--skip cold,commands,cycles,acks,burst,store,cold_start,fleet`` leaves parts out while iterating.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import yaml
from aiohttp import web

import sim.server
from bot.slack.delivery import BUSY_TEXT
from bot.sources.shared import DEFAULT_FRESH_SECONDS
from sim.bot_config import write_files
from sim.clock import SimClock
from sim.generator import GeneratedCluster, generate
from sim.server import SimServer
from sim.slack.sender import SLACK_ACK_DEADLINE, Delivery, SlackSender
from sim.world import World

DEFAULT_SIZES = "500x15000,5000x150000"
DEFAULT_FLEET = "20x500x15000"
COMMAND = "/k8s"
ANSWER_TIMEOUT = 600.0
START_TIMEOUT = 120.0
CONCURRENT = 50
# A whole team at once: every one must still be acknowledged in time, then answered or told "busy".
BURST = 200
# What the 50 concurrent users type: the heavy answers and the light ones, in turn.
CONCURRENT_MIX = ("nodes", "pods --pending -A", "nodes --problems", "help", "cluster")
PAIRS = (  # (bot command, kubectl arguments it is compared with)
    ("nodes", ("get", "nodes")),
    ("nodes --problems", ("get", "nodes")),
    ("pods --pending -A", ("get", "pods", "-A", "--field-selector=status.phase=Pending")),
)
EXTRA_REFERENCES = (("get", "nodes", "-o", "json"),)
NAIVE_RELIST_MAX_PODS = 10**6  # above this the official client's relist is skipped (it would take too long)


# -- results -----------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table: the bot's number beside its reference, and their ratio."""

    size: str
    measure: str
    bot: float | None
    reference: float | None
    unit: str
    reference_name: str = ""
    detail: str = ""

    @property
    def ratio(self) -> float | None:
        if self.bot is None or not self.reference:
            return None
        return self.bot / self.reference


@dataclass
class SizeReport:
    size: str
    nodes: int
    pods: int
    generate_seconds: float
    rows: list[Row] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    made: str = "generated"  # how the world was made, as the table's first line for it says


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


# -- traffic ---------------------------------------------------------------------------------


Traffic = dict[str, tuple[int, int]]


def traffic_delta(before: Traffic, after: Traffic) -> Traffic:
    return {
        service: (count - before.get(service, (0, 0))[0], size - before.get(service, (0, 0))[1])
        for service, (count, size) in after.items()
        if count != before.get(service, (0, 0))[0]
    }


def describe_traffic(delta: Traffic) -> str:
    if not delta:
        return "no requests"
    return ", ".join(f"{svc} {count} req {size / 1e6:.2f} MB" for svc, (count, size) in sorted(delta.items()))


def total_requests(delta: Traffic, *, skip: tuple[str, ...] = ("slack",)) -> int:
    return sum(count for service, (count, _) in delta.items() if service not in skip)


def total_bytes(delta: Traffic, *, skip: tuple[str, ...] = ("slack",)) -> int:
    return sum(size for service, (_, size) in delta.items() if service not in skip)


class RequestLog:
    """Every request the simulated services answered (service, method, path and selectors, bytes).

    The server's own counters say how many requests each API saw; this says
    which ones, so a slow measure can be traced to a request pattern.
    """

    KEPT_QUERY = ("fieldSelector", "labelSelector", "watch", "limit", "continue", "filter")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.entries: list[tuple[str, str, int]] = []  # (service, "GET /path?selectors", bytes)

    def mark(self) -> int:
        with self._lock:
            return len(self.entries)

    def since(self, mark: int) -> list[tuple[str, str, int]]:
        with self._lock:
            return list(self.entries[mark:])

    def middleware(self, service: str):  # type: ignore[no-untyped-def]
        @web.middleware
        async def record(request: web.Request, handler):  # type: ignore[no-untyped-def]
            kept = "&".join(f"{k}={v}" for k, v in request.query.items() if k in self.KEPT_QUERY and k != "continue")
            if "continue" in request.query:
                kept += "&continue=..."
            line = f"{request.method} {request.path}" + (f"?{kept.lstrip('&')}" if kept else "")
            if request.query.get("watch", "").lower() == "true":
                # A watch streams for minutes: it is recorded when it starts (its bytes are not known then).
                with self._lock:
                    self.entries.append((service, line, 0))
                return await handler(request)
            response = await handler(request)
            body = getattr(response, "body", None)
            size = len(body) if isinstance(body, bytes | bytearray) else (response.content_length or 0)
            with self._lock:
                self.entries.append((service, line, size))
            return response

        return record


REQUESTS = RequestLog()


def _recording_apps(world: World) -> dict[str, web.Application]:
    apps = _BUILD_APPS(world)
    for name, app in apps.items():
        app.middlewares.append(REQUESTS.middleware(name))
    return apps


# The benchmark's servers record each request as well as counting them (see RequestLog).
_BUILD_APPS = sim.server.build_apps
sim.server.build_apps = _recording_apps


def summarize_requests(entries: list[tuple[str, str, int]]) -> list[str]:
    """"kube GET /api/v1/nodes x3 (12.1 MB)" lines, most bytes first."""
    grouped: dict[tuple[str, str], list[int]] = {}
    for service, line, size in entries:
        grouped.setdefault((service, line), []).append(size)
    ordered = sorted(grouped.items(), key=lambda item: -sum(item[1]))
    return [f"{svc} {line} x{len(sizes)} ({sum(sizes) / 1e6:.2f} MB)" for (svc, line), sizes in ordered]


# -- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def peak_rss_kib(pid: int) -> int:
    """VmHWM of a running process: the most resident memory it ever had."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


class RusagePopen(subprocess.Popen):  # type: ignore[type-arg]
    """A Popen that keeps the child's rusage (wait4), for its peak RSS."""

    rusage: Any = None

    # Not dead code: CPython's Popen.wait() reaps the child through this private
    # hook, so overriding it is the one place to see the child's rusage.
    def _try_wait(self, wait_flags: int):  # type: ignore[no-untyped-def]
        try:
            pid, status, self.rusage = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            pid, status = self.pid, 0
        return pid, status


def run_measured(argv: Sequence[str], env: dict[str, str]) -> tuple[float, int, bytes]:
    """(wall seconds, peak RSS KiB, stdout) of one child run."""
    started = time.perf_counter()
    child = RusagePopen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = child.communicate()
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {child.returncode}: {err.decode(errors='replace')[-500:]}")
    return seconds, int(child.rusage.ru_maxrss) if child.rusage is not None else 0, out


class ProbeChild:
    """The alert-cycle child of bench.probe, driven one step at a time."""

    PROBE = "cycle"  # the bench.probe subcommand the child runs

    def __init__(self, config: Path, log: TextIO) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.probe", self.PROBE, "--config", str(config)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1,
        )
        self.hello = self._read()

    def step(self, word: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(word + "\n")
        self.process.stdin.flush()
        return self._read()

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the alert-cycle child ended early (see its log in the work directory)")
        return json.loads(line)

    def close(self) -> None:
        try:
            self.step("quit")
        except (RuntimeError, BrokenPipeError, OSError):
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


# -- the bot under measurement ------------------------------------------------------------------


def bot_config(directory: Path, config_path: Path, *, port: int, state: str, alerts: bool = True) -> Path:
    """The simulated world's config.yaml, turned into the benchmark's: HTTP mode, scheduler quiet.

    Without ``alerts`` the bot keeps no watch cache, so every answer lists what it needs.
    """
    config = yaml.safe_load(config_path.read_text())
    config["slack"].update(mode="http", http_host="127.0.0.1", http_port=port)
    config["alerts"] = {
        "enabled": alerts,
        "channel": "#alerts",
        "interval_seconds": 86400,  # the child is asked for cycles explicitly; none run on their own
        "jitter_seconds": 0,
        "digest_cron": "0 0 1 1 *",
    }
    config["health"] = {"enabled": False}
    config["state_dir"] = str(directory / state)
    for cluster in config["clusters"]:
        cluster["request_timeout_seconds"] = 60
    path = directory / f"{state}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


class BotProcess:
    """`k8s-chatops run` in HTTP mode, as deployed, in a child process."""

    def __init__(self, config: Path, port: int, log: TextIO) -> None:
        self.url = f"http://127.0.0.1:{port}/slack/events"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--config", str(config)], stdout=log, stderr=log,
        )

    def wait_ready(self, sender: SlackSender) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the bot exited at start (see bot.log in the work directory)")
            if sender.slash_command(COMMAND, "help", via="http").acked:
                return
            time.sleep(0.2)
        raise TimeoutError("the bot did not start serving HTTP in time")

    def wait_watching(self, mark: int) -> float:
        """Seconds until the bot's watch cache has listed and started watching nodes and problem pods."""
        started = time.monotonic()
        while time.monotonic() - started < START_TIMEOUT:
            watching = {line.split()[1].split("?")[0] for _, line, _ in REQUESTS.since(mark) if "watch=true" in line.lower()}
            if {"/api/v1/nodes", "/api/v1/pods"} <= watching:
                return time.monotonic() - started
            time.sleep(0.05)
        raise TimeoutError("the bot's watch cache did not sync in time")

    def peak_rss_kib(self) -> int:
        return peak_rss_kib(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def answer_of(world: World, delivery: Delivery, timeout: float = ANSWER_TIMEOUT) -> Any:
    url_id = delivery.response_url_id

    def answered() -> Any:
        posts = [p for p in world.slack.responses(url_id) if p.via == "response_url"]
        return posts[0] if posts else None

    return world.slack.wait_for(answered, timeout)


def end_to_end(world: World, sender: SlackSender, text: str) -> tuple[float, float, str]:
    """(seconds to the answer, seconds to the ack, the answer's first line) for one slash command."""
    started = time.perf_counter()
    delivery = sender.slash_command(COMMAND, text, via="http")
    if not delivery.acked:
        raise RuntimeError(f"the bot did not ack {text!r}: {delivery.body}")
    post = answer_of(world, delivery)
    return time.perf_counter() - started, delivery.latency or 0.0, post.text.splitlines()[0] if post.text else ""


# -- one size ------------------------------------------------------------------------------------


# What --skip may leave out while iterating; memory is always read. cold_start (bench.coldstart) and
# fleet (bench.fleet) run once per run, not per size.
PARTS = ("cold", "commands", "cycles", "acks", "burst", "store", "cold_start", "fleet")
BURST_TARGET_SECONDS = 5.0
SHARED_READ_SECONDS = DEFAULT_FRESH_SECONDS + 0.1  # a little over how long answers share a read


def measure_size(
    nodes: int, pods: int, repeat: int, work: Path, say: Callable[[str], None], skip: frozenset[str] = frozenset()
) -> SizeReport:
    size = f"{nodes}x{pods}"
    world = World(SimClock(datetime.now(UTC).replace(microsecond=0)))
    started = time.perf_counter()
    generated = generate(world, nodes=nodes, pods=pods)
    report = SizeReport(size, nodes, pods, time.perf_counter() - started)
    say(f"[{size}] generated in {report.generate_seconds:.1f}s")
    server = SimServer(world)
    endpoints = server.start()
    directory = work / size
    kubeconfig, config_path = write_files(
        directory, endpoints, world, cluster=generated.cluster, location=generated.location
    )
    home = directory / "home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(home)}
    port = free_port()
    bot_log = (directory / "bot.log").open("w")
    references = _kubectl_references(server, env, repeat)
    report.raw["kubectl"] = {" ".join(k): v for k, v in references.items()}
    try:
        if "cold" not in skip:  # first a bot without the alert service: no watch cache, every answer lists what it needs
            _cold_commands(report, world, server, directory, config_path, bot_log, references, repeat, say)
        mark = REQUESTS.mark()
        bot = BotProcess(bot_config(directory, config_path, port=port, state="bot"), port, bot_log)
        sender = SlackSender(world, server, bot_url=bot.url, ack_timeout=30.0)
        try:
            bot.wait_ready(sender)
            report.raw["bot_rss_at_start_kib"] = bot.peak_rss_kib()
            report.raw["watch_synced_after_start_seconds"] = bot.wait_watching(mark)
            say(f"[{size}] bot ready, watch cache synced")
            if "commands" not in skip:
                _commands(report, world, server, sender, references, repeat, say)
            if "cycles" not in skip:
                _cycles(report, world, server, directory, kubeconfig, env, repeat, generated, say)
            if "acks" not in skip:
                for count in (CONCURRENT, BURST):
                    _acks(report, world, sender, say, count)
            if "burst" not in skip:
                _burst(report, world, sender, say)
            if "store" not in skip:
                _store(report, directory, config_path, repeat, say)
            _memory(report, bot, env)
        finally:
            bot.stop()
    finally:
        bot_log.close()
        server.stop()
    return report


def _cold_commands(
    report: SizeReport, world: World, server: SimServer, directory: Path, config_path: Path, log: TextIO,
    references: dict[tuple[str, ...], dict[str, Any]], repeat: int, say: Callable[[str], None],
) -> None:
    port = free_port()
    cold = BotProcess(bot_config(directory, config_path, port=port, state="cold", alerts=False), port, log)
    try:
        sender = SlackSender(world, server, bot_url=cold.url, ack_timeout=30.0)
        cold.wait_ready(sender)
        _commands(report, world, server, sender, references, repeat, say, label=" (no watch cache)")
    finally:
        cold.stop()


def _kubectl_references(server: SimServer, env: dict[str, str], repeat: int) -> dict[tuple[str, ...], dict[str, Any]]:
    """kubectl's time, memory and requests for each command the bot is compared with."""
    kubectl = shutil.which("kubectl")
    references: dict[tuple[str, ...], dict[str, Any]] = {}
    for args in [a for _, a in PAIRS] + list(EXTRA_REFERENCES):
        if args in references or kubectl is None:
            continue
        run_measured([kubectl, *args], env)  # warm: discovery cache and page cache, as for a user at a terminal
        times, rss, traffic = [], 0, {}
        requests: list[str] = []
        for _ in range(repeat):
            before, mark = server.traffic.snapshot(), REQUESTS.mark()
            seconds, peak, out = run_measured([kubectl, *args], env)
            traffic = traffic_delta(before, server.traffic.snapshot())
            requests = summarize_requests(REQUESTS.since(mark))
            times.append(seconds)
            rss = max(rss, peak)
        references[args] = {
            "seconds": times, "peak_rss_kib": rss, "traffic": traffic, "requests": requests, "lines": out.count(b"\n"),
        }
    return references


def _commands(
    report: SizeReport, world: World, server: SimServer, sender: SlackSender,
    references: dict[tuple[str, ...], dict[str, Any]], repeat: int, say: Callable[[str], None], label: str = "",
) -> None:
    for text, args in PAIRS:
        end_to_end(world, sender, text)  # warm: the first answer builds the clients
        times, acks, traffic, first = [], [], {}, ""
        requests: list[str] = []
        for _ in range(repeat):
            # Answers within a second of each other share their GKE and VM reads (bot.sources.shared); each
            # measured one reads afresh, as a command asked on its own does.
            time.sleep(SHARED_READ_SECONDS)
            before, mark = server.traffic.snapshot(), REQUESTS.mark()
            seconds, ack, first = end_to_end(world, sender, text)
            traffic = traffic_delta(before, server.traffic.snapshot())
            requests = summarize_requests(REQUESTS.since(mark))
            times.append(seconds)
            acks.append(ack)
        report.raw.setdefault("commands", {})[text + label] = {
            "seconds": times, "acks": acks, "traffic": traffic, "requests": requests, "answer": first,
        }
        reference = references.get(args)
        ref_name = "kubectl " + " ".join(args) if reference else "kubectl (not installed)"
        extra = ""
        if args == ("get", "nodes") and ("get", "nodes", "-o", "json") in references:
            extra = f"; kubectl -o json {median(references[('get', 'nodes', '-o', 'json')]['seconds']):.3f}s"
        report.rows.append(Row(
            report.size, f"/k8s {text}{label}", median(times), median(reference["seconds"]) if reference else None, "s", ref_name,
            f"bot: {describe_traffic(traffic)}; kubectl: {describe_traffic(reference['traffic']) if reference else '-'}{extra}",
        ))
        say(f"[{report.size}] {text}{label}: {median(times):.3f}s")


def _cycles(
    report: SizeReport, world: World, server: SimServer, directory: Path, kubeconfig: Path, env: dict[str, str],
    repeat: int, generated: GeneratedCluster, say: Callable[[str], None],
) -> None:
    config = bot_config(directory, directory / "config.yaml", port=free_port(), state="cycle")
    log = (directory / "cycle.log").open("w")
    probe = ProbeChild(config, log)
    try:
        def step(word: str) -> tuple[dict[str, Any], Traffic]:
            before, mark = server.traffic.snapshot(), REQUESTS.mark()
            answer = probe.step(word)
            time.sleep(0.05)  # let the server finish counting the last response
            answer["requests"] = summarize_requests(REQUESTS.since(mark))
            return answer, traffic_delta(before, server.traffic.snapshot())

        first, first_traffic = step("cycle")
        synced, sync_traffic = step("watch")
        steady: list[tuple[dict[str, Any], Traffic]] = [step("cycle") for _ in range(max(repeat, 1))]
        cycle_hwm = max(a.get("hwm_kib", 0) for a in [first, synced, *(answer for answer, _ in steady)])
    finally:
        probe.close()
        log.close()

    naive: list[tuple[dict[str, Any], Traffic, int]] = []
    if report.pods <= NAIVE_RELIST_MAX_PODS:
        for _ in range(1 if report.pods > 20000 else max(1, min(repeat, 3))):
            before, mark = server.traffic.snapshot(), REQUESTS.mark()
            seconds, peak, out = run_measured([sys.executable, "-m", "bench.probe", "relist", "--kubeconfig", str(kubeconfig)], env)
            time.sleep(0.05)
            answer = json.loads(out.decode().strip().splitlines()[-1])
            answer["wall_seconds"] = seconds
            answer["requests"] = summarize_requests(REQUESTS.since(mark))
            naive.append((answer, traffic_delta(before, server.traffic.snapshot()), peak))
    naive_seconds = median([a["seconds"] for a, _, _ in naive]) if naive else None
    naive_traffic = naive[-1][1] if naive else {}
    naive_name = "naive relist (official client, all nodes + pods)"
    steady_seconds = [a["seconds"] for a, _ in steady]
    steady_requests = [total_requests(t) for _, t in steady]
    report.raw["cycle"] = {
        "first": {**first, "traffic": first_traffic},
        "watch_sync": {**synced, "traffic": sync_traffic},
        "steady": [{**a, "traffic": t} for a, t in steady],
        "peak_rss_kib": cycle_hwm,
        "naive": [{**a, "traffic": t, "peak_rss_kib": p} for a, t, p in naive],
        "expected_pending": len(generated.pending_pods) + len(generated.image_pull_pods),
    }
    report.rows += [
        Row(report.size, "check cycle, first (no cache): time", first["seconds"], naive_seconds, "s", naive_name,
            f"findings {first.get('findings')} {','.join(first.get('kinds', []))}"),
        Row(report.size, "check cycle, first: requests", total_requests(first_traffic), total_requests(naive_traffic) if naive else None,
            "req", naive_name, describe_traffic(first_traffic)),
        Row(report.size, "check cycle, first: bytes", total_bytes(first_traffic) / 1e6, total_bytes(naive_traffic) / 1e6 if naive else None,
            "MB", naive_name, "Kubernetes + GKE + Compute responses"),
        Row(report.size, "watch cache sync (once per start)", synced["seconds"], naive_seconds, "s", naive_name, describe_traffic(sync_traffic)),
        Row(report.size, "check cycle, steady: time", median(steady_seconds), naive_seconds, "s", naive_name,
            f"min {min(steady_seconds):.3f}s max {max(steady_seconds):.3f}s over {len(steady_seconds)}"),
        Row(report.size, "check cycle, steady: requests", float(max(steady_requests)), total_requests(naive_traffic) if naive else None,
            "req", naive_name, describe_traffic(steady[-1][1])),
        Row(report.size, "check cycle, steady: bytes", total_bytes(steady[-1][1]) / 1e6, total_bytes(naive_traffic) / 1e6 if naive else None,
            "MB", naive_name, "Kubernetes + GKE + Compute responses"),
    ]
    say(f"[{report.size}] cycles: first {first['seconds']:.3f}s, steady {median(steady_seconds):.3f}s, naive {naive_seconds}")


def _store(report: SizeReport, directory: Path, config_path: Path, repeat: int, say: Callable[[str], None]) -> None:
    """A steady check cycle and a click, in the alert-cycle child, with the store on PostgreSQL and on SQLite.

    Grace periods are off so that the first cycle opens the incidents; the
    steady cycles after it compare and write marks, and each click
    acknowledges the oldest incident again (its acknowledgement cleared,
    untimed, before). Without PostgreSQL's server binaries the rows are left out.
    """
    from tests.postgres import PostgresServer, server_bin_dir

    bin_dir = server_bin_dir()
    if bin_dir is None:
        say(f"[{report.size}] store: no PostgreSQL server binaries (initdb, pg_ctl), rows left out")
        return
    database = PostgresServer(bin_dir).start()
    measured: dict[str, dict[str, list[float]]] = {}
    try:
        for backend in ("sqlite", "postgresql"):
            config = bot_config(directory, config_path, port=free_port(), state=f"store-{backend}")
            data = yaml.safe_load(config.read_text())
            data["alerts"].update(pending_grace_seconds=0, notready_grace_seconds=0, unregistered_grace_seconds=0)
            if backend == "postgresql":
                data["state"] = {"database_url": database.new_database("bench")}
            config.write_text(yaml.safe_dump(data, sort_keys=False))
            with (directory / f"store-{backend}.log").open("w") as log:
                probe = ProbeChild(config, log)
                try:
                    probe.step("watch")
                    opened = probe.step("cycle")
                    cycles = [probe.step("cycle")["seconds"] for _ in range(max(repeat, 1))]
                    clicks = [probe.step("click").get("seconds") for _ in range(max(repeat, 1))]
                finally:
                    probe.close()
            measured[backend] = {"cycles": cycles, "clicks": [c for c in clicks if c is not None], "findings": [opened.get("findings", 0)]}
    finally:
        database.stop()
    report.raw["store"] = measured
    pg, lite = measured["postgresql"], measured["sqlite"]
    report.rows += [
        Row(report.size, "check cycle, steady, PostgreSQL store", median(pg["cycles"]), median(lite["cycles"]), "s",
            "the same with the SQLite store", f"{int(pg['findings'][0])} findings, incidents open; median of {len(pg['cycles'])}"),
        Row(report.size, "click (Acknowledge), PostgreSQL store", median(pg["clicks"]) if pg["clicks"] else None,
            median(lite["clicks"]) if lite["clicks"] else None, "s", "the same with the SQLite store",
            "store, outbox and the Slack edit and thread note, on the leader"),
    ]
    say(f"[{report.size}] store: cycle {median(pg['cycles']):.3f}s on PostgreSQL, {median(lite['cycles']):.3f}s on SQLite")


def _acks(report: SizeReport, world: World, sender: SlackSender, say: Callable[[str], None], count: int) -> None:
    gate = threading.Barrier(count)

    def one(index: int) -> tuple[Delivery, float]:
        gate.wait()
        started = time.perf_counter()
        delivery = sender.slash_command(COMMAND, CONCURRENT_MIX[index % len(CONCURRENT_MIX)], via="http")
        return delivery, started

    started = time.perf_counter()
    with ThreadPoolExecutor(count) as pool:
        results = list(pool.map(one, range(count)))
    latencies = [d.latency if d.acked and d.latency is not None else float("inf") for d, _ in results]
    answered = busy = 0
    for delivery, _ in results:
        if not delivery.acked:
            continue
        answered += 1
        if BUSY_TEXT in str(delivery.body):  # refused in the ack itself: no answer follows
            busy += 1
        elif BUSY_TEXT in str(getattr(answer_of(world, delivery), "text", "")):
            busy += 1
    all_answered = time.perf_counter() - started
    late = sum(1 for value in latencies if value > SLACK_ACK_DEADLINE)
    refused = Counter(f"{d.status or 'no answer'}: {str(d.body)[:80]}" for d, _ in results if not d.acked)
    report.raw["acks" if count == CONCURRENT else f"acks_{count}"] = {
        "latencies": latencies, "all_answered_seconds": all_answered, "answered": answered, "busy": busy,
        "mix": CONCURRENT_MIX, "not_acked": dict(refused),
    }
    finite = [v for v in latencies if v != float("inf")]
    detail = (
        f"p99 {percentile(finite, 0.99):.3f}s max {max(finite) if finite else float('nan'):.3f}s; over 3 s or not acked: "
        f"{late}/{count}; the {answered} acked answered within {all_answered:.1f}s ({busy} of them told busy)"
        + (f"; not acked: {', '.join(f'{n}x {why}' for why, n in refused.items())}" if refused else "")
    )
    report.rows += [
        Row(report.size, f"ack latency, {count} at once: median", median(finite), SLACK_ACK_DEADLINE, "s", "Slack's 3 s deadline", detail),
        Row(report.size, f"acks within 3 s, {count} at once", float(count - late), float(count), "acks", "all of them", ""),
    ]
    say(f"[{report.size}] {count} acks: median {median(finite):.3f}s, late {late}, told busy {busy}")


def _burst(report: SizeReport, world: World, sender: SlackSender, say: Callable[[str], None], count: int = CONCURRENT) -> None:
    """A team opening Slack during an incident: ``count`` people ask ``nodes`` at once; how long until each sees it."""
    gate = threading.Barrier(count)

    def one(_: int) -> float:
        gate.wait()
        started = time.perf_counter()
        delivery = sender.slash_command(COMMAND, "nodes", via="http")
        if not delivery.acked:
            return float("inf")
        post = answer_of(world, delivery)
        return time.perf_counter() - started if BUSY_TEXT not in str(post.text) else float("inf")

    with ThreadPoolExecutor(count) as pool:
        seconds = list(pool.map(one, range(count)))
    answered = [s for s in seconds if s != float("inf")]
    report.raw["burst_nodes"] = seconds
    p50, p95, worst = median(answered), percentile(answered, 0.95), max(answered, default=float("nan"))
    report.rows.append(Row(
        report.size, f"burst: {count} nodes at once, p95", p95, BURST_TARGET_SECONDS, "s", "target, every answer within it",
        f"p50 {p50:.2f}s p95 {p95:.2f}s max {worst:.2f}s; {len(answered)}/{count} answered "
        f"({count - len(answered)} told busy or lost); {'met' if worst <= BURST_TARGET_SECONDS else 'missed'} for every answer",
    ))
    say(f"[{report.size}] burst of {count} nodes: p50 {p50:.2f}s p95 {p95:.2f}s max {worst:.2f}s")


def _memory(report: SizeReport, bot: BotProcess, env: dict[str, str]) -> None:
    peak = bot.peak_rss_kib()
    report.raw["bot_peak_rss_kib"] = peak
    kubectl = report.raw.get("kubectl", {})
    nodes_ref = kubectl.get("get nodes -o json") or kubectl.get("get nodes")
    naive = report.raw.get("cycle", {}).get("naive") or []
    naive_peak = max((n["peak_rss_kib"] for n in naive), default=0)
    report.rows += [
        Row(report.size, "bot peak RSS (VmHWM, whole run)", peak / 1024, nodes_ref["peak_rss_kib"] / 1024 if nodes_ref else None, "MB",
            "kubectl get nodes -o json", f"at start {report.raw['bot_rss_at_start_kib'] / 1024:.0f} MB; "
            f"check-cycle process {report.raw.get('cycle', {}).get('peak_rss_kib', 0) / 1024:.0f} MB; "
            f"naive relist process {naive_peak / 1024:.0f} MB"),
    ]


# -- output ---------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    kubectl = shutil.which("kubectl")
    version = ""
    if kubectl:
        try:
            version = json.loads(subprocess.run([kubectl, "version", "--client", "-o", "json"], capture_output=True, check=False,
                                                text=True, timeout=20).stdout or "{}").get("clientVersion", {}).get("gitVersion", "")
        except (ValueError, subprocess.TimeoutExpired):
            pass
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "kubectl": version,
    }


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit in ("req", "acks"):
        return f"{value:.0f}"
    if unit == "MB":
        return f"{value:.1f} MB"
    return f"{value:.3f} s"


def render_table(info: dict[str, Any], reports: list[SizeReport]) -> str:
    lines = [
        f"k8s-chatops benchmark, {info['date']}",
        f"machine: {info['nproc']} cpu ({info['cpu']}), Python {info['python']}, kubectl {info['kubectl'] or '-'}, {info['platform']}",
        "ratio = bot / reference (end-to-end targets: <= 0.5)",
        "",
    ]
    header = f"{'size':<13} {'measure':<40} {'bot':>11} {'reference':>11} {'ratio':>7}  reference / detail"
    lines += [header, "-" * len(header)]
    for report in reports:
        lines.append(f"{report.size:<13} {report.made} in {report.generate_seconds:.1f} s ({report.nodes} nodes, {report.pods} pods)")
        for row in report.rows:
            ratio = f"{row.ratio:.2f}" if row.ratio is not None else "-"
            lines.append(
                f"{row.size:<13} {row.measure:<40} {_number(row.bot, row.unit):>11} {_number(row.reference, row.unit):>11} {ratio:>7}  "
                f"{row.reference_name}"
            )
            if row.detail:
                lines.append(f"{'':<13} {'':<40} {'':>11} {'':>11} {'':>7}    {row.detail}")
    return "\n".join(lines)


def to_json(info: dict[str, Any], reports: list[SizeReport]) -> dict[str, Any]:
    return {
        "machine": info,
        "sizes": [
            {
                "size": r.size, "nodes": r.nodes, "pods": r.pods, "generate_seconds": r.generate_seconds,
                "rows": [{**asdict(row), "ratio": row.ratio} for row in r.rows],
                "raw": r.raw,
            }
            for r in reports
        ],
    }


def publish(info: dict[str, Any], reports: list[SizeReport], json_path: str | None) -> None:
    """The table on stdout and, when asked, every number as JSON: how each benchmark entry point ends."""
    print(render_table(info, reports))
    if json_path:
        Path(json_path).write_text(json.dumps(to_json(info, reports), indent=2, default=str))


def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        nodes, sep, pods = part.partition("x")
        if not sep or not nodes.isdigit() or not pods.isdigit() or int(nodes) < 1:
            raise argparse.ArgumentTypeError(f"a size is NODESxPODS, e.g. 500x15000; got {part!r}")
        sizes.append((int(nodes), int(pods)))
    if not sizes:
        raise argparse.ArgumentTypeError("give at least one size")
    return sizes


def parse_fleet(text: str) -> tuple[int, int, int]:
    parts = text.split("x")
    if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"a fleet is CLUSTERSxNODESxPODS, e.g. 20x500x15000; got {text!r}")
    clusters, nodes, pods = (int(p) for p in parts)
    return clusters, nodes, pods


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes(DEFAULT_SIZES), help=f"NODESxPODS,... (default {DEFAULT_SIZES})")
    parser.add_argument("--repeat", type=int, default=5, help="Runs per measure; the median is reported (default 5)")
    parser.add_argument("--json", metavar="PATH", help="Also write every number as JSON here")
    parser.add_argument(
        "--fleet", type=parse_fleet, default=parse_fleet(DEFAULT_FLEET),
        help=f"CLUSTERSxNODESxPODS, nodes and pods per cluster (default {DEFAULT_FLEET})",
    )
    parser.add_argument(
        "--fleet-slow-seconds", type=float, default=10.0, metavar="SECONDS",
        help="How slow the fleet's slow clusters answer each request (default 10)",
    )
    parser.add_argument("--quiet", action="store_true", help="No progress lines on stderr")
    parser.add_argument(
        "--skip", default="", metavar="PARTS",
        help=f"Leave out some measures while iterating, comma-separated from {', '.join(PARTS)} (default: none)",
    )
    args = parser.parse_args(argv)
    skip = frozenset(filter(None, (part.strip() for part in args.skip.split(","))))
    if skip - set(PARTS):
        parser.error(f"--skip takes {', '.join(PARTS)}; got {', '.join(sorted(skip - set(PARTS)))}")
    say: Callable[[str], None] = (lambda _: None) if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    info = machine()
    reports = []
    with tempfile.TemporaryDirectory(prefix="k8s-chatops-bench-") as work:
        if "cold_start" not in skip:
            from bench import coldstart  # it builds on this module's helpers

            reports.append(coldstart.measure(max(1, args.repeat), Path(work), say))
        for nodes, pods in args.sizes:
            reports.append(measure_size(nodes, pods, max(1, args.repeat), Path(work), say, skip))
        if "fleet" not in skip:
            from bench import fleet  # it builds on this module's helpers

            clusters, nodes, pods = args.fleet
            reports.append(fleet.measure(
                clusters, nodes, pods, max(1, min(3, args.repeat)), Path(work), say, slow_seconds=args.fleet_slow_seconds
            ))
    publish(info, reports, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The fleet: one bot for many clusters, beside kubectl asking each cluster in turn, then with some clusters sick.

A generated fleet (``sim.generator.generate_fleet``: by default 20 clusters of
500 nodes and 15,000 pods, zonal and regional, two of them in trouble) is
served from this process, each cluster on its own Kubernetes endpoint. The
numbers, each beside its reference or target:

- watch-cache sync for the whole fleet (the alert service in a child,
  ``bench.probe fleet``), beside kubectl listing every cluster's nodes and
  Pending pods one cluster after another;
- the steady check cycle of the whole fleet (every cluster side by side, as
  the scheduler runs them), with the requests per cluster; target 2 s;
- ``clusters`` and ``nodes --cluster …`` answered end to end by ``k8s-chatops
  run`` (HTTP mode, as deployed) once its caches synced; target 1 s for
  ``clusters``; the bot's peak RSS (target 600 MB);
- isolation: the same cycle and answers with three clusters slow by 10 s per
  request and two refusing connections; the healthy clusters' cycle times and
  ``nodes`` answers are compared with the all-healthy run (target: within 10%).

Run alone: ``python -m bench.fleet [--clusters 20 --nodes 500 --pods 15000] [--repeat 3]``;
it is part of ``python -m bench.run`` (``--skip fleet`` leaves it out).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import yaml

from bench.run import (
    COMMAND,
    SHARED_READ_SECONDS,
    START_TIMEOUT,
    BotProcess,
    ProbeChild,
    Row,
    SizeReport,
    answer_of,
    end_to_end,
    free_port,
    machine,
    median,
    publish,
    run_measured,
    traffic_delta,
)
from handlers.clusters import ANSWER_SECONDS
from sim.bot_config import write_fleet_files
from sim.clock import SimClock
from sim.fleet import Fleet
from sim.generator import generate_fleet
from sim.server import SimServer
from sim.slack.sender import SlackSender

TARGETS = {"cycle": 2.0, "clusters": 1.0, "rss_mb": 600.0, "isolation": 1.10}
SLOW_SECONDS = 10.0
SLOW, REFUSING = 3, 2
# Requests slower than this fail as timeouts; a slow cluster (10 s per request) still answers within it.
REQUEST_TIMEOUT_SECONDS = 15


class FleetProbe(ProbeChild):
    """``bench.probe fleet``: the alert service of every cluster, driven a step at a time."""

    PROBE = "fleet"


def fleet_config(directory: Path, config_path: Path, *, port: int, state: str) -> Path:
    """The fleet's config.yaml as the benchmark runs it: HTTP mode, checks only when asked, quiet digest."""
    config = yaml.safe_load(config_path.read_text())
    config["slack"].update(mode="http", http_host="127.0.0.1", http_port=port)
    config["alerts"] = {
        "enabled": True, "channel": "#alerts", "interval_seconds": 86400, "jitter_seconds": 0,
        "digest_cron": "0 0 1 1 *", "evidence": False,
    }
    config["health"] = {"enabled": False}
    config["state_dir"] = str(directory / state)
    for cluster in config["clusters"]:
        cluster["request_timeout_seconds"] = REQUEST_TIMEOUT_SECONDS
    path = directory / f"{state}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def measure(
    clusters: int, nodes: int, pods: int, repeat: int, work: Path, say: Callable[[str], None],
    *, slow_seconds: float = SLOW_SECONDS,
) -> SizeReport:
    label = f"fleet {clusters}x{nodes}"
    fleet = Fleet(clock=SimClock(datetime.now(UTC).replace(microsecond=0)))
    started = time.perf_counter()
    generated = generate_fleet(fleet, clusters=clusters, nodes=nodes, pods=pods)
    report = SizeReport(label, clusters * nodes, clusters * pods, time.perf_counter() - started)
    report.made = f"{clusters} clusters generated ({', '.join(f'{n}: {t}' for n, t in generated.troubles.items())})"
    say(f"[{label}] generated in {report.generate_seconds:.1f}s")
    names = list(fleet.worlds)
    sick_slow, sick_refusing = names[-SLOW - REFUSING:-REFUSING], names[-REFUSING:]
    healthy = [n for n in names if n not in sick_slow and n not in sick_refusing]
    # nodes answers are compared on quiet healthy clusters: a troubled one's answer does more (VM ages, problem
    # lines), and mixing the two in one median measures which kind happened to be in the middle.
    asked = [n for n in healthy if n in generated.quiet][:3] or healthy[:3]
    server = SimServer(fleet)
    endpoints = server.start()
    directory = work / "fleet"
    kubeconfig, config_path = write_fleet_files(directory, endpoints, fleet)
    home = directory / "home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(home)}
    log = (directory / "bot.log").open("w")
    try:
        _kubectl_every_cluster(report, names, env, repeat, say)
        probe = FleetProbe(fleet_config(directory, config_path, port=free_port(), state="probe"), log)
        try:
            healthy_cycle = _cycles(report, server, probe, names, repeat, say)
            port = free_port()
            bot = BotProcess(fleet_config(directory, config_path, port=port, state="bot"), port, log)
            sender = SlackSender(fleet.first, server, bot_url=bot.url, ack_timeout=30.0)
            try:
                bot.wait_ready(sender)
                _wait_synced(fleet, sender, clusters)
                answers = _answers(report, fleet, sender, asked, repeat, say, phase="")
                _sicken(fleet, sick_slow, sick_refusing, slow_seconds)
                try:
                    _isolation(
                        report, probe, healthy, sick_slow, sick_refusing, healthy_cycle, repeat, say, slow_seconds
                    )
                    sick_answers = _answers(report, fleet, sender, asked, repeat, say, phase=" (3 slow, 2 refusing)")
                    ratio = sick_answers["nodes"] / answers["nodes"] if answers["nodes"] else float("nan")
                    report.rows.append(Row(
                        label, "isolation: healthy nodes answers", sick_answers["nodes"], answers["nodes"], "s",
                        "the same clusters with none sick", f"target ratio <= {TARGETS['isolation']:.2f}; "
                        f"{'met' if ratio <= TARGETS['isolation'] else 'missed'}",
                    ))
                finally:
                    _heal(fleet, sick_slow, sick_refusing)
                peak = bot.peak_rss_kib() / 1024
                report.rows.append(Row(
                    label, "bot peak RSS (VmHWM, whole run)", peak, TARGETS["rss_mb"], "MB", "target",
                    f"{'met' if peak <= TARGETS['rss_mb'] else 'missed'}; {len(names)} watch caches, "
                    f"{report.nodes:,} nodes, {report.pods:,} pods in the fleet",
                ))
            finally:
                bot.stop()
        finally:
            probe.close()
    finally:
        log.close()
        server.stop()
    return report


def _kubectl_every_cluster(report: SizeReport, names: list[str], env: dict[str, str], repeat: int, say: Callable[[str], None]) -> None:
    """What an operator without the bot does: every cluster's nodes and Pending pods, one context after another."""
    def sweep() -> float:
        started = time.perf_counter()
        for name in names:
            run_measured(["kubectl", "--context", name, "get", "nodes"], env)
            run_measured(["kubectl", "--context", name, "get", "pods", "-A", "--field-selector=status.phase=Pending"], env)
        return time.perf_counter() - started

    sweep()  # discovery caches warm, as the bot's are
    times = [sweep() for _ in range(max(1, repeat // 2))]
    report.raw["kubectl_sweep_seconds"] = times
    say(f"[{report.size}] kubectl over every cluster: {median(times):.2f}s")


def _cycles(report: SizeReport, server: SimServer, probe: FleetProbe, names: list[str], repeat: int, say: Callable[[str], None]) -> float:
    """Watch-cache sync for the fleet, then the steady cycle; returns the median healthy cycle of one cluster."""
    synced = probe.step("watch")
    if not synced.get("synced"):
        raise RuntimeError("the fleet's watch caches did not sync")
    sweep = median(report.raw["kubectl_sweep_seconds"])
    report.rows.append(Row(
        report.size, "watch-cache sync, whole fleet", synced["seconds"], sweep, "s",
        "kubectl get nodes + Pending pods, every cluster in turn",
        f"{len(names)} clusters listed and watched side by side",
    ))
    probe.step("cycle")  # the first cycle reads the VM lists; the measured ones are steady
    totals, each_cluster, requests = [], [], []
    for _ in range(repeat):
        before = server.traffic.snapshot()
        answer = probe.step("cycle")
        delta = traffic_delta(before, server.traffic.snapshot())
        totals.append(answer["seconds"])
        each_cluster += list(answer["each"].values())
        requests.append({service: count for service, (count, _) in delta.items() if service != "slack"})
    worst = max(requests, key=lambda r: sum(r.values()))
    per_cluster = ", ".join(f"{service} {count / len(names):.1f}" for service, count in sorted(worst.items()))
    report.raw["fleet_cycle"] = {"totals": totals, "each": each_cluster, "requests": requests}
    report.rows.append(Row(
        report.size, "check cycle, steady, whole fleet", median(totals), TARGETS["cycle"], "s", "target",
        f"{'met' if median(totals) <= TARGETS['cycle'] else 'missed'}; requests per cluster: {per_cluster} (no list); "
        f"one cluster's cycle median {median(each_cluster):.3f}s",
    ))
    say(f"[{report.size}] fleet cycle {median(totals):.3f}s")
    return median(each_cluster)


def _isolation(
    report: SizeReport, probe: FleetProbe, healthy: list[str], slow: list[str], refusing: list[str],
    healthy_cycle: float, repeat: int, say: Callable[[str], None], slow_seconds: float,
) -> None:
    probe.step("cycle")  # the sick clusters' first failures (watches breaking) are not what is measured
    healthy_times: list[float] = []
    totals: list[float] = []
    for _ in range(repeat):
        answer = probe.step("cycle")
        totals.append(answer["seconds"])
        healthy_times += [seconds for name, seconds in answer["each"].items() if name in healthy]
    sick = f"{', '.join(slow)} slow by {slow_seconds:g} s per request; {', '.join(refusing)} refusing connections"
    ratio = median(healthy_times) / healthy_cycle if healthy_cycle else float("nan")
    report.rows.append(Row(
        report.size, "isolation: healthy clusters' cycle", median(healthy_times), healthy_cycle, "s",
        "the same clusters with none sick",
        f"target ratio <= {TARGETS['isolation']:.2f}; {'met' if ratio <= TARGETS['isolation'] else 'missed'}; "
        f"{sick}; whole fleet's cycle {median(totals):.1f}s (the slow clusters' own)",
    ))
    say(f"[{report.size}] isolation: healthy cycle {median(healthy_times):.3f}s vs {healthy_cycle:.3f}s")


def _wait_synced(fleet: Fleet, sender: SlackSender, clusters: int) -> None:
    """Until `clusters` shows every cluster's nodes: every watch cache has listed."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if _clusters_text(fleet, sender).count("nodes Ready") >= clusters:
            return
        time.sleep(0.5)
    raise TimeoutError("the bot's watch caches did not all sync in time")


def _clusters_text(fleet: Fleet, sender: SlackSender) -> str:
    """The whole `clusters` answer, every cluster's line (``end_to_end`` keeps only the first)."""
    delivery = sender.slash_command(COMMAND, "clusters", via="http")
    if not delivery.acked:
        raise RuntimeError(f"the bot did not ack 'clusters': {delivery.body}")
    return answer_of(fleet.first, delivery).all_text()


def _answers(
    report: SizeReport, fleet: Fleet, sender: SlackSender, healthy: list[str], repeat: int, say: Callable[[str], None],
    *, phase: str,
) -> dict[str, float]:
    sample = healthy
    for name in sample:  # untimed: each cluster's Google clients are built on its first answer
        end_to_end(fleet.first, sender, f"nodes --cluster {name}")
    clusters = [end_to_end(fleet.first, sender, "clusters")[0] for _ in range(repeat)]
    nodes = []
    for _ in range(2 * repeat):
        for name in sample:
            time.sleep(SHARED_READ_SECONDS / len(sample))  # each cluster's reads are its own, and a second apart
            nodes.append(end_to_end(fleet.first, sender, f"nodes --cluster {name}")[0])
    if phase:  # the slow clusters cannot answer in time: the answer waits for them up to its deadline, no longer
        report.rows.append(Row(
            report.size, f"/k8s clusters{phase}", median(clusters), ANSWER_SECONDS, "s", "its deadline for slow clusters",
            f"the {SLOW} slow ones shown as not answering within {ANSWER_SECONDS:g} s, the refusing ones as refused",
        ))
    else:
        report.rows.append(Row(
            report.size, "/k8s clusters", median(clusters), TARGETS["clusters"], "s", "target",
            f"{'met' if median(clusters) <= TARGETS['clusters'] else 'missed'}; all {len(fleet)} clusters probed side by side",
        ))
    if not phase:
        report.rows.append(Row(
            report.size, "/k8s nodes --cluster (a healthy one)", median(nodes), None, "s", "",
            f"median over {', '.join(sample)} (quiet clusters), each asked {2 * repeat} times in turn",
        ))
    say(f"[{report.size}] clusters {median(clusters):.3f}s, nodes {median(nodes):.3f}s{phase}")
    return {"clusters": median(clusters), "nodes": median(nodes)}


def _sicken(fleet: Fleet, slow: list[str], refusing: list[str], slow_seconds: float) -> None:
    for name in slow:
        fleet[name].faults.kube_delay_seconds = slow_seconds
    for name in refusing:
        fleet[name].faults.kube_outage = "refuse"


def _heal(fleet: Fleet, slow: list[str], refusing: list[str]) -> None:
    for name in slow:
        fleet[name].faults.kube_delay_seconds = 0.0
    for name in refusing:
        fleet[name].faults.kube_outage = ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clusters", type=int, default=20)
    parser.add_argument("--nodes", type=int, default=500, help="per cluster")
    parser.add_argument("--pods", type=int, default=15000, help="per cluster")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--slow-seconds", type=float, default=SLOW_SECONDS, help="Delay of the slow clusters' requests")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    if args.clusters < SLOW + REFUSING + 1:
        parser.error(f"the isolation rows need at least {SLOW + REFUSING + 1} clusters")
    info = machine()
    with tempfile.TemporaryDirectory(prefix="k8s-chatops-fleet-") as work:
        report = measure(args.clusters, args.nodes, args.pods, max(1, args.repeat), Path(work),
                         lambda line: print(line, file=sys.stderr, flush=True), slow_seconds=args.slow_seconds)
    publish(info, [report], args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

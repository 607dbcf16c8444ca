"""Child processes the benchmark drives, so each is timed and weighed on its own.

``cycle``: the bot's alert service against a configuration; reads one word
per line on stdin (``cycle``, ``watch``, ``click``, ``quit``) and answers one
JSON line each, so the parent can count the requests the simulated APIs saw around
exactly that step. ``fleet``: the same for every cluster of a fleet's
configuration (``watch`` until every reachable cluster's cache has synced,
``cycle`` checks all clusters side by side as the scheduler does and
reports each one's time). ``relist``: what a naive checker does, every node and pod
through the official kubernetes client with model deserialization.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def rss_kib() -> tuple[int, int]:
    """(current, peak) resident set size of this process, in KiB, from /proc."""
    values = {"VmRSS": 0, "VmHWM": 0}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in values:
            values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


def _say(payload: dict[str, object]) -> None:
    current, peak = rss_kib()
    payload.update(rss_kib=current, hwm_kib=peak)
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def cycle(config: str) -> int:
    from bot.runtime import build_bot
    from bot.settings import load_settings

    bot = build_bot(load_settings(config))
    service = bot.alerts
    assert service is not None, "the benchmark's configuration enables alerts"
    cluster = service.clusters.names()[0]
    _say({"ready": True, "cluster": cluster})
    for line in sys.stdin:
        word = line.strip()
        if word == "quit":
            break
        started = time.perf_counter()
        if word == "cycle":
            findings = service.run_cycle(cluster)
            _say({"seconds": time.perf_counter() - started, "findings": len(findings),
                  "kinds": sorted({f.kind for f in findings})})
        elif word == "watch":
            service.watch()
            cache = service.clusters.get(cluster).watch
            deadline = time.monotonic() + 600
            while cache is not None and not cache.synced and time.monotonic() < deadline:
                time.sleep(0.01)
            _say({"seconds": time.perf_counter() - started, "synced": bool(cache and cache.synced)})
        elif word == "click":  # Acknowledge on the oldest open incident, as a button runs it (store, outbox, Slack)
            incidents = service.store.open_incidents()
            if not incidents:
                _say({"error": "no open incident to acknowledge"})
                continue
            service.store.update(incidents[0].id, acknowledged_by=None, acknowledged_at=None)
            started = time.perf_counter()
            service.acknowledge(incidents[0].id, "U0BENCH")
            _say({"seconds": time.perf_counter() - started, "incident": incidents[0].id})
        else:
            _say({"error": f"unknown step {word!r}"})
    return 0


def fleet(config: str) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from bot.alerts.scheduler import cycle_workers
    from bot.runtime import build_bot
    from bot.settings import load_settings

    bot = build_bot(load_settings(config))
    service = bot.alerts
    assert service is not None, "the benchmark's configuration enables alerts"
    names = service.clusters.names()
    _say({"ready": True, "clusters": names})

    def timed(name: str) -> float:
        started = time.perf_counter()
        try:
            service.run_cycle(name)
        except Exception:  # a cluster's failure is its own; the others' times still count
            pass
        return time.perf_counter() - started

    for line in sys.stdin:
        word, _, argument = line.strip().partition(" ")
        if word == "quit":
            break
        started = time.perf_counter()
        if word == "cycle":
            with ThreadPoolExecutor(max_workers=cycle_workers(len(names)), thread_name_prefix="cycle") as pool:
                each = dict(zip(names, pool.map(timed, names), strict=True))
            _say({"seconds": time.perf_counter() - started, "each": each})
        elif word == "watch":  # argument: clusters not waited for (down on purpose), comma-separated
            skip = set(filter(None, argument.split(",")))
            service.watch()
            deadline = time.monotonic() + 600
            caches = [service.clusters.get(name).watch for name in names if name not in skip]
            while not all(c is not None and c.synced for c in caches) and time.monotonic() < deadline:
                time.sleep(0.01)
            _say({"seconds": time.perf_counter() - started, "synced": all(c is not None and c.synced for c in caches)})
        else:
            _say({"error": f"unknown step {word!r}"})
    return 0


def relist(kubeconfig: str) -> int:
    from kubernetes import client, config

    config.load_kube_config(config_file=kubeconfig)
    api = client.CoreV1Api()
    started = time.perf_counter()
    nodes = api.list_node()
    pods = api.list_pod_for_all_namespaces()
    pending = sum(1 for pod in pods.items if pod.status.phase == "Pending")
    _say({"seconds": time.perf_counter() - started, "nodes": len(nodes.items), "pods": len(pods.items), "pending": pending})
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.probe")
    steps = parser.add_subparsers(dest="step", required=True)
    steps.add_parser("cycle").add_argument("--config", required=True)
    steps.add_parser("fleet").add_argument("--config", required=True)
    steps.add_parser("relist").add_argument("--kubeconfig", required=True)
    args = parser.parse_args(argv)
    if args.step == "cycle":
        return cycle(args.config)
    if args.step == "fleet":
        return fleet(args.config)
    return relist(args.kubeconfig)


if __name__ == "__main__":
    sys.exit(main())

"""`k8s-chatops sim`: serve a simulated world in the foreground for people to poke at.

It writes a kubeconfig and a bot configuration next to each other, prints how
to use them, and lets the simulated clock follow real time (scaled by
``--speed``) so a scenario's timeline plays out while you watch. With
``--clusters N`` it serves a fleet of generated clusters (``sim.fleet``),
``--nodes`` and ``--pods`` then counting per cluster, behind one kubeconfig
with a context per cluster and one configuration listing them all.

`k8s-chatops sim replay FILE` instead replays a scenario through the real bot
on a fast clock and scores the alert channel against the file's
expectations (``sim.replay``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from sim.clock import SimClock
from sim.fleet import Fleet
from sim.server import Endpoints, SimServer
from sim.world import World

SERVICES = ("kube", "gke", "compute", "logging", "slack")
FLEET_PORTS = 10  # with --port-base, a fleet's further clusters take two ports each from base + 10
DEFAULT_FLEET_NODES = 100


def build_world(
    *, scenario: str | None, nodes: int | None, pods: int | None, start: datetime | None = None
) -> tuple[World, str, str]:
    """A world from a scenario or the generator; returns it with its cluster name and location.

    ``start`` defaults to now, so ages that kubectl computes against the wall clock read right.
    """
    start = start or datetime.now(UTC).replace(microsecond=0)
    if nodes:
        from sim.generator import generate

        world = World(SimClock(start))
        generated = generate(world, nodes=nodes, pods=pods if pods is not None else nodes * 30)
        return world, generated.cluster, generated.location
    from sim.scenario import load, load_spec

    spec = load_spec(scenario or "zonal-shortfall")
    world = World(SimClock(start), project=spec.project)
    loaded = load(world, scenario or "zonal-shortfall")
    return world, loaded.cluster_name, loaded.location


def build_fleet(*, clusters: int, nodes: int, pods: int | None, start: datetime | None = None) -> tuple[Fleet, dict[str, str]]:
    """A fleet of generated clusters; returns it with a line about each cluster, by name."""
    from sim.generator import generate_fleet

    start = start or datetime.now(UTC).replace(microsecond=0)
    fleet = Fleet(clock=SimClock(start))
    made = generate_fleet(fleet, clusters=clusters, nodes=nodes, pods=pods if pods is not None else nodes * 30)
    lines = {}
    for name, cluster in made.clusters.items():
        shape = "zonal" if len(cluster.zones) == 1 else "regional"
        trouble = {"unregistered-zone": f"; VMs in {cluster.zones[-1]} never register", "busy": "; Pending pods, NotReady nodes"}
        lines[name] = (
            f"{cluster.location} ({shape}), {cluster.node_count} nodes, {cluster.pod_count} pods"
            f"{trouble.get(made.troubles.get(name, ''), '')}"
        )
    return fleet, lines


def serve(
    *,
    scenario: str | None = None,
    nodes: int | None = None,
    pods: int | None = None,
    clusters: int | None = None,
    state_dir: str = ".k8s-chatops-sim",
    speed: float = 1.0,
    port_base: int = 0,
) -> int:
    from sim.bot_config import write_files, write_fleet_files

    ports = {name: port_base + offset for offset, name in enumerate(SERVICES)} if port_base else None
    if clusters:
        started = time.monotonic()
        fleet, lines = build_fleet(clusters=clusters, nodes=nodes or DEFAULT_FLEET_NODES, pods=pods)
        if ports is not None:
            for index, name in enumerate(list(fleet.worlds)[1:]):
                ports[f"kube/{name}"] = port_base + FLEET_PORTS + 2 * index
                ports[f"kube_tls/{name}"] = port_base + FLEET_PORTS + 2 * index + 1
        server = SimServer(fleet, ports=ports)
        endpoints = server.start()
        kubeconfig, config = write_fleet_files(Path(state_dir), endpoints, fleet)
        print(f"Simulated fleet of {len(fleet)} clusters in project {fleet.project} is up "
              f"(made in {time.monotonic() - started:.1f} s):")
        _print_services(endpoints, SERVICES[1:])
        for name, line in lines.items():
            print(f"  {name:<10} {endpoints.kube_by_cluster[name][1]}  {line}")
        print()
        first = next(iter(fleet.worlds))
        print(f"  export KUBECONFIG={kubeconfig.resolve()}    # then: kubectl --context {first} get nodes")
        print(f"  k8s-chatops ask --config {config.resolve()} \"nodes --cluster {first}\"")
        clock = fleet.clock
    else:
        world, cluster, location = build_world(scenario=scenario, nodes=nodes, pods=pods)
        server = SimServer(world, ports=ports)
        endpoints = server.start()
        kubeconfig, config = write_files(Path(state_dir), endpoints, world, cluster=cluster, location=location)
        print(f"Simulated world for cluster {cluster} ({location}) is up:")
        _print_services(endpoints, SERVICES)
        print()
        print(f"  export KUBECONFIG={kubeconfig.resolve()}    # then: kubectl get nodes")
        print(f"  k8s-chatops ask --config {config.resolve()} \"nodes\"")
        clock = world.clock
    print(f"\nSimulated time runs at {speed:g}x; Ctrl-C stops.", flush=True)
    try:
        last = time.monotonic()
        while True:
            time.sleep(1)
            now = time.monotonic()
            clock.advance((now - last) * speed)
            last = now
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _print_services(endpoints: Endpoints, services: Sequence[str]) -> None:
    for name in services:
        print(f"  {name:<8} {getattr(endpoints, name)}")


def build_parser(prog: str = "k8s-chatops sim") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve a simulated GKE world (Kubernetes, GKE, Compute, Logging, Slack) in the foreground.",
        epilog=f"{prog} replay SCENARIO [--json CALLS.json]: replay a scenario through the bot and score it (see --help there).",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--scenario", default=None, help="Scenario name or YAML path (default: zonal-shortfall)")
    source.add_argument("--nodes", type=int, help="Generate a large cluster with this many nodes")
    parser.add_argument("--pods", type=int, default=None, help="With --nodes: how many pods (default 30 per node)")
    parser.add_argument(
        "--clusters", type=int, default=None,
        help=f"Generate a fleet of this many clusters; --nodes and --pods count per cluster (default {DEFAULT_FLEET_NODES} nodes)",
    )
    parser.add_argument("--state-dir", default=".k8s-chatops-sim", help="Where to write kubeconfig and config.yaml")
    parser.add_argument("--speed", type=float, default=1.0, help="Simulated seconds per real second")
    parser.add_argument("--port-base", type=int, default=0, help="Fixed ports from this one (default: free ports)")
    return parser


def main(argv: Sequence[str] | None = None, *, prog: str = "k8s-chatops sim") -> int:
    argv = list(argv) if argv is not None else None
    if argv and argv[0] == "replay":
        from sim.replay import main as replay

        return replay(argv[1:], prog=f"{prog} replay")
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.clusters is not None and (args.clusters < 1 or args.scenario):
        parser.error("--clusters takes a number of clusters of at least 1, and generated clusters only (not --scenario)")
    return serve(
        scenario=args.scenario,
        nodes=args.nodes,
        pods=args.pods,
        clusters=args.clusters,
        state_dir=args.state_dir,
        speed=args.speed,
        port_base=args.port_base,
    )

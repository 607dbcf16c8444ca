"""The `k8s-chatops` command: run the bot, ask it one question, check once, simulate, demo.

Each sub-command imports what it needs only when it runs, so `k8s-chatops ask`
does not start a scheduler and `k8s-chatops sim` does not need Slack tokens.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bot import __version__


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", metavar="PATH", help="YAML configuration (default: $K8S_CHATOPS_CONFIG)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="k8s-chatops", description="A ChatOps Slack bot for Kubernetes cluster operations, GKE-aware."
    )
    parser.add_argument("--version", action="version", version=f"k8s-chatops {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="Run the bot: Slack (Socket Mode or HTTP) and the alert scheduler")
    _add_config(run)

    ask = commands.add_parser("ask", help="Run one command locally and print what Slack would show")
    _add_config(ask)
    ask.add_argument("text", help='The command line, as after the slash command, e.g. "nodes --problems"')

    check = commands.add_parser("check", help="Run every alert check against the configured clusters")
    _add_config(check)
    check.add_argument("--once", action="store_true", required=True, help="Run one cycle and exit")
    check.add_argument("--json", action="store_true", help="Print findings as JSON")

    sim = commands.add_parser("sim", help="Serve a simulated GKE world (Kubernetes, GKE, Compute, Logging, Slack)")
    source = sim.add_mutually_exclusive_group()
    source.add_argument("--scenario", default=None, help="Scenario name or YAML path (default: zonal-shortfall)")
    source.add_argument("--nodes", type=int, help="Generate a large cluster with this many nodes")
    sim.add_argument("--pods", type=int, default=None, help="With --nodes: how many pods (default 30 per node)")
    sim.add_argument("--state-dir", default=".k8s-chatops-sim", help="Where to write kubeconfig and config.yaml")
    sim.add_argument("--speed", type=float, default=1.0, help="Simulated seconds per real second")
    sim.add_argument("--port-base", type=int, default=0, help="Fixed ports from this one (default: free ports)")

    demo = commands.add_parser("demo", help="Play the zonal-shortfall story against the simulated world")
    demo.add_argument("--scenario", default="zonal-shortfall", help="Scenario to play")
    demo.add_argument("--follow", action="store_true", help="Keep running after the story (Ctrl-C to stop)")

    commands.add_parser("config-reference", help="Print the configuration reference (Markdown)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "run":
            from bot.runtime import run_forever

            return run_forever(args.config)
        if args.command == "ask":
            from bot.runtime import ask

            return ask(args.config, args.text)
        if args.command == "check":
            from bot.runtime import check_once

            return check_once(args.config, as_json=args.json)
        if args.command == "sim":
            from sim.cli import serve

            return serve(
                scenario=args.scenario,
                nodes=args.nodes,
                pods=args.pods,
                state_dir=args.state_dir,
                speed=args.speed,
                port_base=args.port_base,
            )
        if args.command == "demo":
            from bot.demo import run_demo

            return run_demo(scenario=args.scenario, follow=args.follow)
        if args.command == "config-reference":
            from bot.config_reference import render_reference

            print(render_reference())
            return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the configuration and start-up errors users can fix
        from bot.settings import ConfigError

        if isinstance(exc, ConfigError):
            print(f"k8s-chatops: {exc}", file=sys.stderr)
            return 2
        raise
    return 2


if __name__ == "__main__":
    sys.exit(main())

"""The `k8s-chatops` command: run the bot, ask it one question, check once, simulate, demo.

Each sub-command imports what it needs only when it runs, so `k8s-chatops ask`
does not start a scheduler and `k8s-chatops sim` does not need Slack tokens.

`sim` and `demo` belong to the simulator, a separate distribution
(`k8s-chatops-sim`, in `sim/` of the repository) that the production wheel
and image do not carry. Here they only hand their arguments over to it when
it is installed, and otherwise say in one line how to install it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bot import __version__

SIMULATOR_COMMANDS = {
    "sim": "Serve a simulated GKE world (Kubernetes, GKE, Compute, Logging, Slack)",
    "demo": "Play the zonal-shortfall story against the simulated world",
}
SIMULATOR_INSTALL = "pip install -e ./sim (from a checkout of this repository)"
# A missing simulator, as an import sees it: no `sim` at all, or no aiohttp, which serves its APIs.
_SIMULATOR_MODULES = {"sim", "aiohttp"}


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

    # Listed for --help only: main() hands these two to the simulator before parsing, options and all.
    for name, text in SIMULATOR_COMMANDS.items():
        commands.add_parser(name, help=f"{text} (needs the simulator)", add_help=False)

    db = commands.add_parser("db", help="The incident store: migrate it, show its schema revision, copy it")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    upgrade = db_commands.add_parser("upgrade", help="Bring the store's schema up to date (what `run` does at start-up)")
    current = db_commands.add_parser("current", help="Print the store's schema revision and what upgrade would do")
    for sub in (upgrade, current):
        _add_config(sub)
        sub.add_argument("--url", help="The store's database URL (default: from the configuration)")
    copy = db_commands.add_parser("copy", help="Copy every row of one store into another, empty one (bot stopped)")
    copy.add_argument("--from", dest="source", required=True, metavar="URL", help="e.g. sqlite:////var/lib/k8s-chatops/incidents.sqlite3")
    copy.add_argument("--to", dest="target", required=True, metavar="URL", help="e.g. postgresql://USER:PASSWORD@HOST:5432/DATABASE")

    commands.add_parser("config-reference", help="Print the configuration reference (Markdown)")
    return parser


def _database(args: argparse.Namespace) -> int:
    """``k8s-chatops db upgrade|current|copy``: one line on stdout, or one on stderr and exit 2 (a DatabaseError)."""
    if args.db_command == "copy":
        from bot.alerts.store_copy import copy_store

        print(copy_store(args.source, args.target).describe())
        return 0
    from bot.database import connect, migrate

    if args.url:
        url = args.url
        options = None
    else:
        from bot.settings import load_settings

        settings = load_settings(args.config)
        url, options = connect.store_url(settings), settings.state
    engine = connect.create(url, options)
    try:
        connect.reachable(engine)
        if args.db_command == "upgrade":
            before, after = migrate.upgrade(engine, lock_seconds=options.migration_lock_seconds if options else None)
            done = "already at" if before == after else f"migrated from {before} to" if before else "created at"
            print(f"incident store at {connect.shown(url)}: {done} {after}")
        else:
            print(f"incident store at {connect.shown(url)}: {migrate.status(engine).describe()}")
    finally:
        engine.dispose()
    return 0


def _run_simulator(command: str, argv: Sequence[str]) -> int:
    """Hand ``k8s-chatops sim|demo ARGS`` to the simulator, or say in one line how to install it."""
    try:
        if command == "sim":
            from sim.cli import main as simulator_main
        else:
            from sim.demo import main as simulator_main
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in _SIMULATOR_MODULES:
            raise
        print(f"k8s-chatops {command} needs the simulator: {SIMULATOR_INSTALL}", file=sys.stderr)
        return 2
    return simulator_main(argv, prog=f"k8s-chatops {command}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] and argv[0] in SIMULATOR_COMMANDS:
        args = argparse.Namespace(command=argv[0])  # the simulator parses the rest
    else:
        args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command in SIMULATOR_COMMANDS:
            return _run_simulator(args.command, argv[1:])
        if args.command == "run":
            from bot.runtime import run_forever

            return run_forever(args.config)
        if args.command == "ask":
            from bot.runtime import ask

            return ask(args.config, args.text)
        if args.command == "check":
            from bot.runtime import check_once

            return check_once(args.config, as_json=args.json)
        if args.command == "db":
            return _database(args)
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

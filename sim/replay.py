"""Replay a scenario through the real bot against the simulated world, on the fast clock, and score it.

``Replay`` loads a scenario (a shipped name or any YAML file) into a world,
serves it on loopback, writes a bot configuration aimed at it (the same
shape as a production ``config.yaml``) and builds the bot from that
configuration with ``bot.runtime.build_bot``: its Kubernetes, GKE and Compute
clients and its Slack client talk to the simulated APIs over HTTP. Only the
scheduler's timer is replaced: the simulated clock moves one check interval
at a time and each move runs one check cycle, so an hour of incident plays
in seconds. The demo drives the same engine and adds Socket Mode for its
slash commands.

``k8s-chatops sim replay FILE`` is the command line: it prints the alert
channel as it changes, writes every Slack Web API call as JSON on request,
prints the score against the file's ``expect`` (``sim.score``) and exits 1
when the expectations fail. The test suite replays every shipped scenario
through this same class and scores it with the same code.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import textwrap
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from sim import score as scoring
from sim.bot_config import bot_config, write_files
from sim.clock import DEFAULT_START, SimClock
from sim.scenario import Scenario, available, load, load_spec, parse_offset
from sim.server import Endpoints, SimServer
from sim.transcript import ChannelWatcher
from sim.world import World

if TYPE_CHECKING:
    from bot.alerts.scheduler import AlertService
    from bot.alerts.store import IncidentStore
    from bot.runtime import Bot
    from bot.settings import Settings

CHANNEL = "alerts"
INTERVAL_SECONDS = 60
WIDTH = 100


Configure = Callable[[World, dict[str, Any]], None]


def bot_settings(
    world: World,
    endpoints: Endpoints,
    cluster: str,
    location: str,
    state: Path,
    configure: Configure | None = None,
    *,
    evidence: bool = False,
) -> Settings:
    """The bot's configuration for this world: every client aimed at it, alerts to #alerts every minute.

    Without ``evidence`` the bot posts no evidence replies in its incidents' threads (where it has them):
    a replay scores the alerts themselves. ``configure`` may change the configuration (a plain dict, as
    read from YAML) before it is validated.
    """
    from bot.settings import Settings

    kubeconfig, _ = write_files(state, endpoints, world, cluster=cluster, location=location)
    config = bot_config(endpoints, world, kubeconfig=kubeconfig, cluster=cluster, location=location, state_dir=state / "state")
    config["alerts"] = {
        "channel": f"#{CHANNEL}", "interval_seconds": INTERVAL_SECONDS, "jitter_seconds": 0, "evidence": evidence,
    }
    if configure is not None:
        configure(world, config)
    return Settings(**config)


class Replay:
    """A scenario's world on loopback and the real bot built from a configuration aimed at it."""

    def __init__(
        self,
        scenario: str,
        state_dir: Path | None = None,
        *,
        start: datetime = DEFAULT_START,
        configure: Configure | None = None,
        evidence: bool = False,
    ) -> None:
        from bot.runtime import build_bot

        spec = load_spec(scenario)
        self.world = World(SimClock(start), project=spec.project)
        self.scenario: Scenario = load(self.world, scenario)
        self.cluster = self.scenario.cluster_name
        self.server = SimServer(self.world)
        self.endpoints = self.server.start()
        self._tmp = tempfile.TemporaryDirectory(prefix="k8s-chatops-replay-") if state_dir is None else None
        self.state = Path(self._tmp.name) if self._tmp is not None else state_dir
        assert self.state is not None
        try:
            self.settings = bot_settings(
                self.world, self.endpoints, self.cluster, self.scenario.location, self.state, configure,
                evidence=evidence,
            )
            self.bot: Bot = build_bot(self.settings, clock=self.world.clock)
        except BaseException:
            self.server.stop()
            raise
        self.watcher = ChannelWatcher(self.world, CHANNEL)

    @property
    def service(self) -> AlertService:
        if self.bot.alerts is None:
            raise RuntimeError("the replay's settings gave the bot no alerting")
        return self.bot.alerts

    @property
    def store(self) -> IncidentStore:
        return self.service.store

    @property
    def location(self) -> str:
        return self.scenario.location

    @property
    def started(self) -> datetime:
        return self.scenario.started

    def span(self) -> timedelta:
        """How long to play: the file's ``expect.play``, else 20 minutes past its last step."""
        expect = self.scenario.spec.expect
        if expect.play:
            return parse_offset(expect.play)
        return self.scenario.end() - self.started + timedelta(minutes=20)

    def check(self) -> None:
        """One alert check of the scenario's cluster, as the scheduler's job runs it.

        Whatever the cycle started in the background (evidence being read) is waited for, so that
        each check sees the world at its own minute and the replay is the same every time.
        """
        self.service.run_cycle(self.cluster)
        if self.service.evidence is not None:
            self.service.settle()
            self.service.flush_outbox()

    def play(self, span: timedelta | None = None, *, after_check: Callable[[], None] | None = None) -> None:
        """One check now and one after every interval, until ``span`` (default ``span()``) from the start."""
        end = self.started + (span if span is not None else self.span())
        while self.world.clock.now() < end:
            self.check()
            if after_check is not None:
                after_check()
            self.world.clock.advance(self.settings.alerts.interval_seconds)

    def raised(self) -> list[scoring.Raised]:
        """Every incident the bot opened, from its store."""
        from bot.alerts.store import Incident

        with self.store.session() as session:
            incidents = list(session.query(Incident).order_by(Incident.id))
        return [
            scoring.Raised(
                id=i.id, kind=i.kind, scope=i.scope, severity=i.peak_severity or i.severity, title=i.title,
                status=i.status, parent_ts=i.parent_ts,
            )
            for i in incidents
        ]

    def opened(self) -> list[scoring.Opened]:
        return scoring.read_channel(self.world.slack, CHANNEL, self.raised())

    def messages(self) -> int:
        return scoring.channel_messages(self.world.slack, CHANNEL)

    def score(self) -> scoring.Score:
        return scoring.score(self.scenario.spec, self.started, self.opened(), self.messages())

    def slack_calls(self) -> list[dict[str, Any]]:
        """Every Web API call the bot made, in order, as JSON-ready records."""
        return [
            {
                "method": call.method,
                "at": call.at.isoformat(),
                "status": call.status,
                "ok": call.ok,
                "answered": call.answered,
                "args": call.args,
                "response": call.response,
            }
            for call in list(self.world.slack.calls)
        ]

    def stop(self) -> None:
        try:
            self.bot.stop()
            self.store.close()
        finally:
            self.server.stop()
            if self._tmp is not None:
                self._tmp.cleanup()


def replay_one(name: str, *, show: bool, calls: Path | None, evidence: bool = False) -> scoring.Score:
    """Replay one scenario; print the channel as it changes when ``show``; write the Slack calls to ``calls``."""
    replay = Replay(name, evidence=evidence)
    try:
        spec = replay.scenario.spec
        if show:
            minutes = int(replay.span().total_seconds() // 60)
            print(f"── {spec.name} ".ljust(WIDTH, "─"))
            if spec.summary:
                print(textwrap.fill(spec.summary, WIDTH))
            print(f"Replaying {minutes} simulated minutes from {replay.started:%H:%M}, one alert check a minute.")
        replay.play(after_check=replay.watcher.show_new if show else None)
        if calls is not None:
            calls.write_text(json.dumps(replay.slack_calls(), indent=1, default=str) + "\n")
        return replay.score()
    finally:
        replay.stop()


def build_parser(prog: str = "k8s-chatops sim replay") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Replay scenarios through the real bot and the simulated APIs on a fast clock, print the alert channel "
            "and score it against each file's expectations; exit 1 when any fails them."
        ),
    )
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help="A YAML file, or the name of a shipped scenario")
    parser.add_argument("--all", action="store_true", help="Every shipped scenario, scored as a table")
    parser.add_argument("--json", type=Path, metavar="CALLS.json", help="Write every Slack Web API call to this file (one scenario)")
    parser.add_argument("--quiet", action="store_true", help="Print only the score, not the channel")
    parser.add_argument(
        "--evidence", action="store_true",
        help="Let the bot post its evidence replies too (they count as messages); by default the alerts alone are scored",
    )
    return parser


def main(argv: Sequence[str] | None = None, *, prog: str = "k8s-chatops sim replay") -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    # The clients' retries against an API a scenario took down are the scenario, not news: the channel says it.
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    names = list(args.scenarios) + (available() if args.all else [])
    if not names:
        parser.error("name a scenario file (or a shipped scenario), or --all")
    if args.json is not None and len(names) != 1:
        parser.error("--json writes the calls of one scenario: name exactly one")
    for name in names:
        try:
            load_spec(name)
        except (ValueError, OSError, yaml.YAMLError) as exc:
            print(f"{prog}: {exc}", file=sys.stderr)
            return 2
    show = len(names) == 1 and not args.quiet
    scores = []
    for name in names:
        result = replay_one(name, show=show, calls=args.json, evidence=args.evidence)
        scores.append(result)
        if len(names) == 1:
            print(("\n" if show else "") + result.report())
        else:
            print(f"{result.scenario}: {'ok' if result.passed else 'FAIL'}", flush=True)
    if len(names) > 1:
        print("\n" + scoring.table(scores))
        for result in scores:
            if not result.passed:
                print("\n" + result.report())
    if args.json is not None:
        print(f"Slack calls written to {args.json}")
    return 0 if all(s.passed for s in scores) else 1

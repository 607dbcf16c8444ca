"""Replay a scenario through the real alerting path and score what the alert channel got against its expectations.

The bot runs as deployed, minus the scheduler's timer: the real Kubernetes,
GKE and Compute clients and the real Slack client talk to the simulated
world over loopback, and the simulated clock moves one check interval per
cycle, so an hour of incident plays in seconds. What the bot opened is read
from its incident store (kind, scope, the worst severity it reached) and
from the simulated Slack (every version of each parent, its thread, which
replies were also sent to the channel); the scenario's ``expect`` says what
should have happened. Warning-or-worse incidents are scored by precision
(each one the bot opened was expected) and recall (each expected one was
opened at that severity); informational ones must match when expected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bot.alerts.notifier import SlackNotifier
from bot.alerts.render import SEVERITY_RANK
from bot.alerts.scheduler import AlertService
from bot.alerts.store import Incident, IncidentStore
from bot.clusters import ClusterHandle, ClusterRegistry
from bot.settings import AlertConfig, ClusterConfig, GkeConfig, SlackConfig
from bot.slack.client import build_web_client
from bot.sources.google.compute import ComputeSource, groups_client_for, instances_client_for
from bot.sources.google.gke import GkeSource, cluster_manager_for
from bot.sources.kube.client import api_client_for_url
from bot.sources.kube.reader import KubeSource
from sim import scenario as scenarios
from sim.scenario_spec import ExpectedIncident, Scenario, parse_offset
from sim.server import SimServer
from sim.world import World

CHANNEL = "alerts"
ALERTS = AlertConfig(channel=f"#{CHANNEL}", interval_seconds=60, jitter_seconds=0)
SERIOUS = ("warning", "critical")


@dataclass
class Opened:
    """One incident the bot opened, with everything the channel showed of it."""

    incident: Incident
    text: str  # every version of the parent and every reply, one after another
    messages: int  # the parent and its replies
    broadcasts: int  # replies also sent to the channel

    @property
    def severity(self) -> str:
        return self.incident.peak_severity or self.incident.severity


@dataclass
class Score:
    scenario: str
    opened: list[Opened]
    messages: int
    precision: float = 1.0
    recall: float = 1.0
    problems: list[str] = field(default_factory=list)

    def report(self) -> str:
        lines = [f"{self.scenario}: precision {self.precision:.2f}, recall {self.recall:.2f}, {self.messages} messages"]
        lines += [f"  problem: {p}" for p in self.problems]
        for o in self.opened:
            lines.append(f"  opened #{o.incident.id} {o.incident.kind} [{o.severity}] {o.incident.scope}: {o.incident.title}")
        return "\n".join(lines)


class Replay:
    """A world loaded from a scenario, served on loopback, and the bot's alert service aimed at it."""

    def __init__(self, name: str, state_dir: Path, settings: AlertConfig = ALERTS) -> None:
        self.world = World()
        self.scenario: Scenario = scenarios.load(self.world, name)
        self.server = SimServer(self.world)
        endpoints = self.server.start()
        first = self.world.google.clusters()[0]
        gke = GkeConfig(
            project=self.world.project, location=first["location"], cluster=first["name"],
            container_endpoint=endpoints.gke, compute_endpoint=endpoints.compute, anonymous=True,
        )
        handle = ClusterHandle(
            config=ClusterConfig(name=first["name"], gke=gke),
            kube=KubeSource(first["name"], api_client_for_url(endpoints.kube), timeout_seconds=5),
            gke=GkeSource(gke, cluster_manager_for(gke)),
            compute=ComputeSource(gke, groups_client_for(gke), instances_client_for(gke)),
        )
        self.store = IncidentStore(f"sqlite:///{state_dir / 'incidents.sqlite3'}")
        client = build_web_client(SlackConfig(bot_token=self.world.slack.bot_token, api_url=endpoints.slack))
        notifier = SlackNotifier(client, self.store, self.world.clock)
        self.service = AlertService(settings, ClusterRegistry([handle]), self.store, notifier, self.world.clock)
        self.settings = settings

    def play(self, span: timedelta | None = None) -> None:
        """One check per interval for ``span`` (default: the scenario's ``expect.play``, else 20m past its last step)."""
        if span is None:
            expect = self.scenario.spec.expect
            span = parse_offset(expect.play) if expect.play else self.scenario.end() - self.scenario.started + timedelta(minutes=20)
        end = self.scenario.started + span
        while self.world.clock.now() < end:
            self.service.run_all_once()
            self.world.clock.advance(self.settings.interval_seconds)

    def stop(self) -> None:
        self.server.stop()
        self.store.close()

    def opened(self) -> list[Opened]:
        found = []
        with self.store.session() as session:
            incidents = list(session.query(Incident).order_by(Incident.id))
        for incident in incidents:
            if not incident.parent_ts:
                found.append(Opened(incident, "", 0, 0))
                continue
            parent = self.world.slack.message(CHANNEL, incident.parent_ts)
            replies = self.world.slack.thread(CHANNEL, incident.parent_ts)
            versions = [*(v.text for v in parent.edits), parent.text]
            versions += [_blocks_text(v.blocks) for v in parent.edits] + [_blocks_text(parent.blocks)]
            text = "\n".join([*versions, *(r.all_text() for r in replies)])
            found.append(Opened(incident, text, 1 + len(replies), sum(1 for r in replies if r.broadcast)))
        return found

    def messages(self) -> int:
        parents = self.world.slack.messages(CHANNEL)
        return len(parents) + sum(len(self.world.slack.thread(CHANNEL, p.ts)) for p in parents)


def _blocks_text(blocks: list | None) -> str:
    from sim.slack.records import Message

    return Message(ts="", channel="", user="", text="", blocks=blocks).all_text()


def score(replay: Replay) -> Score:
    spec = replay.scenario.spec
    expect = spec.expect
    opened = replay.opened()
    result = Score(spec.name, opened, replay.messages())
    if expect.healthy and result.messages:
        result.problems.append(f"a healthy scenario, but {result.messages} messages were posted")
    if expect.max_messages is not None and result.messages > expect.max_messages:
        result.problems.append(f"{result.messages} messages, at most {expect.max_messages} expected")
    unmatched = list(opened)
    matched_serious = 0
    expected_serious = [e for e in expect.incidents if e.severity in SERIOUS]
    for wanted in expect.incidents:
        found = _match(wanted, unmatched)
        if found is None:
            near = [f"{o.incident.kind}[{o.severity}]" for o in unmatched if o.incident.kind == wanted.kind]
            result.problems.append(f"no {wanted.kind} incident at {wanted.severity} (others of that kind: {near})")
            continue
        unmatched.remove(found)
        matched_serious += wanted.severity in SERIOUS
        result.problems += _content_problems(wanted, found)
    for other in unmatched:
        if other.incident.kind in expect.absent:
            result.problems.append(f"{other.incident.kind} must not open, but #{other.incident.id} did: {other.incident.title}")
    serious = [o for o in opened if o.severity in SERIOUS]
    surplus = [o for o in unmatched if o.severity in SERIOUS]
    for other in surplus:
        result.problems.append(f"unexpected {other.incident.kind} [{other.severity}]: {other.incident.title}")
    result.precision = (len(serious) - len(surplus)) / len(serious) if serious else 1.0
    result.recall = matched_serious / len(expected_serious) if expected_serious else 1.0
    return result


def _match(wanted: ExpectedIncident, candidates: list[Opened]) -> Opened | None:
    for candidate in candidates:
        if candidate.incident.kind != wanted.kind or candidate.severity != wanted.severity:
            continue
        if wanted.scope is not None and candidate.incident.scope != wanted.scope:
            continue
        return candidate
    return None


def _content_problems(wanted: ExpectedIncident, found: Opened) -> list[str]:
    problems = []
    text = found.text.lower()
    label = f"{wanted.kind} #{found.incident.id}"
    problems += [f"{label} never says {w!r}" for w in wanted.words if w.lower() not in text]
    problems += [f"{label} says {w!r}" for w in wanted.not_words if w.lower() in text]
    if wanted.broadcast is True and not found.broadcasts:
        problems.append(f"{label}: no reply reached the channel")
    if wanted.broadcast is False and found.broadcasts:
        problems.append(f"{label}: {found.broadcasts} replies were sent to the channel")
    if wanted.max_messages is not None and found.messages > wanted.max_messages:
        problems.append(f"{label}: {found.messages} messages, at most {wanted.max_messages} expected")
    return problems


def severity_at_least(severity: str, floor: str) -> bool:
    return SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK.get(floor, 0)

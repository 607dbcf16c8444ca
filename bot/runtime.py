"""Assemble the bot from its settings: the one place that knows how the parts fit.

`run` serves Slack and runs the alert scheduler until stopped; `ask` answers one
command on the console; `check --once` runs every check and prints what it
found. The demo and the end-to-end tests build the same ``Bot`` with a
simulated clock and endpoints.
"""

from __future__ import annotations

import getpass
import json
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.clock import Clock, SystemClock
from bot.clusters import ClusterRegistry, build_clusters
from bot.commands.door import Door
from bot.commands.registry import Invocation, Registry
from bot.errors import ChatOpsError
from bot.metrics import Metrics
from bot.metrics import metrics as default_metrics
from bot.settings import ConfigError, Settings, load_settings

if TYPE_CHECKING:  # imported where they run, so `ask` and `check --once` start without them
    from slack_bolt import App
    from slack_sdk import WebClient

    from bot.alerts.scheduler import AlertService, Leadership
    from bot.health import ClusterProbes, Health
    from bot.slack.delivery import AnswerPool
    from bot.slack.transports import SlackLink, SlackTransport

log = logging.getLogger(__name__)

PROBE_INTERVAL_SECONDS = 30
MAX_PROBES = 32  # clusters probed at once
# Readiness waits at most this long for the warm-up: a kubeconfig exec plugin or a credentials lookup that hangs
# must not keep every other cluster's answers out of Slack. Past it, answers load what they need as they come.
WARM_UP_SECONDS = 30.0


def build_door(
    settings: Settings,
    clusters: ClusterRegistry,
    clock: Clock,
    *,
    alerts: AlertService | None = None,
    registry: Registry | None = None,
    metrics: Metrics | None = None,
) -> Door:
    """The one door for commands, with every command the bot runs unless a registry is given."""
    if registry is None:
        from handlers import command_registry

        registry = command_registry()
    return Door(settings, clusters, clock, registry, alerts=alerts, metrics=metrics)


def build_leadership(settings: Settings, clock: Clock) -> Leadership | None:
    """A Lease-based elector when configured; None means this process always leads."""
    election = settings.leader_election
    if not election.enabled:
        return None
    from kubernetes.client import CoordinationV1Api

    from bot.leader import LeaderElector
    from bot.sources.kube.client import api_client_for

    holder = election.cluster or next((c.name for c in settings.clusters if c.in_cluster), None)
    if holder is None:
        raise ConfigError("leader_election is enabled but no cluster holds the Lease: set leader_election.cluster")
    api = CoordinationV1Api(api_client_for(settings.cluster(holder)))
    return LeaderElector(api, election.namespace, election.lease_name, election.identity, clock, lease_seconds=election.lease_seconds)


def build_alerts(
    settings: Settings, clusters: ClusterRegistry, clock: Clock, client: WebClient, metrics: Metrics | None = None
) -> AlertService:
    from bot.alerts.notifier import SlackNotifier
    from bot.alerts.scheduler import AlertService
    from bot.alerts.store import IncidentStore

    store = IncidentStore.from_settings(settings.state_dir, settings.state)  # migrated, or a one-line DatabaseError
    leader = build_leadership(settings, clock)
    notifier = SlackNotifier(
        client, store, clock, may_send=(lambda: leader.leading) if leader is not None else None, metrics=metrics
    )
    evidence = None
    if settings.alerts.evidence:
        from bot.alerts.evidence_service import EvidenceDesk

        evidence = EvidenceDesk(clusters, store, notifier, clock, budget_seconds=settings.alerts.evidence_budget_seconds)
    return AlertService(settings.alerts, clusters, store, notifier, clock, leader=leader, metrics=metrics, evidence=evidence)


@dataclass
class Bot:
    """Every long-lived part of a running bot, started and stopped together."""

    settings: Settings
    clock: Clock
    clusters: ClusterRegistry
    door: Door
    client: WebClient
    app: App
    alerts: AlertService | None
    metrics: Metrics = field(default_factory=lambda: default_metrics)
    answers: AnswerPool | None = None
    transport: SlackTransport | None = None
    health: Health | None = None
    link: SlackLink | None = None
    fatal: Exception | None = None  # why the bot cannot go on (Slack refused a token), once it is known
    _stopping: threading.Event = field(default_factory=threading.Event)

    def start(self, *, schedule: bool = True, on_fatal: Callable[[Exception], None] | None = None) -> None:
        """Connect to Slack in the background; with ``schedule``, run the alert checks once Slack took the token.

        Readiness (``/readyz``) says meanwhile what the connection waits for, and
        whether the cluster clients are loaded yet (``warm_up``). When Slack
        refuses a token for good, ``fatal`` is set and ``on_fatal`` called.
        """
        from bot.health import ClusterProbes, Health
        from bot.slack.transports import SlackLink, link_client, transport_for

        try:
            transport = self.transport = transport_for(self.settings.slack, self.app, self.metrics)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

        # Loaded while Slack connects (mostly waiting on the network), and part of readiness: a first
        # answer would otherwise wait for the client libraries, during the incident that restarted the pod.
        warmed = threading.Event()
        warm_deadline = time.monotonic() + WARM_UP_SECONDS
        threading.Thread(target=self._warm_up, args=(warmed,), name="warm-up", daemon=True).start()

        def clients_loaded() -> bool | str:
            return warmed.is_set() or time.monotonic() > warm_deadline or "loading the cluster clients"

        def failed(exc: Exception) -> None:
            self.fatal = exc
            if on_fatal is not None:
                on_fatal(exc)

        def authorized(identity: dict[str, Any]) -> None:
            log.warning(
                "k8s-chatops is running as %s in %s (%s mode, %d cluster(s))", identity.get("user", "?"),
                identity.get("team", "?"), self.settings.slack.mode, len(self.clusters),
            )
            if schedule and self.alerts is not None and not self._stopping.is_set():
                self.alerts.start()

        self.link = SlackLink(
            link_client(self.settings.slack), transport, mode=self.settings.slack.mode,
            on_fatal=failed, on_authorized=authorized, metrics=self.metrics,
        )
        if self.settings.health.enabled:
            probes = ClusterProbes(self.metrics)
            self._prober = threading.Thread(target=self._probe_clusters, args=(probes,), name="cluster-probes", daemon=True)
            self._prober.start()
            self.health = Health(metrics=self.metrics, required=("slack", "clients"))
            self.health.add_check("slack", self.link.readiness)
            self.health.add_check("clients", clients_loaded)
            self.health.add_detail("clusters", probes.detail)
            self.health.start(self.settings.health.host, self.settings.health.port)
        self.link.start()

    def _warm_up(self, done: threading.Event) -> None:
        try:
            warm_up(self.clusters)
        finally:
            done.set()

    def _probe_clusters(self, probes: ClusterProbes) -> None:
        """Ask each cluster for its version now and then, so /healthz and the metrics show the last result.

        The clusters are asked side by side, one probe each at a time: a
        cluster whose API hangs until its timeout keeps its own probe waiting
        and is shown as not answering meanwhile, while every other cluster is
        probed on time.
        """
        from concurrent.futures import Future, ThreadPoolExecutor

        def probe(name: str) -> None:
            try:
                self.clusters.get(name).kube.server_version()
                probes.record(name, True)
            except Exception:  # any failure is "did not answer"; the reason is in the cluster's own answers
                probes.record(name, False)

        names = self.clusters.names()
        in_flight: dict[str, Future[None]] = {}
        with ThreadPoolExecutor(max_workers=max(1, min(MAX_PROBES, len(names))), thread_name_prefix="probe") as pool:
            while not self._stopping.is_set():
                for name in names:
                    earlier = in_flight.get(name)
                    if earlier is not None and not earlier.done():
                        probes.record(name, False)  # still waiting on the last one: not answering
                        continue
                    in_flight[name] = pool.submit(probe, name)
                self._stopping.wait(PROBE_INTERVAL_SECONDS)
            for future in in_flight.values():
                future.cancel()

    def stop(self) -> None:
        self._stopping.set()
        if self.alerts is not None:
            self.alerts.stop()
        if self.link is not None:
            self.link.stop()  # and its transport
        elif self.transport is not None:
            self.transport.stop()
        if self.answers is not None:
            self.answers.shutdown()
        if self.health is not None:
            self.health.stop()


def warm_up(clusters: ClusterRegistry) -> None:
    """Build each cluster's clients and load the libraries its first answer runs, without sending anything.

    A `nodes` on a GKE cluster needs the Kubernetes client (and its kubeconfig
    read, exec plugins run), the GKE client and Compute's library, whose
    generated types alone take about a second to load. Cloud Logging's client
    stays unloaded: `logs` is rare and its library is the largest.
    """
    from bot.sources.kube.reader import KubeSource

    for handle in clusters:
        try:
            if isinstance(handle.kube, KubeSource):
                handle.kube.warm()
            if handle.gke is not None:
                from bot.sources.google.gke import GkeSource

                if isinstance(handle.gke, GkeSource):
                    handle.gke.client  # noqa: B018 (built on first access)
            if handle.compute is not None:
                import google.cloud.compute_v1  # noqa: F401 (its clients are built on first use; the library is the cost)
        except ChatOpsError:
            pass  # missing credentials: the cluster's own commands say so
        except Exception:  # one cluster's broken set-up must not leave the others cold
            log.exception("warming up the clients of cluster %s failed", handle.name)


def build_bot(settings: Settings, *, clock: Clock | None = None, metrics: Metrics | None = None) -> Bot:
    from bot.slack.app import build_slack_app
    from bot.slack.client import build_web_client
    from bot.slack.delivery import AnswerPool

    if settings.slack.bot_token is None:
        raise ConfigError("the bot needs its token: set SLACK_BOT_TOKEN (xoxb-...)")
    clock = clock or SystemClock()
    metrics = metrics or default_metrics
    clusters = build_clusters(settings, clock=clock)
    client = build_web_client(settings.slack, metrics=metrics)
    alerts = build_alerts(settings, clusters, clock, client, metrics) if settings.alerts.enabled else None
    door = build_door(settings, clusters, clock, alerts=alerts, metrics=metrics)
    answers = AnswerPool(settings.slack.answer_workers, settings.slack.answer_backlog)
    app = build_slack_app(
        settings,
        door,
        answers=answers,
        client=client,
        thread_defaults=alerts.thread_defaults if alerts else None,
        metrics=metrics,
    )
    return Bot(settings, clock, clusters, door, client, app, alerts, metrics, answers=answers)


def ask(config: str | None, text: str) -> int:
    """Answer one command on the console, as plain text; exit 1 when the answer is an error."""
    settings = load_settings(config)
    clock = SystemClock()
    door = build_door(settings, build_clusters(settings, clock=clock), clock)
    reply = door.run(Invocation(text=text, origin="cli", user_name=getpass.getuser())).reply
    print(reply.plain or reply.text)
    if reply.attachment is not None:
        print(f"\n# {reply.attachment.title} ({reply.attachment.filename})\n{reply.attachment.content}")
    return 0 if reply.ok else 1


def check_once(config: str | None, *, as_json: bool = False) -> int:
    """Run every check once and print the findings; posts nothing. Exit 1 when any is not info."""
    from bot.alerts.checks import run_checks
    from bot.alerts.snapshot import take_snapshot
    from bot.analysis.cluster_config import config_findings

    settings = load_settings(config)
    clock = SystemClock()
    clusters = build_clusters(settings, clock=clock)
    results: dict[str, list[dict[str, Any]]] = {}
    for handle in clusters:
        snapshot = take_snapshot(handle, clock)
        # No stored first-seen marks here: a one-off check judges what is there now.
        findings = run_checks(snapshot, {}, settings.alerts.model_copy(update={
            "pending_grace_seconds": 0, "notready_grace_seconds": 0, "unregistered_grace_seconds": 0,
        }))
        if snapshot.gke is not None:  # standing configuration findings, as in the daily digest
            findings = config_findings(snapshot.gke, handle.name) + findings
        results[handle.name] = [
            {"kind": f.kind, "severity": f.severity, "scope": f.scope, "title": f.title, "detail": f.detail, "fix": f.fix}
            for f in findings
        ]
    if as_json:
        print(json.dumps(results, indent=2))
    else:
        for cluster, listed in results.items():
            print(f"{cluster}: {len(listed) or 'no'} finding{'s' if len(listed) != 1 else ''}")
            for finding in listed:
                print(f"  [{finding['severity']}] {finding['title']}")
                for line in filter(None, finding["detail"].splitlines()):
                    print(f"      {line}")
                if finding["fix"]:
                    print(f"      fix: {finding['fix']}")
    serious = any(f["severity"] != "info" for listed in results.values() for f in listed)
    return 1 if serious else 0


def run_forever(config: str | None) -> int:
    """The production entry point: serve until SIGTERM or Ctrl-C."""
    settings = load_settings(config)
    logging.getLogger().setLevel(settings.log_level)
    bot = build_bot(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    bot.start(on_fatal=lambda _: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        bot.stop()
    if bot.fatal is not None:
        raise bot.fatal  # a ConfigError: the command prints its one line and exits 2
    return 0

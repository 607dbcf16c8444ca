"""The alerting service: scheduled check cycles, the daily digest, and what commands and buttons call.

One interval job per cluster runs ``cycle`` (snapshot -> checks -> incidents
-> outbox flush), after which the evidence desk (``evidence_service``) gathers
the evidence of new incidents in the background; a cron job posts the digest. Only the leader (see
``bot.leader``) runs checks or posts, so two replicas post one alert.

The jobs live in memory (APScheduler's MemoryJobStore), derived from the
configuration at every start, and not in the database. Every replica runs the
same schedule and each job asks the Lease first, so a follower takes over the
checks on its next tick without anything handed over. A job store in the
database would only persist what the configuration already says, and
APScheduler does not coordinate two schedulers on one job store: both would
run every job and race each other's next-run times. What must survive a
restart or a failover (incidents, threads, marks, mutes, the outbox) is in the
incident store. The cost is a daily digest that falls due while no replica
runs: it is not made up afterwards.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, Protocol

from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.alerts import render
from bot.alerts.checks import checked_kinds, judge, next_marks
from bot.alerts.engine import IncidentEngine
from bot.alerts.evidence_service import EvidenceDesk
from bot.alerts.notifier import SlackNotifier
from bot.alerts.snapshot import ClusterSnapshot, take_snapshot
from bot.alerts.store import Incident, IncidentStore, MuteResult
from bot.alerts.summary import summary_markdown, summary_reply
from bot.analysis.cluster_config import config_findings
from bot.clock import Clock
from bot.clusters import ClusterHandle, ClusterRegistry
from bot.errors import BadInput, ChatOpsError, NotFound
from bot.metrics import Metrics
from bot.metrics import metrics as default_metrics
from bot.model.findings import Finding
from bot.settings import AlertConfig

log = logging.getLogger(__name__)

# Posts waiting in the outbox (a click's edit, a deferred retry) go out this often.
OUTBOX_FLUSH_SECONDS = 5
# Workers for the outbox, the Lease and the digest, beside one per cluster's check.
HOUSEKEEPING_WORKERS = 3
# At most this many clusters are read at once (a cycle is mostly waiting on the network).
MAX_CYCLE_WORKERS = 32


def cycle_workers(clusters: int) -> int:
    """Threads to check ``clusters`` clusters side by side: one each, within a bound for large fleets."""
    return max(1, min(clusters, MAX_CYCLE_WORKERS))


class Leadership(Protocol):
    @property
    def leading(self) -> bool: ...

    @property
    def renew_interval_seconds(self) -> float | None: ...

    def try_acquire_or_renew(self) -> bool: ...


class AlwaysLeader:
    """Single-replica mode: no lease configured, this process always leads."""

    leading = True
    renew_interval_seconds = None

    def try_acquire_or_renew(self) -> bool:
        return True


class AlertService:
    def __init__(
        self,
        settings: AlertConfig,
        clusters: ClusterRegistry,
        store: IncidentStore,
        notifier: SlackNotifier,
        clock: Clock,
        leader: Leadership | None = None,
        permalink: Callable[[Incident], str | None] | None = None,
        metrics: Metrics | None = None,
        evidence: EvidenceDesk | None = None,
    ) -> None:
        """``evidence`` None posts no evidence replies (the scenario replays score the alerts alone)."""
        self.settings = settings
        self.clusters = clusters
        self.store = store
        self.notifier = notifier
        self.clock = clock
        self.leader = leader or AlwaysLeader()
        self.metrics = metrics or default_metrics
        channels = {h.name: h.config.alert_channel for h in clusters if h.config.alert_channel}
        self.engine = IncidentEngine(store, notifier, clock, settings, channels)
        self._permalink = permalink or self._slack_permalink
        self._locks: dict[str, threading.Lock] = {name: threading.Lock() for name in clusters.names()}
        self._scheduler: BackgroundScheduler | None = None
        self._previous: dict[str, ClusterSnapshot] = {}
        self.evidence = evidence
        self._names: dict[str, str] = {}

    # -- cycles ------------------------------------------------------------------------

    def run_cycle(self, cluster_name: str) -> list[Finding]:
        """One check of one cluster; nothing happens on a replica that is not the leader."""
        if not self.leader.try_acquire_or_renew():
            return []
        handle = self.clusters.get(cluster_name)
        with self._locks.setdefault(cluster_name, threading.Lock()):
            try:
                snapshot = take_snapshot(
                    handle,
                    self.clock,
                    cache=handle.watch,
                    previous=self._previous.get(cluster_name),
                    vms_max_age=timedelta(seconds=self.settings.vm_refresh_seconds),
                )
                self._previous[cluster_name] = snapshot
                handle.recent_vms = tuple(snapshot.vms)
                marks = self.store.first_seen(cluster_name)
                judgement = judge(snapshot, marks, self.settings)
                findings = judgement.findings
                self.store.replace_first_seen(cluster_name, next_marks(snapshot, marks, self.settings))
                self.engine.process(
                    cluster_name, findings, checked_kinds(snapshot),
                    held=judgement.held, settling=judgement.settling,
                )
                self.notifier.flush()
            except Exception:
                self.metrics.check_done(cluster_name, "error")
                raise
            self.metrics.check_done(cluster_name, "ok" if snapshot.reachable else "unreachable")
            self.metrics.set_incidents_open(len(self.store.open_incidents()))
        if self.evidence is not None:  # read in the background, outside the cluster's lock
            self.evidence.consider(self.store.open_incidents(cluster_name))
        return findings

    def run_all_once(self) -> dict[str, list[Finding]]:
        """One cycle of every cluster, side by side as the scheduler runs them (``check --once``, the tests)."""
        names = self.clusters.names()
        if len(names) <= 1:
            return {name: self.run_cycle(name) for name in names}
        with ThreadPoolExecutor(max_workers=cycle_workers(len(names)), thread_name_prefix="cycle") as pool:
            return dict(zip(names, pool.map(self.run_cycle, names), strict=True))

    def digest(self) -> None:
        """Post the standing picture: open incidents and configuration findings (a zonal cluster among them)."""
        if not self.leader.try_acquire_or_renew():
            return
        on_gke = [handle for handle in self.clusters if handle.gke is not None]

        def configuration(handle: ClusterHandle) -> list[Finding] | None:
            try:
                return config_findings(handle.gke.get_cluster(), handle.name)  # type: ignore[union-attr]
            except ChatOpsError:
                return None

        with ThreadPoolExecutor(max_workers=cycle_workers(len(on_gke)), thread_name_prefix="digest") as pool:
            found = list(pool.map(configuration, on_gke))
        standing = [finding for findings in found if findings is not None for finding in findings]
        unreachable = [handle.name for handle, findings in zip(on_gke, found, strict=True) if findings is None]
        text, blocks = render.digest(
            self.clock.now(), self.open_incidents(), standing, unreachable, clusters=self.clusters.names()
        )
        self.notifier.post_channel(self.settings.channel, text, blocks)
        self.notifier.flush()

    # -- scheduling --------------------------------------------------------------------

    def watch(self) -> None:
        """Keep nodes and problem pods of every cluster in watch caches, so cycles need no lists.

        The caches belong to the cluster handles, where commands read them too.
        """
        for handle in self.clusters:
            handle.start_watch()

    def last_snapshot(self, cluster_name: str) -> ClusterSnapshot | None:
        """What the last cycle of ``cluster_name`` judged (for operators and tests)."""
        return self._previous.get(cluster_name)

    def start(self) -> None:
        if self._scheduler is not None:
            return
        self.watch()
        # In memory, from the configuration: see the module's docstring for why not in the database.
        # Each cluster's check is one job allowed one run at a time (max_instances=1), so a cluster whose API
        # hangs until its timeout holds one worker at most; the pool has one per cluster besides the
        # housekeeping jobs, so the healthy clusters' checks never queue behind it.
        workers = cycle_workers(len(self.clusters)) + HOUSEKEEPING_WORKERS
        scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": JobExecutor(max_workers=workers)},
            timezone=self.settings.timezone,
        )
        for name in self.clusters.names():
            scheduler.add_job(
                self.run_cycle,
                "interval",
                seconds=self.settings.interval_seconds,
                jitter=self.settings.jitter_seconds or None,
                args=[name],
                id=f"check:{name}",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=self.settings.interval_seconds,
            )
        renew = self.leader.renew_interval_seconds
        if renew:
            scheduler.add_job(
                self.leader.try_acquire_or_renew, "interval", seconds=renew, id="leadership",
                coalesce=True, max_instances=1,
            )
        scheduler.add_job(
            self.flush_outbox, "interval", seconds=OUTBOX_FLUSH_SECONDS, id="outbox",
            coalesce=True, max_instances=1,
        )
        scheduler.add_job(
            self.digest,
            CronTrigger.from_crontab(self.settings.digest_cron, timezone=self.settings.timezone),
            id="digest",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
        )
        scheduler.start()
        self._scheduler = scheduler

    def flush_outbox(self) -> None:
        """Send what waits in the outbox; a follower leaves it to the leader, who shares the store."""
        if self.leader.leading:
            self.notifier.flush()

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self.evidence is not None:
            self.evidence.stop()
        self.clusters.stop_watches()

    def settle(self, timeout: float = 30.0) -> bool:
        """Wait for evidence still being gathered (tests and the demo, which step the clock by hand)."""
        return self.evidence.settle(timeout) if self.evidence is not None else True

    def jobs(self) -> list[Any]:
        """The scheduled jobs (APScheduler's Job objects)."""
        return self._scheduler.get_jobs() if self._scheduler is not None else []

    # -- people ------------------------------------------------------------------------

    def open_incidents(self, cluster: str | None = None) -> list[render.IncidentSummary]:
        """Every cluster's open incidents, or one's: only those listed are linked (a Slack call each)."""
        return [
            render.IncidentSummary(
                id=i.id, cluster=i.cluster, kind=i.kind, severity=i.severity, title=i.title, since=i.since,
                acknowledged_by=i.acknowledged_by, muted_until=i.muted_until, permalink=self._permalink(i),
            )
            for i in self.store.open_incidents(cluster)
        ]

    def incident_counts(self) -> dict[str, dict[str, int]]:
        """Open incidents per cluster and severity, from the store alone (no Slack call per incident)."""
        counts: dict[str, dict[str, int]] = {}
        for incident in self.store.open_incidents():
            by_severity = counts.setdefault(incident.cluster, {})
            by_severity[incident.severity] = by_severity.get(incident.severity, 0) + 1
        return counts

    def acknowledge(self, incident_id: int, user: str) -> Incident:
        return self.engine.acknowledge(self._open(incident_id).id, user)

    def resolve(self, incident_id: int, user: str) -> Incident:
        return self.engine.resolve_by_hand(self._open(incident_id).id, user)

    def mute(self, target: str, duration: timedelta, user: str, cluster: str | None = None) -> MuteResult:
        """An incident, or a kind of finding on every cluster or only on ``cluster``."""
        until = self.clock.now() + duration
        if target.isdigit():
            incident = self.engine.mute(self._open(int(target)).id, until, user)
            return MuteResult(f"incident #{incident.id}", until)
        self.store.mute_kind(_known_kind(target), until, user, self.clock.now(), cluster=cluster)
        return MuteResult(target, until, cluster)

    def unmute(self, target: str, user: str, cluster: str | None = None) -> MuteResult:
        if target.isdigit():
            incident = self.engine.unmute(self._open(int(target)).id, user)
            return MuteResult(f"incident #{incident.id}", None)
        if not self.store.unmute_kind(_known_kind(target), cluster=cluster):
            raise NotFound(f"`{target}` was not muted" + (f" on `{cluster}`." if cluster else " on every cluster."))
        return MuteResult(target, None, cluster)

    def thread_defaults(self, channel: str, thread_ts: str) -> dict[str, str]:
        return self.engine.thread_defaults(channel, thread_ts)

    def summary(self, incident_id: int, user: str) -> Incident:
        """Post the incident as Markdown in its thread, for its postmortem (a file when it is long)."""
        incident = self.store.get(incident_id)
        if incident is None:
            raise NotFound(f"There is no incident #{incident_id}.")
        if not incident.parent_requested:
            raise BadInput(f"Incident #{incident_id} was never posted (it opened while muted), so it has no thread to post in.")
        now = self.clock.now()
        markdown = summary_markdown(
            incident, self.store.events(incident.id), now, permalink=self._permalink(incident), name=self._user_name
        )
        text, blocks, attachment = summary_reply(incident, markdown, now)
        self.notifier.post_thread(incident.id, text, blocks)
        if attachment is not None:
            self.notifier.post_file(incident.id, attachment)
        log.info("postmortem summary of incident %d asked for by %s", incident.id, user)
        self.notifier.flush()
        return incident

    # -- helpers -----------------------------------------------------------------------

    def _open(self, incident_id: int) -> Incident:
        incident = self.store.get(incident_id)
        if incident is None:
            raise NotFound(f"There is no incident #{incident_id}.")
        if incident.status != "open":
            raise BadInput(f"Incident #{incident_id} is already resolved.")
        return incident

    def _user_name(self, user: str) -> str:
        """"Bob Smith (U123)" for a Slack user ID, from users.info once; the ID alone when Slack does not say."""
        if not (user.startswith(("U", "W")) and user.isalnum()):
            return user
        if user not in self._names:
            try:
                found = self.notifier.client.users_info(user=user)["user"]
                label = (found.get("profile") or {}).get("real_name") or found.get("real_name") or found.get("name") or ""
            except Exception:  # the summary still reads without names
                return user
            self._names[user] = f"{label} ({user})" if label else user
        return self._names[user]

    def _slack_permalink(self, incident: Incident) -> str | None:
        if not incident.parent_ts:
            return None
        try:
            answer = self.notifier.client.chat_getPermalink(channel=incident.channel, message_ts=incident.parent_ts)
            return str(answer["permalink"])
        except Exception:  # the list still answers without links
            return None


def _known_kind(kind: str) -> str:
    from bot.model import findings

    kinds = {value for name, value in vars(findings).items() if name.isupper() and isinstance(value, str)}
    if kind not in kinds:
        raise BadInput(f"`{kind}` is neither an incident number nor a kind: one of {', '.join(sorted(kinds))}.")
    return kind

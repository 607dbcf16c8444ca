"""Each incident's evidence, gathered once in the background and queued for its thread.

A check cycle decides under its cluster's lock and must not wait there for a
dozen slow reads (a VM's console, Cloud Logging, every pod of a node). So
after a cycle the alert service hands its open incidents to ``EvidenceDesk``,
which starts a gathering on a small pool of its own for each incident that
wants evidence and has none: not informational, its parent posted or queued
(the reply goes in its thread, after it in the outbox), not muted. A gathering reads within a time
budget (``evidence_gatherers``) and then, in one transaction, records the
evidence as an incident event and queues the reply (and the file, when the
reply had to leave something out) in the notifier's outbox. So the evidence
is posted once: a restart, or a second gathering that raced the first, finds
the event and stops, and the outbox delivers what was queued exactly once.
An incident whose evidence was lost to a crash before it was recorded gets
it on the next cycle.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for

from sqlalchemy import select

from bot.alerts.evidence import EVIDENCE_EVENT, Evidence
from bot.alerts.evidence_gatherers import BUDGET_SECONDS, GATHERERS, gather
from bot.alerts.evidence_render import evidence_reply
from bot.alerts.notifier import SlackNotifier, file_payload, thread_payload, with_key
from bot.alerts.store import Incident, IncidentEvent, IncidentStore, OutboxEntry
from bot.clock import Clock
from bot.clusters import ClusterRegistry

log = logging.getLogger(__name__)

WORKERS = 2  # incidents gathered at once


class EvidenceDesk:
    def __init__(
        self,
        clusters: ClusterRegistry,
        store: IncidentStore,
        notifier: SlackNotifier,
        clock: Clock,
        *,
        workers: int = WORKERS,
        budget_seconds: float = BUDGET_SECONDS,
    ) -> None:
        self.clusters = clusters
        self.store = store
        self.notifier = notifier
        self.clock = clock
        self.budget_seconds = budget_seconds
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="evidence")
        self._lock = threading.Lock()
        self._busy: dict[int, Future[None]] = {}
        self._stopped = False

    def wants(self, incident: Incident) -> bool:
        """Whether ``incident`` should have evidence now (whether it has it already is asked of the store)."""
        return self._may_want(incident) and self._still_wants(incident)

    def _may_want(self, incident: Incident) -> bool:
        """What the incident itself says: open, of a kind with evidence, not informational, posted, not muted."""
        informational = incident.severity == "info" and (incident.peak_severity or "info") == "info"
        return (
            incident.status == "open"
            and incident.kind in GATHERERS
            and not informational
            and incident.parent_requested
            and not incident.muted_at(self.clock.now())
        )

    def _still_wants(self, incident: Incident) -> bool:
        """What the store says: its kind is not muted and Slack did not refuse its parent."""
        return self.store.kind_muted(incident.kind, self.clock.now(), cluster=incident.cluster) is None and not self._parent_failed(incident.id)

    def _parent_failed(self, incident_id: int) -> bool:
        """Whether Slack refused the incident's parent for good: a reply queued now would wait for it forever."""
        with self.store.session() as s:
            return (
                s.scalars(
                    select(OutboxEntry.id).where(
                        OutboxEntry.incident_id == incident_id, OutboxEntry.method == "parent", OutboxEntry.status == "failed"
                    )
                ).first()
                is not None
            )

    def consider(self, incidents: Iterable[Incident]) -> int:
        """Start a gathering for each of ``incidents`` that wants evidence and has none; how many started."""
        with self._lock:
            if self._stopped:
                return 0
            candidates = [i for i in incidents if i.id not in self._busy and self._may_want(i)]
        if not candidates:
            return 0
        done = self.gathered([i.id for i in candidates])
        candidates = [i for i in candidates if i.id not in done and self._still_wants(i)]
        started = 0
        with self._lock:
            for incident in candidates:
                if incident.id in self._busy or self._stopped:
                    continue
                self._busy[incident.id] = self._pool.submit(self._gather, incident.id)
                started += 1
        return started

    def gathered(self, incident_ids: list[int]) -> set[int]:
        """Which of these incidents have their evidence recorded."""
        with self.store.session() as s:
            return set(
                s.scalars(
                    select(IncidentEvent.incident_id).where(
                        IncidentEvent.incident_id.in_(incident_ids), IncidentEvent.kind == EVIDENCE_EVENT
                    )
                )
            )

    def _gather(self, incident_id: int) -> None:
        try:
            incident = self.store.get(incident_id)
            if self._stopped or incident is None or not self.wants(incident) or self.gathered([incident_id]):
                return
            handle = self.clusters.get(incident.cluster)
            started = time.monotonic()
            evidence = gather(handle, incident, self.clock.now(), budget_seconds=self.budget_seconds)
            if evidence is None:
                return
            if self.record(evidence):
                log.info(
                    "evidence for incident %d read in %.1fs (%d parts, %d unread)",
                    incident_id, time.monotonic() - started, len(evidence.parts), len(evidence.unread),
                )
                self.notifier.flush()
        except Exception:  # a worker's exception would vanish; the next cycle tries again
            log.exception("gathering the evidence of incident %d failed", incident_id)
        finally:
            with self._lock:
                self._busy.pop(incident_id, None)

    def record(self, evidence: Evidence) -> bool:
        """Record ``evidence`` and queue its reply, in one transaction; False when it was already recorded."""
        reply = evidence_reply(evidence)
        now = self.clock.now()
        with self.store.session() as s:
            # Under the incident's row lock (PostgreSQL): a second recorder waits, then finds the event.
            incident = s.get(Incident, evidence.incident_id, with_for_update=True)
            if incident is None:
                return False
            already = s.scalars(
                select(IncidentEvent.id).where(
                    IncidentEvent.incident_id == incident.id, IncidentEvent.kind == EVIDENCE_EVENT
                )
            ).first()
            if already is not None:
                return False
            summary = f"{len(evidence.parts)} parts" + (f", {len(evidence.unread)} not read" if evidence.unread else "")
            s.add(IncidentEvent(incident_id=incident.id, at=now, kind=EVIDENCE_EVENT, text=reply.markdown, actor=""))
            posts = [("thread", thread_payload(reply.text, reply.blocks))]
            if reply.attachment is not None:
                posts.append(("file", file_payload(reply.attachment)))
            for method, payload in posts:
                s.add(
                    OutboxEntry(
                        incident_id=incident.id, method=method, payload=with_key(method, payload), status="pending",
                        attempts=0, next_attempt_at=now, created_at=now, last_error="",
                    )
                )
            log.debug("evidence of incident %d recorded (%s)", incident.id, summary)
        return True

    def settle(self, timeout: float) -> bool:
        """Wait until no gathering runs (tests and the demo); False when some still ran at ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                running = list(self._busy.values())
            if not running:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            wait_for(running, timeout=remaining)

    def stop(self, wait_seconds: float = 5.0) -> None:
        """Start nothing more; give a gathering under way a few seconds to record what it read."""
        with self._lock:
            self._stopped = True
        self.settle(wait_seconds)
        self._pool.shutdown(wait=False, cancel_futures=True)

"""Turns each cycle's findings into incidents: open once, update on news, resolve when clean.

All state lives in the store, so the engine itself is stateless between
calls: a restarted bot picks up the same incidents and threads. Posting goes
through the notifier's outbox; this module only decides *whether* and *what*.

Quiet until it matters, loud when it gets worse: a rise in severity is a
thread reply also sent to the channel (once per rise past what the channel
was told), an incident that comes back soon after resolving reopens in its
own thread (and says so in the channel) instead of starting a series, and an
informational incident (a healthy upgrade) is one message kept current,
without thread replies, and edited for progress at most every
``INFO_EDIT_SECONDS`` (its end, or a rise, at once): a healthy upgrade is a
post, an edit or two, and its end.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from bot.alerts import render
from bot.alerts.changes import significant_changes
from bot.alerts.notifier import SlackNotifier
from bot.alerts.store import Incident, IncidentStore
from bot.clock import Clock
from bot.model.findings import Finding
from bot.settings import AlertConfig

log = logging.getLogger(__name__)
R = TypeVar("R")
# An informational message is edited for progress at most this often; what changed meanwhile waits.
INFO_EDIT_SECONDS = 900
_SHOWN = ("opened", "changed", "reopened")  # events that mean the parent was (re)written with the news



def incident_state(incident: Incident) -> render.IncidentState:
    return render.IncidentState(
        id=incident.id,
        cluster=incident.cluster,
        kind=incident.kind,
        scope=incident.scope,
        severity=incident.severity,
        title=incident.title,
        detail=incident.detail,
        fix=incident.fix,
        since=incident.since,
        facts=dict(incident.rendered_facts or {}),
        status=incident.status,
        resolved_at=incident.resolved_at,
        acknowledged_by=incident.acknowledged_by,
        muted_until=incident.muted_until,
        peak_severity=incident.peak_severity or "",
    )


def _wording(title: str, severity: str) -> tuple[str, str]:
    """A title and severity with the numbers left out: "unreachable for 12m" is not reworded at 13m."""
    return re.sub(r"\d+", "#", title), severity


def _as_found(incident: Incident, finding: Finding) -> dict[str, Any]:
    """The columns a check's finding sets on its incident, whether it stays open or comes back.

    The count of clean checks starts again, since the trouble was seen again.
    """
    return {
        "clean_checks": 0,
        "rendered_facts": dict(finding.facts),
        "title": finding.title,
        "detail": finding.detail,
        "fix": finding.fix,
        "severity": finding.severity,
        "peak_severity": _higher(incident.peak_severity, finding.severity),
    }


def _higher(first: str | None, second: str) -> str:
    return second if first is None or render.rises(first, second) else first


def _serialized(method: Callable[..., R]) -> Callable[..., R]:
    """Run under the engine's lock.

    Check cycles run on the scheduler's threads and clicks on Bolt's; each reads
    an incident, decides and renders it. Interleaved, a cycle could render the
    parent from a state read before a click and edit the acknowledgement away,
    or two clicks could both find the incident unacknowledged. With two
    replicas the click may land on the other one: the store serializes across
    them too (an advisory lock on PostgreSQL).
    """

    @functools.wraps(method)
    def locked(self: IncidentEngine, *args: Any, **kwargs: Any) -> R:
        with self._lock, self.store.serialized():
            return method(self, *args, **kwargs)

    return locked


class IncidentEngine:
    def __init__(
        self,
        store: IncidentStore,
        notifier: SlackNotifier,
        clock: Clock,
        settings: AlertConfig,
        channels: Mapping[str, str] | None = None,
    ) -> None:
        """``channels`` maps a cluster to its own alert channel; the others post to ``settings.channel``.

        A fleet's owners differ: the team that runs a cluster wants its incidents
        where it works, while the platform team keeps the fleet digest.
        """
        self.store = store
        self.notifier = notifier
        self.clock = clock
        self.settings = settings
        self.channels: Mapping[str, str] = dict(channels or {})
        self._lock = threading.RLock()

    # -- the cycle -----------------------------------------------------------------

    @_serialized
    def process(
        self,
        cluster: str,
        findings: Iterable[Finding],
        checked_kinds: Iterable[str],
        *,
        held: Iterable[tuple[str, str, str]] = (),
        settling: Iterable[tuple[str, str, str]] = (),
    ) -> None:
        """Apply one check cycle of ``cluster``; kinds not in ``checked_kinds`` are left as they are.

        Open incidents without a finding count a clean check, except those in
        ``held`` (their trouble is still there, inside its grace period: the
        count starts over) and those in ``settling`` (clean, but not yet stable
        enough to resolve).
        """
        now = self.clock.now()
        checked = set(checked_kinds)
        held_keys, settling_keys = set(held), set(settling)
        seen: set[tuple[str, str, str]] = set()
        for finding in findings:
            if finding.cluster != cluster or finding.key in seen:
                continue
            seen.add(finding.key)
            checked.add(finding.kind)
            incident = self.store.find_open(*finding.key)
            final = bool(finding.facts.get("final"))
            once = final or bool(finding.facts.get("once"))  # a terminal state: reported once, never reopened
            if incident is None:
                if once and self.store.was_resolved(*finding.key):
                    continue  # a finished (or failed) operation, already reported and resolved
                incident = (None if once else self._reopen(finding, now)) or self._open(finding, now)
            else:
                incident = self._refresh(incident, finding, now)
            if final:  # a terminal state (an upgrade that finished) needs no clean checks to end
                self._resolve(incident, now, by=None, reason="finished")
        for incident in self.store.open_incidents(cluster):
            if incident.key in seen or incident.kind not in checked:
                continue
            if incident.key in held_keys:  # still there, only inside its grace period: not clean
                if incident.clean_checks:
                    self.store.update(incident.id, clean_checks=0)
                continue
            clean = incident.clean_checks + 1
            if clean >= self.settings.clear_after_checks and incident.key not in settling_keys:
                self._resolve(incident, now, by=None)
            else:
                self.store.update(incident.id, clean_checks=clean)
        self.notifier.flush()

    def _silenced(self, incident: Incident, now: datetime) -> bool:
        return incident.muted_at(now) or self.store.kind_muted(incident.kind, now, cluster=incident.cluster) is not None

    def _open(self, finding: Finding, now: datetime) -> Incident:
        incident = self.store.open_incident(finding, self.channels.get(finding.cluster, self.settings.channel), now)
        log.info("incident %d opened: %s %s %s", incident.id, *finding.key)
        if not self._silenced(incident, now):
            self._post_parent(incident, now)
        return incident

    def _post_parent(self, incident: Incident, now: datetime) -> None:
        text, blocks = render.parent_message(incident_state(incident), now)
        self.notifier.post_parent(incident.id, incident.channel, text, blocks)
        self.store.update(
            incident.id,
            posted_facts=dict(incident.rendered_facts or {}),
            announced_severity=_higher(incident.announced_severity, incident.severity),
        )

    def _reopen(self, finding: Finding, now: datetime) -> Incident | None:
        """The same incident again when it resolved only a little while ago: one thread, not a series."""
        if self.settings.reopen_seconds <= 0:
            return None
        earlier = self.store.recently_resolved(*finding.key, since=now - timedelta(seconds=self.settings.reopen_seconds))
        if earlier is None or earlier.resolved_at is None:
            return None
        resolved_at = earlier.resolved_at
        incident = self.store.update(
            earlier.id, status="open", resolved_at=None, resolved_by=None, **_as_found(earlier, finding)
        )
        self.store.add_event(incident.id, now, "reopened", finding.title)
        log.info("incident %d reopened: %s %s %s", incident.id, *finding.key)
        if self._silenced(incident, now):
            return incident
        if not incident.parent_requested:
            self._post_parent(incident, now)
            return incident
        state = incident_state(incident)
        if not state.informational:
            self.notifier.post_thread(incident.id, *render.reopened(state, resolved_at, now), broadcast=True)
        self.notifier.update_parent(incident.id, *render.parent_message(state, now))
        return self.store.update(
            incident.id,
            posted_facts=dict(finding.facts),
            announced_severity=_higher(incident.announced_severity, incident.severity),
        )

    def _refresh(self, incident: Incident, finding: Finding, now: datetime) -> Incident:
        before = incident.severity
        shown = (incident.title, incident.severity)
        incident = self.store.update(incident.id, **_as_found(incident, finding))
        if self._silenced(incident, now):
            return incident
        if not incident.parent_requested:  # opened while muted: the mute is over, so show it now
            self._post_parent(incident, now)
            return incident
        changes = significant_changes(incident.posted_facts or {}, finding.facts, self.settings.change_threshold)
        state = incident_state(incident)
        told = incident.announced_severity or before
        if render.rises(told, finding.severity):
            # Worse than the channel was ever told: an edit far up the channel would go unseen.
            self.store.add_event(incident.id, now, "escalated", f"{told} → {finding.severity}")
            self.notifier.post_thread(incident.id, *render.escalation(state, told, changes), broadcast=True)
            self.notifier.update_parent(incident.id, *render.parent_message(state, now))
            return self.store.update(incident.id, posted_facts=dict(finding.facts), announced_severity=finding.severity)
        if not changes:
            if _wording(finding.title, finding.severity) != _wording(*shown):  # e.g. now flapping: keep the parent true
                self.notifier.update_parent(incident.id, *render.parent_message(state, now))
            return incident
        if state.informational and not finding.facts.get("final") and self._shown_lately(incident, now):
            return incident  # nobody needs each percent: the posted facts stay, so the news waits for the next edit
        self.store.add_event(incident.id, now, "changed", "; ".join(changes))
        # An informational incident is one message, kept current; a final change (an upgrade that finished)
        # is told by the resolution's timeline, posted right after, and needs no reply of its own.
        if not state.informational and not finding.facts.get("final"):
            self.notifier.post_thread(incident.id, *render.thread_update(state, changes))
        self.notifier.update_parent(incident.id, *render.parent_message(state, now))
        return self.store.update(incident.id, posted_facts=dict(finding.facts))

    def _shown_lately(self, incident: Incident, now: datetime) -> bool:
        """Whether the parent was written with news less than ``INFO_EDIT_SECONDS`` ago."""
        shown = [e.at for e in self.store.events(incident.id) if e.kind in _SHOWN]
        last = max(shown, default=incident.opened_at)
        return now - last < timedelta(seconds=INFO_EDIT_SECONDS)

    def _resolve(self, incident: Incident, now: datetime, by: str | None, reason: str = "no longer observed") -> Incident:
        incident = self.store.update(incident.id, status="resolved", resolved_at=now, resolved_by=by, clean_checks=0)
        self.store.add_event(incident.id, now, "resolved", "" if by else reason, actor=by or "")
        log.info("incident %d resolved", incident.id)
        # A mute quiets updates, not the ending: a parent left showing an open incident would mislead.
        if incident.parent_requested:
            state = incident_state(incident)
            self.notifier.update_parent(incident.id, *render.parent_message(state, now))
            if state.informational:
                return incident  # its one message now reads as ended; nobody needs a timeline
            timeline = [render.TimelineLine(e.at, e.kind, e.text, e.actor) for e in self.store.events(incident.id)]
            self.notifier.post_thread(incident.id, *render.resolution_timeline(state, timeline))
        return incident

    # -- people acting on incidents -----------------------------------------------------

    @_serialized
    def acknowledge(self, incident_id: int, user: str) -> Incident:
        now = self.clock.now()
        incident = self._existing(incident_id)
        if incident.status == "open" and not incident.acknowledged_by:
            incident = self.store.update(incident.id, acknowledged_by=user, acknowledged_at=now)
            self.store.add_event(incident.id, now, "acknowledged", actor=user)
            self._show_current(incident, now, render.thread_note(f"Acknowledged by {render.user_mention(user)}"))
        return incident

    @_serialized
    def resolve_by_hand(self, incident_id: int, user: str) -> Incident:
        incident = self._existing(incident_id)
        if incident.status == "open":
            incident = self._resolve(incident, self.clock.now(), by=user)
            self.notifier.flush()
        return incident

    @_serialized
    def mute(self, incident_id: int, until: datetime, user: str) -> Incident:
        now = self.clock.now()
        incident = self.store.update(self._existing(incident_id).id, muted_until=until, muted_by=user)
        self.store.add_event(incident.id, now, "muted", f"until {render.clock_time(until)}", actor=user)
        self._show_current(incident, now, render.thread_note(f"Muted until {render.clock_time(until)} by {render.user_mention(user)}"), force=True)
        return incident

    @_serialized
    def unmute(self, incident_id: int, user: str) -> Incident:
        now = self.clock.now()
        incident = self.store.update(self._existing(incident_id).id, muted_until=None, muted_by=None)
        self.store.add_event(incident.id, now, "unmuted", actor=user)
        self._show_current(incident, now, None)
        return incident

    def _show_current(self, incident: Incident, now: datetime, note: render.Message | None, force: bool = False) -> None:
        """Edit the parent to the current state (and add a thread note) when it was ever posted."""
        if not incident.parent_requested or (self._silenced(incident, now) and not force):
            return
        if note is not None:
            self.notifier.post_thread(incident.id, *note)
        self.notifier.update_parent(incident.id, *render.parent_message(incident_state(incident), now))
        self.notifier.flush()

    def _existing(self, incident_id: int) -> Incident:
        incident = self.store.get(incident_id)
        if incident is None:
            raise LookupError(f"no incident #{incident_id}")
        return incident

    # -- threads ------------------------------------------------------------------------

    def thread_defaults(self, channel: str, thread_ts: str) -> dict[str, str]:
        """Cluster and scope for a command typed in an incident's thread, so users need not repeat them."""
        incident = self.store.by_parent(channel, thread_ts)
        if incident is None:
            return {}
        return {"cluster": incident.cluster, "scope": incident.scope, "incident": str(incident.id)}

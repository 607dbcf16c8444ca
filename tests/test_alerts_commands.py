"""The `alerts` commands through the real router, with and without the alert service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.alerts.render import IncidentSummary
from bot.alerts.store import MuteResult
from bot.blocks import Reply
from bot.clusters import ClusterRegistry
from bot.commands.door import Door
from bot.commands.registry import AlertCommands, Invocation
from bot.settings import Settings
from handlers import command_registry
from sim.clock import SimClock

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class RecordingAlerts:
    """Stands in for AlertService at its public surface; records who did what."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def open_incidents(self, cluster: str | None = None) -> list[IncidentSummary]:
        rows = [IncidentSummary(7, "shop-prod", "unregistered-vms", "critical", "2 VMs <never> registered", NOW,
                                None, None, "https://sim.slack.com/archives/C1/p1")]
        return [row for row in rows if cluster is None or row.cluster == cluster]

    def incident_counts(self) -> dict[str, dict[str, int]]:
        return {"shop-prod": {"critical": 1}}

    def acknowledge(self, incident_id: int, user: str):
        self.calls.append(("ack", incident_id, user))
        return type("I", (), {"id": incident_id, "title": "x", "acknowledged_by": user})()

    def resolve(self, incident_id: int, user: str):
        self.calls.append(("resolve", incident_id, user))
        return type("I", (), {"id": incident_id, "title": "x", "acknowledged_by": None})()

    def mute(self, target: str, duration: timedelta, user: str, cluster: str | None = None) -> MuteResult:
        self.calls.append(("mute", target, duration, user) + ((cluster,) if cluster else ()))
        return MuteResult(target, NOW + duration)

    def unmute(self, target: str, user: str, cluster: str | None = None) -> MuteResult:
        self.calls.append(("unmute", target, user) + ((cluster,) if cluster else ()))
        return MuteResult(target, None)


def router(alerts: AlertCommands | None) -> Door:
    return Door(Settings(), ClusterRegistry([]), SimClock(NOW), command_registry(), alerts=alerts)


def ask(door: Door, text: str) -> Reply:
    return door.run(Invocation(text=text, user_id="U0ALICE")).reply


def test_list_links_threads_and_escapes_titles():
    reply = ask(router(RecordingAlerts()), "alerts")
    body = str([b.to_dict() for b in reply.blocks])
    assert "https://sim.slack.com/archives/C1/p1" in body
    assert "&lt;never&gt;" in body and "<never>" not in body


def test_ack_and_mute_record_who_and_validate_input():
    alerts = RecordingAlerts()
    r = router(alerts)
    assert ask(r, "alerts ack 7").ok
    assert ask(r, "alerts mute pending-pods 2h").ok
    assert ask(r, "alerts unmute #7").ok
    assert alerts.calls == [("ack", 7, "U0ALICE"), ("mute", "pending-pods", timedelta(hours=2), "U0ALICE"),
                            ("unmute", "7", "U0ALICE")]
    bad = ask(r, "alerts mute pending-pods forever")
    assert not bad.ok and "duration" in bad.text


def test_without_the_service_the_commands_say_alerts_are_off():
    reply = ask(router(None), "alerts")
    assert not reply.ok
    assert "not running" in reply.text

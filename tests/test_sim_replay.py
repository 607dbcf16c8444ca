"""`k8s-chatops sim replay`: one command replays a scenario file through the real bot, prints the channel, scores it.

The command runs as a process here, as a person runs it: on a shipped
scenario it prints the channel and the score and exits 0; with expectations
the bot does not meet it says which and exits 1; ``--json`` writes every
Slack Web API call. The scorer it shares with the test suite (``sim.score``)
is checked on a hand-made channel: what counts as a message, when the first
alert came, what a healthy scenario may get.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import yaml

from sim.clock import SimClock
from sim.scenario_spec import ScenarioSpec, load_spec
from sim.score import Raised, channel_messages, read_channel, score, table
from sim.slack.workspace import SlackWorkspace
from tests.bot_process import bot_env

REPO = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "sim", "replay", *args],
        capture_output=True, text=True, timeout=600, cwd=REPO, env=bot_env(), check=False,
    )


def test_the_command_replays_a_scenario_prints_the_channel_and_its_score_and_writes_the_calls(tmp_path):
    calls = tmp_path / "calls.json"
    done = run("zone-outage", "--json", str(calls))
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "#alerts  09:08  new alert" in out, out
    assert "CRITICAL · shop-prod · Zone us-west1-b: all of 3 nodes Unknown for more than 3m" in out
    assert "Resolved after" in out
    assert "zone-outage: meets its expectations" in out
    assert "warning-or-worse incidents: precision 1.00, recall 1.00" in out
    assert "expected zone-not-ready [critical]: #1, 3 messages (at most 3), first alert +8m (by +9m)" in out
    recorded = json.loads(calls.read_text())
    methods = [c["method"] for c in recorded]
    assert methods.count("chat.postMessage") == 2 and methods.count("chat.update") == 1, methods
    [parent] = [c for c in recorded if c["method"] == "chat.postMessage" and not c["args"].get("thread_ts")]
    assert parent["ok"] and parent["at"].startswith("2026-11-24T09:08")
    assert "Zone us-west1-b" in parent["args"]["text"]


def test_the_command_exits_1_and_says_why_when_the_expectations_fail(tmp_path):
    spec = yaml.safe_load((REPO / "sim" / "scenarios" / "zone-outage.yaml").read_text())
    spec["name"] = "zone-outage-too-strict"
    wanted = spec["expect"]["incidents"][0]
    wanted["first_alert_by"] = "7m"
    wanted["words"].append("a word the bot never says")
    spec["expect"]["absent"].append("zone-not-ready")
    path = tmp_path / "too-strict.yaml"
    path.write_text(yaml.safe_dump(spec))
    done = run(str(path), "--quiet")
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "#alerts" not in out, "--quiet prints the score alone"
    assert "zone-outage-too-strict: FAILS its expectations" in out
    assert "problem: zone-not-ready #1: first alert at +8m, due by +7m" in out
    assert "problem: zone-not-ready #1 never says 'a word the bot never says'" in out


def test_the_command_refuses_what_it_cannot_replay(tmp_path):
    done = run("no-such-scenario")
    assert done.returncode == 2 and "unknown scenario 'no-such-scenario'" in done.stderr
    done = run("zone-outage", "node-notready", "--json", str(tmp_path / "calls.json"))
    assert done.returncode == 2 and "--json writes the calls of one scenario" in done.stderr


# -- the scorer on a hand-made channel ------------------------------------------------


def _spec(**expect: object) -> ScenarioSpec:
    spec = load_spec("zone-outage")
    return spec.model_copy(update={"expect": spec.expect.model_validate(expect)})


def _channel() -> tuple[SlackWorkspace, SimClock]:
    clock = SimClock()
    return SlackWorkspace(clock), clock


def test_every_post_edit_reply_and_broadcast_is_a_message_and_the_first_alert_is_the_parents_post():
    slack, clock = _channel()
    started = clock.now()
    clock.advance(8 * 60)
    parent = slack.post_message("alerts", user="bot", text="[WARNING] one node NotReady")
    clock.advance(60)
    slack.update_message("alerts", parent.ts, text="[CRITICAL] every node NotReady", blocks=None)
    slack.post_message("alerts", user="bot", text="Now CRITICAL", thread_ts=parent.ts, broadcast=True)
    slack.post_message("alerts", user="bot", text="Resolved after 20m", thread_ts=parent.ts)
    raised = Raised(id=1, kind="nodes-not-ready", scope="", severity="critical", title="t", status="resolved", parent_ts=parent.ts)
    [opened] = read_channel(slack, "alerts", [raised])
    assert (opened.posts, opened.edits, opened.replies, opened.broadcasts, opened.messages) == (1, 1, 2, 1, 5)
    assert channel_messages(slack, "alerts") == 5
    assert "one node NotReady" in opened.text and "every node NotReady" in opened.text

    spec = _spec(incidents=[{"kind": "nodes-not-ready", "severity": "critical", "max_messages": 4, "first_alert_by": "7m"}])
    result = score(spec, started, [opened], 5)
    assert result.matches[0].first_alert == timedelta(minutes=8)
    assert result.problems == [
        "nodes-not-ready #1: 5 messages, at most 4 expected",
        "nodes-not-ready #1: first alert at +8m, due by +7m",
    ]
    assert (result.precision, result.recall) == (1.0, 1.0) and not result.passed


def test_precision_recall_and_healthy_scenarios():
    slack, clock = _channel()
    started = clock.now()
    parent = slack.post_message("alerts", user="bot", text="[WARNING] pods pending")
    pending = Raised(id=1, kind="pending-pods", scope="", severity="warning", title="pods", status="open", parent_ts=parent.ts)
    muted = Raised(id=2, kind="master-upgrade", scope="op", severity="info", title="upgrade", status="open", parent_ts=None)
    opened = read_channel(slack, "alerts", [pending, muted])

    healthy = score(_spec(healthy=True), started, opened, channel_messages(slack, "alerts"))
    assert healthy.precision == 0.0, "a warning nobody expected is a false alarm"
    assert healthy.healthy_alerts == 1
    assert "a healthy scenario, but 1 messages were posted" in healthy.problems

    missed = score(_spec(incidents=[{"kind": "zone-not-ready", "severity": "critical"}]), started, opened, 1)
    assert (missed.precision, missed.recall) == (0.0, 0.0)

    matched = score(
        _spec(incidents=[{"kind": "pending-pods", "severity": "warning"}], absent=["zone-not-ready"]), started, opened, 1
    )
    assert matched.passed, matched.report()
    rendered = table([healthy, matched])
    assert "2 scenarios, 1 meet their expectations" in rendered
    assert "precision 0.50, recall 1.00; alerts on healthy scenarios: 1" in rendered

"""A rise in severity reaches people: a reply also sent to the channel, once per rise, besides the edited parent.

Played through the real bot against the simulated world and Slack
(scenario nodes-going-down): one node NotReady opens a warning; when every
node is NotReady it is critical, and the thread gets a reply posted with
``reply_broadcast`` (Slack's "also send to channel") that the channel's
history shows as a thread_broadcast.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scenario_replay import CHANNEL, Replay


@pytest.fixture
def replay(tmp_path: Path) -> Iterator[Replay]:
    replayed = Replay("nodes-going-down", tmp_path)
    yield replayed
    replayed.stop()


def test_a_rise_to_critical_is_broadcast_to_the_channel_once(replay: Replay) -> None:
    replay.play()
    slack = replay.world.slack
    [parent] = slack.messages(CHANNEL)
    first = parent.edits[0] if parent.edits else parent
    assert first.text.startswith("[WARNING]"), "it opened as a warning (one node of three)"
    assert any(version.text.startswith("[CRITICAL]") for version in parent.edits), "the parent was edited to critical"

    posts = [call.args for call in slack.calls_to("chat.postMessage") if call.args.get("thread_ts") == parent.ts]
    loud = [args for args in posts if str(args.get("reply_broadcast")).lower() in ("true", "1")]
    assert len(loud) == 1, f"one reply for one rise, sent to the channel too: {posts}"
    [broadcast] = slack.broadcasts(CHANNEL)
    assert broadcast.text.startswith("[CRITICAL] shop-prod:") and "(was WARNING)" in broadcast.text
    assert "3 nodes NotReady" in broadcast.all_text()

    history = replay.service.notifier.client.conversations_history(channel=parent.channel)["messages"]
    shown = [m for m in history if m.get("subtype") == "thread_broadcast"]
    assert [m["ts"] for m in shown] == [broadcast.ts], "the channel's history shows the broadcast reply"
    assert shown[0]["root"]["ts"] == parent.ts

    [incident] = [i for i in replay.opened() if i.kind == "nodes-not-ready"]
    assert incident.raised.status == "resolved" and incident.severity == "critical"
    assert [e.kind for e in replay.store.events(incident.raised.id)].count("escalated") == 1

"""Alert posts reach the channel exactly once, however the connection to Slack behaves.

Slack may accept chat.postMessage and the answer never arrive: the connection
drops, or the bot dies waiting. Neither may double an incident nor lose one.
The first test replays the zonal-shortfall story twice through the bot as
`k8s-chatops run` builds it, once with a healthy Slack and once with every
minute's first post (and some edits) accepted and then cut off, and finds the
same alert channel, message for message. The second runs the real
`k8s-chatops run` process, kills it with SIGKILL while Slack holds back its
answer to the first parent, restarts it, and finds one parent per incident.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.alerts.store import STORE_FILENAME, IncidentStore
from bot.posts import key_of
from sim.bot_config import bot_config
from sim.cli import build_world
from sim.kube.kubeconfig import write_kubeconfig
from sim.server import SimServer
from sim.world import World
from tests.bot_process import BotProcess
from tests.harness import wait_until
from tests.test_e2e_alerts import Deployment

POST = "chat.postMessage"
OPERATION_ID = re.compile(r"operation-\d+-[0-9a-f]+")
STORY_MINUTES = 80  # the zonal-shortfall story: VMs that never register, pending pods, an upgrade that ends


def play(d: Deployment, minutes: int, *, faults: bool) -> None:
    """``minutes`` check cycles; with ``faults``, each minute's first post and first edit are carried out by Slack
    and their answers lost."""
    for _ in range(minutes):
        if faults:
            with d.world.lock:
                d.world.faults.slack_drop_after_accept[POST] = 1
                d.world.faults.slack_drop_after_accept["chat.update"] = 1
        d.minutes(1)


def drain(d: Deployment) -> None:
    """Let the outbox deliver what waits, with Slack healthy again and no further checks."""
    assert d.bot is not None and d.bot.alerts is not None
    with d.world.lock:
        d.world.faults.slack_drop_after_accept.clear()
    for _ in range(20):
        if not d.bot.alerts.store.pending():
            return
        d.world.clock.advance(120)  # past any backoff
        d.bot.alerts.flush_outbox()
    raise AssertionError(f"the outbox did not drain: {d.bot.alerts.store.pending()}")


def test_posts_whose_answers_are_lost_are_neither_doubled_nor_lost(tmp_path: Path) -> None:
    records: dict[bool, list[tuple[str, list[str]]]] = {}
    for faults in (False, True):
        d = Deployment("zonal-shortfall", tmp_path / ("faults" if faults else "healthy"))
        try:
            d.start_bot()
            play(d, STORY_MINUTES, faults=faults)
            drain(d)
            records[faults] = channel_record(d.world, "alerts")
            if faults:
                dropped = [c for c in d.world.slack.calls if not c.answered]
                assert sum(c.method == POST for c in dropped) >= 5, "the faults hit posts"
                assert any(c.method == "chat.update" for c in dropped), "and edits"
                keys = [key_of({"metadata": m.metadata}) for m in _all_messages(d.world, "alerts")]
                assert len(keys) == len(set(keys)), "no post twice"
        finally:
            d.stop_bot()
            d.server.stop()
    healthy, faulty = records[False], records[True]
    assert len(healthy) >= 2 and sum(len(replies) for _, replies in healthy) >= 2, "the story posts and threads"
    assert faulty == healthy, "the same parents, the same final edits, the same thread replies, once each"


def channel_record(world: World, channel: str) -> list[tuple[str, list[str]]]:
    """Each parent as it reads now (text and blocks), with its thread replies, in order.

    GKE names each operation with a random suffix, which differs between two worlds and is left out.
    """

    def shown(message: Any) -> str:
        return OPERATION_ID.sub("operation-ID", json.dumps([message.text, message.blocks]))

    return [(shown(m), [shown(r) for r in world.slack.thread(channel, m.ts)]) for m in world.slack.messages(channel)]


def _all_messages(world: World, channel: str) -> list[Any]:
    messages = []
    for parent in world.slack.messages(channel):
        messages.append(parent)
        messages.extend(world.slack.thread(channel, parent.ts))
    return messages


# -- a real process, killed while Slack holds back its answer ---------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[World, Path, Path]]:
    world, cluster, location = build_world(scenario="zonal-shortfall", nodes=None, pods=None)
    with SimServer(world) as server:
        assert server.endpoints is not None
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server.endpoints.kube, context="sim", cluster=cluster)
        state = tmp_path / "state"
        config = bot_config(
            server.endpoints, world, kubeconfig=kubeconfig, cluster=cluster, location=location, state_dir=state
        )
        config["alerts"] = {
            "channel": "#alerts", "interval_seconds": 5, "jitter_seconds": 0,
            "pending_grace_seconds": 0, "unregistered_grace_seconds": 0, "notready_grace_seconds": 0,
        }
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(config))
        yield world, path, state


def test_a_bot_killed_before_it_learns_that_slack_took_the_parent_posts_it_once_after_restart(
    served: tuple[World, Path, Path], tmp_path: Path
) -> None:
    world, config, state = served
    world.faults.slack_hold_after_accept[POST] = 1
    world.faults.slack_hold_seconds = 120
    first = BotProcess(config, tmp_path / "first.log")
    try:
        held = wait_until(
            lambda: [c for c in world.slack.calls_to(POST) if not c.answered], 60, "Slack accepting the first parent"
        )
        first.kill()  # Slack has the parent; the bot never heard so
    finally:
        first.kill()
    [parent] = world.slack.messages("alerts")
    assert held[0].args.get("metadata"), "the post carried its key"

    second = BotProcess(config, tmp_path / "second.log")
    try:
        store = IncidentStore(f"sqlite:///{state / STORE_FILENAME}")

        def settled() -> bool:
            incidents = store.open_incidents()
            return bool(incidents) and all(i.parent_ts for i in incidents) and not store.pending()

        wait_until(settled, 60, "the restarted bot delivering its outbox")
        incidents = store.open_incidents()
        store.close()
    finally:
        second.stop()
    parents = world.slack.messages("alerts")
    assert len(parents) == len(incidents), "one parent per incident, the held one not posted again"
    assert parent.ts in {i.parent_ts for i in incidents}, "the restarted bot found the parent Slack had kept"
    posts = [c for c in world.slack.calls_to(POST) if c.ok]
    keys = [key_of({"metadata": c.response.get("message", {}).get("metadata")}) for c in posts]
    assert len(keys) == len(set(keys))
    assert "Traceback" not in second.output()

"""Two `k8s-chatops run` processes on one PostgreSQL and one simulated world: the leader dies, the other goes on.

Both replicas run as an operator runs them (a config file, the database URL
from the environment, leader election on against the simulated Kubernetes
API's Lease). The leader opens the incidents; someone acknowledges one, and
the leader is killed with SIGKILL while it sends the thread note, which Slack
has taken without the answer reaching it. The survivor must hold the Lease
within the lease duration plus one check interval, finish the incident's
updates in the same thread, and the simulated Slack must show no post lost
and none twice. The killed replica, started again, must stay a follower.

Lease and check interval are the shortest the settings allow (5 s each), so
the whole story takes about half a minute of real time: `run` uses the wall
clock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.alerts.store import IncidentStore
from bot.posts import key_of
from sim.bot_config import bot_config
from sim.cli import build_world
from sim.kube.kubeconfig import write_kubeconfig
from sim.server import SimServer
from sim.slack.records import Message
from sim.slack.sender import SlackSender
from sim.world import World
from tests.bot_process import BotProcess
from tests.harness import wait_until
from tests.postgres import PostgresServer

POST = "chat.postMessage"
LEASE_SECONDS = 5
INTERVAL_SECONDS = 5
NAMESPACE = "k8s-chatops"
LEASE = "k8s-chatops-leader"
START_TIMEOUT = 60.0  # generous: a process imports its libraries first, on a machine shared with other tests
# Measured from the kill to the Lease changing hands, polled every 50 ms by a test process that competes for
# the CPU with both bots: the bound is the lease plus one check interval, and this much for the measuring.
MEASURING_SLACK = 2.0


class Replica(BotProcess):
    """`k8s-chatops run` as one pod: its identity and the database URL come from the environment."""

    def __init__(self, config: Path, identity: str, database_url: str, log: Path) -> None:
        self.identity = identity
        super().__init__(
            config, log, env={"K8S_CHATOPS_LEADER_ELECTION__IDENTITY": identity, "K8S_CHATOPS_STATE__DATABASE_URL": database_url}
        )


@dataclass
class Stage:
    world: World
    server: SimServer
    config: Path
    database_url: str
    directory: Path
    replicas: list[Replica]

    def start(self, identity: str) -> Replica:
        replica = Replica(self.config, identity, self.database_url, self.directory / f"{identity}-{len(self.replicas)}.log")
        self.replicas.append(replica)
        return replica

    def lease(self) -> dict[str, Any]:
        with self.world.lock:
            lease = self.world.kube.get("leases", NAMESPACE, LEASE)
        return dict((lease or {}).get("spec") or {})

    def holder(self) -> str | None:
        return self.lease().get("holderIdentity")

    def parents(self) -> list[Message]:
        return self.world.slack.messages("alerts")

    def thread(self, parent: Message) -> list[Message]:
        return self.world.slack.thread("alerts", parent.ts)


@pytest.fixture
def stage(tmp_path: Path, postgres: PostgresServer) -> Iterator[Stage]:
    world, cluster, location = build_world(scenario="zonal-shortfall", nodes=None, pods=None)
    world.slack.add_user("bob")
    with SimServer(world) as server:
        assert server.endpoints is not None
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server.endpoints.kube, context="sim", cluster=cluster)
        config = bot_config(
            server.endpoints, world, kubeconfig=kubeconfig, cluster=cluster, location=location, state_dir=tmp_path / "state"
        )
        config["alerts"] = {
            "channel": "#alerts", "interval_seconds": INTERVAL_SECONDS, "jitter_seconds": 0,
            "pending_grace_seconds": 0, "unregistered_grace_seconds": 0, "notready_grace_seconds": 0,
        }
        config["leader_election"] = {
            "enabled": True, "cluster": cluster, "namespace": NAMESPACE, "lease_seconds": LEASE_SECONDS,
        }
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(config))
        staged = Stage(world, server, path, postgres.new_database("failover"), tmp_path, [])
        try:
            yield staged
        finally:
            for replica in staged.replicas:
                replica.stop()


def test_the_survivor_takes_over_within_the_lease_and_the_killed_leader_returns_as_a_follower(stage: Stage) -> None:
    world = stage.world
    first = stage.start("pod-a")
    wait_until(lambda: stage.holder() == "pod-a", START_TIMEOUT, "pod-a holding the Lease")
    store = IncidentStore(stage.database_url)
    try:
        def delivered() -> bool:
            incidents = store.open_incidents()
            return len(incidents) >= 2 and all(i.parent_ts for i in incidents) and not store.pending()

        wait_until(delivered, START_TIMEOUT, "the leader posting the incidents")
        second = stage.start("pod-b")
        wait_until(lambda: world.slack.socket.connection_count == 2, START_TIMEOUT, "pod-b connecting to Slack")
        wait_until(lambda: "is running" in second.output(), START_TIMEOUT, "pod-b's scheduler starting")
        time.sleep(LEASE_SECONDS / 3 + 0.5)  # pod-b has asked for the Lease at least once, in vain
        assert stage.holder() == "pod-a"
        transitions = stage.lease().get("leaseTransitions", 0)
        incidents = {i.id: i.parent_ts for i in store.open_incidents()}
        parents_before = [m.ts for m in stage.parents()]

        # Mid-incident, someone acknowledges; the leader sends the thread note, Slack takes it and holds back
        # its answer, and the leader dies waiting, without a word.
        [vms] = [i for i in store.open_incidents() if i.kind == "unregistered-vms"]
        [parent] = [m for m in stage.parents() if m.ts == vms.parent_ts]
        with world.lock:
            world.faults.slack_hold_after_accept[POST] = 1
            world.faults.slack_hold_seconds = 60
        delivery = SlackSender(world, stage.server).block_action(
            "run_command:ack", f"alerts ack {vms.id}", user="bob", message_ts=parent.ts
        )
        assert delivery.acked
        wait_until(lambda: [c for c in world.slack.calls_to(POST) if not c.answered], 30, "the leader sending the note")
        first.kill()
        killed_at = time.monotonic()

        wait_until(lambda: stage.holder() == "pod-b", LEASE_SECONDS + INTERVAL_SECONDS + 30, "pod-b taking the Lease")
        took = time.monotonic() - killed_at
        assert took <= LEASE_SECONDS + INTERVAL_SECONDS + MEASURING_SLACK, f"pod-b led {took:.1f} s after the kill"
        assert stage.lease()["leaseTransitions"] == transitions + 1

        def settled() -> bool:
            edited = "acknowledged by" in str(world.slack.message("alerts", parent.ts).blocks)
            return edited and not store.pending()

        wait_until(settled, 30, "the new leader finishing what the old one left in the outbox")
        assert store.get(vms.id).acknowledged_by == world.slack.user_id("bob")
        notes = [m for m in stage.thread(parent) if "Acknowledged by" in m.text]
        assert len(notes) == 1, "the note Slack took from the dead leader, found by its key, not posted again"
        assert {i.id: i.parent_ts for i in store.open_incidents()} == incidents, "the same incidents, the same threads"

        # The killed replica comes back, and follows.
        again = stage.start("pod-a")
        wait_until(lambda: "is running" in again.output(), START_TIMEOUT, "pod-a starting again")
        time.sleep(LEASE_SECONDS + 1)  # longer than a lease: pod-a asked more than once
        assert stage.holder() == "pod-b", "the returning replica does not take the Lease from a live leader"
        assert stage.lease()["leaseTransitions"] == transitions + 1
        assert "took over lease" not in again.output()
        outbox = store.pending()
    finally:
        store.close()

    # Nothing lost, nothing twice: every post went out, each once, one parent per incident.
    assert outbox == []
    parents = stage.parents()
    assert [m.ts for m in parents] == parents_before, "the same parents, none posted again"
    assert len(parents) == len(incidents), "one parent per incident"
    messages = [m for p in parents for m in [p, *stage.thread(p)]]
    keys = [key_of({"metadata": m.metadata}) for m in messages if not m.files]
    assert None not in keys and len(keys) == len(set(keys)), "every post carries its key, and each key is there once"
    shared = [f for m in messages for f in m.files]  # a file (the evidence) carries no metadata: it is known by its name
    names = [f.name for f in world.slack.files if f.id in shared]
    assert len(names) == len(set(names)) == len(shared), "each file is there once"
    for replica in stage.replicas:
        assert "Traceback" not in replica.output(), replica.output()[-3000:]

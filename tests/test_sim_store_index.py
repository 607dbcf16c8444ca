"""The store's derived indexes, which let the apps controller read a workload's pods without decoding the namespace.

The index must say what a full decode of every stored pod would say after
any mix of writes, deletions, terminations, changes of owner and bulk loads;
and a pod event must cost the controller its own pods' worth of work, not the
namespace's, or a replay with hundreds of pods spends minutes in it again.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import orjson
import pytest

from sim.clock import rfc3339
from sim.kube import apps, controllers
from sim.kube import store as store_module
from sim.kube.builders import make_node, make_pod
from sim.world import World

NODES = ("gke-shop-pool-a-1", "gke-shop-pool-a-2", "gke-shop-pool-b-1")
OWNERS = (("ReplicaSet", "web-5f7c9d8b6"), ("ReplicaSet", "web-6a1b2c3d4"), ("StatefulSet", "db"), ("DaemonSet", "agent"), None)


def _pod(rng: random.Random, world: World, namespace: str, name: str) -> dict[str, Any]:
    owner = rng.choice(OWNERS)
    labels = {"app": "web"}
    if owner and owner[0] == "ReplicaSet":
        labels["pod-template-hash"] = owner[1].rsplit("-", 1)[1]
    running = rng.random() < 0.7
    pod = make_pod(
        namespace, name, node=rng.choice(NODES) if running else None, phase="Running" if running else "Pending",
        labels=labels, owner=owner, created=world.clock.now() - timedelta(minutes=rng.randint(1, 90)),
        waiting_reason=None if rng.random() < 0.8 else "CrashLoopBackOff",
    )
    if rng.random() < 0.1:
        pod["metadata"]["deletionTimestamp"] = rfc3339(world.clock.now())
    return pod


def _by_decoding(world: World, namespace: str) -> dict[tuple[str, str], dict[tuple[str, str], apps.Member]]:
    """What the index should hold: every stored pod of the namespace decoded and read afresh."""
    found: dict[tuple[str, str], dict[tuple[str, str], apps.Member]] = {}
    for pod in world.kube.items("pods"):
        meta = pod["metadata"]
        if meta["namespace"] != namespace or (read := apps.member(pod)) is None:
            continue
        found.setdefault(read[0], {})[(namespace, meta["name"])] = read[1]
    return found


def _by_index(world: World, namespace: str) -> dict[tuple[str, str], dict[tuple[str, str], apps.Member]]:
    groups = {(plural, name) for plural in ("deployments", "statefulsets", "daemonsets") for name in ("web", "db", "agent")}
    return {g: members for g in groups if (members := world.kube.grouped("pods", apps.OWNER_INDEX, namespace, g))}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_owner_index_says_what_decoding_every_pod_says_after_any_writes(seed: int) -> None:
    rng = random.Random(seed)
    world = World()
    for node in NODES:
        world.kube.upsert("nodes", make_node(node, pool="pool", zone="us-west1-a", project="demo-project"))
    names = [f"p-{i}" for i in range(40)]
    world.kube.bulk_load("pods", (_pod(rng, world, "shop", n) for n in names[:20]))  # before anyone asked: built when read
    for step in range(300):
        namespace = rng.choice(("shop", "batch"))
        name = rng.choice(names)
        roll = rng.random()
        if roll < 0.6:
            world.kube.upsert("pods", _pod(rng, world, namespace, name))
        elif roll < 0.85:
            world.kube.delete("pods", namespace, name)
        elif roll < 0.95:
            world.clock.advance(rng.randint(1, 400))
        else:  # a reload of a few pods forgets the namespace's index until it is read again
            world.kube.bulk_load("pods", [_pod(rng, world, namespace, n) for n in rng.sample(names, 5)])
        if step % 7 == 0:
            for space in ("shop", "batch"):
                assert _by_index(world, space) == _by_decoding(world, space), f"step {step}, {space}"
    for space in ("shop", "batch"):
        assert _by_index(world, space) == _by_decoding(world, space)


def test_a_pod_event_decodes_its_own_write_not_the_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    world = World()
    world.kube.upsert("nodes", make_node(NODES[0], pool="pool", zone="us-west1-a", project="demo-project"))
    created = world.clock.now() - timedelta(minutes=5)
    for index in range(400):
        world.kube.upsert("pods", make_pod(
            "shop", f"web-5f7c9d8b6-{index:03d}", node=NODES[0], labels={"app": "web", "pod-template-hash": "5f7c9d8b6"},
            owner=("ReplicaSet", "web-5f7c9d8b6"), created=created, pod_ip=f"10.8.{index // 200}.{index % 200 + 2}",
        ))
    assert (world.kube.get("deployments", "shop", "web") or {})["status"]["readyReplicas"] == 400

    decoded = 0
    real = orjson.loads

    def counting(data: bytes | str) -> Any:
        nonlocal decoded
        decoded += 1
        return real(data)

    class Counting:
        loads = staticmethod(counting)
        dumps = staticmethod(orjson.dumps)

    monkeypatch.setattr(store_module, "orjson", Counting)
    monkeypatch.setattr(apps, "orjson", Counting)
    world.kube.upsert("pods", make_pod(
        "shop", "web-5f7c9d8b6-000", node=NODES[0], labels={"app": "web", "pod-template-hash": "5f7c9d8b6"},
        owner=("ReplicaSet", "web-5f7c9d8b6"), created=created, waiting_reason="CrashLoopBackOff",
    ))
    status = (world.kube.get("deployments", "shop", "web") or {})["status"]
    assert status["readyReplicas"] == 399 and status["unavailableReplicas"] == 1
    assert decoded < 20, f"{decoded} objects decoded for one pod write among 400"


def test_the_zones_index_follows_node_writes_reports_deletions_and_reloads() -> None:
    rng = random.Random(7)
    world = World()
    zones = ("us-west1-a", "us-west1-b", "us-west1-c")

    def node(index: int) -> dict[str, Any]:
        return make_node(f"gke-shop-pool-{index}", pool="pool", zone=rng.choice(zones), project="demo-project", ready=rng.random() < 0.6)

    world.kube.bulk_load("nodes", (node(i) for i in range(12)))
    for step in range(120):
        roll = rng.random()
        if roll < 0.5:
            world.kube.upsert("nodes", node(rng.randrange(20)))
        elif roll < 0.7:
            world.kube.delete("nodes", None, f"gke-shop-pool-{rng.randrange(20)}")
        elif roll < 0.9:
            world.clock.advance(rng.randint(30, 400))  # kubelets report: heartbeats are writes too
        else:
            world.kube.bulk_load("nodes", [node(i) for i in rng.sample(range(20), 4)])
        decoded = {
            ("", n["metadata"]["name"]): (n["metadata"]["labels"][controllers.ZONE_LABEL], controllers.ready_status(n) == "True")
            for n in world.kube.items("nodes")
        }
        assert world.kube.grouped("nodes", controllers.ZONES_INDEX, None, controllers.ALL_NODES) == decoded, f"step {step}"

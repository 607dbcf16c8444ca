"""Kubernetes JSON to snapshots: quantities, labels, owners and container states."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.sources.kube.parse import (
    byte_count,
    millicores,
    parse_event,
    parse_listed_node,
    parse_log_line,
    parse_node,
    parse_pod,
    parse_time,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("4", 4000), ("3920m", 3920), ("0.5", 500), ("250m", 250), ("1500000u", 1500), ("1e3", 1_000_000), ("", 0)],
)
def test_cpu_quantities_become_millicores(text: str, expected: int) -> None:
    assert millicores(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("16Gi", 16 * 2**30),
        ("15252072Ki", 15252072 * 1024),
        ("128974848", 128974848),
        ("129M", 129_000_000),
        ("1.5Gi", 3 * 2**29),
        ("not-a-quantity", 0),
    ],
)
def test_memory_quantities_become_bytes(text: str, expected: int) -> None:
    assert byte_count(text) == expected


def test_timestamps_with_nanoseconds_are_aware_utc() -> None:
    assert parse_time("2026-11-24T09:00:01.123456789Z") == datetime(2026, 11, 24, 9, 0, 1, 123456, tzinfo=UTC)
    assert parse_time("2026-11-24T18:00:00+09:00") == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert parse_time(None) is None
    assert parse_time("yesterday") is None


def test_a_gke_node_names_its_pool_zone_and_vm() -> None:
    node = parse_node(
        {
            "metadata": {
                "name": "gke-prod-default-1a2b-abcd",
                "uid": "u1",
                "creationTimestamp": "2026-11-24T08:00:00Z",
                "labels": {
                    "cloud.google.com/gke-nodepool": "default",
                    "topology.kubernetes.io/zone": "us-west1-a",
                    "node.kubernetes.io/instance-type": "e2-standard-4",
                },
            },
            "spec": {
                "providerID": "gce://demo/us-west1-a/gke-prod-default-1a2b-abcd",
                "unschedulable": True,
                "taints": [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}],
            },
            "status": {
                "allocatable": {"cpu": "3920m", "memory": "15252072Ki", "pods": "110"},
                "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                "conditions": [
                    {"type": "Ready", "status": "False", "reason": "KubeletNotReady"},
                    {"type": "DiskPressure", "status": "True"},
                ],
                "addresses": [{"type": "Hostname", "address": "h"}, {"type": "InternalIP", "address": "10.0.0.7"}],
                "nodeInfo": {"kubeletVersion": "v1.30.5-gke.1"},
            },
        }
    )
    assert (node.pool, node.zone, node.instance_type) == ("default", "us-west1-a", "e2-standard-4")
    assert node.gce_instance == ("demo", "us-west1-a", "gke-prod-default-1a2b-abcd")
    assert node.readiness == "NotReady" and node.unschedulable
    assert [c.type for c in node.problem_conditions] == ["DiskPressure"]
    assert node.allocatable.cpu_m == 3920 and node.capacity.memory == 16 * 2**30 and node.capacity.pods == 110
    assert node.internal_ip == "10.0.0.7" and node.kubelet_version == "v1.30.5-gke.1"
    assert node.taints[0].effect == "NoSchedule"


def test_a_listed_node_keeps_ready_and_the_conditions_that_are_not_false() -> None:
    raw = {
        "metadata": {"name": "n1"},
        "status": {
            "conditions": [
                {"type": "KernelDeadlock", "status": "False", "reason": "KernelHasNoDeadlock"},
                {"type": "MemoryPressure", "status": "False"},
                {"type": "DiskPressure", "status": "True", "reason": "KubeletHasDiskPressure"},
                {"type": "FrequentKubeletRestart", "status": "Unknown"},
                {"type": "Ready", "status": "False", "reason": "KubeletNotReady"},
            ]
        },
    }
    listed, full = parse_listed_node(raw), parse_node(raw)
    assert [c.type for c in listed.conditions] == ["DiskPressure", "FrequentKubeletRestart", "Ready"]
    assert len(full.conditions) == 5
    assert listed.readiness == full.readiness == "NotReady"
    assert listed.problem_conditions == full.problem_conditions


def test_a_crashlooping_pod_keeps_its_owner_states_and_requests() -> None:
    pod = parse_pod(
        {
            "metadata": {
                "namespace": "web",
                "name": "api-7d9-xyz",
                "uid": "p1",
                "labels": {"app": "api"},
                "ownerReferences": [
                    {"kind": "Other", "name": "not-the-controller"},
                    {"kind": "ReplicaSet", "name": "api-7d9", "controller": True},
                ],
            },
            "spec": {
                "nodeName": "n1",
                "initContainers": [{"name": "migrate", "image": "migrate:1"}],
                "containers": [
                    {"name": "api", "image": "api:2", "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}},
                    {"name": "proxy", "image": "envoy:1", "resources": {"requests": {"cpu": "0.1"}}},
                ],
            },
            "status": {
                "phase": "Running",
                "initContainerStatuses": [
                    {"name": "migrate", "ready": True, "restartCount": 0,
                     "state": {"terminated": {"reason": "Completed", "exitCode": 0}}},
                ],
                "containerStatuses": [
                    {
                        "name": "api",
                        "ready": False,
                        "restartCount": 7,
                        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}},
                        "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                                                     "finishedAt": "2026-11-24T08:59:00Z"}},
                    },
                    {"name": "proxy", "ready": True, "restartCount": 0,
                     "state": {"running": {"startedAt": "2026-11-24T08:00:00Z"}}},
                ],
            },
        }
    )
    assert (pod.owner_kind, pod.owner_name) == ("ReplicaSet", "api-7d9")
    init, api, proxy = pod.containers
    assert init.init and init.state == "terminated" and init.reason == "Completed"
    assert (api.state, api.reason, api.last_reason, api.last_exit_code) == ("waiting", "CrashLoopBackOff", "OOMKilled", 137)
    assert proxy.state == "running" and proxy.started == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert pod.restarts == 7
    assert pod.requests.cpu_m == 350 and pod.requests.memory == 256 * 2**20


def test_an_unscheduled_pod_has_waiting_containers_and_the_scheduler_reason() -> None:
    pod = parse_pod(
        {
            "metadata": {"namespace": "web", "name": "p", "deletionTimestamp": "2026-11-24T09:00:00Z"},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
            "status": {
                "phase": "Pending",
                "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                "message": "0/1 nodes are available: 1 Insufficient cpu."}],
            },
        }
    )
    assert pod.unschedulable is not None and "Insufficient cpu" in pod.unschedulable.message
    assert pod.containers[0].state == "waiting" and pod.node_name == "" and pod.deleting


def test_an_event_without_legacy_timestamps_uses_event_time() -> None:
    event = parse_event(
        {
            "metadata": {"namespace": "web", "name": "p.1"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "web"},
            "reason": "FailedScheduling",
            "type": "Warning",
            "eventTime": "2026-11-24T09:00:00.000000Z",
            "reportingComponent": "default-scheduler",
        }
    )
    assert event.last_seen == datetime(2026, 11, 24, 9, tzinfo=UTC)
    assert event.source == "default-scheduler" and event.count == 1


def test_a_timestamped_log_line_splits_time_from_text() -> None:
    line = parse_log_line("2026-11-24T09:00:00.5Z listening on :8080", origin="p/c")
    assert line.text == "listening on :8080" and line.timestamp is not None and line.origin == "p/c"
    assert parse_log_line("no timestamp here").text == "no timestamp here"

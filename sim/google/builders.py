"""LogEntry dicts shaped as GKE's logging agent and GKE itself write them.

Scenarios and the generator call these instead of spelling JSON by hand, so
the resource types, label keys and log names the bot queries by stay the same
everywhere. A VM that never registered as a node still ships its kube-proxy and
kubelet logs as ``k8s_node`` with ``node_name`` = the VM name, because the
agent runs on the VM whether or not the API server knows it: ``node_log``
serves both.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from sim.clock import rfc3339_nanos

Json = dict[str, Any]

AUTOSCALER_LOG_ID = "container.googleapis.com/cluster-autoscaler-visibility"
# The agent's label naming the machine a line came from, the VM whether or not it is a node.
RESOURCE_NAME_LABEL = "compute.googleapis.com/resource_name"


def log_name(project: str, log_id: str) -> str:
    """``projects/P/logs/ID`` with the id URL-encoded, as Cloud Logging stores it."""
    return f"projects/{project}/logs/{quote(log_id, safe='')}"


def node_log(
    project: str,
    *,
    location: str,
    cluster: str,
    node: str,
    log: str = "kubelet",
    text: str | None = None,
    payload: Json | None = None,
    severity: str = "INFO",
    at: datetime | None = None,
) -> Json:
    """A node component's line (``log``: kubelet, kube-proxy, container-runtime, node-problem-detector, ...)."""
    resource = {"project_id": project, "location": location, "cluster_name": cluster, "node_name": node}
    return _entry(project, log, severity, at, text, payload, "k8s_node", resource, {RESOURCE_NAME_LABEL: node})


def container_log(
    project: str,
    *,
    location: str,
    cluster: str,
    namespace: str,
    pod: str,
    container: str,
    text: str | None = None,
    payload: Json | None = None,
    severity: str | None = None,
    stream: str = "stdout",
    pod_labels: dict[str, str] | None = None,
    node: str | None = None,
    at: datetime | None = None,
) -> Json:
    """A container's output line; GKE names the log after the stream and severity defaults from it."""
    chosen = severity or ("ERROR" if stream == "stderr" else "INFO")
    resource = {
        "project_id": project,
        "location": location,
        "cluster_name": cluster,
        "namespace_name": namespace,
        "pod_name": pod,
        "container_name": container,
    }
    labels = {f"k8s-pod/{key}": value for key, value in (pod_labels or {}).items()}
    if node:
        labels[RESOURCE_NAME_LABEL] = node
    return _entry(project, stream, chosen, at, text, payload, "k8s_container", resource, labels)


def autoscaler_log(
    project: str,
    *,
    location: str,
    cluster: str,
    payload: Json,
    severity: str = "DEFAULT",
    at: datetime | None = None,
) -> Json:
    """A cluster autoscaler visibility event: ``payload`` holds ``decision`` or ``noDecisionStatus``."""
    resource = {"project_id": project, "location": location, "cluster_name": cluster}
    return _entry(project, AUTOSCALER_LOG_ID, severity, at, None, payload, "k8s_cluster", resource, {})


def no_scale_up_payload(message_id: str, *, pods: list[tuple[str, str]], groups: list[str]) -> Json:
    """The autoscaler's "cannot add nodes" explanation, e.g. ``no.scale.up.mig.failing.predicate``."""
    return {
        "noDecisionStatus": {
            "noScaleUp": {
                "unhandledPodGroups": [
                    {
                        "podGroup": {"samplePod": {"namespace": ns, "name": name}, "totalPodCount": 1},
                        "rejectedMigs": [
                            {"mig": {"name": group}, "reason": {"messageId": message_id}} for group in groups
                        ],
                    }
                    for ns, name in pods
                ],
                "unhandledPodGroupsTotalCount": len(pods),
            },
            "measureTime": "0",
        }
    }


def vm_log(
    project: str,
    *,
    zone: str,
    instance: str,
    instance_id: str,
    log: str = "syslog",
    text: str | None = None,
    payload: Json | None = None,
    severity: str = "INFO",
    at: datetime | None = None,
) -> Json:
    """A line from the VM itself (serial console, syslog, startup scripts), outside Kubernetes."""
    resource = {"project_id": project, "instance_id": instance_id, "zone": zone}
    return _entry(project, log, severity, at, text, payload, "gce_instance", resource, {RESOURCE_NAME_LABEL: instance})


def _entry(
    project: str,
    log_id: str,
    severity: str,
    at: datetime | None,
    text: str | None,
    payload: Json | None,
    resource_type: str,
    resource_labels: dict[str, str],
    labels: dict[str, str],
) -> Json:
    """The entry as the agent writes it; ``labels`` left out when there are none."""
    if (text is None) == (payload is None):
        raise ValueError("a log entry carries exactly one of text or payload")
    entry: Json = {"logName": log_name(project, log_id), "severity": severity}
    if text is not None:
        entry["textPayload"] = text
    else:
        entry["jsonPayload"] = payload
    if at is not None:
        entry["timestamp"] = rfc3339_nanos(at)
    entry["resource"] = {"type": resource_type, "labels": resource_labels}
    if labels:
        entry["labels"] = labels
    return entry

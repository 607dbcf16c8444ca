"""The simulated Kubernetes API, driven by the official kubernetes client over loopback."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta

import pytest
import urllib3
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from sim.kube.builders import make_event, make_lease, make_node, make_pdb, make_pod
from sim.kube.store import HISTORY_SIZE
from sim.server import SimServer
from sim.world import World

PROJECT = "demo-project"
ZONES = ("us-west1-a", "us-west1-b", "us-west1-c")


@pytest.fixture
def world() -> World:
    world = World(project=PROJECT)
    for index, zone in enumerate(ZONES):
        world.kube.upsert("nodes", make_node(f"gke-prod-default-pool-{index}", pool="default-pool", zone=zone, project=PROJECT, ready=index != 2))
    world.kube.upsert("nodes", make_node("gke-prod-batch-0", pool="batch", zone=ZONES[0], project=PROJECT, unschedulable=True))
    world.kube.upsert("pods", make_pod("shop", "web-0", node="gke-prod-default-pool-0", labels={"app": "web", "tier": "front"}))
    world.kube.upsert("pods", make_pod("shop", "web-1", node="gke-prod-default-pool-1", labels={"app": "web", "tier": "front"}))
    world.kube.upsert("pods", make_pod("shop", "web-2", phase="Pending", labels={"app": "web"}))
    world.kube.upsert("pods", make_pod("shop", "cart-0", node="gke-prod-default-pool-0", labels={"app": "cart"}, containers=["cart", "envoy"]))
    world.kube.upsert("pods", make_pod("kube-system", "kube-proxy-0", node="gke-prod-default-pool-0", labels={"k8s-app": "kube-proxy"}))
    world.kube.upsert("pods", make_pod("shop", "api-0", node="gke-prod-default-pool-1", labels={"app": "api"}, waiting_reason="CrashLoopBackOff", restarts=7, last_termination="OOMKilled"))
    return world


@pytest.fixture
def server(world: World) -> Iterator[SimServer]:
    with SimServer(world) as running:
        yield running


@pytest.fixture
def api_client(server: SimServer) -> Iterator[client.ApiClient]:
    assert server.endpoints is not None
    config = client.Configuration(host=server.endpoints.kube)
    config.api_key = {"authorization": "sim-token"}
    config.api_key_prefix = {"authorization": "Bearer"}
    with client.ApiClient(config) as api:
        yield api


@pytest.fixture
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


def names(items: list) -> list[str]:  # type: ignore[type-arg]
    return [item.metadata.name for item in items]


def status_of(error: ApiException) -> dict:  # type: ignore[type-arg]
    return json.loads(error.body)


# --- nodes and pods -----------------------------------------------------------


def test_nodes_list_with_gke_labels_and_get_by_name(core: client.CoreV1Api) -> None:
    nodes = core.list_node()
    assert names(nodes.items) == ["gke-prod-batch-0", "gke-prod-default-pool-0", "gke-prod-default-pool-1", "gke-prod-default-pool-2"]
    node = core.read_node("gke-prod-default-pool-1")
    assert node.metadata.labels["topology.kubernetes.io/zone"] == "us-west1-b"
    assert node.metadata.labels["cloud.google.com/gke-nodepool"] == "default-pool"
    assert node.spec.provider_id == "gce://demo-project/us-west1-b/gke-prod-default-pool-1"
    conditions = {c.type: c.status for c in node.status.conditions}
    assert conditions["Ready"] == "True" and conditions["KernelDeadlock"] == "False"
    assert int(nodes.metadata.resource_version) >= int(node.metadata.resource_version)


def test_unready_node_and_cordoned_node_look_like_gke_reports_them(core: client.CoreV1Api) -> None:
    down = core.read_node("gke-prod-default-pool-2")
    assert {c.type: c.status for c in down.status.conditions}["Ready"] == "Unknown"
    assert core.list_node(field_selector="spec.unschedulable=true").items[0].metadata.name == "gke-prod-batch-0"


def test_pods_across_namespaces_and_in_one(core: client.CoreV1Api) -> None:
    everywhere = core.list_pod_for_all_namespaces()
    assert ("kube-system", "kube-proxy-0") in {(p.metadata.namespace, p.metadata.name) for p in everywhere.items}
    shop = core.list_namespaced_pod("shop")
    assert names(shop.items) == ["api-0", "cart-0", "web-0", "web-1", "web-2"]
    crashing = core.read_namespaced_pod("api-0", "shop").status.container_statuses[0]
    assert crashing.state.waiting.reason == "CrashLoopBackOff"
    assert crashing.last_state.terminated.reason == "OOMKilled" and crashing.restart_count == 7


def test_namespaces_are_created_with_their_objects(core: client.CoreV1Api) -> None:
    assert {"shop", "kube-system"} <= set(names(core.list_namespace().items))


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", ["web-0", "web-1", "web-2"]),
        ("app==web,tier=front", ["web-0", "web-1"]),
        ("app!=web", ["api-0", "cart-0"]),
        ("app in (cart, api)", ["api-0", "cart-0"]),
        ("app notin (web,cart)", ["api-0"]),
        ("tier", ["web-0", "web-1"]),
        ("!tier", ["api-0", "cart-0", "web-2"]),
    ],
)
def test_label_selectors(core: client.CoreV1Api, selector: str, expected: list[str]) -> None:
    assert names(core.list_namespaced_pod("shop", label_selector=selector).items) == expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("status.phase=Pending", ["shop/web-2"]),
        ("spec.nodeName=gke-prod-default-pool-1", ["shop/api-0", "shop/web-1"]),
        ("spec.nodeName=", ["shop/web-2"]),
        ("spec.nodeName=gke-prod-default-pool-0,metadata.namespace!=kube-system", ["shop/cart-0", "shop/web-0"]),
        ("metadata.name==web-1", ["shop/web-1"]),
    ],
)
def test_field_selectors_on_pods(core: client.CoreV1Api, selector: str, expected: list[str]) -> None:
    pods = core.list_pod_for_all_namespaces(field_selector=selector).items
    assert [f"{p.metadata.namespace}/{p.metadata.name}" for p in pods] == expected


def test_event_field_selectors_find_one_objects_events(world: World, core: client.CoreV1Api) -> None:
    world.kube.upsert("events", make_event("shop", kind="Pod", name="web-2", reason="FailedScheduling", message="0/4 nodes are available", type="Warning", source="default-scheduler"))
    world.kube.upsert("events", make_event("default", kind="Node", name="gke-prod-default-pool-2", reason="NodeNotReady", message="Node is not ready", type="Warning", source="node-controller"))
    pending = core.list_event_for_all_namespaces(field_selector="involvedObject.kind=Pod,involvedObject.name=web-2,reason=FailedScheduling")
    assert [e.message for e in pending.items] == ["0/4 nodes are available"]
    node_events = core.list_namespaced_event("default", field_selector="involvedObject.uid=gke-prod-default-pool-2,type=Warning,source=node-controller")
    assert [e.reason for e in node_events.items] == ["NodeNotReady"]


def test_bad_selectors_answer_400_like_the_real_server(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as unknown_field:
        core.list_pod_for_all_namespaces(field_selector="spec.hostname=x")
    assert unknown_field.value.status == 400
    assert status_of(unknown_field.value)["message"] == "field label not supported: spec.hostname"
    with pytest.raises(ApiException) as bad_label:
        core.list_pod_for_all_namespaces(label_selector="app=(web")
    assert bad_label.value.status == 400 and status_of(bad_label.value)["reason"] == "BadRequest"


# --- pagination -------------------------------------------------------------


def test_limit_and_continue_walk_every_pod_once(world: World, core: client.CoreV1Api) -> None:
    world.kube.bulk_load("pods", [make_pod("load", f"pod-{i:03d}", node="gke-prod-default-pool-0") for i in range(25)])
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = core.list_namespaced_pod("load", limit=10, _continue=token)
        seen += names(page.items)
        pages += 1
        token = page.metadata._continue
        if not token:
            break
        assert page.metadata.remaining_item_count == 25 - len(seen)
    assert pages == 3
    assert seen == [f"pod-{i:03d}" for i in range(25)]


def test_paging_with_a_field_selector_counts_only_matches(world: World, core: client.CoreV1Api) -> None:
    pods = [make_pod("load", f"p-{i:02d}", phase="Pending" if i % 3 == 0 else "Running", node=None if i % 3 == 0 else "gke-prod-default-pool-0") for i in range(30)]
    world.kube.bulk_load("pods", pods)
    first = core.list_namespaced_pod("load", field_selector="status.phase=Pending", limit=4)
    second = core.list_namespaced_pod("load", field_selector="status.phase=Pending", limit=4, _continue=first.metadata._continue)
    third = core.list_namespaced_pod("load", field_selector="status.phase=Pending", limit=4, _continue=second.metadata._continue)
    assert names(first.items + second.items + third.items) == [f"p-{i:02d}" for i in range(0, 30, 3)]
    assert third.metadata._continue is None


def test_continue_token_from_before_compaction_expires_with_410(world: World, core: client.CoreV1Api) -> None:
    page = core.list_namespaced_pod("shop", limit=2)
    for round_ in range(HISTORY_SIZE + 5):
        world.kube.upsert("leases", make_lease("kube-node-lease", "gke-prod-default-pool-0", holder=f"tick-{round_}"))
    with pytest.raises(ApiException) as gone:
        core.list_namespaced_pod("shop", limit=2, _continue=page.metadata._continue)
    assert gone.value.status == 410 and status_of(gone.value)["reason"] == "Expired"


# --- watches ------------------------------------------------------------------


def test_watch_sees_changes_made_from_the_test_thread_and_bookmarks(world: World, core: client.CoreV1Api) -> None:
    events: list[tuple[str, str, str]] = []
    watcher = watch.Watch()
    stream = watcher.stream(core.list_namespaced_pod, "shop", label_selector="app=cart", timeout_seconds=60, allow_watch_bookmarks=True)
    for event in stream:
        obj = event["object"]
        name = obj.metadata.name if event["type"] != "BOOKMARK" else ""
        phase = obj.status.phase if event["type"] != "BOOKMARK" else ""
        events.append((event["type"], name, phase))
        if len(events) == 1:  # the existing pod arrives first; now change the world
            world.kube.upsert("pods", make_pod("shop", "cart-0", node="gke-prod-default-pool-0", labels={"app": "cart"}, phase="Failed"))
            world.kube.upsert("pods", make_pod("shop", "cart-1", node="gke-prod-default-pool-1", labels={"app": "cart"}))
            world.kube.upsert("pods", make_pod("shop", "web-9", labels={"app": "web"}))  # not selected
            world.kube.delete("pods", "shop", "cart-0")
        elif len(events) == 4:
            world.clock.advance(30)  # a tick: the server sends a bookmark
        elif len(events) == 5:
            world.clock.advance(60)  # past timeoutSeconds on the simulated clock: the stream ends
    assert events[:4] == [("ADDED", "cart-0", "Running"), ("MODIFIED", "cart-0", "Failed"), ("ADDED", "cart-1", "Running"), ("DELETED", "cart-0", "Failed")]
    assert events[4][0] == "BOOKMARK"
    assert len(events) == 5
    assert int(watcher.resource_version) == world.kube.resource_version


def test_watch_reports_an_object_leaving_the_selector_as_deleted(world: World, core: client.CoreV1Api) -> None:
    start = core.list_namespaced_pod("shop", label_selector="app=web").metadata.resource_version
    world.kube.upsert("pods", make_pod("shop", "web-0", node="gke-prod-default-pool-0", labels={"app": "retired"}))
    world.clock.advance(120)  # ends the (resumed) watch below once replayed
    stream = watch.Watch().stream(core.list_namespaced_pod, "shop", label_selector="app=web", resource_version=start, timeout_seconds=1)
    first = next(iter(stream))
    assert (first["type"], first["object"].metadata.name) == ("DELETED", "web-0")


def test_watch_from_a_compacted_resource_version_fails_with_410(world: World, core: client.CoreV1Api) -> None:
    old = core.list_node().metadata.resource_version
    for round_ in range(HISTORY_SIZE + 1):
        world.kube.upsert("leases", make_lease("kube-node-lease", "n", holder=str(round_)))
    with pytest.raises(ApiException) as gone:
        for _ in watch.Watch().stream(core.list_node, resource_version=old, timeout_seconds=5):
            pass
    assert gone.value.status == 410
    assert "too old resource version" in str(gone.value.reason)


def test_watch_ends_with_410_when_a_bulk_load_resets_the_resource(world: World, core: client.CoreV1Api) -> None:
    seen = []
    with pytest.raises(ApiException) as gone:
        for event in watch.Watch().stream(core.list_node, timeout_seconds=30):
            seen.append(event["object"].metadata.name)
            if len(seen) == 4:
                world.kube.bulk_load("nodes", [make_node("gke-prod-big-0", pool="big", zone=ZONES[0], project=PROJECT)])
    assert gone.value.status == 410
    assert len(seen) == 4


# --- leases -------------------------------------------------------------------


def test_lease_create_update_and_conflicts(api_client: client.ApiClient) -> None:
    leases = client.CoordinationV1Api(api_client)
    body = client.V1Lease(metadata=client.V1ObjectMeta(name="k8s-chatops-leader"), spec=client.V1LeaseSpec(holder_identity="pod-a", lease_duration_seconds=15))
    created = leases.create_namespaced_lease("k8s-chatops", body)
    assert created.spec.holder_identity == "pod-a"
    with pytest.raises(ApiException) as taken:
        leases.create_namespaced_lease("k8s-chatops", body)
    assert taken.value.status == 409 and status_of(taken.value)["reason"] == "AlreadyExists"

    created.spec.holder_identity = "pod-b"
    renewed = leases.replace_namespaced_lease("k8s-chatops-leader", "k8s-chatops", created)
    assert renewed.spec.holder_identity == "pod-b"
    assert int(renewed.metadata.resource_version) > int(created.metadata.resource_version)

    created.spec.holder_identity = "pod-c"  # still carries the old resourceVersion
    with pytest.raises(ApiException) as stale:
        leases.replace_namespaced_lease("k8s-chatops-leader", "k8s-chatops", created)
    assert stale.value.status == 409 and status_of(stale.value)["reason"] == "Conflict"
    assert leases.read_namespaced_lease("k8s-chatops-leader", "k8s-chatops").spec.holder_identity == "pod-b"
    assert names(leases.list_namespaced_lease("k8s-chatops").items) == ["k8s-chatops-leader"]


def test_replacing_a_missing_lease_is_404(api_client: client.ApiClient) -> None:
    leases = client.CoordinationV1Api(api_client)
    body = client.V1Lease(metadata=client.V1ObjectMeta(name="ghost", resource_version="1"), spec=client.V1LeaseSpec(holder_identity="x"))
    with pytest.raises(ApiException) as missing:
        leases.replace_namespaced_lease("ghost", "k8s-chatops", body)
    assert missing.value.status == 404
    assert status_of(missing.value)["message"] == 'leases.coordination.k8s.io "ghost" not found'


def test_pod_disruption_budgets(world: World, api_client: client.ApiClient) -> None:
    world.kube.upsert("poddisruptionbudgets", make_pdb("shop", "web", selector={"app": "web"}, min_available=2, expected_pods=3, healthy=2))
    policy = client.PolicyV1Api(api_client)
    listed = policy.list_pod_disruption_budget_for_all_namespaces()
    assert [(p.metadata.name, p.status.disruptions_allowed) for p in listed.items] == [("web", 0)]
    assert policy.read_namespaced_pod_disruption_budget("web", "shop").spec.min_available == 2


# --- pod logs -----------------------------------------------------------------


def test_pod_log_tail_since_and_timestamps(world: World, core: client.CoreV1Api) -> None:
    now = world.clock.now()
    lines = [(now - timedelta(minutes=m), f"line {m}m ago") for m in (30, 20, 10, 1)]
    world.kube.set_pod_log("shop", "web-0", "app", lines)
    assert core.read_namespaced_pod_log("web-0", "shop") == "line 30m ago\nline 20m ago\nline 10m ago\nline 1m ago\n"
    assert core.read_namespaced_pod_log("web-0", "shop", tail_lines=2) == "line 10m ago\nline 1m ago\n"
    assert core.read_namespaced_pod_log("web-0", "shop", since_seconds=15 * 60) == "line 10m ago\nline 1m ago\n"
    stamped = core.read_namespaced_pod_log("web-0", "shop", tail_lines=1, timestamps=True)
    assert stamped == "2026-11-24T08:59:00Z line 1m ago\n"
    world.kube.append_pod_log("shop", "web-0", "app", [(now, "fresh")])
    assert core.read_namespaced_pod_log("web-0", "shop", tail_lines=1) == "fresh\n"


def test_pod_log_refusals_match_the_real_server(world: World, core: client.CoreV1Api) -> None:
    world.kube.set_pod_log("shop", "cart-0", "envoy", [(world.clock.now(), "listening")])
    assert core.read_namespaced_pod_log("cart-0", "shop", container="envoy") == "listening\n"
    with pytest.raises(ApiException) as unnamed:
        core.read_namespaced_pod_log("cart-0", "shop")
    assert unnamed.value.status == 400
    assert status_of(unnamed.value)["message"] == "a container name must be specified for pod cart-0, choose one of: [cart envoy]"
    with pytest.raises(ApiException) as unscheduled:
        core.read_namespaced_pod_log("web-2", "shop")
    assert status_of(unscheduled.value)["message"] == "pod web-2 does not have a host assigned"
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod_log("nope", "shop")
    assert missing.value.status == 404


# --- errors and faults --------------------------------------------------------


def test_not_found_is_a_status_object(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod("nope", "shop")
    body = status_of(missing.value)
    assert missing.value.status == 404
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'pods "nope" not found',
        "reason": "NotFound",
        "details": {"name": "nope", "group": "", "kind": "pods"},
        "code": 404,
    }


def test_forbidden_resources_answer_403_with_the_rbac_message(world: World, core: client.CoreV1Api) -> None:
    world.kube.forbidden.add("nodes")
    with pytest.raises(ApiException) as denied:
        core.list_node()
    assert denied.value.status == 403
    assert status_of(denied.value)["message"] == (
        'nodes is forbidden: User "system:serviceaccount:k8s-chatops:k8s-chatops" cannot list resource "nodes" in API group "" at the cluster scope'
    )
    world.kube.forbidden.add("pods/log")
    with pytest.raises(ApiException) as no_logs:
        core.read_namespaced_pod_log("web-0", "shop")
    assert 'cannot get resource "pods/log" in API group "" in the namespace "shop"' in status_of(no_logs.value)["message"]
    assert len(core.list_namespaced_pod("shop").items) == 5  # pods themselves stay readable


def test_control_plane_down_answers_503_everywhere(world: World, api_client: client.ApiClient, core: client.CoreV1Api) -> None:
    world.faults.kube_down = True
    with pytest.raises(ApiException) as down:
        client.VersionApi(api_client).get_code()
    assert down.value.status == 503
    with pytest.raises(ApiException) as listing:
        core.list_node()
    assert status_of(listing.value)["reason"] == "ServiceUnavailable"
    world.faults.kube_down = False
    assert client.VersionApi(api_client).get_code().git_version == "v1.30.5-gke.1014001"


def test_slow_control_plane_trips_the_client_timeout(world: World, core: client.CoreV1Api) -> None:
    world.faults.kube_delay_seconds = 0.3
    with pytest.raises(urllib3.exceptions.MaxRetryError) as slow:  # the client retries, then gives up
        core.list_node(_request_timeout=0.05)
    assert isinstance(slow.value.reason, urllib3.exceptions.ReadTimeoutError)
    world.faults.kube_delay_seconds = 0.0
    assert len(core.list_node(_request_timeout=5).items) == 4


# --- discovery and kubectl's table form ------------------------------------------


def get_json(url: str, accept: str = "application/json") -> dict:  # type: ignore[type-arg]
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_discovery_documents(server: SimServer) -> None:
    assert server.endpoints is not None
    base = server.endpoints.kube
    core_resources = {r["name"]: r for r in get_json(base + "/api/v1")["resources"]}
    assert core_resources["nodes"]["shortNames"] == ["no"] and not core_resources["nodes"]["namespaced"]
    assert core_resources["pods"]["shortNames"] == ["po"] and "watch" in core_resources["pods"]["verbs"]
    assert core_resources["pods/log"]["verbs"] == ["get"]
    groups = {g["name"]: g["preferredVersion"]["groupVersion"] for g in get_json(base + "/apis")["groups"]}
    assert groups == {
        "apps": "apps/v1",
        "coordination.k8s.io": "coordination.k8s.io/v1",
        "metrics.k8s.io": "metrics.k8s.io/v1beta1",
        "policy": "policy/v1",
    }
    apps = {r["name"]: r for r in get_json(base + "/apis/apps/v1")["resources"]}
    assert {name: r["kind"] for name, r in apps.items() if "/" not in name} == {
        "deployments": "Deployment", "statefulsets": "StatefulSet", "daemonsets": "DaemonSet"
    }
    assert apps["deployments"]["shortNames"] == ["deploy"] and apps["deployments"]["categories"] == ["all"]
    metrics = {r["name"]: r for r in get_json(base + "/apis/metrics.k8s.io/v1beta1")["resources"]}
    assert {name: (r["kind"], r["verbs"]) for name, r in metrics.items()} == {
        "nodes": ("NodeMetrics", ["get", "list"]), "pods": ("PodMetrics", ["get", "list"])
    }
    assert get_json(base + "/apis/policy/v1")["resources"][0]["kind"] == "PodDisruptionBudget"
    with pytest.raises(urllib.error.HTTPError) as missing:
        get_json(base + "/openapi/v3/apis/example.com/v1")  # OpenAPI only for the group-versions discovery lists
    assert missing.value.code == 404


def test_table_form_carries_kubectls_columns(server: SimServer, world: World) -> None:
    assert server.endpoints is not None
    world.clock.advance(3 * 3600)
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    nodes = get_json(server.endpoints.kube + "/api/v1/nodes", accept)
    assert [c["name"] for c in nodes["columnDefinitions"] if c["priority"] == 0] == ["Name", "Status", "Roles", "Age", "Version"]
    rows = {row["cells"][0]: row["cells"] for row in nodes["rows"]}
    assert rows["gke-prod-batch-0"][1] == "Ready,SchedulingDisabled"
    assert rows["gke-prod-default-pool-2"][1] == "NotReady"
    assert rows["gke-prod-default-pool-0"][3] == "3h"
    pods = get_json(server.endpoints.kube + "/api/v1/namespaces/shop/pods", accept)
    statuses = {row["cells"][0]: row["cells"][2] for row in pods["rows"]}
    assert statuses == {"api-0": "CrashLoopBackOff", "cart-0": "Running", "web-0": "Running", "web-1": "Running", "web-2": "Pending"}
    assert pods["rows"][0]["object"]["metadata"]["namespace"] == "shop"


def test_raw_watch_sends_initial_events_then_the_initial_events_end_bookmark(server: SimServer, world: World) -> None:
    assert server.endpoints is not None
    url = server.endpoints.kube + "/api/v1/nodes?watch=1&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=600"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["Transfer-Encoding"] == "chunked"
        lines = [json.loads(response.readline()) for _ in range(5)]
        listed_at = world.kube.resource_version
        world.clock.advance(601)  # the simulated timeout closes the stream (and the kubelets report meanwhile)
        assert response.read() == b""
    assert [line["type"] for line in lines] == ["ADDED"] * 4 + ["BOOKMARK"]
    assert lines[4]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert lines[4]["object"]["metadata"]["resourceVersion"] == str(listed_at)

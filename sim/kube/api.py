"""The simulated kube-apiserver over HTTP, in the real server's JSON shapes.

One catch-all route parses Kubernetes URLs itself (``/api/v1/...`` and
``/apis/GROUP/VERSION/...``, cluster or namespace scope), because the URL
grammar is regular and a parser says it more plainly than twenty routes.
Faults from the world (control plane down, slow answers) apply to every
request, ``/version`` included, as they would on a real control plane.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from sim.kube import auth, discovery, eviction, logs, metrics, openapi, reviews, status, tables
from sim.kube import patch as patching
from sim.kube.resources import RESOURCES, SUBRESOURCES, Resource
from sim.kube.selectors import parse_field_selector, parse_label_selector
from sim.kube.status import KubeError
from sim.kube.store import View
from sim.kube.watch import serve_watch
from sim.world import World

WORLD = web.AppKey("world", World)
JSON = "application/json"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Target:
    """What a resource URL names: a resource, maybe a namespace, a name, a subresource."""

    res: Resource
    namespace: str | None
    name: str | None
    subresource: str | None


def _not_found_path() -> KubeError:
    return KubeError(404, "the server could not find the requested resource", details={})


def parse_target(path: str) -> Target | tuple[str, str | None]:
    """A resource Target, or ("discovery", group_version) / ("group", name) for documents."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group_version, rest = "v1", parts[2:]
    elif parts and parts[0] == "apis" and len(parts) >= 3:
        group_version, rest = f"{parts[1]}/{parts[2]}", parts[3:]
    elif parts and parts[0] == "apis" and len(parts) == 2:
        return ("group", parts[1])
    else:
        raise _not_found_path()
    if not rest:
        return ("discovery", group_version)
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        raise _not_found_path()
    res = RESOURCES.get(rest[0])
    if res is None or res.api_version != group_version or (namespace is not None and not res.namespaced):
        raise _not_found_path()
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else None
    if name is not None and res.namespaced and namespace is None:
        raise _not_found_path()
    return Target(res, namespace, name, subresource)


def json_response(body: Any, code: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=code, content_type=JSON)


def status_response(error: KubeError) -> web.Response:
    return json_response(error.body(), error.code)


@web.middleware
async def faults_and_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """World faults first, then authentication, then any KubeError raised below becomes its Status."""
    world = request.app[WORLD]
    faults = world.faults
    if faults.kube_delay_seconds > 0:
        await asyncio.sleep(faults.kube_delay_seconds)
    if faults.kube_outage:
        return await _gone(request)
    if faults.kube_down:
        return status_response(KubeError(503, "the server is currently unable to handle the request", reason="ServiceUnavailable"))
    try:
        user = auth.authenticate(request.headers.get("Authorization"), world.kube.tokens)  # 401 for a wrong token
        if user == auth.ANONYMOUS and not world.kube.anonymous_allowed and not auth.public(request.path):
            raise _anonymous_forbidden(request)
        return await handler(request)
    except KubeError as error:
        return status_response(error)


async def _gone(request: web.Request) -> web.Response:
    """No control plane to answer: the connection is dropped ("refuse": only connections opened
    before the ports closed get here) or held unanswered until the outage ends ("timeout")."""
    faults = request.app[WORLD].faults
    while faults.kube_outage == "timeout":
        await asyncio.sleep(0.05)
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=503)  # written nowhere: the connection is gone


def _anonymous_forbidden(request: web.Request) -> KubeError:
    """RBAC's answer to an anonymous request: only the health and version paths are open to it."""
    try:
        target = parse_target(request.path)
    except KubeError:
        target = None
    if isinstance(target, Target):
        verb = _VERBS.get(request.method, request.method.lower())
        if request.method == "GET":
            verb = ("watch" if _flag(request, "watch") else "list") if target.name is None else "get"
        return status.forbidden(target.res, verb, target.namespace, target.name, target.subresource, user=auth.ANONYMOUS)
    return KubeError(403, f'forbidden: User "{auth.ANONYMOUS}" cannot {request.method.lower()} path "{request.path}"', details={})


_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


def _int_param(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise status.bad_request(f'invalid value for {name}: "{raw}" is not an integer') from None


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1")


def _check_access(request: web.Request, res: Resource, verb: str, namespace: str | None, name: str | None = None, sub: str | None = None) -> None:
    forbidden = request.app[WORLD].kube.forbidden
    if res.plural in forbidden or (sub and f"{res.plural}/{sub}" in forbidden):
        raise status.forbidden(res, verb, namespace, name, sub)


async def handle_resource(request: web.Request) -> web.StreamResponse:
    if request.path.startswith(f"/apis/{metrics.GROUP}/") or request.path.rstrip("/") == f"/apis/{metrics.GROUP}":
        return metrics_resource(request)
    parsed = parse_target(request.path)
    if isinstance(parsed, tuple):
        return discovery_document(*parsed)
    target = parsed
    method = request.method
    if method == "GET" and target.name is None:
        return await list_or_watch(request, target)
    if target.name is None and method == "POST":
        return await create(request, target)
    if target.name is not None and target.subresource is None:
        if method == "GET":
            return get_one(request, target)
        if method == "PUT":
            return await replace(request, target)
        if method == "PATCH":
            return await patch(request, target)
        if method == "DELETE":
            return await delete(request, target)
    if target.subresource is not None and f"{target.res.plural}/{target.subresource}" not in SUBRESOURCES:
        raise _not_found_path()
    if method == "GET" and target.res.plural == "pods" and target.subresource == "log":
        if _flag(request, "follow") and not _flag(request, "previous"):
            return await follow_log(request, target)
        return pod_log(request, target)
    if method == "POST" and target.res.plural == "pods" and target.subresource == "eviction":
        return await evict(request, target)
    if target.subresource is not None and method == "GET" and target.subresource == "status":
        return get_one(request, target)
    raise not_allowed()


def not_allowed() -> KubeError:
    """A verb this resource does not serve (discovery does not list it either)."""
    return KubeError(405, "the server does not allow this method on the requested resource", reason="MethodNotAllowed", details={})


def metrics_resource(request: web.Request) -> web.Response:
    """metrics.k8s.io, which the aggregator hands to metrics-server: computed on each read, never stored."""
    world = request.app[WORLD]
    if world.faults.metrics_api_missing:
        raise _not_found_path()
    if request.method != "GET":
        raise KubeError(405, "the server does not allow this method on the requested resource", reason="MethodNotAllowed")
    target = metrics.route(request.path)
    if target == "group":
        return json_response({"kind": "APIGroup", "apiVersion": "v1", **metrics.group()})
    if target == "resources":
        return json_response(metrics.resource_list())
    plural, namespace, name = target
    return json_response(metrics.answer(world.kube, plural, namespace, name, dict(request.query)))


def discovery_document(kind: str, name: str | None) -> web.Response:
    document = discovery.api_resource_list(name or "") if kind == "discovery" else discovery.api_group(name or "")
    if document is None:
        raise _not_found_path()
    return json_response(document)


async def list_or_watch(request: web.Request, target: Target) -> web.StreamResponse:
    world = request.app[WORLD]
    store = world.kube
    res = target.res
    verb = "watch" if _flag(request, "watch") else "list"
    _check_access(request, res, verb, target.namespace)
    labels = parse_label_selector(request.query.get("labelSelector"))
    fields = parse_field_selector(res.plural, request.query.get("fieldSelector"))
    if verb == "watch":
        namespace = target.namespace

        def matches(view: View) -> bool:
            return view.matches(namespace, labels, fields)

        raw_rv = request.query.get("resourceVersion", "")
        try:
            since = None if raw_rv in ("", "0") else int(raw_rv)
        except ValueError:
            raise status.bad_request(f"invalid resource version: {raw_rv}") from None
        timeout = _int_param(request, "timeoutSeconds")
        return await serve_watch(
            request,
            store,
            res,
            matches,
            since=since,
            bookmarks=_flag(request, "allowWatchBookmarks"),
            send_initial_end=_flag(request, "sendInitialEvents"),
            timeout_seconds=float(timeout) if timeout else None,
        )
    page = store.select(
        res.plural,
        namespace=target.namespace,
        labels=labels,
        fields=fields,
        limit=max(_int_param(request, "limit") or 0, 0),
        continue_token=request.query.get("continue") or None,
    )
    meta: dict[str, Any] = {"resourceVersion": str(page.resource_version)}
    if page.continue_token:
        meta["continue"] = page.continue_token
    if page.remaining is not None:
        meta["remainingItemCount"] = page.remaining
    if tables.wants_table(request.headers.get("Accept", "")) and res.plural in tables.PRINTERS:
        body = tables.table(res.plural, page.objects(), world.clock.now(), meta, request.query.get("includeObject", "Metadata"))
        return json_response(body)
    head = orjson.dumps({"kind": res.list_kind, "apiVersion": res.api_version, "metadata": meta})[:-1] + b',"items":['
    if len(page.items) <= STREAM_CHUNK:
        return web.Response(body=head + b",".join(page.items) + b"]}", content_type=JSON)
    return await stream_list(request, head, page.items)


STREAM_CHUNK = 2000  # items per write for big lists: no second copy of a 300 MB body


async def stream_list(request: web.Request, head: bytes, items: list[bytes]) -> web.StreamResponse:
    """Send a big list in slices so memory holds the cached items, not a joined copy."""
    response = web.StreamResponse(headers={"Content-Type": JSON})
    response.content_length = len(head) + sum(len(item) for item in items) + max(len(items) - 1, 0) + 2
    await response.prepare(request)
    await response.write(head)
    for start in range(0, len(items), STREAM_CHUNK):
        prefix = b"," if start else b""
        await response.write(prefix + b",".join(items[start : start + STREAM_CHUNK]))
    await response.write(b"]}")
    await response.write_eof()
    return response


def get_one(request: web.Request, target: Target) -> web.Response:
    world = request.app[WORLD]
    res, name = target.res, target.name or ""
    _check_access(request, res, "get", target.namespace, name)
    raw = world.kube.get_raw(res.plural, target.namespace, name)
    if raw is None:
        raise status.not_found(res, name)
    if tables.wants_table(request.headers.get("Accept", "")) and res.plural in tables.PRINTERS and target.subresource is None:
        obj = orjson.loads(raw)
        meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
        return json_response(tables.table(res.plural, [obj], world.clock.now(), meta, request.query.get("includeObject", "Metadata")))
    return web.Response(body=raw, content_type=JSON)


async def _body(request: web.Request, target: Target) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError as error:
        raise status.bad_request(f"the body of the request was in an unknown format: {error}") from None
    if not isinstance(body, dict):
        raise status.bad_request("the body of the request must be a JSON object")
    meta = body.setdefault("metadata", {})
    if target.namespace is not None:
        if meta.get("namespace") not in (None, "", target.namespace):
            raise status.bad_request("the namespace of the provided object does not match the namespace sent on the request")
        meta["namespace"] = target.namespace
    if target.name is not None and meta.get("name") != target.name:
        raise status.bad_request(f"the name of the object ({meta.get('name')}) does not match the name on the URL ({target.name})")
    return body


def _dry_run(request: web.Request) -> bool:
    """``dryRun=All`` answers as the write would without storing anything; any other value is refused."""
    values = request.query.getall("dryRun", [])
    wrong = [v for v in values if v != "All"]
    if wrong:
        raise status.bad_request(f'dryRun: Unsupported value: ["{wrong[0]}"]: supported values: "All"')
    return bool(values)


async def create(request: web.Request, target: Target) -> web.Response:
    _check_access(request, target.res, "create", target.namespace)
    dry_run = _dry_run(request)
    body = await _body(request, target)
    return json_response(request.app[WORLD].kube.create(target.res.plural, body, dry_run=dry_run), 201)


async def replace(request: web.Request, target: Target) -> web.Response:
    _check_access(request, target.res, "update", target.namespace, target.name)
    dry_run = _dry_run(request)
    body = await _body(request, target)
    return json_response(request.app[WORLD].kube.update(target.res.plural, body, dry_run=dry_run))


async def patch(request: web.Request, target: Target) -> web.Response:
    """JSON merge, strategic merge and JSON patches (``sim.kube.patch``); what kubectl label, cordon and patch send."""
    _check_access(request, target.res, "patch", target.namespace, target.name)
    dry_run = _dry_run(request)
    content_type = request.content_type
    if content_type not in patching.SUPPORTED:
        raise patching.unsupported(content_type)
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError as error:
        raise status.bad_request(f"error decoding patch: {error}") from None
    store = request.app[WORLD].kube
    return json_response(store.patch(target.res.plural, target.namespace, target.name or "", content_type, body, dry_run=dry_run))


async def delete(request: web.Request, target: Target) -> web.Response:
    store = request.app[WORLD].kube
    name = target.name or ""
    _check_access(request, target.res, "delete", target.namespace, name)
    dry_run = _dry_run(request)
    raw = await request.read()  # DeleteOptions: only dryRun is honoured (no grace period, no propagation)
    if raw.strip():
        try:
            options = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise status.bad_request(f"the body of the request was in an unknown format: {error}") from None
        wanted = options.get("dryRun") if isinstance(options, dict) else None
        if wanted:
            if wanted != ["All"]:
                raise status.bad_request(f'dryRun: Unsupported value: {orjson.dumps(wanted).decode()}: supported values: "All"')
            dry_run = True
    with store.lock:
        if store.get_raw(target.res.plural, target.namespace, name) is None:
            raise status.not_found(target.res, name)
        if not dry_run:
            store.delete(target.res.plural, target.namespace, name)
    return json_response(status.success(target.res, name))


async def evict(request: web.Request, target: Target) -> web.Response:
    """``kubectl drain``'s eviction: the pod deleted, or 429 while a disruption budget allows no more."""
    world = request.app[WORLD]
    res, name, namespace = target.res, target.name or "", target.namespace or ""
    _check_access(request, res, "create", namespace, name, "eviction")
    body = await _review_body(request)
    if body.get("kind") not in (None, "Eviction"):
        raise status.bad_request(f"Eviction expected, got {body.get('kind')}")
    dry_run = _dry_run(request) or "All" in ((body.get("deleteOptions") or {}).get("dryRun") or [])
    with world.lock:
        pod = world.kube.get("pods", namespace, name)
        if pod is None:
            raise status.not_found(res, name)
        return json_response(eviction.evict(world.kube, namespace, name, pod, world.clock.now(), dry_run=dry_run), 201)


def pod_log(request: web.Request, target: Target) -> web.Response:
    world = request.app[WORLD]
    res, name, namespace = target.res, target.name or "", target.namespace or ""
    _check_access(request, res, "get", namespace, name, "log")
    pod = world.kube.get("pods", namespace, name)
    if pod is None:
        raise status.not_found(res, name)
    container = logs.choose_container(pod, request.query.get("container") or None)
    lines = world.kube.pod_log(namespace, name, container)
    if _flag(request, "previous"):
        lines = logs.previous_lines(pod, container, lines)
    elif not lines:
        logs.check_started(pod, container)
    body = logs.render(
        lines,
        now=world.clock.now(),
        tail=_int_param(request, "tailLines"),
        since_seconds=_int_param(request, "sinceSeconds"),
        since_time=request.query.get("sinceTime"),
        timestamps=_flag(request, "timestamps"),
        limit_bytes=_int_param(request, "limitBytes"),
    )
    return web.Response(body=body, content_type="text/plain")


async def follow_log(request: web.Request, target: Target) -> web.StreamResponse:
    """``follow=true`` (``kubectl logs -f``): what there is, then each new line as it is written, chunked,
    until the pod is deleted or its container terminates (the stream ends), or the control plane goes
    away (the connection drops)."""
    first = pod_log(request, target)  # every refusal and the lines so far, as without follow
    world = request.app[WORLD]
    namespace, name = target.namespace or "", target.name or ""
    pod = world.kube.get("pods", namespace, name) or {}
    container = logs.choose_container(pod, request.query.get("container") or None)
    sent = len(world.kube.pod_log(namespace, name, container))
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    assert isinstance(first.body, bytes)
    await response.write(first.body)
    timestamps = _flag(request, "timestamps")
    while True:
        await asyncio.sleep(0.05)
        if world.faults.kube_outage or world.faults.kube_down:
            if request.transport is not None:
                request.transport.abort()
            return response
        pod = world.kube.get("pods", namespace, name)
        if pod is None:
            break
        current = world.kube.pod_log(namespace, name, container)
        if len(current) > sent:
            fresh = logs.render(current[sent:], now=world.clock.now(), tail=None, since_seconds=None,
                                since_time=None, timestamps=timestamps, limit_bytes=None)
            await response.write(fresh)
            sent = len(current)
        if logs.terminated(pod, container):
            break
    await response.write_eof()
    return response


def _requester(request: web.Request) -> str:
    return auth.authenticate(request.headers.get("Authorization"), request.app[WORLD].kube.tokens)


async def _review_body(request: web.Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise status.bad_request("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise status.bad_request("the request body is not an object")
    return body


async def self_subject_review(request: web.Request) -> web.Response:
    """``kubectl auth whoami``: the user this request was authenticated as."""
    world = request.app[WORLD]
    await _review_body(request)
    return json_response(reviews.self_subject_review(_requester(request), world.kube), 201)


async def self_subject_access_review(request: web.Request) -> web.Response:
    """``kubectl auth can-i``: whether this request's user may do what the review asks."""
    world = request.app[WORLD]
    body = await _review_body(request)
    with world.lock:
        review = reviews.self_subject_access_review(body, _requester(request), world.kube)
    return json_response(review, 201)


async def version(request: web.Request) -> web.Response:
    return json_response(discovery.version_info(request.app[WORLD].kube.server_version))


async def health(request: web.Request) -> web.Response:
    return web.Response(text="ok", content_type="text/plain")


async def api_root(request: web.Request) -> web.Response:
    return json_response(discovery.api_versions(request.host))


async def apis_root(request: web.Request) -> web.Response:
    groups = discovery.api_group_list()
    if not request.app[WORLD].faults.metrics_api_missing:
        groups["groups"].append(metrics.group())
    return json_response(groups)


async def unknown(request: web.Request) -> web.Response:
    raise _not_found_path()


def _accepts_json(request: web.Request) -> bool:
    """JSON, ``*/*`` or no preference; kubectl asks v2 for protobuf alone, which is not served (406)."""
    accept = request.headers.get("Accept", "")
    return not accept.strip() or any(
        kind.split(";")[0].strip() in ("application/json", "*/*", "application/*") for kind in accept.split(",")
    )


def _not_acceptable() -> KubeError:
    return KubeError(406, "only the following media types are accepted: application/json", reason="NotAcceptable", details={})


def _openapi_minor(request: web.Request) -> tuple[int, int]:
    return openapi.minor_of(request.app[WORLD].kube.server_version)


async def openapi_v3_index(request: web.Request) -> web.Response:
    """``/openapi/v3``: where each group-version's document is, built on the first request (off the event loop)."""
    if not _accepts_json(request):
        raise _not_acceptable()
    index = await asyncio.to_thread(openapi.DOCUMENTS.index, _openapi_minor(request))
    if index is None:
        raise _not_found_path()
    return json_response(index)


async def openapi_v3_document(request: web.Request) -> web.Response:
    """One group-version's document; a stale ``hash`` is redirected to the current one, a current one is immutable."""
    if not _accepts_json(request):
        raise _not_acceptable()
    key = request.match_info["tail"]
    body = await asyncio.to_thread(openapi.DOCUMENTS.group_version, _openapi_minor(request), key)
    if body is None:
        raise _not_found_path()
    current = openapi.digest(body)
    asked = request.query.get("hash")
    if asked is not None and asked != current:
        raise web.HTTPMovedPermanently(f"{openapi.V3_PREFIX}{key}?hash={current}")
    headers = {"ETag": f'"{current}"', "Cache-Control": "public, immutable" if asked else "no-cache, private"}
    return web.Response(body=body, content_type=JSON, headers=headers)


async def openapi_v2(request: web.Request) -> web.Response:
    if not _accepts_json(request):
        raise _not_acceptable()
    body = await asyncio.to_thread(openapi.DOCUMENTS.v2, _openapi_minor(request))
    if body is None:
        raise _not_found_path()
    return web.Response(body=body, content_type=JSON, headers={"ETag": f'"{openapi.digest(body)}"'})


def build_app(world: World) -> web.Application:
    """The Kubernetes API application over ``world.kube``."""
    app = web.Application(middlewares=[faults_and_errors])
    app[WORLD] = world
    app.router.add_get("/version", version)
    app.router.add_get("/version/", version)  # the Python client's VersionApi asks with the slash
    for probe in ("/healthz", "/readyz", "/livez"):
        app.router.add_get(probe, health)
    app.router.add_get("/api", api_root)
    app.router.add_get("/apis", apis_root)
    app.router.add_get("/openapi/v2", openapi_v2)
    app.router.add_get("/openapi/v3", openapi_v3_index)
    app.router.add_get("/openapi/v3/{tail:.+}", openapi_v3_document)
    app.router.add_post(f"/apis/{reviews.AUTHENTICATION}/selfsubjectreviews", self_subject_review)
    app.router.add_post(f"/apis/{reviews.AUTHORIZATION}/selfsubjectaccessreviews", self_subject_access_review)
    app.router.add_route("*", "/api/{tail:.+}", handle_resource)
    app.router.add_route("*", "/apis/{tail:.+}", handle_resource)
    app.router.add_route("*", "/{tail:.*}", unknown)
    return app

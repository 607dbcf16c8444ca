"""OpenAPI documents for the kinds this server serves, so ``kubectl explain`` and kubectl's validation work.

kubectl reads OpenAPI v3 first: the index at ``/openapi/v3`` points at one
document per group-version (``/openapi/v3/api/v1?hash=...``); ``explain``
finds a resource's kind through the ``x-kubernetes-group-version-kind`` of
its path's operations, then prints the schema's descriptions, and ``create``
or ``apply`` look for a ``fieldValidation`` parameter on the kind's PATCH
operation to decide whether the server validates (otherwise kubectl would
fall back to validating itself against the v2 document in protobuf, which is
not served here: v2 is JSON only and a protobuf-only Accept is 406).

The schemas are not written here: they are the official ones for the
server's minor version that the ``kubernetes-validate`` distribution ships as
JSON Schema, turned back into OpenAPI's dialect (types without ``null``,
references under ``components/schemas`` or ``definitions``, a reference with
a description wrapped in ``allOf`` as the real server does). Nothing is built
until the first request, then every document is cached per minor version:
loading the definitions takes a fraction of a second that a world's
start-up should not pay. Without ``kubernetes-validate`` installed the paths
answer 404, as a server without OpenAPI does.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from sim.kube.resources import RESOURCES, SUBRESOURCE_GROUPS, SUBRESOURCES, Resource, groups

Json = dict[str, Any]
V3_PREFIX = "/openapi/v3/"
META = "io.k8s.apimachinery.pkg.apis.meta.v1"
_SOURCE_REF = "#/$defs/"
_BEARER_TOKEN: Json = {"type": "apiKey", "name": "authorization", "in": "header", "description": "Bearer token authentication"}


def _info(minor: tuple[int, int]) -> Json:
    return {"title": "Kubernetes", "version": f"v{minor[0]}.{minor[1]}.0"}

# Types the JSON Schema rendition spells as a bare oneOf: their descriptions (in our words) and how each
# version spells them. v2 says string (with a format); v3 keeps the oneOf, so explain names them by type.
_SCALARS: dict[str, tuple[str, Json, Json]] = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity": (
        "A fixed-point number with an optional suffix, written as a string: a plain number, "
        "a binary (Ki, Mi, Gi, Ti, Pi, Ei), decimal SI (m, k, M, G, T, P, E) or decimal exponent (e3) suffix. "
        "CPU is often written in millicores (250m), memory in binary units (512Mi).",
        {"type": "string"},
        {"oneOf": [{"type": "string"}, {"type": "number"}]},
    ),
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": (
        "A value that is either a 32-bit integer or a string, such as a port number or a port name, "
        "or a count or a percentage.",
        {"type": "string", "format": "int-or-string"},
        {"format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}]},
    ),
}


def _schema_root() -> Path | None:
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"
    return root if root.is_dir() else None


def minor_of(server_version: str) -> tuple[int, int]:
    """(1, 30) for ``v1.30.5-gke.1014001``."""
    found = re.match(r"v?(\d+)\.(\d+)", server_version)
    return (int(found.group(1)), int(found.group(2))) if found else (1, 30)


@lru_cache(maxsize=4)
def _definitions(minor: tuple[int, int]) -> dict[str, Json] | None:
    """The official definitions for the closest Kubernetes minor shipped (the same, else the newest older one)."""
    root = _schema_root()
    if root is None:
        return None
    shipped: dict[tuple[int, int], Path] = {}
    for folder in root.iterdir():
        found = re.fullmatch(r"v(\d+)\.(\d+)\.0-local", folder.name)
        if found and (folder / "_definitions.json").is_file():
            shipped[(int(found.group(1)), int(found.group(2)))] = folder
    if not shipped:
        return None
    older = [v for v in shipped if v <= minor]
    chosen = max(older) if older else min(shipped)
    defs: dict[str, Json] = orjson.loads((shipped[chosen] / "_definitions.json").read_bytes())["$defs"]
    return defs


# -- turning JSON Schema back into OpenAPI ------------------------------------------


def _convert(schema: Any, ref_prefix: str, v3: bool) -> Any:
    """One schema in OpenAPI's dialect: ``type`` without ``null``, references re-rooted."""
    if isinstance(schema, list):
        return [_convert(item, ref_prefix, v3) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: Json = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, list):
            kinds = [t for t in value if t != "null"]
            out[key] = kinds[0] if len(kinds) == 1 else kinds
        elif key == "$ref" and isinstance(value, str):
            out[key] = ref_prefix + value.removeprefix(_SOURCE_REF)
        elif key in ("properties", "$defs") and isinstance(value, dict):
            out[key] = {name: _property(sub, ref_prefix, v3) for name, sub in value.items()}
        else:
            out[key] = _convert(value, ref_prefix, v3)
    return out


def _property(schema: Any, ref_prefix: str, v3: bool) -> Any:
    """A property that is a reference with siblings is ``allOf: [$ref]`` plus the siblings in v3, as served."""
    converted = _convert(schema, ref_prefix, v3)
    if isinstance(converted, dict):
        if "items" in converted and isinstance(converted["items"], dict):
            converted["items"] = _wrap(converted["items"], v3)
        converted = _wrap(converted, v3)
    return converted


def _wrap(schema: Json, v3: bool) -> Json:
    if v3 and "$ref" in schema and len(schema) > 1:
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        return {"allOf": [{"$ref": schema["$ref"]}], **rest}
    return schema


def _definition(name: str, source: Json, ref_prefix: str, v3: bool) -> Json:
    if name in _SCALARS:
        description, v2_form, v3_form = _SCALARS[name]
        return {"description": description, **(v3_form if v3 else v2_form)}
    converted: Json = _convert(source, ref_prefix, v3)
    props = converted.get("properties") or {}
    if converted.get("x-kubernetes-group-version-kind"):
        for field in ("apiVersion", "kind"):  # the rendition pins these with an enum; the API's schema does not
            if isinstance(props.get(field), dict):
                props[field].pop("enum", None)
    return converted


def _refs(schema: Any, found: set[str]) -> None:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            found.add(ref.rsplit("/", 1)[-1])
        for value in schema.values():
            _refs(value, found)
    elif isinstance(schema, list):
        for value in schema:
            _refs(value, found)


def _closure(roots: set[str], defs: dict[str, Json]) -> list[str]:
    """Every definition reachable from ``roots`` through references."""
    seen: set[str] = set()
    todo = [r for r in roots if r in defs]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        found: set[str] = set()
        _refs(defs[name], found)
        todo.extend(f for f in found if f in defs and f not in seen)
    return sorted(seen)


# -- paths ----------------------------------------------------------------------------


def _definition_name(group: str, version: str, kind: str, defs: dict[str, Json]) -> str | None:
    for name, schema in defs.items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or ():
            if (gvk.get("group"), gvk.get("version"), gvk.get("kind")) == (group, version, kind) and not name.startswith(META):
                return name
    return None


def _meta(name: str) -> str:
    return f"{META}.{name}"


def _title(group: str, version: str) -> str:
    """``CoreV1``, ``AppsV1``, ``CoordinationV1``: how operation ids name a group-version."""
    head = group.split(".")[0] if group else "core"
    return head[:1].upper() + head[1:] + version[:1].upper() + version[1:]


def _tag(group: str, version: str) -> str:
    return f"{(group.split('.')[0] if group else 'core')}_{version}"


_QUERY: dict[str, tuple[str, str]] = {
    "pretty": ("string", "If 'true', the output is pretty printed."),
    "labelSelector": ("string", "Only objects whose labels match this selector are returned."),
    "fieldSelector": ("string", "Only objects whose fields match this selector are returned."),
    "limit": ("integer", "At most this many objects are returned; the list metadata's continue token asks for the rest."),
    "continue": ("string", "The token a previous page returned, to read the next page of the same list."),
    "watch": ("boolean", "Stream added, modified and deleted objects instead of returning a list."),
    "allowWatchBookmarks": ("boolean", "Let the server send BOOKMARK events on a watch."),
    "sendInitialEvents": ("boolean", "Start a watch with the current objects, then a bookmark marking their end."),
    "resourceVersion": ("string", "With watch, the version to stream changes after."),
    "timeoutSeconds": ("integer", "End a watch after this many seconds."),
    "dryRun": ("string", "When All, the request is checked and answered as it would be, and nothing is stored."),
    "fieldManager": ("string", "The name of the actor making the change."),
    "fieldValidation": ("string", "How to treat fields the schema does not know: Ignore, Warn or Strict."),
    "force": ("boolean", "Take over conflicting fields on an apply patch."),
    "container": ("string", "The container whose log is read."),
    "follow": ("boolean", "Keep streaming the log as it grows."),
    "previous": ("boolean", "Read the log of the container's previous, terminated run."),
    "tailLines": ("integer", "Only the last lines of the log."),
    "sinceSeconds": ("integer", "Only lines newer than this many seconds."),
    "sinceTime": ("string", "Only lines after this RFC 3339 time."),
    "timestamps": ("boolean", "Start each line with its RFC 3339 timestamp."),
    "limitBytes": ("integer", "Stop after this many bytes of log."),
}
_LIST_PARAMS = ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit", "resourceVersion",
                "sendInitialEvents", "timeoutSeconds", "watch")
_WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")
_LOG_PARAMS = ("container", "follow", "limitBytes", "previous", "sinceSeconds", "sinceTime", "tailLines", "timestamps")


def _param(name: str, where: str, v3: bool, *, required: bool = False) -> Json:
    kind, description = _QUERY.get(name, ("string", f"The {name} of the object."))
    out: Json = {"name": name, "in": where, "description": description}
    if required:
        out["required"] = True
    if v3:
        out["schema"] = {"type": kind, "uniqueItems": True}
    else:
        out.update(type=kind, uniqueItems=True)
    return out


def _response(ref: str | None, v3: bool, ref_prefix: str, *, code: str = "200", text: bool = False) -> Json:
    if v3:
        if text:
            content = {"text/plain": {"schema": {"type": "string"}}}
        else:
            content = {t: {"schema": {"$ref": ref_prefix + (ref or "")}} for t in ("application/json", "application/yaml")}
        return {code: {"description": "OK" if code == "200" else "Created", "content": content},
                "401": {"description": "Unauthorized"}}
    return {code: {"description": "OK" if code == "200" else "Created", "schema": {"type": "string"} if text else {"$ref": ref_prefix + (ref or "")}},
            "401": {"description": "Unauthorized"}}


def _operation(op_id: str, action: str, gvk: Json, tag: str, params: list[Json], responses: Json, body: str | None,
               patch: bool, v3: bool, ref_prefix: str) -> Json:
    op: Json = {"description": f"{action} {gvk['kind']}", "operationId": op_id, "tags": [tag], "parameters": params,
                "responses": responses, "x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk}
    if body is not None:
        media = ("application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json") if patch else ("*/*",)
        if v3:
            op["requestBody"] = {"content": {m: {"schema": {"$ref": ref_prefix + body}} for m in media}, "required": True}
        else:
            op["parameters"] = [{"name": "body", "in": "body", "required": True, "schema": {"$ref": ref_prefix + body}}, *params]
            op["consumes"] = list(media)
    return op


def _resource_paths(res: Resource, definition: str, defs: dict[str, Json], v3: bool, ref_prefix: str) -> dict[str, Json]:
    """The collection and item paths of one resource, with the verbs discovery lists for it."""
    gvk = {"group": res.group, "kind": res.kind, "version": res.version}
    base = f"/apis/{res.group}/{res.version}" if res.group else "/api/v1"
    title, tag = _title(res.group, res.version), _tag(res.group, res.version)
    scoped = "Namespaced" if res.namespaced else ""
    list_name = definition + "List" if definition + "List" in defs else None
    prefix = f"{base}/namespaces/{{namespace}}/{res.plural}" if res.namespaced else f"{base}/{res.plural}"
    common = [_param("pretty", "query", v3)]
    where = [_param("namespace", "path", v3, required=True)] if res.namespaced else []
    named = [_param("name", "path", v3, required=True)]

    def op(verb: str, action: str, params: tuple[str, ...], ref: str | None, *, body: str | None = None,
           patch: bool = False, code: str = "200", suffix: str = "") -> Json:
        return _operation(f"{verb}{title}{scoped}{res.kind}{suffix}", action, gvk, tag, [_param(p, "query", v3) for p in params],
                          _response(ref, v3, ref_prefix, code=code), body, patch, v3, ref_prefix)

    paths: dict[str, Json] = {}
    collection: Json = {"parameters": [*where, *common]}
    if "list" in res.verbs and list_name:
        collection["get"] = op("list", "list", _LIST_PARAMS, list_name)
    if "create" in res.verbs:
        collection["post"] = op("create", "post", _WRITE_PARAMS, definition, body=definition, code="201")
    paths[prefix] = collection
    item: Json = {"parameters": [*named, *where, *common]}
    if "get" in res.verbs:
        item["get"] = op("read", "get", (), definition)
    if "update" in res.verbs:
        item["put"] = op("replace", "put", _WRITE_PARAMS, definition, body=definition)
    if "patch" in res.verbs:
        item["patch"] = op("patch", "patch", (*_WRITE_PARAMS, "force"), definition, body=_meta("Patch"), patch=True)
    if "delete" in res.verbs:
        item["delete"] = op("delete", "delete", ("dryRun",), _meta("Status"), body=_meta("DeleteOptions"))
    paths[f"{prefix}/{{name}}"] = item
    if res.namespaced and "list" in res.verbs and list_name:
        everywhere = op("list", "list", _LIST_PARAMS, list_name, suffix="ForAllNamespaces")
        everywhere["operationId"] = f"list{title}{res.kind}ForAllNamespaces"
        paths[f"{base}/{res.plural}"] = {"parameters": common, "get": everywhere}
    for sub, (kind, parent, verbs) in SUBRESOURCES.items():
        if parent != res.plural:
            continue
        name = sub.split("/", 1)[1]
        sub_group, sub_version = SUBRESOURCE_GROUPS.get(sub, (res.group, res.version))
        sub_gvk = {"group": sub_group, "kind": kind, "version": sub_version}
        sub_def = _definition_name(sub_group, sub_version, kind, defs)
        entry: Json = {"parameters": [*named, *where, *common]}
        op_base = f"{title}{scoped}{res.kind}{name.capitalize()}"
        if name == "log":
            entry["get"] = _operation(f"read{op_base}", "get", gvk, tag, [_param(p, "query", v3) for p in _LOG_PARAMS],
                                      _response(None, v3, ref_prefix, text=True), None, False, v3, ref_prefix)
        elif "create" in verbs and sub_def:
            entry["post"] = _operation(f"create{op_base}", "post", sub_gvk, tag, [_param(p, "query", v3) for p in _WRITE_PARAMS],
                                       _response(sub_def, v3, ref_prefix, code="201"), sub_def, False, v3, ref_prefix)
        elif "get" in verbs:
            entry["get"] = _operation(f"read{op_base}", "get", gvk, tag, [], _response(definition, v3, ref_prefix), None, False, v3, ref_prefix)
        paths[f"{prefix}/{{name}}/{name}"] = entry
    return paths


# -- the documents ------------------------------------------------------------------


class OpenAPIDocuments:
    """The v3 index and group-version documents and the v2 document, built on first use and cached per minor."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._v3: dict[tuple[tuple[int, int], str], bytes] = {}
        self._v2: dict[tuple[int, int], bytes] = {}

    @staticmethod
    def available() -> bool:
        return _schema_root() is not None

    @staticmethod
    def group_versions() -> list[str]:
        """``api/v1``, ``apis/apps/v1``...: the keys of the v3 index, one per served group-version."""
        return sorted(("api/" if "/" not in gv else "apis/") + gv for gv in groups())

    def group_version(self, minor: tuple[int, int], key: str) -> bytes | None:
        """The v3 document for ``api/v1`` or ``apis/GROUP/VERSION``; None when unknown or no schemas are installed."""
        if key not in self.group_versions():
            return None
        with self._lock:
            cached = self._v3.get((minor, key))
            if cached is None:
                defs = _definitions(minor)
                if defs is None:
                    return None
                gv = key.removeprefix("apis/").removeprefix("api/")
                cached = orjson.dumps(self._build_v3(gv, defs, minor), option=orjson.OPT_SORT_KEYS)
                self._v3[(minor, key)] = cached
            return cached

    def index(self, minor: tuple[int, int]) -> Json | None:
        """``/openapi/v3``: each group-version's document URL, with the hash of its current content."""
        paths: Json = {}
        for key in self.group_versions():
            body = self.group_version(minor, key)
            if body is None:
                return None
            paths[key] = {"serverRelativeURL": f"{V3_PREFIX}{key}?hash={digest(body)}"}
        return {"paths": paths}

    def v2(self, minor: tuple[int, int]) -> bytes | None:
        """``/openapi/v2`` as JSON: every served kind in one Swagger 2.0 document."""
        with self._lock:
            cached = self._v2.get(minor)
            if cached is None:
                defs = _definitions(minor)
                if defs is None:
                    return None
                cached = orjson.dumps(self._build_v2(defs, minor), option=orjson.OPT_SORT_KEYS)
                self._v2[minor] = cached
            return cached

    @staticmethod
    def _document(members: list[Resource], defs: dict[str, Json], v3: bool) -> tuple[Json, Json]:
        """The paths of ``members`` and every definition they reach, with refs in the version's own form."""
        prefix = "#/components/schemas/" if v3 else "#/definitions/"
        paths: dict[str, Json] = {}
        for res in members:
            definition = _definition_name(res.group, res.version, res.kind, defs)
            if definition is not None:
                paths.update(_resource_paths(res, definition, defs, v3, prefix))
        found: set[str] = set()
        _refs(paths, found)
        return paths, {name: _definition(name, defs[name], prefix, v3) for name in _closure(found, defs)}

    def _build_v3(self, gv: str, defs: dict[str, Json], minor: tuple[int, int]) -> Json:
        paths, schemas = self._document(groups()[gv], defs, True)
        return {
            "openapi": "3.0.0",
            "info": _info(minor),
            "paths": paths,
            "components": {"schemas": schemas, "securitySchemes": {"BearerToken": _BEARER_TOKEN}},
            "security": [{"BearerToken": []}],
        }

    def _build_v2(self, defs: dict[str, Json], minor: tuple[int, int]) -> Json:
        paths, definitions = self._document(list(RESOURCES.values()), defs, False)
        return {
            "swagger": "2.0",
            "info": _info(minor),
            "paths": paths,
            "definitions": definitions,
            "securityDefinitions": {"BearerToken": _BEARER_TOKEN},
            "security": [{"BearerToken": []}],
        }


def digest(body: bytes) -> str:
    """The ``hash`` a v3 URL carries: the document's SHA-512, as the real server computes its ETag."""
    return hashlib.sha512(body).hexdigest().upper()


DOCUMENTS = OpenAPIDocuments()

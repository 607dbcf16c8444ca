"""PATCH bodies, applied as kube-apiserver applies them: JSON merge, strategic merge and JSON patch.

``kubectl label`` and ``annotate`` send a JSON merge patch (RFC 7386),
``kubectl cordon`` / ``uncordon`` and ``kubectl patch`` by default a
strategic merge patch, ``kubectl patch --type=json`` a JSON patch (RFC 6902).
A strategic merge patch is a merge patch in which the lists Kubernetes knows
by a key (containers by ``name``, conditions by ``type``, ...) are merged item
by item instead of replaced, and which understands the ``$patch``,
``$retainKeys``, ``$deleteFromPrimitiveList/...`` and ``$setElementOrder/...``
directives. Server-side apply is not served.
"""

from __future__ import annotations

import copy
from typing import Any

from sim.kube.status import KubeError

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"
SUPPORTED = (JSON_PATCH, MERGE, STRATEGIC)

# Lists merged by key in a strategic merge patch: (parent field, list field) -> merge key.
# Taken from the patchMergeKey tags of the core/v1 and meta/v1 types these kinds use.
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "env": "name",
    "ports": "containerPort",
    "conditions": "type",
    "addresses": "type",
    "ownerReferences": "uid",
    "containerStatuses": "name",
    "initContainerStatuses": "name",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "podIPs": "ip",
    "hostIPs": "ip",
    "topologySpreadConstraints": "topologyKey",
}
MERGED_PRIMITIVES = ("finalizers",)  # lists of strings merged as sets (patchStrategy: merge)


def unsupported(content_type: str) -> KubeError:
    return KubeError(
        415,
        f"the body of the request was in an unknown format - accepted media types include: {', '.join(SUPPORTED)}",
        reason="UnsupportedMediaType",
    )


def apply(content_type: str, original: dict[str, Any], patch: Any) -> dict[str, Any]:
    """The object ``original`` becomes under ``patch`` of ``content_type``."""
    if content_type == JSON_PATCH:
        if not isinstance(patch, list):
            raise KubeError(400, "json: cannot unmarshal object into Go value of type jsonpatch.Patch", reason="BadRequest")
        return json_patch(original, patch)
    if not isinstance(patch, dict):
        raise KubeError(400, "the body of the request must be a JSON object", reason="BadRequest")
    if content_type == MERGE:
        result = merge_patch(original, patch)
    elif content_type == STRATEGIC:
        result = strategic_merge(original, patch)
    else:
        raise unsupported(content_type)
    if not isinstance(result, dict):
        raise KubeError(400, "the patch did not leave an object", reason="BadRequest")
    return result


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge(target: Any, patch: Any, field: str = "") -> Any:
    """A strategic merge patch: a merge patch that merges keyed lists and honours the directives."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = dict(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            gone = set(value or ())
            result[name] = [item for item in result.get(name) or () if item not in gone]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            result[key] = _merge_list(key, result.get(key), value)
        else:
            merged = strategic_merge(result.get(key), value, key)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(field: str, current: Any, patch: list[Any]) -> list[Any]:
    existing = list(current) if isinstance(current, list) else []
    if field in MERGED_PRIMITIVES:
        return existing + [item for item in patch if item not in existing]
    key = MERGE_KEYS.get(field)
    if key is None or not all(isinstance(item, dict) for item in patch):
        return [item for item in copy.deepcopy(patch) if not (isinstance(item, dict) and item.get("$patch"))]
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [item for item in copy.deepcopy(patch) if item.get("$patch") != "replace"]
    merged = [dict(item) if isinstance(item, dict) else item for item in existing]
    for item in patch:
        position = next((i for i, old in enumerate(merged) if isinstance(old, dict) and old.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if position is not None:
                del merged[position]
            continue
        if position is None:
            merged.append(strategic_merge({}, item, field))
        else:
            merged[position] = strategic_merge(merged[position], item, field)
    return merged


# --- RFC 6902 ---------------------------------------------------------------------


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise _invalid(f'invalid JSON pointer "{path}"')
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _invalid(message: str) -> KubeError:
    return KubeError(422, message, reason="Invalid")


def _parent(doc: Any, parts: list[str], path: str) -> tuple[Any, str]:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise _invalid(f"doc is missing path: {path}")
    return node, parts[-1]


def _get(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent, last = _parent(doc, parts, path)
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent[int(last)]
    raise _invalid(f"doc is missing path: {path}")


def _remove(doc: Any, path: str) -> Any:
    parent, last = _parent(doc, _pointer(path), path)
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent.pop(int(last))
    raise _invalid(f"doc is missing path: {path}")


def _add(doc: Any, path: str, value: Any) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent, last = _parent(doc, parts, path)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise _invalid(f"add operation does not apply: doc is missing path: {path}")
    else:
        raise _invalid(f"add operation does not apply: doc is missing path: {path}")
    return doc


def json_patch(original: dict[str, Any], operations: list[Any]) -> dict[str, Any]:
    doc: Any = copy.deepcopy(original)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise KubeError(400, "json patch operation needs op and path", reason="BadRequest")
        kind, path = op["op"], op["path"]
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)  # it must exist
            if _pointer(path):
                _remove(doc, path)
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "move":
            value = _remove(doc, op.get("from", ""))
            doc = _add(doc, path, value)
        elif kind == "copy":
            doc = _add(doc, path, copy.deepcopy(_get(doc, op.get("from", ""))))
        elif kind == "test":
            if _get(doc, path) != op.get("value"):
                raise _invalid(f"testing value {path} failed")
        else:
            raise KubeError(400, f"Unexpected kind: {kind}", reason="BadRequest")
    if not isinstance(doc, dict):
        raise KubeError(400, "the patch did not leave an object", reason="BadRequest")
    return doc

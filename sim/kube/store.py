"""The simulated API server's object store: what etcd plus the watch cache are.

Scenarios and generators write objects here from their own thread while the
API server reads them on its event loop, so every access goes through one
lock. Clusters of 150,000 pods must list quickly and fit in memory: each
object is kept as its JSON bytes (what list answers are joined from) plus the
few values selectors need (labels, selectable fields), and is parsed back into
a dict only when someone asks for one. Keys are kept sorted for O(page)
pagination, and pods are indexed by node and phase so the bot's usual field
selectors do not scan everything. The simulated controllers, woken on every
write and clock step, would otherwise decode the same objects over and over:
they keep what they read of each object in derived indexes (``add_index``,
``grouped``) that every write updates. A bounded change history lets watches
resume from a resourceVersion and, once it is compacted away, answer
410 Expired as the real server does.
"""

from __future__ import annotations

import base64
import bisect
import threading
import uuid
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from sim.clock import SimClock, rfc3339
from sim.kube import auth, pulse, status
from sim.kube import patch as patching
from sim.kube.builders import fill_pod_addresses
from sim.kube.resources import RESOURCES, Resource, resource
from sim.kube.selectors import FieldTerm, Requirement, field_values, fields_match, labels_match

Key = tuple[str, str]  # (namespace or "", name)
HISTORY_SIZE = 1000  # changes kept for watch resumption, like the watch cache's window
INDEXED_POD_FIELDS = ("spec.nodeName", "status.phase")


@dataclass(frozen=True, slots=True)
class View:
    """What selectors look at: an object's key, labels and selectable field values."""

    key: Key
    labels: dict[str, str]
    fields: dict[str, str]

    def matches(self, namespace: str | None, labels: list[Requirement] | None, fields: list[FieldTerm] | None) -> bool:
        if namespace is not None and self.key[0] != namespace:
            return False
        return (not labels or labels_match(labels, self.labels)) and (not fields or fields_match(fields, self.fields))


@dataclass(slots=True)
class _Entry:
    raw: bytes  # the object's JSON as a list item: without apiVersion and kind, as the real server lists it
    view: View
    pulse: pulse.Pulse | None = None  # a live kubelet's heartbeat or lease renewal, computed on read


@dataclass(frozen=True)
class Change:
    """One watch event as stored in the history."""

    type: str  # ADDED, MODIFIED, DELETED
    resource: str
    rv: int
    raw: bytes
    view: View
    old: View | None = None  # the previous version, to turn selector exits into DELETED
    pulse: pulse.Pulse | None = None


Derive = Callable[[dict[str, Any]], "tuple[Hashable, Any] | None"]  # an object -> (its group, what to keep of it), or None
Listener = Callable[["Change | str"], None]  # a Change, "tick" on clock moves, "expired" on bulk reloads
Reactor = Callable[[str, "dict[str, Any] | None", "dict[str, Any]"], None]  # (resource, before, after) after a write


_ABSENT = object()


@dataclass
class _Derived:
    """An index a controller keeps over one resource: per namespace, the objects of each group and what it reads of them.

    Controllers read the same few fields of the same objects on every event;
    keeping those values here, updated by each write, spares decoding every
    stored object again. A namespace is built the first time it is asked for
    and followed by every write after that; a bulk load forgets the
    namespaces it touched, so loading a generated cluster derives nothing
    until a controller reads it.
    """

    derive: Derive
    spaces: dict[str, dict[Hashable, dict[Key, Any]]] = field(default_factory=dict)
    placed: dict[Key, Hashable] = field(default_factory=dict)  # the group of each key in a built namespace

    def put(self, key: Key, obj: dict[str, Any] | None) -> None:
        """``obj`` is now stored under ``key`` (None: nothing is)."""
        groups = self.spaces.get(key[0])
        if groups is None:
            return  # not built yet: it will be derived from the stored objects when asked for
        old = self.placed.pop(key, _ABSENT)
        if old is not _ABSENT:
            members = groups[old]
            del members[key]
            if not members:
                del groups[old]
        found = self.derive(obj) if obj is not None else None
        if found is not None:
            group, value = found
            groups.setdefault(group, {})[key] = value
            self.placed[key] = group

    def forget(self, namespace: str) -> None:
        for members in (self.spaces.pop(namespace, None) or {}).values():
            for key in members:
                self.placed.pop(key, None)


@dataclass
class _Kind:
    """All objects of one resource, plus the indexes that make lists cheap."""

    res: Resource
    entries: dict[Key, _Entry] = field(default_factory=dict)
    keys: list[Key] = field(default_factory=list)  # sorted, as etcd returns keys
    indexes: dict[str, dict[str, set[Key]]] = field(default_factory=dict)
    derived: dict[str, _Derived] = field(default_factory=dict)
    type_head: bytes = b""

    def unindex(self, view: View) -> None:
        for name in self._indexed():
            bucket = self.indexes.get(name, {}).get(view.fields.get(name, ""))
            if bucket is not None:
                bucket.discard(view.key)

    def index(self, view: View) -> None:
        for name in self._indexed():
            self.indexes.setdefault(name, {}).setdefault(view.fields.get(name, ""), set()).add(view.key)

    def _indexed(self) -> tuple[str, ...]:
        return INDEXED_POD_FIELDS if self.res.plural == "pods" else ()

    def __post_init__(self) -> None:
        # How every stored object starts: its apiVersion and kind (``_prepare`` puts them first).
        self.type_head = orjson.dumps({"apiVersion": self.res.api_version, "kind": self.res.kind})[:-1] + b","


@dataclass
class Page:
    """One list answer: raw item bytes plus the list metadata to send with them."""

    resource_version: int
    items: list[bytes]
    continue_token: str | None
    remaining: int | None

    def objects(self) -> list[dict[str, Any]]:
        return [orjson.loads(raw) for raw in self.items]


class KubeStore:
    """Kubernetes objects by resource, namespace and name; see module docstring for why."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.forbidden: set[str] = set()  # resources (e.g. "nodes", "pods/log") that answer 403
        self.tokens: dict[str, str] = dict(auth.DEFAULT_TOKENS)  # bearer token -> user; any other token is 401
        self.anonymous_allowed = True  # False: a request without credentials is system:anonymous, 403 but for /version, /healthz
        self._server_version = "v1.30.5-gke.1014001"
        self._version_source: Callable[[], str | None] | None = None
        self._reactors: list[Reactor] = []
        # Told of pods the taint eviction controller deleted (a scenario's ReplicaSets replace them).
        self.eviction_listeners: list[Callable[[list[dict[str, Any]]], None]] = []
        self._rv = 1000
        self._kinds: dict[str, _Kind] = {plural: _Kind(res) for plural, res in RESOURCES.items()}
        self._history: deque[Change] = deque(maxlen=HISTORY_SIZE)
        self._compacted_rv = self._rv  # watches and continue tokens from before this cannot resume
        self._listeners: dict[int, tuple[str | None, Listener]] = {}
        self._next_listener = 0
        self._logs: dict[tuple[str, str, str], list[tuple[datetime, str]]] = {}
        self._uid_counter = 0
        clock.on_advance(self._on_clock)

    # --- writing --------------------------------------------------------------

    @property
    def server_version(self) -> str:
        """What /version reports: the bound source's answer (the GKE cluster's master version) when there is one."""
        source = self._version_source
        if source is not None:
            found = source()
            if found:
                return found
        return self._server_version

    @server_version.setter
    def server_version(self, value: str) -> None:
        self._server_version = value
        self._version_source = None

    def on_write(self, reactor: Reactor) -> None:
        """Call ``reactor(resource, before, after)`` after each upsert (not bulk loads), under the store's lock."""
        with self.lock:
            self._reactors.append(reactor)

    def add_index(self, resource_name: str, name: str, derive: Derive) -> None:
        """Keep ``derive(obj)`` (a group and a value, or None) of every object of a resource, for ``grouped``.

        ``derive`` sees each object as stored and must not change it; it runs
        on every write once its namespace has been asked for.
        """
        with self.lock:
            self._kind(resource_name).derived[name] = _Derived(derive)

    def bind_version(self, source: Callable[[], str | None]) -> None:
        """Read the control plane's version from ``source`` (a scenario binds GKE's cluster record)."""
        self._version_source = source

    @property
    def resource_version(self) -> int:
        with self.lock:
            return self._rv

    def upsert(self, resource_name: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or replace an object; fills metadata like the API server would."""
        with self.lock:
            kind = self._kind(resource_name)
            self._ensure_namespace(self._namespace_of(kind, obj))
            self._rv += 1
            prepared, key = self._prepare(kind, obj, self._rv)
            if resource_name == "pods":
                self._kubelet_addresses(prepared, {})
            old = kind.entries.get(key)
            if old is not None:
                old_meta = orjson.loads(old.raw)["metadata"]
                meta = prepared["metadata"]
                meta.setdefault("uid", old_meta.get("uid"))
                meta.setdefault("creationTimestamp", old_meta.get("creationTimestamp"))
            self._fill_identity(prepared, key)
            entry = self._entry_for(kind, key, prepared)
            if old is None:
                bisect.insort(kind.keys, key)
            else:
                kind.unindex(old.view)
            kind.entries[key] = entry
            kind.index(entry.view)
            for derived in kind.derived.values():
                derived.put(key, prepared)
            full = self._full(kind, entry.raw)
            self._record(Change("MODIFIED" if old else "ADDED", resource_name, self._rv, full, entry.view, old.view if old else None, entry.pulse))
            if self._reactors:
                before = orjson.loads(self._full(kind, self._current(old.raw, old.pulse))) if old is not None else None
                for reactor in list(self._reactors):
                    reactor(resource_name, before, orjson.loads(full))
            return orjson.loads(full)

    def create(self, resource_name: str, obj: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        """POST semantics: 409 AlreadyExists when the name is taken; ``dry_run`` answers without storing."""
        with self.lock:
            kind = self._kind(resource_name)
            name = (obj.get("metadata") or {}).get("name", "")
            if not name:
                raise status.KubeError(422, f'{kind.res.kind} "" is invalid: metadata.name: Required value: name or generateName is required', reason="Invalid")
            if (self._namespace_of(kind, obj), name) in kind.entries:
                raise status.already_exists(kind.res, name)
            body = dict(obj)
            body["metadata"] = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in ("resourceVersion", "uid", "creationTimestamp")}
            return self._preview(kind, body) if dry_run else self.upsert(resource_name, body)

    def update(self, resource_name: str, obj: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        """PUT semantics: 404 when absent, 409 Conflict on a stale resourceVersion; ``dry_run`` stores nothing."""
        with self.lock:
            kind = self._kind(resource_name)
            meta = obj.get("metadata") or {}
            name = meta.get("name", "")
            current = kind.entries.get((self._namespace_of(kind, obj), name))
            if current is None:
                raise status.not_found(kind.res, name)
            sent = meta.get("resourceVersion")
            if sent and sent != orjson.loads(current.raw)["metadata"]["resourceVersion"]:
                raise status.conflict(kind.res, name)
            return self._preview(kind, obj) if dry_run else self.upsert(resource_name, obj)

    def patch(
        self, resource_name: str, namespace: str | None, name: str, content_type: str, body: Any, *, dry_run: bool = False
    ) -> dict[str, Any]:
        """PATCH semantics (``sim.kube.patch``): the current object, patched, then written as an update."""
        with self.lock:
            kind = self._kind(resource_name)
            key = ((namespace or "") if kind.res.namespaced else "", name)
            entry = kind.entries.get(key)
            if entry is None:
                raise status.not_found(kind.res, name)
            current = orjson.loads(self._full(kind, self._current(entry.raw, entry.pulse)))
            patched = patching.apply(content_type, current, body)
            meta = patched.get("metadata")
            if not isinstance(meta, dict) or meta.get("name") != name or (kind.res.namespaced and meta.get("namespace") != key[0]):
                raise status.KubeError(
                    422, f'{kind.res.kind} "{name}" is invalid: metadata.name: Invalid value: "{(meta or {}).get("name")}": field is immutable',
                    reason="Invalid",
                )
            if meta.get("resourceVersion") not in (None, current["metadata"]["resourceVersion"]):
                raise status.conflict(kind.res, name)
            meta["uid"] = current["metadata"].get("uid")
            meta["creationTimestamp"] = current["metadata"].get("creationTimestamp")
            return self._preview(kind, patched) if dry_run else self.upsert(resource_name, patched)

    def delete(self, resource_name: str, namespace: str | None, name: str) -> None:
        """Remove an object at once (no grace period); a missing one is a no-op here."""
        with self.lock:
            kind = self._kind(resource_name)
            key = ((namespace or "") if kind.res.namespaced else "", name)
            entry = kind.entries.pop(key, None)
            if entry is None:
                return
            del kind.keys[bisect.bisect_left(kind.keys, key)]
            kind.unindex(entry.view)
            for derived in kind.derived.values():
                derived.put(key, None)
            self._rv += 1
            gone = orjson.loads(entry.raw)
            gone["metadata"]["resourceVersion"] = str(self._rv)
            self._record(Change("DELETED", resource_name, self._rv, self._full(kind, orjson.dumps(gone)), entry.view, entry.view))

    def _preview(self, kind: _Kind, obj: dict[str, Any]) -> dict[str, Any]:
        """What a write of ``obj`` would store, stored nowhere (dryRun=All): no resourceVersion, event or reaction.

        An update keeps the current resourceVersion; a create has none yet.
        """
        prepared, key = self._prepare(kind, obj, self._rv)
        if kind.res.plural == "pods":
            self._kubelet_addresses(prepared, {})
        old = kind.entries.get(key)
        meta = prepared["metadata"]
        if old is not None:
            old_meta = orjson.loads(old.raw)["metadata"]
            meta.setdefault("uid", old_meta.get("uid"))
            meta.setdefault("creationTimestamp", old_meta.get("creationTimestamp"))
            meta["resourceVersion"] = old_meta["resourceVersion"]
        else:
            meta.pop("resourceVersion", None)
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", rfc3339(self.clock.now()))
        return orjson.loads(orjson.dumps(prepared))

    def bulk_load(self, resource_name: str, objs: Iterable[dict[str, Any]]) -> None:
        """Load many objects at one resourceVersion without per-object watch events.

        Watches open on this resource are ended with 410 Expired, which makes
        well-behaved clients re-list, exactly as after a watch-cache reset.
        """
        with self.lock:
            kind = self._kind(resource_name)
            self._rv += 1
            rv = self._rv
            namespaces: set[str] = set()
            fresh: list[Key] = []
            nodes: dict[str, tuple[dict[str, Any] | None, set[str]]] = {}
            for obj in objs:
                prepared, key = self._prepare(kind, obj, rv)
                if resource_name == "pods":
                    self._kubelet_addresses(prepared, nodes)
                self._fill_identity(prepared, key)
                old = kind.entries.get(key)
                if old is not None:
                    kind.unindex(old.view)
                else:
                    fresh.append(key)
                entry = self._entry_for(kind, key, prepared)
                kind.entries[key] = entry
                kind.index(entry.view)
                namespaces.add(key[0])
            if fresh:
                kind.keys = sorted(set(kind.keys).union(fresh))
            for derived in kind.derived.values():
                for namespace in namespaces:
                    derived.forget(namespace)
            for namespace in sorted(namespaces):
                self._ensure_namespace(namespace)
            self._compacted_rv = self._rv
            self._notify(resource_name, "expired")

    def report_heartbeats(self, now: datetime) -> int:
        """Every node whose kubelet's next status report has come is written once, with its latest report.

        A report changes only heartbeat times, so no controller is woken; each
        is a new resourceVersion and a MODIFIED event for watchers. Returns how
        many nodes reported.
        """
        with self.lock:
            kind = self._kinds["nodes"]
            written = 0
            for key in kind.keys:
                entry = kind.entries[key]
                if entry.pulse is None:
                    continue
                fresh = entry.pulse.apply(entry.raw, now)
                if fresh is entry.raw:
                    continue
                self._rv += 1
                node = orjson.loads(self._full(kind, fresh))
                node["metadata"]["resourceVersion"] = str(self._rv)
                renewed = self._entry_for(kind, key, node)
                kind.entries[key] = renewed  # labels and fields are unchanged: the indexes stand
                for derived in kind.derived.values():
                    derived.put(key, node)
                self._record(Change("MODIFIED", "nodes", self._rv, self._full(kind, renewed.raw), renewed.view, entry.view, renewed.pulse))
                written += 1
            return written

    def set_pod_log(self, namespace: str, pod: str, container: str, lines: list[tuple[datetime, str]]) -> None:
        with self.lock:
            self._logs[(namespace, pod, container)] = sorted(lines, key=lambda line: line[0])

    def append_pod_log(self, namespace: str, pod: str, container: str, lines: list[tuple[datetime, str]]) -> None:
        with self.lock:
            current = self._logs.setdefault((namespace, pod, container), [])
            current.extend(lines)
            current.sort(key=lambda line: line[0])

    # --- reading --------------------------------------------------------------

    def get(self, resource_name: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """A copy of one object, or None."""
        raw = self.get_raw(resource_name, namespace, name)
        return orjson.loads(raw) if raw is not None else None

    def get_raw(self, resource_name: str, namespace: str | None, name: str) -> bytes | None:
        """The stored JSON of one object (the API server answers with these bytes)."""
        with self.lock:
            kind = self._kind(resource_name)
            entry = kind.entries.get(((namespace or "") if kind.res.namespaced else "", name))
            return self._full(kind, self._current(entry.raw, entry.pulse)) if entry else None

    def items(self, resource_name: str) -> list[dict[str, Any]]:
        """Copies of every object of a resource, in key order."""
        with self.lock:
            kind = self._kind(resource_name)
            raws = [self._full(kind, self._current(entry.raw, entry.pulse)) for entry in (kind.entries[key] for key in kind.keys)]
        return [orjson.loads(raw) for raw in raws]

    def scan(self, resource_name: str, needle: bytes) -> list[dict[str, Any]]:
        """Copies of the objects whose stored JSON contains ``needle``: a cheap first cut over thousands of nodes."""
        with self.lock:
            kind = self._kind(resource_name)
            raws = [self._full(kind, self._current(e.raw, e.pulse)) for e in kind.entries.values() if needle in e.raw]
        return [orjson.loads(raw) for raw in raws]

    def grouped(self, resource_name: str, index: str, namespace: str | None, group: Hashable) -> dict[Key, Any]:
        """The derived values of one group of an ``add_index`` index in one namespace, by key (a copy of the mapping)."""
        with self.lock:
            kind = self._kind(resource_name)
            derived = kind.derived[index]
            space = (namespace or "") if kind.res.namespaced else ""
            if space not in derived.spaces:
                derived.spaces[space] = {}
                for key in self._candidates(kind, space if kind.res.namespaced else None, []):
                    derived.put(key, orjson.loads(self._full(kind, kind.entries[key].raw)))
            return dict(derived.spaces[space].get(group) or {})

    def count(self, resource_name: str) -> int:
        with self.lock:
            return len(self._kind(resource_name).entries)

    def pod_log(self, namespace: str, pod: str, container: str) -> list[tuple[datetime, str]]:
        with self.lock:
            return list(self._logs.get((namespace, pod, container), []))

    def select(
        self,
        resource_name: str,
        *,
        namespace: str | None = None,
        labels: list[Requirement] | None = None,
        fields: list[FieldTerm] | None = None,
        limit: int = 0,
        continue_token: str | None = None,
    ) -> Page:
        """A filtered, paginated list; raises KubeError 410 for a compacted continue token."""
        with self.lock:
            kind = self._kind(resource_name)
            start_after: Key | None = None
            if continue_token:
                token_rv, start_after = _decode_continue(continue_token)
                if token_rv < self._compacted_rv:
                    raise status.expired(
                        "The provided continue parameter is too old to display a consistent list result. "
                        "You can start a new list without the continue parameter."
                    )
            scope = namespace if kind.res.namespaced else None
            candidates = self._candidates(kind, scope, fields or [])
            index = bisect.bisect_right(candidates, start_after) if start_after else 0
            filtered = bool(labels) or bool(fields)
            items: list[bytes] = []
            last: Key | None = None
            more = False
            while index < len(candidates):
                entry = kind.entries[candidates[index]]
                index += 1
                if filtered and not entry.view.matches(None, labels, fields):
                    continue
                if limit and len(items) >= limit:
                    more = True  # one match beyond the page: there is a next page
                    index -= 1
                    break
                items.append(entry.raw if entry.pulse is None else self._current(entry.raw, entry.pulse))
                last = entry.view.key
            token = _encode_continue(self._rv, last) if more and last else None
            remaining = (len(candidates) - index) if more and not filtered else None
            return Page(self._rv, items, token, remaining)

    def present(self, change: Change) -> bytes:
        """A watch event's object as a reader sees it now (heartbeats and renewals up to date)."""
        with self.lock:
            return self._current(change.raw, change.pulse)

    def _current(self, raw: bytes, beat: pulse.Pulse | None) -> bytes:
        if beat is None:
            return raw
        if beat.follows is not None:  # a node's lease is renewed only while its kubelet reports
            node = self._kinds["nodes"].entries.get(("", beat.follows))
            if node is None or node.pulse is None:
                return raw
        return beat.apply(raw, self.clock.now())

    @staticmethod
    def _full(kind: _Kind, item: bytes) -> bytes:
        """An object as GET and watch events send it: a stored list item with its apiVersion and kind."""
        return kind.type_head + item[1:]

    # --- watching -------------------------------------------------------------

    def watch(self, resource_name: str, since: int | None, listener: Listener) -> tuple[int, list[Change]]:
        """Register a listener and return (its handle, the changes it must replay first).

        ``since`` None means "current state": every object as ADDED. Otherwise the
        history after ``since``, or KubeError 410 when it was compacted away.
        """
        with self.lock:
            kind = self._kind(resource_name)
            if since is None:
                replay = [Change("ADDED", resource_name, self._rv, self._full(kind, e.raw), e.view, pulse=e.pulse) for e in (kind.entries[k] for k in kind.keys)]
            else:
                if since < self._compacted_rv:
                    raise status.expired(f"too old resource version: {since} ({self._compacted_rv})")
                replay = [change for change in self._history if change.resource == resource_name and change.rv > since]
            self._next_listener += 1
            self._listeners[self._next_listener] = (resource_name, listener)
            return self._next_listener, replay

    def unwatch(self, handle: int) -> None:
        with self.lock:
            self._listeners.pop(handle, None)

    # --- internals ------------------------------------------------------------

    def _kind(self, resource_name: str) -> _Kind:
        resource(resource_name)  # a clear KeyError for unknown names
        return self._kinds[resource_name]

    @staticmethod
    def _namespace_of(kind: _Kind, obj: dict[str, Any]) -> str:
        if not kind.res.namespaced:
            return ""
        return (obj.get("metadata") or {}).get("namespace") or "default"

    def _prepare(self, kind: _Kind, obj: dict[str, Any], rv: int) -> tuple[dict[str, Any], Key]:
        """A shallow copy with its own metadata: apiVersion, kind, namespace, resourceVersion set.

        Only metadata is copied; the rest is serialized before the caller can
        change it, and the store keeps no reference to the caller's dicts.
        """
        meta = dict(obj.get("metadata") or {})
        if not meta.get("name"):
            raise ValueError(f"a {kind.res.kind} needs metadata.name")
        prepared = {"apiVersion": kind.res.api_version, "kind": kind.res.kind, **obj, "metadata": meta}
        prepared["apiVersion"], prepared["kind"] = kind.res.api_version, kind.res.kind
        namespace = self._namespace_of(kind, prepared)
        if kind.res.namespaced:
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        meta["resourceVersion"] = str(rv)
        if kind.res.plural == "namespaces":
            _namespace_defaults(prepared)
        return prepared, (namespace, meta["name"])

    def _kubelet_addresses(self, pod: dict[str, Any], nodes: dict[str, tuple[dict[str, Any] | None, set[str]]]) -> None:
        """A running pod's hostIP and podIP come from its node, as its kubelet reports them.

        ``nodes`` caches, per node name, the node and the pod IPs already
        handed out on it, so a bulk load parses each node once.
        """
        status = pod.get("status")
        node_name = (pod.get("spec") or {}).get("nodeName")
        if not node_name or not isinstance(status, dict) or ("hostIP" in status and "podIP" in status):
            return
        if node_name not in nodes:
            entry = self._kinds["nodes"].entries.get(("", node_name))
            pods = self._kinds["pods"]
            # The selectable fields hold every pod's IP: no pod on the node is decoded for it.
            taken = {
                ip for key in pods.indexes.get("spec.nodeName", {}).get(node_name, ())
                if (ip := pods.entries[key].view.fields.get("status.podIP"))
            }
            nodes[node_name] = (orjson.loads(entry.raw) if entry else None, taken)
        node, taken = nodes[node_name]
        pod["status"] = dict(status)
        fill_pod_addresses(pod, node, taken)

    def _fill_identity(self, obj: dict[str, Any], key: Key) -> None:
        meta = obj["metadata"]
        if not meta.get("uid"):
            self._uid_counter += 1
            meta["uid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sim/{obj['kind']}/{key[0]}/{key[1]}/{self._uid_counter}"))
        if not meta.get("creationTimestamp"):
            meta["creationTimestamp"] = rfc3339(self.clock.now())

    @staticmethod
    def _entry_for(kind: _Kind, key: Key, prepared: dict[str, Any]) -> _Entry:
        labels = dict(prepared["metadata"].get("labels") or {})
        values = field_values(kind.res.plural, prepared)
        values.pop("metadata.name", None)  # both are in the key; keep entries small
        values.pop("metadata.namespace", None)
        values["metadata.name"], values["metadata.namespace"] = key[1], key[0]
        full = orjson.dumps(prepared)
        if not full.startswith(kind.type_head):
            raise ValueError(f"a stored {kind.res.kind} must start with its apiVersion and kind")
        item = b"{" + full[len(kind.type_head):]
        return _Entry(item, View(key, labels, values), pulse.for_object(kind.res.plural, prepared))

    def _ensure_namespace(self, namespace: str) -> None:
        """Namespaced objects bring their namespace along, so `get ns` stays truthful."""
        if not namespace or ("", namespace) in self._kinds["namespaces"].entries:
            return
        self.upsert("namespaces", {"metadata": {"name": namespace}})

    def _record(self, change: Change) -> None:
        if len(self._history) == self._history.maxlen:
            self._compacted_rv = max(self._compacted_rv, self._history[0].rv)
        self._history.append(change)
        self._notify(change.resource, change)

    def _notify(self, resource_name: str | None, message: Change | str) -> None:
        for watched, listener in list(self._listeners.values()):
            if resource_name is None or watched == resource_name:
                listener(message)

    def _on_clock(self, _now: datetime) -> None:
        with self.lock:
            self._notify(None, "tick")

    def _candidates(self, kind: _Kind, namespace: str | None, fields: list[FieldTerm]) -> list[Key]:
        """Sorted keys that may match: an index bucket or a namespace's key range."""
        buckets = [kind.indexes.get(t.field, {}).get(t.value, set()) for t in fields if t.equal and t.field in kind.indexes]
        if buckets:
            chosen: Iterable[Key] = min(buckets, key=len)
            if namespace is not None:
                chosen = (key for key in chosen if key[0] == namespace)
            return sorted(chosen)
        if namespace is not None:
            low = bisect.bisect_left(kind.keys, (namespace, ""))
            high = bisect.bisect_left(kind.keys, (namespace + "\x00", ""))
            return kind.keys[low:high]
        return kind.keys


def _namespace_defaults(namespace: dict[str, Any]) -> None:
    """What the API server fills in on every namespace: its name label, the kubernetes finalizer, phase Active."""
    meta = namespace["metadata"]
    meta["labels"] = {**(meta.get("labels") or {}), "kubernetes.io/metadata.name": meta["name"]}
    spec = dict(namespace.get("spec") or {})
    spec.setdefault("finalizers", ["kubernetes"])
    namespace["spec"] = spec
    status_ = dict(namespace.get("status") or {})
    status_.setdefault("phase", "Active")
    namespace["status"] = status_


def _encode_continue(rv: int, last: Key) -> str:
    payload = {"v": "meta.k8s.io/v1", "rv": rv, "start": f"{last[0]}/{last[1]}\x00"}
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[int, Key]:
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        namespace, _, name = payload["start"].rstrip("\x00").partition("/")
        return int(payload["rv"]), (namespace, name)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise status.bad_request(f"continue key is not valid: {exc}") from None

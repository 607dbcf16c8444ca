"""Label and field selectors, parsed the way kube-apiserver parses them.

The bot narrows its lists with selectors (pending pods, one node's pods, one
object's events) and must see exactly what the real server would return,
including a 400 for a selector the real server rejects.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sim.kube.status import bad_request

_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_SET = re.compile(r"^(?P<key>\S+)\s+(?P<op>in|notin)\s*\((?P<values>[^)]*)\)$")
_BINARY = re.compile(r"^(?P<key>[^!=<>\s]+)\s*(?P<op>==|!=|=|<|>)\s*(?P<value>[^=!<>]*)$")


@dataclass(frozen=True)
class Requirement:
    """One clause: ``key op values``; ``op`` in =, !=, in, notin, exists, !, <, >."""

    key: str
    op: str
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        if self.op in ("!=", "notin"):
            return not present or value not in self.values
        if not present:
            return False
        try:
            number = int(value or "")
        except ValueError:
            return False
        bound = int(self.values[0])
        return number < bound if self.op == "<" else number > bound


def _split_clauses(text: str) -> list[str]:
    """Commas separate clauses except inside ``in (a,b)`` parentheses."""
    clauses, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            clauses.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    clauses.append("".join(current).strip())
    return clauses


def _check_key(key: str) -> str:
    if not _KEY.match(key) or len(key.rsplit("/", 1)[-1]) > 63:
        raise bad_request(f'unable to parse requirement: key: Invalid value: "{key}": name part must consist of '
                          "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character")
    return key


def _check_value(key: str, value: str) -> str:
    if not _VALUE.match(value) or len(value) > 63:
        raise bad_request(f'unable to parse requirement: values[0][{key}]: Invalid value: "{value}": a valid label must be '
                          "an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and "
                          "end with an alphanumeric character")
    return value


def parse_label_selector(text: str | None) -> list[Requirement]:
    """Requirements ANDed together; an empty selector matches everything."""
    if not text or not text.strip():
        return []
    requirements = []
    for clause in _split_clauses(text):
        if not clause:
            raise bad_request(f"unable to parse requirement: found ',', expected: identifier in {text!r}")
        if clause.startswith("!"):
            requirements.append(Requirement(_check_key(clause[1:].strip()), "!"))
            continue
        set_match = _SET.match(clause)
        if set_match:
            key = _check_key(set_match["key"])
            values = tuple(_check_value(key, v.strip()) for v in set_match["values"].split(",") if v.strip())
            requirements.append(Requirement(key, set_match["op"], values))
            continue
        binary = _BINARY.match(clause)
        if binary:
            key, op, value = _check_key(binary["key"]), binary["op"], binary["value"].strip()
            if op in ("<", ">") and not value.lstrip("-").isdigit():
                raise bad_request("unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer")
            requirements.append(Requirement(key, "=" if op == "==" else op, (_check_value(key, value),)))
            continue
        if re.fullmatch(r"\S+", clause):
            requirements.append(Requirement(_check_key(clause), "exists"))
            continue
        raise bad_request(f"unable to parse requirement: found unexpected token in {clause!r}")
    return requirements


def labels_match(requirements: list[Requirement], labels: dict[str, str]) -> bool:
    return all(req.matches(labels) for req in requirements)


# --- field selectors --------------------------------------------------------

FieldGetter = Callable[[dict[str, Any]], Any]


def _path(*keys: str) -> FieldGetter:
    def get(obj: dict[str, Any]) -> Any:
        value: Any = obj
        for key in keys:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value

    return get


_COMMON: dict[str, FieldGetter] = {"metadata.name": _path("metadata", "name"), "metadata.namespace": _path("metadata", "namespace")}

# The fields each kind's registry declares selectable (the real server rejects others).
FIELDS: dict[str, dict[str, FieldGetter]] = {
    "pods": {
        **_COMMON,
        "spec.nodeName": _path("spec", "nodeName"),
        "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"),
        "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "spec.hostNetwork": lambda obj: bool((obj.get("spec") or {}).get("hostNetwork", False)),
        "status.phase": _path("status", "phase"),
        "status.podIP": _path("status", "podIP"),
        "status.nominatedNodeName": _path("status", "nominatedNodeName"),
    },
    "nodes": {**_COMMON, "spec.unschedulable": lambda obj: bool((obj.get("spec") or {}).get("unschedulable", False))},
    "events": {
        **_COMMON,
        "involvedObject.kind": _path("involvedObject", "kind"),
        "involvedObject.namespace": _path("involvedObject", "namespace"),
        "involvedObject.name": _path("involvedObject", "name"),
        "involvedObject.uid": _path("involvedObject", "uid"),
        "involvedObject.apiVersion": _path("involvedObject", "apiVersion"),
        "involvedObject.resourceVersion": _path("involvedObject", "resourceVersion"),
        "involvedObject.fieldPath": _path("involvedObject", "fieldPath"),
        "reason": _path("reason"),
        "reportingComponent": _path("reportingComponent"),
        "source": _path("source", "component"),
        "type": _path("type"),
    },
    "namespaces": {**_COMMON, "status.phase": _path("status", "phase")},
}


def field_text(value: Any) -> str:
    """How the server renders a field for comparison: absent is "", booleans lower-case."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class FieldTerm:
    field: str
    equal: bool
    value: str


def parse_field_selector(resource: str, text: str | None) -> list[FieldTerm]:
    """Terms ANDed together; unknown fields answer 400 like the real server."""
    if not text or not text.strip():
        return []
    known = FIELDS.get(resource, _COMMON)
    terms = []
    for clause in text.split(","):
        clause = clause.strip()
        match = re.fullmatch(r"([^=!]+?)\s*(==|!=|=)\s*(.*)", clause)
        if not match:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{clause}'")
        field, op, value = match.group(1).strip(), match.group(2), match.group(3).strip()
        if field not in known:
            raise bad_request(f'field label not supported: {field}')
        terms.append(FieldTerm(field, op != "!=", value))
    return terms


def field_values(resource: str, obj: dict[str, Any]) -> dict[str, str]:
    """The selectable fields of an object as the server compares them; empty ones left out."""
    values = {}
    for name, getter in FIELDS.get(resource, _COMMON).items():
        text = field_text(getter(obj))
        if text:
            values[name] = text
    return values


def fields_match(terms: list[FieldTerm], values: dict[str, str]) -> bool:
    """``values`` as ``field_values`` returns them (absent means empty)."""
    return all((values.get(t.field, "") == t.value) == t.equal for t in terms)

"""Validators for what users type: names, selectors, durations.

Every value that reaches an API, a filter or a shell hint passes one of these
first, so the rest of the code handles only well-formed input. Each failure
says what was wrong and what would be right.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.errors import BadInput

MAX_COMMAND_LENGTH = 1000
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_SELECTOR_TERM = re.compile(
    r"^\s*(?:(?P<not>!)\s*(?P<nkey>[^\s=!,()]+)"
    r"|(?P<key>[^\s=!,()]+)\s*(?:(?P<op>==|=|!=)\s*(?P<value>[^\s=!,()]*)"
    r"|\s+(?P<setop>in|notin)\s*\((?P<values>[^()]*)\))?)\s*$"
)
_DURATION = re.compile(r"^(\d{1,5})([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SEVERITIES = ("DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY")


def dns_label(value: str, what: str = "name") -> str:
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise BadInput(f"`{shown(value)}` is not a valid {what}: lowercase letters, digits and '-', at most 63.")
    return value


def resource_name(value: str, what: str = "name") -> str:
    """Node, pod and VM names: DNS subdomains (dots allowed), at most 253 characters."""
    if len(value) > 253 or not _DNS_SUBDOMAIN.match(value):
        raise BadInput(
            f"`{shown(value)}` is not a valid {what}: lowercase letters, digits, '-' and '.', at most 253."
        )
    return value


def namespace(value: str) -> str:
    return dns_label(value, "namespace")


def namespaced_name(value: str) -> tuple[str, str]:
    """``NAMESPACE/NAME``; a bare name means the default namespace."""
    if "/" in value:
        ns, _, name = value.partition("/")
        return namespace(ns), resource_name(name, "pod name")
    return "default", resource_name(value, "pod name")


def label_selector(value: str) -> str:
    """Check a label selector's grammar before the API server sees it."""
    if not value.strip() or len(value) > 500:
        raise BadInput("A label selector is 1 to 500 characters, e.g. `app=web,tier!=cache`.")
    for term in _split_terms(value):
        match = _SELECTOR_TERM.match(term)
        if not match:
            raise BadInput(f"`{shown(term)}` is not a label selector term (try `key=value`, `key in (a,b)`, `!key`).")
        key = match.group("key") or match.group("nkey")
        if not _LABEL_KEY.match(key):
            raise BadInput(f"`{shown(key)}` is not a valid label key.")
        values = [match.group("value")] if match.group("op") else []
        if match.group("setop"):
            values = [v.strip() for v in match.group("values").split(",")]
            if not any(values):
                raise BadInput(f"`{shown(term)}` needs at least one value in the parentheses.")
        for item in values:
            if item is not None and (len(item) > 63 or not _LABEL_VALUE.match(item)):
                raise BadInput(f"`{shown(item)}` is not a valid label value.")
    return value.strip()


def _split_terms(value: str) -> list[str]:
    terms: list[str] = []
    current: list[str] = []
    depth = 0
    for char in value:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return terms


def duration(value: str) -> timedelta:
    """``30s``, ``15m``, ``2h``, ``7d``; at most 30 days."""
    match = _DURATION.match(value.strip().lower())
    if not match:
        raise BadInput(f"`{shown(value)}` is not a duration: use a number and s, m, h or d, e.g. `15m` or `2h`.")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0 or seconds > 30 * 86400:
        raise BadInput("A duration is more than 0 and at most 30 days.")
    return timedelta(seconds=seconds)


def severity(value: str) -> str:
    upper = value.strip().upper()
    if upper not in SEVERITIES:
        raise BadInput(f"`{shown(value)}` is not a severity: one of {', '.join(s.lower() for s in SEVERITIES)}.")
    return upper


def positive_int(value: str, *, maximum: int = 1000) -> int:
    if not value.isdigit() or not 0 < int(value) <= maximum:
        raise BadInput(f"`{shown(value)}` is not a whole number from 1 to {maximum}.")
    return int(value)


def free_text(value: str, *, maximum: int = 200) -> str:
    """Search text: any characters (they are quoted later), but bounded."""
    if not value or len(value) > maximum:
        raise BadInput(f"Search text is 1 to {maximum} characters.")
    if any(ord(c) < 32 for c in value):
        raise BadInput("Search text cannot contain control characters.")
    return value


def shown(value: str, limit: int = 60) -> str:
    """A user's value, shortened and stripped of backticks, for quoting in an error."""
    cleaned = value.replace("`", "'")
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


# Kinds a user may name, by every spelling kubectl accepts for them; the value is the Kind the API uses.
KIND_ALIASES: dict[str, str] = {
    alias: kind
    for kind, aliases in {
        "Pod": ("pod", "pods", "po"),
        "Node": ("node", "nodes", "no"),
        "Deployment": ("deployment", "deployments", "deploy"),
        "StatefulSet": ("statefulset", "statefulsets", "sts"),
        "DaemonSet": ("daemonset", "daemonsets", "ds"),
        "ReplicaSet": ("replicaset", "replicasets", "rs"),
        "Job": ("job", "jobs"),
        "CronJob": ("cronjob", "cronjobs", "cj"),
        "Service": ("service", "services", "svc"),
        "PersistentVolumeClaim": ("persistentvolumeclaim", "persistentvolumeclaims", "pvc"),
        "PersistentVolume": ("persistentvolume", "persistentvolumes", "pv"),
        "HorizontalPodAutoscaler": ("horizontalpodautoscaler", "horizontalpodautoscalers", "hpa"),
        "PodDisruptionBudget": ("poddisruptionbudget", "poddisruptionbudgets", "pdb"),
        "Namespace": ("namespace", "namespaces", "ns"),
        "Ingress": ("ingress", "ingresses", "ing"),
    }.items()
    for alias in aliases
}
EVENT_OBJECT_KINDS = tuple(dict.fromkeys(KIND_ALIASES.values()))


def kind_name(value: str, *, allowed: tuple[str, ...] = EVENT_OBJECT_KINDS) -> str:
    """A kind as a user types it (``deploy``, ``Pods``, ``sts``) as the API's Kind, if it is one of ``allowed``."""
    kind = KIND_ALIASES.get(value.strip().lower())
    if kind is None or kind not in allowed:
        choices = ", ".join(k.lower() for k in allowed)
        raise BadInput(f"`{shown(value)}` is not a kind this answers about: one of {choices}.")
    return kind


def object_ref(value: str) -> tuple[str, str]:
    """``KIND/NAME`` (``pod/web-0``, ``deploy/web``, ``node/gke-...``) as (Kind, name), both checked."""
    kind, slash, name = value.partition("/")
    if not slash or not kind or not name:
        raise BadInput(f"`{shown(value)}` is not KIND/NAME, e.g. `pod/web-0` or `deployment/web`.")
    return kind_name(kind), resource_name(name, f"{kind.lower()} name")

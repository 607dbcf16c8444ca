"""Cloud Logging filters built from a ``LogQuery``, and the Logs Explorer link for the same query.

A user never types filter text: node names, pod names and search words arrive
as values, and every value is written into the filter as a quoted string with
its backslashes and double quotes escaped. That keeps `x" OR severity>=DEBUG
OR "` a search for that odd literal instead of a wider query over the whole
project's logs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from bot.errors import BadInput
from bot.sources.contracts import LogQuery

SEVERITIES = ("DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY")

# Node components and the log each one writes on a GKE node (resource type k8s_node).
NODE_COMPONENTS = {
    "kube-proxy": "kube-proxy",
    "kubelet": "kubelet",
    "container-runtime": "container-runtime",
    "node-problem-detector": "node-problem-detector",
}
AUTOSCALER_LOG = "container.googleapis.com/cluster-autoscaler-visibility"
MAX_LIMIT = 1000
EXPLORER = "https://console.cloud.google.com/logs/query"

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def quote_filter_value(value: str) -> str:
    """``value`` as one quoted string literal of the logging query language.

    Other control characters have no escape the service documents, so they
    are refused rather than passed through.
    """
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            raise BadInput("Log search text cannot contain control characters.")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def log_name(project: str, log_id: str) -> str:
    """``projects/P/logs/ID`` with the id percent-encoded, as Cloud Logging stores it."""
    return f"projects/{project}/logs/{quote(log_id, safe='')}"


def rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("log query times must be timezone-aware")
    moment = moment.astimezone(UTC)
    spec = "microseconds" if moment.microsecond else "seconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


def build_filter(query: LogQuery, *, project: str, cluster: str) -> str:
    """The filter for ``query`` in GKE cluster ``cluster`` of ``project``; terms joined with AND."""
    terms = _target_terms(query, project=project, cluster=cluster)
    terms.append(f"timestamp>={quote_filter_value(rfc3339(query.since))}")
    if query.until is not None:
        if query.until <= query.since:
            raise BadInput("The end of the log window must come after its start.")
        terms.append(f"timestamp<={quote_filter_value(rfc3339(query.until))}")
    if query.min_severity:
        level = query.min_severity.upper()
        if level not in SEVERITIES:
            raise BadInput(f"Unknown severity `{query.min_severity}`; use one of {', '.join(SEVERITIES)}.")
        terms.append(f"severity>={level}")
    if query.grep:
        terms.append(quote_filter_value(query.grep))
    return " AND ".join(terms)


def explorer_url(filter_text: str, *, project: str, since: datetime, until: datetime) -> str:
    """A Logs Explorer link that runs ``filter_text`` over [since, until] in ``project``."""
    window = quote(f"{rfc3339(since)}/{rfc3339(until)}", safe="")
    return f"{EXPLORER};query={quote(filter_text, safe='')};timeRange={window}?project={quote(project, safe='')}"


def checked_limit(query: LogQuery) -> int:
    if not 1 <= query.limit <= MAX_LIMIT:
        raise BadInput(f"Ask for between 1 and {MAX_LIMIT} log lines.")
    return query.limit


def _target_terms(query: LogQuery, *, project: str, cluster: str) -> list[str]:
    in_cluster = f"resource.labels.cluster_name={quote_filter_value(cluster)}"
    if query.target == "node":
        nodes = query.nodes or ((query.node,) if query.node else ())
        if not nodes:
            raise BadInput("Name the node (or VM) whose logs to show.")
        terms = ['resource.type="k8s_node"', in_cluster, f"resource.labels.node_name={_one_of(nodes)}"]
        components = query.components or ((query.component,) if query.component else ())
        if components:
            log_ids = []
            for component in components:
                log_id = NODE_COMPONENTS.get(component)
                if log_id is None:
                    known = ", ".join(NODE_COMPONENTS)
                    raise BadInput(f"Unknown node component `{component}`; use one of {known}.")
                log_ids.append(log_name(project, log_id))
            terms.append(f"logName={_one_of(log_ids)}")
        return terms
    if query.target == "pod":
        if not (query.namespace and query.pod):
            raise BadInput("Name the pod as NAMESPACE/NAME.")
        terms = [
            'resource.type="k8s_container"',
            in_cluster,
            f"resource.labels.namespace_name={quote_filter_value(query.namespace)}",
            f"resource.labels.pod_name={quote_filter_value(query.pod)}",
        ]
        if query.container:
            terms.append(f"resource.labels.container_name={quote_filter_value(query.container)}")
        return terms
    if query.target == "autoscaler":
        return [
            'resource.type="k8s_cluster"',
            in_cluster,
            f"logName={quote_filter_value(log_name(project, AUTOSCALER_LOG))}",
        ]
    raise BadInput(f"Unknown log target `{query.target}`.")


def _one_of(values: tuple[str, ...] | list[str]) -> str:
    """One quoted value, or the query language's list of them: ``("a" OR "b")``."""
    quoted = [quote_filter_value(v) for v in values]
    return quoted[0] if len(quoted) == 1 else "(" + " OR ".join(quoted) + ")"

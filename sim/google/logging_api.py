"""logging.googleapis.com v2 ``entries:list``: filter, order and page stored log entries.

The filter goes through the real query grammar (``log_filter``), so a filter
the bot builds from user text is refused here exactly when Cloud Logging
would refuse it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from sim.google.errors import GoogleApiError, google_middleware
from sim.google.log_filter import FilterError, compile_filter
from sim.google.metadata import METADATA_PREFIX, add_metadata_routes
from sim.google.paging import fingerprint, page
from sim.google.state import GoogleState
from sim.world import World

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_PARENT = re.compile(r"^(projects|organizations|folders|billingAccounts)/([^/]+)(/.*)?$")


class LoggingApi:
    def __init__(self, world: World) -> None:
        self._google: GoogleState = world.google

    async def list_entries(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        projects = self._projects(body.get("resourceNames"))
        descending = _descending(body.get("orderBy"))
        size = _page_size(body.get("pageSize"))
        source = str(body.get("filter") or "")
        try:
            matches = compile_filter(source)
        except FilterError as exc:
            raise GoogleApiError(400, str(exc)) from None
        prefixes = tuple(f"projects/{p}/logs/" for p in projects)
        selected = [e for e in self._google.log_entries() if e.get("logName", "").startswith(prefixes) and matches(e)]
        if descending:
            selected.reverse()
        query = fingerprint(sorted(projects), source, descending)
        chunk, token = page(selected, size, body.get("pageToken"), query=query)
        answer: dict[str, Any] = {"entries": chunk}
        if token:
            answer["nextPageToken"] = token
        return web.json_response(answer)

    async def list_logs(self, request: web.Request) -> web.Response:
        """``logs.list`` (``gcloud logging logs list``): the names of the project's logs that hold entries."""
        project = request.match_info["project"]
        if project != self._google.project:
            raise GoogleApiError(403, f"The caller does not have permission on projects/{project}.")
        size = _page_size(request.query.get("pageSize"))
        prefix = f"projects/{project}/logs/"
        names = sorted({e["logName"] for e in self._google.log_entries() if e.get("logName", "").startswith(prefix)})
        chunk, token = page(names, size, request.query.get("pageToken"), query=fingerprint(project, "logs"))
        answer: dict[str, Any] = {"logNames": chunk}
        if token:
            answer["nextPageToken"] = token
        return web.json_response(answer)

    def _projects(self, names: Any) -> list[str]:
        if not names or not isinstance(names, list):
            raise GoogleApiError(400, "resourceNames: at least one resource name is required.")
        projects = []
        for name in names:
            match = _PARENT.match(str(name))
            if match is None:
                raise GoogleApiError(400, f"Invalid resource name: {name}")
            if match[1] == "projects":
                projects.append(match[2])
        if self._google.project not in projects:
            known = ", ".join(str(n) for n in names)
            raise GoogleApiError(403, f"The caller does not have permission to read logs of {known}.")
        return projects


async def _json_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = json.loads(await request.text())
    except ValueError:
        raise GoogleApiError(400, "Invalid JSON payload received.") from None
    if not isinstance(body, dict):
        raise GoogleApiError(400, "Invalid JSON payload received. Expected an object.")
    return body


def _descending(order_by: Any) -> bool:
    spelled = " ".join(str(order_by or "timestamp asc").lower().split())
    if spelled in ("timestamp", "timestamp asc"):
        return False
    if spelled == "timestamp desc":
        return True
    raise GoogleApiError(400, f"Invalid orderBy {order_by!r}: only 'timestamp asc' and 'timestamp desc' are supported.")


def _page_size(raw: Any) -> int:
    if raw is None:
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except (TypeError, ValueError):
        raise GoogleApiError(400, f"Invalid value at 'page_size' (TYPE_INT32), \"{raw}\"") from None
    if size < 0:
        raise GoogleApiError(400, "pageSize must not be negative.")
    return min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def build_app(world: World) -> web.Application:
    api = LoggingApi(world)
    app = web.Application(middlewares=[google_middleware(world, lambda w: w.faults.logging_errors, exempt=(METADATA_PREFIX,))])
    app.router.add_post("/v2/entries:list", api.list_entries)
    app.router.add_get("/v2/projects/{project}/logs", api.list_logs)
    add_metadata_routes(app)
    return app

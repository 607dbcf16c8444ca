"""cloudresourcemanager.googleapis.com v1, projects.get: what ``gcloud projects describe`` reads.

The project's number is the one its Compute default service account is named
after (``sim.google.geography``), and it was created when Compute says it
was. Another project answers 403, as Resource Manager does for a project the
caller cannot see (it never says whether it exists).
"""

from __future__ import annotations

from aiohttp import web

from sim.google import geography
from sim.google.errors import GoogleApiError, google_middleware
from sim.world import World


def project_resource(world: World) -> dict[str, object]:
    project = world.google.project
    google = world.google
    created = geography.project_created(google.clusters(), google.instances(), google.clock.now())
    return {
        "projectNumber": geography.project_number(project),
        "projectId": project,
        "lifecycleState": "ACTIVE",
        "name": project,
        "createTime": created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }


def build_app(world: World) -> web.Application:
    async def get_project(request: web.Request) -> web.Response:
        project = request.match_info["project"]
        if project not in (world.google.project, geography.project_number(world.google.project)):
            raise GoogleApiError(403, "The caller does not have permission")
        return web.json_response(project_resource(world))

    app = web.Application(middlewares=[google_middleware(world, lambda w: [])])  # no injected faults of its own
    app.router.add_get("/v1/projects/{project}", get_project)
    return app

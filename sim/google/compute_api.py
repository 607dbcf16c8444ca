"""compute.googleapis.com v1, the part the bot reads: node-pool instance groups and their VMs.

The bot compares the VMs of each zonal instance group with the nodes that
registered; these are the calls that give it the VM side.
"""

from __future__ import annotations

from aiohttp import web

from sim.google.errors import GoogleApiError, google_middleware
from sim.google.paging import fingerprint, page
from sim.google.state import GoogleState
from sim.world import World

DEFAULT_MAX_RESULTS = 500


class ComputeApi:
    def __init__(self, world: World) -> None:
        self._google: GoogleState = world.google

    def _zone(self, request: web.Request) -> tuple[str, str]:
        project, zone = request.match_info["project"], request.match_info["zone"]
        if project != self._google.project:
            raise GoogleApiError(403, f"Required 'compute.instances.list' permission for 'projects/{project}'")
        return project, zone

    @staticmethod
    def _max_results(request: web.Request) -> int:
        raw = request.query.get("maxResults", str(DEFAULT_MAX_RESULTS))
        try:
            value = int(raw)
        except ValueError:
            raise GoogleApiError(400, f"Invalid value for field 'maxResults': '{raw}'.") from None
        if not 0 <= value <= DEFAULT_MAX_RESULTS:
            raise GoogleApiError(400, f"Invalid value for field 'maxResults': '{raw}'. Must be in the range [0, 500].")
        return value or DEFAULT_MAX_RESULTS

    async def list_managed_instances(self, request: web.Request) -> web.Response:
        project, zone = self._zone(request)
        igm = request.match_info["igm"]
        members = self._google.managed_instances(zone, igm)
        if members is None:
            raise _not_found(project, zone, "instanceGroupManagers", igm)
        query = fingerprint("listManagedInstances", zone, igm)
        chunk, token = page(members, self._max_results(request), request.query.get("pageToken"), query=query)
        body: dict[str, object] = {"managedInstances": chunk}
        if token:
            body["nextPageToken"] = token
        return web.json_response(body)

    async def get_instance_group_manager(self, request: web.Request) -> web.Response:
        project, zone = self._zone(request)
        igm = request.match_info["igm"]
        group = self._google.instance_group_manager(zone, igm)
        if group is None:
            raise _not_found(project, zone, "instanceGroupManagers", igm)
        return web.json_response(group)

    async def get_instance(self, request: web.Request) -> web.Response:
        project, zone = self._zone(request)
        name = request.match_info["instance"]
        instance = self._google.instance(zone, name)
        if instance is None:
            raise _not_found(project, zone, "instances", name)
        return web.json_response(instance)

    async def list_instances(self, request: web.Request) -> web.Response:
        project, zone = self._zone(request)
        zone_url = f"/projects/{project}/zones/{zone}"
        in_zone = [i for i in self._google.instances() if i["zone"].endswith(zone_url)]
        query = fingerprint("instances", zone)
        chunk, token = page(in_zone, self._max_results(request), request.query.get("pageToken"), query=query)
        body: dict[str, object] = {"kind": "compute#instanceList", "items": chunk}
        if token:
            body["nextPageToken"] = token
        return web.json_response(body)


def _not_found(project: str, zone: str, collection: str, name: str) -> GoogleApiError:
    return GoogleApiError(404, f"The resource 'projects/{project}/zones/{zone}/{collection}/{name}' was not found")


def build_app(world: World) -> web.Application:
    api = ComputeApi(world)
    app = web.Application(middlewares=[google_middleware(world, lambda w: w.faults.compute_errors)])
    base = "/compute/v1/projects/{project}/zones/{zone}"
    app.router.add_post(f"{base}/instanceGroupManagers/{{igm}}/listManagedInstances", api.list_managed_instances)
    app.router.add_get(f"{base}/instanceGroupManagers/{{igm}}", api.get_instance_group_manager)
    app.router.add_get(f"{base}/instances", api.list_instances)
    app.router.add_get(f"{base}/instances/{{instance}}", api.get_instance)
    return app

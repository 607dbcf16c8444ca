"""compute.googleapis.com v1, the part the bot and gcloud read: instance groups, VMs, zones, the project.

The bot compares the VMs of each zonal instance group with the nodes that
registered; these are the calls that give it the VM side. ``gcloud compute
instances list`` without a zone reads the aggregated list (every zone, empty
ones with Compute's NO_RESULTS_ON_PAGE warning), ``gcloud compute zones list``
the zones and ``gcloud compute project-info describe`` the project. A VM's
serial port output (``serial.py``) is its console, made from its logs.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import TypeVar

from aiohttp import web

from sim.google import batch, geography, names, network, serial
from sim.google.errors import GoogleApiError, google_middleware
from sim.google.paging import fingerprint, page
from sim.google.state import GoogleState
from sim.world import World

DEFAULT_MAX_RESULTS = 500

T = TypeVar("T")


class ComputeApi:
    def __init__(self, world: World) -> None:
        self._google: GoogleState = world.google

    def _zone(self, request: web.Request) -> tuple[str, str]:
        return self._project(request, "compute.instances.list"), request.match_info["zone"]

    def _zonal(
        self, request: web.Request, param: str, collection: str, lookup: Callable[[str, str], T | None]
    ) -> tuple[str, str, T]:
        """The zonal resource the URL names (``param``), or Compute's 404 for it."""
        project, zone = self._zone(request)
        name = request.match_info[param]
        found = lookup(zone, name)
        if found is None:
            raise _not_found(project, zone, collection, name)
        return project, zone, found

    def _project(self, request: web.Request, permission: str) -> str:
        project = request.match_info["project"]
        if project != self._google.project:
            raise GoogleApiError(403, f"Required '{permission}' permission for 'projects/{project}'")
        return project

    def _zones(self) -> list[str]:
        return geography.zones([i["zone"].rsplit("/", 1)[-1] for i in self._google.instances()])

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

    def _page(self, request: web.Request, items: Sequence[T], *query: object) -> tuple[list[T], str | None]:
        """The page the request asks for; the token is bound to ``query``, so a changed query is refused."""
        return page(items, self._max_results(request), request.query.get("pageToken"), query=fingerprint(*query))

    def _zonal_list(
        self, request: web.Request, project: str, zone: str, collection: str, kind: str, entries: Sequence[object]
    ) -> web.Response:
        chunk, token = self._page(request, entries, collection, zone)
        body = _list_body(kind, f"projects/{project}/zones/{zone}/{collection}", chunk or None, token)
        return web.json_response(body)

    def _aggregated(
        self,
        request: web.Request,
        project: str,
        collection: str,
        kind: str,
        entries: Sequence[tuple[str, dict[str, object]]],
        query: str,
        *,
        occupied: Collection[str] = (),
    ) -> web.Response:
        """``entries`` (zone, resource) paged and grouped by zone; on the first page every other zone carries
        Compute's warning, except those in ``occupied`` (zones whose entries stand on a later page)."""
        chunk, token = self._page(request, entries, query)
        items: dict[str, dict[str, object]] = {}
        for zone, entry in chunk:
            items.setdefault(f"zones/{zone}", {collection: []})[collection].append(entry)  # type: ignore[attr-defined]
        if not request.query.get("pageToken"):
            for zone in self._zones():
                if zone not in occupied:
                    items.setdefault(f"zones/{zone}", {"warning": _no_results(f"zones/{zone}")})
        body = _list_body(kind, f"projects/{project}/aggregated/{collection}", dict(sorted(items.items())), token)
        return web.json_response(body)

    async def list_managed_instances(self, request: web.Request) -> web.Response:
        _, zone, members = self._zonal(request, "igm", "instanceGroupManagers", self._google.managed_instances)
        chunk, token = self._page(request, members, "listManagedInstances", zone, request.match_info["igm"])
        return web.json_response(_with_token({"managedInstances": chunk}, token))

    async def get_instance_group_manager(self, request: web.Request) -> web.Response:
        _, _, group = self._zonal(request, "igm", "instanceGroupManagers", self._google.instance_group_manager)
        return web.json_response(group)

    async def get_instance(self, request: web.Request) -> web.Response:
        _, _, instance = self._zonal(request, "instance", "instances", self._google.instance)
        return web.json_response(instance)

    async def list_instances(self, request: web.Request) -> web.Response:
        project, zone = self._zone(request)
        zone_url = f"/projects/{project}/zones/{zone}"
        in_zone = [i for i in self._google.instances() if i["zone"].endswith(zone_url)]
        chunk, token = self._page(request, in_zone, "instances", zone)
        return web.json_response(_with_token({"kind": "compute#instanceList", "items": chunk}, token))

    async def aggregated_instances(self, request: web.Request) -> web.Response:
        """Every VM by zone, paged over the VMs; zones without any carry Compute's warning."""
        project = self._project(request, "compute.instances.list")
        vms = [(vm["zone"].rsplit("/", 1)[-1], vm) for vm in self._google.instances()]
        occupied = {zone for zone, _ in vms}
        kind = "compute#instanceAggregatedList"
        return self._aggregated(request, project, "instances", kind, vms, "aggregated/instances", occupied=occupied)

    async def list_instance_group_managers(self, request: web.Request) -> web.Response:
        project, zone = self._zone(request)
        groups = [g for z, g in self._google.instance_group_managers() if z == zone]
        return self._zonal_list(request, project, zone, "instanceGroupManagers", "compute#instanceGroupManagerList", groups)

    async def aggregated_instance_group_managers(self, request: web.Request) -> web.Response:
        """Every group by zone (what ``gcloud compute instance-groups managed list`` reads)."""
        project = self._project(request, "compute.instanceGroupManagers.list")
        groups = self._google.instance_group_managers()
        kind = "compute#instanceGroupManagerAggregatedList"
        return self._aggregated(request, project, "instanceGroupManagers", kind, groups, "aggregated/igms")

    def _instance_group(self, project: str, zone: str, group: dict[str, object]) -> dict[str, object]:
        """The unmanaged view Compute keeps of a managed group: its members count, network and fingerprint."""
        name = str(group["name"])
        members = self._google.managed_instances(zone, name) or []
        region = zone.rsplit("-", 1)[0]
        return {
            "kind": "compute#instanceGroup",
            "id": str(int(str(group["id"])) ^ 1),
            "creationTimestamp": group["creationTimestamp"],
            "name": name,
            "description": (
                f"This instance group is controlled by Instance Group Manager '{name}'. To modify instances in this "
                "group, use the Instance Group Manager API: "
                "https://cloud.google.com/compute/docs/reference/latest/instanceGroupManagers"
            ),
            "network": network.network_url(project),
            "fingerprint": fingerprint("instanceGroup", zone, name)[:12],
            "zone": names.zone_url(project, zone),
            "selfLink": names.instance_group_url(project, zone, name),
            "size": len(members),
            "subnetwork": network.subnetwork_url(project, region),
        }

    async def list_instance_groups(self, request: web.Request) -> web.Response:
        project, zone = self._zone(request)
        groups = [self._instance_group(project, zone, g) for z, g in self._google.instance_group_managers() if z == zone]
        return self._zonal_list(request, project, zone, "instanceGroups", "compute#instanceGroupList", groups)

    async def aggregated_instance_groups(self, request: web.Request) -> web.Response:
        project = self._project(request, "compute.instanceGroups.list")
        groups = [(zone, self._instance_group(project, zone, g)) for zone, g in self._google.instance_group_managers()]
        kind = "compute#instanceGroupAggregatedList"
        return self._aggregated(request, project, "instanceGroups", kind, groups, "aggregated/igs")

    async def get_instance_group(self, request: web.Request) -> web.Response:
        project, zone, group = self._zonal(request, "group", "instanceGroups", self._google.instance_group_manager)
        return web.json_response(self._instance_group(project, zone, group))

    async def list_autoscalers(self, request: web.Request) -> web.Response:
        """None: GKE's cluster autoscaler resizes node-pool groups itself, without a Compute autoscaler."""
        project, zone = self._zone(request)
        path = f"projects/{project}/zones/{zone}/autoscalers"
        return web.json_response(_list_body("compute#autoscalerList", path, None, None))

    async def get_autoscaler(self, request: web.Request) -> web.Response:
        project, zone = self._zone(request)
        raise _not_found(project, zone, "autoscalers", request.match_info["autoscaler"])

    async def aggregated_autoscalers(self, request: web.Request) -> web.Response:
        project = self._project(request, "compute.autoscalers.list")
        items = {f"zones/{zone}": {"warning": _no_results(f"zones/{zone}")} for zone in self._zones()}
        path = f"projects/{project}/aggregated/autoscalers"
        return web.json_response(_list_body("compute#autoscalerAggregatedList", path, items, None))

    async def list_zones(self, request: web.Request) -> web.Response:
        project = self._project(request, "compute.zones.list")
        zones = [geography.zone_resource(project, zone) for zone in self._zones()]
        chunk, token = self._page(request, zones, "zones")
        return web.json_response(_list_body("compute#zoneList", f"projects/{project}/zones", chunk, token))

    async def get_zone(self, request: web.Request) -> web.Response:
        project = self._project(request, "compute.zones.get")
        zone = request.match_info["zone"]
        if zone not in self._zones():
            raise GoogleApiError(404, f"The resource 'projects/{project}/zones/{zone}' was not found")
        return web.json_response(geography.zone_resource(project, zone))

    async def get_project(self, request: web.Request) -> web.Response:
        """The project as Compute sees it; its CPU quota's usage is what its VMs have."""
        project = self._project(request, "compute.projects.get")
        vms = self._google.instances()
        created = geography.project_created(self._google.clusters(), vms, self._google.clock.now()).isoformat(timespec="milliseconds")
        resource = geography.project_resource(project, created)
        cpus = sum(_vcpus(v["machineType"]) for v in vms if v.get("status") == "RUNNING")
        for quota in resource["quotas"]:
            if quota["metric"] == "CPUS_ALL_REGIONS":
                quota["usage"] = cpus
        return web.json_response(resource)


def _vcpus(machine_type_url: str) -> int:
    """vCPUs of a machine type by its name: the number at its end (e2-standard-4), 2 for e2's shared-core types."""
    name = machine_type_url.rsplit("/", 1)[-1]
    last = name.rsplit("-", 1)[-1]
    return int(last) if last.isdigit() else 2


def _list_body(kind: str, path: str, items: object | None, token: str | None) -> dict[str, object]:
    """A list response as Compute frames it: ``items`` left out when there are none, as Compute does."""
    body: dict[str, object] = {"kind": kind, "id": path}
    if items is not None:
        body["items"] = items
    body["selfLink"] = f"{names.COMPUTE_ROOT}/{path}"
    return _with_token(body, token)


def _with_token(body: dict[str, object], token: str | None) -> dict[str, object]:
    if token:
        body["nextPageToken"] = token
    return body


def _no_results(scope: str) -> dict[str, object]:
    return {
        "code": "NO_RESULTS_ON_PAGE",
        "message": f"There are no results for scope '{scope}' on this page.",
        "data": [{"key": "scope", "value": scope}],
    }


def _not_found(project: str, zone: str, collection: str, name: str) -> GoogleApiError:
    return GoogleApiError(404, f"The resource 'projects/{project}/zones/{zone}/{collection}/{name}' was not found")


def build_app(world: World) -> web.Application:
    api = ComputeApi(world)
    app = web.Application(middlewares=[google_middleware(world, lambda w: w.faults.compute_errors)])
    base = "/compute/v1/projects/{project}/zones/{zone}"
    app.router.add_post(f"{base}/instanceGroupManagers/{{igm}}/listManagedInstances", api.list_managed_instances)
    app.router.add_get(f"{base}/instanceGroupManagers/{{igm}}", api.get_instance_group_manager)
    app.router.add_get(f"{base}/instanceGroupManagers", api.list_instance_group_managers)
    app.router.add_get(f"{base}/autoscalers", api.list_autoscalers)
    app.router.add_get(f"{base}/instanceGroups", api.list_instance_groups)
    app.router.add_get(f"{base}/instanceGroups/{{group}}", api.get_instance_group)
    app.router.add_get(f"{base}/autoscalers/{{autoscaler}}", api.get_autoscaler)
    app.router.add_get("/compute/v1/projects/{project}/aggregated/instanceGroupManagers", api.aggregated_instance_group_managers)
    app.router.add_get("/compute/v1/projects/{project}/aggregated/autoscalers", api.aggregated_autoscalers)
    app.router.add_get("/compute/v1/projects/{project}/aggregated/instanceGroups", api.aggregated_instance_groups)
    app.router.add_post("/batch/compute/v1", batch.batch_handler())
    app.router.add_get(f"{base}/instances", api.list_instances)
    app.router.add_get(f"{base}/instances/{{instance}}", api.get_instance)
    app.router.add_get(f"{base}/instances/{{instance}}/serialPort", serial.serial_port_output(world))
    app.router.add_get("/compute/v1/projects/{project}/aggregated/instances", api.aggregated_instances)
    app.router.add_get("/compute/v1/projects/{project}/zones", api.list_zones)
    app.router.add_get(base, api.get_zone)
    app.router.add_get("/compute/v1/projects/{project}", api.get_project)
    return app

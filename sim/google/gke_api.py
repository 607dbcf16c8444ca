"""container.googleapis.com v1, read side: clusters, node pools, operations and the server config.

Both URL families are served: ``projects/P/locations/L/...`` (what the client
sends when called with ``name=`` / ``parent=``) and the legacy
``projects/P/zones/Z/...`` (when called with ``project_id=`` / ``zone=``).
Location "-" lists every location, as on GKE.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sim.google import names
from sim.google.errors import GoogleApiError, google_middleware
from sim.google.state import GoogleState
from sim.world import World


class GkeApi:
    def __init__(self, world: World) -> None:
        self._google: GoogleState = world.google

    def _scope(self, request: web.Request) -> tuple[str, str]:
        project, location = request.match_info["project"], request.match_info["location"]
        if project != self._google.project:
            raise GoogleApiError(403, f"Permission denied on resource project {project}.")
        return project, location

    def _cluster(self, request: web.Request) -> dict[str, Any]:
        project, location = self._scope(request)
        name = request.match_info["cluster"]
        cluster = self._google.get_cluster(location, name)
        if cluster is None:
            raise GoogleApiError(404, f"Not found: projects/{project}/locations/{location}/clusters/{name}.")
        return cluster

    def _counted(self, cluster: dict[str, Any]) -> dict[str, Any]:
        """``currentNodeCount`` (a Cluster field, deprecated but still sent): the VMs of its node pools' groups."""
        count = 0
        for pool in cluster.get("nodePools", []):
            for url in pool.get("instanceGroupUrls", []):
                zone, igm = url.split("/zones/", 1)[1].split("/instanceGroupManagers/")
                count += len(self._google.managed_instances(zone, igm) or [])
        if count:
            cluster["currentNodeCount"] = count
        return cluster

    async def list_clusters(self, request: web.Request) -> web.Response:
        _, location = self._scope(request)
        clusters = [self._counted(c) for c in self._google.clusters(location)]
        return web.json_response({"clusters": clusters, "missingZones": []})

    async def get_cluster(self, request: web.Request) -> web.Response:
        return web.json_response(self._counted(self._cluster(request)))

    async def list_node_pools(self, request: web.Request) -> web.Response:
        return web.json_response({"nodePools": self._cluster(request).get("nodePools", [])})

    async def get_node_pool(self, request: web.Request) -> web.Response:
        cluster = self._cluster(request)
        name = request.match_info["pool"]
        for pool in cluster.get("nodePools", []):
            if pool["name"] == name:
                return web.json_response(pool)
        raise GoogleApiError(
            404,
            f"Not found: projects/{request.match_info['project']}/locations/{cluster['location']}"
            f"/clusters/{cluster['name']}/nodePools/{name}.",
        )

    async def list_operations(self, request: web.Request) -> web.Response:
        _, location = self._scope(request)
        return web.json_response({"operations": self._google.operations(location), "missingZones": []})

    async def get_operation(self, request: web.Request) -> web.Response:
        project, location = self._scope(request)
        name = request.match_info["operation"]
        op = self._google.get_operation(name)
        if op is None or (location != "-" and op["location"] != location):
            raise GoogleApiError(404, f"Not found: projects/{project}/locations/{location}/operations/{name}.")
        return web.json_response(op)


    async def get_server_config(self, request: web.Request) -> web.Response:
        """What GKE offers in a location: the versions the world's clusters run and the ones their
        upgrades install, newest first, per release channel, with the default image types."""
        self._scope(request)
        return web.json_response(server_config(self._google))


# Versions GKE offers beside whatever the world's clusters run (newest first once merged).
OFFERED = ("1.31.1-gke.1146000", "1.30.5-gke.1014001", "1.29.9-gke.1177000")
CHANNELS = ("RAPID", "REGULAR", "STABLE")


def server_config(google: GoogleState) -> dict[str, Any]:
    running = {c.get("currentMasterVersion", "") for c in google.clusters("-")}
    running |= {p.get("version", "") for c in google.clusters("-") for p in c.get("nodePools", [])}
    versions = sorted({v for v in running | set(OFFERED) if v}, key=names.version_key, reverse=True)
    default = next((v for v in versions if v in OFFERED[1:]), versions[0])
    channels = [
        {"channel": channel, "defaultVersion": versions[min(index, len(versions) - 1)], "validVersions": versions[index:] or versions[-1:]}
        for index, channel in enumerate(CHANNELS)
    ]
    return {
        "defaultClusterVersion": default,
        "validNodeVersions": versions,
        "defaultImageType": "COS_CONTAINERD",
        "validImageTypes": ["COS_CONTAINERD", "UBUNTU_CONTAINERD", "WINDOWS_LTSC_CONTAINERD"],
        "validMasterVersions": versions,
        "channels": channels,
    }


def build_app(world: World) -> web.Application:
    api = GkeApi(world)
    app = web.Application(middlewares=[google_middleware(world, lambda w: w.faults.gke_errors)])
    for family in ("locations", "zones"):
        base = f"/v1/projects/{{project}}/{family}/{{location}}"
        app.router.add_get(f"{base}/clusters", api.list_clusters)
        app.router.add_get(f"{base}/clusters/{{cluster}}", api.get_cluster)
        app.router.add_get(f"{base}/clusters/{{cluster}}/nodePools", api.list_node_pools)
        app.router.add_get(f"{base}/clusters/{{cluster}}/nodePools/{{pool}}", api.get_node_pool)
        app.router.add_get(f"{base}/operations", api.list_operations)
        app.router.add_get(f"{base}/operations/{{operation}}", api.get_operation)
    app.router.add_get("/v1/projects/{project}/locations/{location}/serverConfig", api.get_server_config)
    app.router.add_get("/v1/projects/{project}/zones/{location}/serverconfig", api.get_server_config)
    return app

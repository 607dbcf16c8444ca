"""Serve a ``World`` (or a ``Fleet`` of them) on loopback: one port per simulated service.

Each service is its own aiohttp application, as each real API has its own
endpoint; all of them run on one event loop in a background thread so a test
(or the demo) keeps its own thread free to drive the scenario. A fleet gets
one Kubernetes API per cluster, each on its own two ports (plain and TLS)
and each closing or stalling only for its own cluster's faults, beside one
GKE, Compute, Logging, Resource Manager and Slack.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import threading
import time
from dataclasses import dataclass, field

from aiohttp import web

from sim.fleet import Fleet
from sim.kube import tls
from sim.world import World

OUTAGE_SWITCH_SECONDS = 10.0  # how long closing or reopening a cluster's ports may take before it is an error

@dataclass
class Traffic:
    """Requests and response bytes per service: what the benchmark reports beside its timings."""

    requests: dict[str, int] = field(default_factory=dict)
    bytes_out: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, service: str, size: int) -> None:
        with self._lock:
            self.requests[service] = self.requests.get(service, 0) + 1
            self.bytes_out[service] = self.bytes_out.get(service, 0) + size

    def snapshot(self) -> dict[str, tuple[int, int]]:
        with self._lock:
            return {name: (count, self.bytes_out.get(name, 0)) for name, count in self.requests.items()}

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.bytes_out.clear()


def _counting(traffic: Traffic, service: str):  # type: ignore[no-untyped-def]
    @web.middleware
    async def middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
        response = await handler(request)
        body = getattr(response, "body", None)
        size = len(body) if isinstance(body, bytes | bytearray) else (response.content_length or 0)
        traffic.count(service, size)
        return response

    return middleware


@dataclass(frozen=True)
class Endpoints:
    """Base URLs of the running services, as the clients are configured with them."""

    kube: str  # Kubernetes API server, e.g. http://127.0.0.1:PORT
    gke: str  # container.googleapis.com stand-in
    compute: str  # compute.googleapis.com stand-in
    logging: str  # logging.googleapis.com stand-in
    slack: str  # Slack Web API base URL, ending in /api/
    kube_tls: str = ""  # the same Kubernetes API over HTTPS (sim.kube.tls): kubectl sends credentials only there
    resourcemanager: str = ""  # cloudresourcemanager.googleapis.com stand-in (projects.get)
    # A fleet's Kubernetes APIs by cluster name, in the fleet's order: (plain URL, TLS URL). ``kube`` and
    # ``kube_tls`` are the first cluster's. Empty when a single world is served.
    kube_by_cluster: dict[str, tuple[str, str]] = field(default_factory=dict, hash=False, compare=False)

    @property
    def slack_root(self) -> str:
        return self.slack.removesuffix("api/")


def build_kube_app(world: World) -> web.Application:
    """The Kubernetes API of one cluster (``world.kube`` under ``world.faults``)."""
    from sim.kube.api import build_app as kube_app

    return kube_app(world)


def build_apps(world: World) -> dict[str, web.Application]:
    """One aiohttp application per service, keyed by ``Endpoints`` field name."""
    from sim.google.compute_api import build_app as compute_app
    from sim.google.gke_api import build_app as gke_app
    from sim.google.logging_api import build_app as logging_app
    from sim.google.resourcemanager_api import build_app as resourcemanager_app
    from sim.slack.api import build_app as slack_app

    return {
        "kube": build_kube_app(world),
        "gke": gke_app(world),
        "compute": compute_app(world),
        "logging": logging_app(world),
        "slack": slack_app(world),
        "resourcemanager": resourcemanager_app(world),
    }


class _KubeEndpoint:
    """One cluster's API server: its application and two ports, closed while its control plane is gone."""

    def __init__(self, name: str, world: World, runner: web.AppRunner, ports: tuple[int, int]) -> None:
        self.name = name
        self.world = world
        self.runner = runner
        self.ports = ports  # (plain, TLS), kept across an outage: the API comes back where it was
        self.sites: list[web.TCPSite] = []  # open while the control plane listens

    def urls(self, host: str) -> tuple[str, str]:
        return f"http://{host}:{self.ports[0]}", f"https://{host}:{self.ports[1]}"

    async def listen(self, listening: bool, host: str, context: ssl.SSLContext) -> None:
        """Open or close both ports; a closed port refuses connections and open ones are dropped."""
        if listening == bool(self.sites):
            return
        if not listening:
            for site in self.sites:
                await site.stop()
            self.sites = []
            if self.runner.server is not None:  # the process is gone: its open connections close with it
                for connection in list(self.runner.server.connections):
                    connection.force_close()
            return
        plain = web.TCPSite(self.runner, host, self.ports[0])
        secure = web.TCPSite(self.runner, host, self.ports[1], ssl_context=context)
        for site in (plain, secure):
            await site.start()
        self.sites = [plain, secure]


class SimServer:
    """Runs the simulated services until ``stop``; usable as a context manager.

    Given a ``Fleet``, it serves one Kubernetes API per cluster (ports
    ``kube/NAME`` and ``kube_tls/NAME`` in ``ports``, the first cluster's
    ``kube`` and ``kube_tls``) and the other services once, from the
    fleet's shared world.
    """

    def __init__(self, world: World | Fleet, *, host: str = "127.0.0.1", ports: dict[str, int] | None = None) -> None:
        self.fleet = world if isinstance(world, Fleet) else None
        self.world = world.first if isinstance(world, Fleet) else world  # the first (or only) cluster's
        self.host = host
        self._ports = dict(ports or {})
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runners: list[web.AppRunner] = []
        self._kube: list[_KubeEndpoint] = []
        self._tls: ssl.SSLContext | None = None
        self.endpoints: Endpoints | None = None
        self.traffic = Traffic()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("SimServer is not running")
        return self._loop

    def start(self) -> Endpoints:
        started = threading.Event()
        failure: list[BaseException] = []
        loop = self._loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                urls = loop.run_until_complete(self._serve())
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                started.set()
                return
            kube, kube_tls = self._kube[0].urls(self.host)
            self.endpoints = Endpoints(
                kube=kube,
                gke=urls["gke"],
                compute=urls["compute"],
                logging=urls["logging"],
                slack=urls["slack"] + "/api/",
                kube_tls=kube_tls,
                resourcemanager=urls["resourcemanager"],
                kube_by_cluster={k.name: k.urls(self.host) for k in self._kube} if self.fleet else {},
            )
            for endpoint in self._kube:
                endpoint.world.faults.on_kube_outage(functools.partial(self._outage_changed, endpoint))
                if endpoint.world.faults.kube_outage == "refuse":
                    loop.run_until_complete(self._listen(endpoint, False))
            started.set()
            loop.run_forever()
            loop.run_until_complete(self._shutdown())
            loop.close()

        self._thread = threading.Thread(target=run, name="sim-server", daemon=True)
        self._thread.start()
        started.wait(30)
        if failure:
            raise failure[0]
        assert self.endpoints is not None
        return self.endpoints

    def _clusters(self) -> list[tuple[str, World]]:
        """Each Kubernetes API to serve, by the key its URLs are found under; a single world's is "kube"."""
        if self.fleet is None:
            return [("kube", self.world)]
        if not self.fleet.worlds:
            raise ValueError("a fleet needs at least one cluster to be served")
        return list(self.fleet.worlds.items())

    def _port(self, service: str, cluster: int, name: str) -> int:
        return self._ports.get(service if cluster == 0 else f"{service}/{name}", 0)

    async def _serve(self) -> dict[str, str]:
        """Start every service; returns the URLs of all but the Kubernetes APIs (those are on ``_kube``)."""
        urls: dict[str, str] = {}
        self._tls = tls.server_context()
        apps = build_apps(self.fleet.services if self.fleet else self.world)
        services_kube = apps.pop("kube")  # a fleet's shared world serves no Kubernetes API: its clusters do
        kube_apps = [services_kube] if self.fleet is None else [build_kube_app(w) for _, w in self._clusters()]
        for name, app in apps.items():
            runner = await self._run(app, name)
            site = web.TCPSite(runner, self.host, self._ports.get(name, 0))
            await site.start()
            urls[name] = f"http://{self.host}:{runner.addresses[0][1]}"
        for index, ((name, world), app) in enumerate(zip(self._clusters(), kube_apps, strict=True)):
            runner = await self._run(app, "kube")
            plain = web.TCPSite(runner, self.host, self._port("kube", index, name))
            await plain.start()
            secure = web.TCPSite(runner, self.host, self._port("kube_tls", index, name), ssl_context=self._tls)
            await secure.start()
            endpoint = _KubeEndpoint(name, world, runner, (runner.addresses[0][1], runner.addresses[1][1]))
            endpoint.sites = [plain, secure]
            self._kube.append(endpoint)
        return urls

    async def _run(self, app: web.Application, service: str) -> web.AppRunner:
        app.middlewares.append(_counting(self.traffic, service))
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        self._runners.append(runner)
        return runner

    async def _listen(self, endpoint: _KubeEndpoint, listening: bool) -> None:
        assert self._tls is not None
        await endpoint.listen(listening, self.host, self._tls)

    def _outage_changed(self, endpoint: _KubeEndpoint, mode: str) -> None:
        """A cluster's ``faults.kube_outage`` was set: stop listening for "refuse", listen again otherwise."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        future = asyncio.run_coroutine_threadsafe(self._listen(endpoint, mode != "refuse"), loop)
        if self._thread is threading.current_thread():  # on the loop itself it runs next
            return
        lock = endpoint.world.lock
        if not getattr(lock, "_is_owned", lambda: False)():
            future.result(OUTAGE_SWITCH_SECONDS)
            return
        # A timeline step holds the world's lock, which a request on the loop may be waiting for. The step must
        # not return before the ports have closed (the next request would be accepted and dropped instead of
        # refused), so it lends the lock, however deeply held, to that request while the loop gets there.
        lending = threading.Condition(lock)
        deadline = time.monotonic() + OUTAGE_SWITCH_SECONDS
        while not future.done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Kubernetes API of {endpoint.name} did not switch to {mode or 'serving'!r}")
            lending.wait(0.005)
        future.result()

    async def _shutdown(self) -> None:
        for runner in reversed(self._runners):
            await runner.cleanup()
        # A request still held back (a slow cluster, a stalled answer) ends with the server instead of being
        # destroyed pending when the loop closes.
        left = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)

    def call(self, coro_fn, *args):  # type: ignore[no-untyped-def]
        """Run a coroutine on the server's loop from another thread and wait for it."""
        return asyncio.run_coroutine_threadsafe(coro_fn(*args), self.loop).result(30)

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> SimServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""Serve a ``World`` on loopback: one port per simulated service.

Each service is its own aiohttp application, as each real API has its own
endpoint; all of them run on one event loop in a background thread so a test
(or the demo) keeps its own thread free to drive the scenario.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

from aiohttp import web

from sim.kube import tls
from sim.world import World


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

    @property
    def slack_root(self) -> str:
        return self.slack.removesuffix("api/")


def build_apps(world: World) -> dict[str, web.Application]:
    """One aiohttp application per service, keyed by ``Endpoints`` field name."""
    from sim.google.compute_api import build_app as compute_app
    from sim.google.gke_api import build_app as gke_app
    from sim.google.logging_api import build_app as logging_app
    from sim.google.resourcemanager_api import build_app as resourcemanager_app
    from sim.kube.api import build_app as kube_app
    from sim.slack.api import build_app as slack_app

    return {
        "kube": kube_app(world),
        "gke": gke_app(world),
        "compute": compute_app(world),
        "logging": logging_app(world),
        "slack": slack_app(world),
        "resourcemanager": resourcemanager_app(world),
    }


class SimServer:
    """Runs the simulated services until ``stop``; usable as a context manager."""

    def __init__(self, world: World, *, host: str = "127.0.0.1", ports: dict[str, int] | None = None) -> None:
        self.world = world
        self.host = host
        self._ports = dict(ports or {})
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runners: list[web.AppRunner] = []
        self._kube_runner: web.AppRunner | None = None
        self._kube_sites: list[web.TCPSite] = []  # open while the control plane listens
        self._kube_ports: dict[str, int] = {}  # kept across an outage: the API comes back where it was
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
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            try:
                urls = self._loop.run_until_complete(self._serve())
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                started.set()
                return
            self.endpoints = Endpoints(
                kube=urls["kube"],
                gke=urls["gke"],
                compute=urls["compute"],
                logging=urls["logging"],
                slack=urls["slack"] + "/api/",
                kube_tls=urls.get("kube_tls", ""),
                resourcemanager=urls["resourcemanager"],
            )
            self.world.faults.on_kube_outage(self._outage_changed)
            if self.world.faults.kube_outage == "refuse":
                self._loop.run_until_complete(self._kube_listen(False))
            started.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._shutdown())
            self._loop.close()

        self._thread = threading.Thread(target=run, name="sim-server", daemon=True)
        self._thread.start()
        started.wait(30)
        if failure:
            raise failure[0]
        assert self.endpoints is not None
        return self.endpoints

    async def _serve(self) -> dict[str, str]:
        urls: dict[str, str] = {}
        for name, app in build_apps(self.world).items():
            app.middlewares.append(_counting(self.traffic, name))
            runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
            await runner.setup()
            site = web.TCPSite(runner, self.host, self._ports.get(name, 0))
            await site.start()
            self._runners.append(runner)
            port = runner.addresses[0][1]
            urls[name] = f"http://{self.host}:{port}"
            if name == "kube":  # and over TLS, on a port of its own
                secure = web.TCPSite(runner, self.host, self._ports.get("kube_tls", 0), ssl_context=tls.server_context())
                await secure.start()
                urls["kube_tls"] = f"https://{self.host}:{runner.addresses[1][1]}"
                self._kube_runner, self._kube_sites = runner, [site, secure]
                self._kube_ports = {"kube": port, "kube_tls": runner.addresses[1][1]}
        return urls

    def _outage_changed(self, mode: str) -> None:
        """``faults.kube_outage`` was set: stop listening for "refuse", listen again otherwise."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        future = asyncio.run_coroutine_threadsafe(self._kube_listen(mode != "refuse"), loop)
        if self._thread is threading.current_thread():  # on the loop itself it runs next
            return
        # A timeline step holds the world's lock, which a request on the loop may be waiting for: wait only a
        # moment then, and let the loop finish later (meanwhile the API drops requests instead of answering).
        holding = getattr(self.world.lock, "_is_owned", lambda: False)()
        try:
            future.result(1.0 if holding else 10.0)
        except TimeoutError:
            if not holding:
                raise

    async def _kube_listen(self, listening: bool) -> None:
        """Open or close the Kubernetes API's two ports (plain and TLS); a closed port refuses connections."""
        runner = self._kube_runner
        if runner is None or listening == bool(self._kube_sites):
            return
        if not listening:
            for site in self._kube_sites:
                await site.stop()
            self._kube_sites = []
            if runner.server is not None:  # the process is gone: its open connections close with it
                for connection in list(runner.server.connections):
                    connection.force_close()
            return
        plain = web.TCPSite(runner, self.host, self._kube_ports["kube"])
        secure = web.TCPSite(runner, self.host, self._kube_ports["kube_tls"], ssl_context=tls.server_context())
        for site in (plain, secure):
            await site.start()
        self._kube_sites = [plain, secure]

    async def _shutdown(self) -> None:
        for runner in reversed(self._runners):
            await runner.cleanup()

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

"""A stand-in for the GCE metadata server that says "not on Google Cloud".

google-cloud-logging builds a ``Logger`` for every log name it reads back, and
each one asks ``http://metadata.google.internal./computeMetadata/v1/...`` where
it runs (a fixed URL, no setting). Off Google Cloud that is a DNS lookup
leaving the machine and, when DNS hangs, a five-second wait per log name.
Pointing the process's HTTP proxy at the simulated logging server (with
loopback exempt) keeps those lookups on loopback and answers them at once.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

METADATA_PREFIX = "/computeMetadata/v1/"


async def not_on_gce(request: web.Request) -> web.Response:
    return web.Response(status=404, text="Not running on Google Compute Engine (simulated world).")


def add_metadata_routes(app: web.Application) -> None:
    app.router.add_get(METADATA_PREFIX + "{key:.*}", not_on_gce)


def proxy_environment(logging_endpoint: str) -> dict[str, str]:
    """Environment variables that send plain-HTTP lookups to the stand-in and keep loopback direct."""
    parts = urlsplit(logging_endpoint)
    proxy = f"http://{parts.netloc}"
    direct = "127.0.0.1,localhost,::1"
    return {"http_proxy": proxy, "HTTP_PROXY": proxy, "no_proxy": direct, "NO_PROXY": direct}

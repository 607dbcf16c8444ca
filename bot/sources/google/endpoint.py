"""Where a Google API client connects and with which credentials.

The same reader code talks to googleapis.com with Application Default
Credentials (Workload Identity on GKE) and to the simulated world over plain
HTTP without credentials; the difference is only the endpoint override and the
``anonymous`` switch in ``GkeConfig``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import google.auth
from google.auth.credentials import AnonymousCredentials, Credentials
from google.auth.exceptions import DefaultCredentialsError

from bot.errors import NotConfigured

READ_ONLY_SCOPE = "https://www.googleapis.com/auth/cloud-platform.read-only"


@dataclass(frozen=True)
class Endpoint:
    """``host`` is host[:port] as the REST transports take it; ``scheme`` http or https."""

    host: str
    scheme: str

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"


def parse_endpoint(url: str) -> Endpoint:
    """``http://127.0.0.1:8123`` or a bare ``host:port`` (taken as https)."""
    parts = urlsplit(url if "://" in url else f"https://{url}")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise NotConfigured(f"The endpoint {url!r} is not an http(s) URL.")
    return Endpoint(host=parts.netloc, scheme=parts.scheme)


def credentials_for(anonymous: bool) -> Credentials:
    """No credentials for the simulated world; otherwise Application Default Credentials.

    Asking for the defaults may probe the metadata server, so callers do this
    lazily, on the first request, never at start-up.
    """
    if anonymous:
        return AnonymousCredentials()
    try:
        credentials, _ = google.auth.default(scopes=[READ_ONLY_SCOPE])
    except DefaultCredentialsError as exc:
        raise NotConfigured(
            f"No Google credentials were found (Workload Identity or Application Default Credentials): {exc}"
        ) from None
    return credentials

"""Who is asking: bearer tokens, as kube-apiserver's token authenticator checks them.

The kubeconfig the simulator writes carries ``TOKEN``; the store knows it
(``KubeStore.tokens``) as the bot's service account. Any other bearer token,
or another scheme, is 401 Unauthorized. A request without credentials is
``system:anonymous``: with ``KubeStore.anonymous_allowed`` off, GKE's RBAC
lets it read only the health and version endpoints
(``system:public-info-viewer``) and answers it 403 everywhere else; on (the
default, for clients built from a bare URL in tests) it is served as the
service account.
"""

from __future__ import annotations

from collections.abc import Mapping

from sim.kube.status import SERVICE_ACCOUNT, KubeError

TOKEN = "sim-token"
DEFAULT_TOKENS: Mapping[str, str] = {TOKEN: SERVICE_ACCOUNT}
ANONYMOUS = "system:anonymous"
PUBLIC_PATHS = ("/version", "/healthz", "/readyz", "/livez")


def unauthorized() -> KubeError:
    return KubeError(401, "Unauthorized", reason="Unauthorized")


def authenticate(header: str | None, tokens: Mapping[str, str]) -> str:
    """The user a request's Authorization header names; raises 401 for credentials that are not valid."""
    if not header:
        return ANONYMOUS
    scheme, _, credential = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise unauthorized()
    user = tokens.get(credential.strip())
    if user is None:
        raise unauthorized()
    return user


def public(path: str) -> bool:
    trimmed = path.rstrip("/") or "/"
    return any(trimmed == p or trimmed.startswith(p + "/") for p in PUBLIC_PATHS)

"""Who am I and may I: SelfSubjectReview and SelfSubjectAccessReview.

``kubectl auth whoami`` POSTs a SelfSubjectReview to authentication.k8s.io/v1
and prints the user the server authenticated; ``kubectl auth can-i`` POSTs a
SelfSubjectAccessReview to authorization.k8s.io/v1 and prints ``yes`` or
``no`` from ``status.allowed``. The answers follow the simulator's own
authorization: what ``KubeStore.forbidden`` refuses, and everything for an
anonymous request when ``anonymous_allowed`` is off.
"""

from __future__ import annotations

from typing import Any

from sim.kube.auth import ANONYMOUS
from sim.kube.status import SERVICE_ACCOUNT, bad_request
from sim.kube.store import KubeStore

AUTHENTICATION = "authentication.k8s.io/v1"
AUTHORIZATION = "authorization.k8s.io/v1"


def groups_of(user: str) -> list[str]:
    """The groups the token authenticator adds: a service account's, or anonymous's."""
    if user == ANONYMOUS:
        return ["system:unauthenticated"]
    if user.startswith("system:serviceaccount:"):
        namespace = user.split(":")[2]
        return ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"]
    return ["system:authenticated"]


def effective_user(user: str, store: KubeStore) -> str:
    """Who a request is served as: without credentials, the service account while anonymous is allowed."""
    return SERVICE_ACCOUNT if user == ANONYMOUS and store.anonymous_allowed else user


def self_subject_review(user: str, store: KubeStore) -> dict[str, Any]:
    served = effective_user(user, store)
    return {
        "kind": "SelfSubjectReview",
        "apiVersion": AUTHENTICATION,
        "metadata": {"creationTimestamp": None},  # the server stores no review: Go writes its zero time as null
        "status": {"userInfo": {"username": served, "groups": groups_of(served)}},
    }


def self_subject_access_review(body: dict[str, Any], user: str, store: KubeStore) -> dict[str, Any]:
    """The review with its status: allowed unless the simulator's authorization refuses it."""
    if body.get("kind") not in (None, "SelfSubjectAccessReview"):
        raise bad_request(f"SelfSubjectAccessReview expected, got {body.get('kind')}")
    spec = body.get("spec") or {}
    attributes = spec.get("resourceAttributes")
    non_resource = spec.get("nonResourceAttributes")
    if not attributes and not non_resource:
        raise bad_request('SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: '
                          "Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified")
    user = effective_user(user, store)
    allowed, reason = True, ""
    if user == ANONYMOUS:
        path = (non_resource or {}).get("path", "")
        allowed = bool(non_resource) and path.rstrip("/") in ("/version", "/healthz", "/readyz", "/livez")
    elif attributes:
        resource = attributes.get("resource", "")
        sub = attributes.get("subresource", "")
        if resource in store.forbidden or (sub and f"{resource}/{sub}" in store.forbidden):
            allowed = False
    if allowed and user == SERVICE_ACCOUNT:
        reason = "RBAC: allowed by ClusterRoleBinding \"k8s-chatops\" of ClusterRole \"k8s-chatops\" to ServiceAccount \"k8s-chatops/k8s-chatops\""
    review: dict[str, Any] = {
        "kind": "SelfSubjectAccessReview",
        "apiVersion": AUTHORIZATION,
        "metadata": {"creationTimestamp": None},  # the server stores no review: Go writes its zero time as null
        "spec": spec,
        "status": {"allowed": allowed},
    }
    if reason:
        review["status"]["reason"] = reason
    return review

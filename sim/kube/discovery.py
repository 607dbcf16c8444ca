"""Discovery documents: how clients learn which kinds and verbs exist.

kubectl reads these before anything else (to map "no" to nodes, to know pods
have a log subresource), so they must describe exactly what this server
serves. Aggregated discovery is not offered: answering the aggregated Accept
type with the plain documents makes client-go fall back to them, as it does
against older servers.
"""

from __future__ import annotations

from typing import Any

from sim.kube.resources import CATEGORY_ALL, RESOURCES, SUBRESOURCE_GROUPS, SUBRESOURCES, Resource, groups


def version_info(git_version: str) -> dict[str, Any]:
    core = git_version.lstrip("v").split("-")[0].split(".")
    return {
        "major": core[0],
        "minor": core[1] if len(core) > 1 else "0",
        "gitVersion": git_version,
        "gitCommit": "0" * 40,
        "gitTreeState": "clean",
        "buildDate": "2026-10-01T00:00:00Z",
        "goVersion": "go1.22.6 X:boringcrypto",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group(name: str, version: str) -> dict[str, Any]:
    entry = {"groupVersion": f"{name}/{version}", "version": version}
    return {"name": name, "versions": [entry], "preferredVersion": entry}


def api_group_list() -> dict[str, Any]:
    named = sorted({(r.group, r.version) for r in RESOURCES.values() if r.group})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(g, v) for g, v in named]}


def api_group(name: str) -> dict[str, Any] | None:
    versions = sorted({r.version for r in RESOURCES.values() if r.group == name})
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions[0])}


def _resource_entry(res: Resource) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": res.plural,
        "singularName": res.singular,
        "namespaced": res.namespaced,
        "kind": res.kind,
        "verbs": list(res.verbs),
    }
    if res.short_names:
        entry["shortNames"] = list(res.short_names)
    if res.plural in CATEGORY_ALL:
        entry["categories"] = ["all"]
    return entry


def api_resource_list(group_version: str) -> dict[str, Any] | None:
    members = groups().get(group_version)
    if not members:
        return None
    entries = [_resource_entry(res) for res in members]
    for name, (kind, parent, verbs) in SUBRESOURCES.items():
        owner = RESOURCES[parent]
        if owner.api_version == group_version:
            entry = {"name": name, "singularName": "", "namespaced": owner.namespaced, "kind": kind, "verbs": list(verbs)}
            if name in SUBRESOURCE_GROUPS:
                entry["group"], entry["version"] = SUBRESOURCE_GROUPS[name]
            entries.append(entry)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": entries}

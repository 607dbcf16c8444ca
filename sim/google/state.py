"""The Google side of the simulated world: GKE clusters and operations, node-pool VMs, log entries.

Everything is stored as the REST JSON the real APIs return (camelCase dicts),
so the API modules only select and page, and a scenario writes what it would
see in the cloud console. Readers get deep copies: the servers serialize
outside the lock while a scenario keeps changing the world.
"""

from __future__ import annotations

import bisect
import copy
import ipaddress
import itertools
import secrets
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sim.clock import SimClock, rfc3339_nanos
from sim.google import geography, names, network
from sim.google.timestamps import parse_timestamp
from sim.kube import tls

Json = dict[str, Any]
DEFAULT_POD_RANGE = "10.52.0.0/14"  # what GKE picks for a VPC-native cluster's pods when none is given
DEFAULT_SERVICES_RANGE = "34.118.224.0/20"  # GKE's default Service range since 1.27


class GoogleState:
    """GKE, Compute and Cloud Logging state of one project, behind its own lock."""

    def __init__(self, clock: SimClock, *, project: str) -> None:
        self.clock = clock
        self.project = project
        self.lock = threading.RLock()
        self._clusters: dict[tuple[str, str], Json] = {}
        self._operations: dict[str, Json] = {}
        self._groups: dict[tuple[str, str], Json] = {}  # (zone, igm name) -> InstanceGroupManager
        self._members: dict[tuple[str, str], list[Json]] = {}  # (zone, igm) -> ManagedInstance
        self._instances: dict[tuple[str, str], Json] = {}  # (zone, name) -> Instance
        self._deleted: dict[tuple[str, str], int] = {}  # (zone, name) -> how many instances of that name were deleted
        self._addresses: set[int] = set()  # internal IPs held by VMs (one network: default), as integers
        self._pod_ranges: dict[tuple[str, str], int] = {}  # (location, cluster) -> /24 ranges handed out
        self._log: list[tuple[datetime, int, Json]] = []  # kept sorted by timestamp
        self._sequence = itertools.count(1)

    # ------------------------------------------------------------------ clusters

    def add_cluster(self, cluster: Json) -> Json:
        """Store a Cluster, filling what GKE always fills (selfLinks, instance group URLs, ...)."""
        cluster = copy.deepcopy(cluster)
        name, location = cluster["name"], cluster["location"]
        zonal = names.is_zone(location)
        cluster.setdefault("zone", location)
        cluster.setdefault("locations", [location] if zonal else [f"{location}-{z}" for z in "abc"])
        cluster.setdefault("status", "RUNNING")
        region = names.region_of(location)
        cluster.setdefault("endpoint", network.external_ip(region, self.project, location, name, "control-plane"))
        cluster.setdefault("createTime", rfc3339_nanos(self.clock.now()))
        # The CA that signed the API server's certificate (base64 of the PEM): the simulator's own, so a
        # kubeconfig written from the cluster (gcloud container clusters get-credentials) verifies its TLS.
        cluster.setdefault("masterAuth", {"clusterCaCertificate": tls.ca_data()})
        cluster.setdefault("network", "default")
        cluster.setdefault("subnetwork", "default")
        cluster.setdefault("clusterIpv4Cidr", DEFAULT_POD_RANGE)
        cluster.setdefault("servicesIpv4Cidr", DEFAULT_SERVICES_RANGE)
        cluster.setdefault(
            "ipAllocationPolicy",
            {
                "useIpAliases": True,
                "clusterIpv4CidrBlock": cluster["clusterIpv4Cidr"],
                "servicesIpv4CidrBlock": cluster["servicesIpv4Cidr"],
                "clusterSecondaryRangeName": f"gke-{name}-pods-{names.pool_hash(name, '', location)}",
            },
        )
        base = f"{names.container_location_path(self.project, location)}/clusters/{name}"
        cluster.setdefault("selfLink", base)
        cluster.setdefault("id", names.numeric_id(self.project, location, name)[:16])
        version = cluster.get("currentMasterVersion") or cluster.get("initialClusterVersion")
        if version:
            cluster.setdefault("currentMasterVersion", version)
            cluster.setdefault("initialClusterVersion", version)
            cluster.setdefault("currentNodeVersion", version)
        pools = cluster.setdefault("nodePools", [])
        for pool in pools:
            self._fill_node_pool(cluster, pool, base)
        with self.lock:
            self._clusters[(location, name)] = cluster
            return copy.deepcopy(cluster)

    def _fill_node_pool(self, cluster: Json, pool: Json, cluster_link: str) -> None:
        pool.setdefault("locations", list(cluster["locations"]))
        pool.setdefault("status", "RUNNING")
        pool.setdefault("initialNodeCount", 1)
        if "currentNodeVersion" in cluster:
            pool.setdefault("version", cluster["currentNodeVersion"])
        pool.setdefault("selfLink", f"{cluster_link}/nodePools/{pool['name']}")
        # What GKE fills in a pool's config and network config when the request leaves them out.
        config = pool.setdefault("config", {})
        config.setdefault("machineType", "e2-medium")
        config.setdefault("diskSizeGb", 100)
        config.setdefault("diskType", "pd-balanced")
        config.setdefault("imageType", "COS_CONTAINERD")
        config.setdefault("serviceAccount", "default")
        config.setdefault("oauthScopes", ["https://www.googleapis.com/auth/cloud-platform"])
        config.setdefault("metadata", {"disable-legacy-endpoints": "true"})
        policy = cluster.get("ipAllocationPolicy") or {}
        if policy.get("useIpAliases"):
            pool.setdefault("networkConfig", {
                "podRange": policy.get("clusterSecondaryRangeName", ""),
                "podIpv4CidrBlock": cluster.get("clusterIpv4Cidr", DEFAULT_POD_RANGE),
            })
            pool.setdefault("podIpv4CidrSize", 24)
            pool.setdefault("maxPodsConstraint", {"maxPodsPerNode": "110"})
        pool.setdefault(
            "instanceGroupUrls",
            [
                names.instance_group_manager_url(
                    self.project, zone, names.instance_group_name(cluster["name"], pool["name"], zone)
                )
                for zone in pool["locations"]
            ],
        )

    def get_cluster(self, location: str, name: str) -> Json | None:
        with self.lock:
            found = self._clusters.get((location, name))
            return copy.deepcopy(found) if found is not None else None

    def clusters(self, location: str | None = None) -> list[Json]:
        """Clusters in ``location`` exactly ("-" or None: every location), as GKE lists them."""
        with self.lock:
            return [
                copy.deepcopy(c)
                for (loc, _), c in sorted(self._clusters.items())
                if location in (None, "-") or loc == location
            ]

    def update_cluster(self, location: str, name: str, **fields: Any) -> Json:
        """Overwrite top-level Cluster fields (camelCase), e.g. ``status="RECONCILING"``.

        ``None`` removes a field: Google omits a field that has no value
        rather than sending an empty string.
        """
        with self.lock:
            cluster = self._require_cluster(location, name)
            _assign(cluster, fields)
            return copy.deepcopy(cluster)

    def _require_cluster(self, location: str, name: str) -> Json:
        found = self._clusters.get((location, name))
        if found is None:
            raise KeyError(f"no cluster {location}/{name}")
        return found

    # ---------------------------------------------------------------- operations

    def add_operation(self, location: str, op: Json, *, cluster: str | None = None, node_pool: str | None = None) -> Json:
        """Start a GKE operation; ``cluster``/``node_pool`` name its target when no targetLink is given."""
        op = copy.deepcopy(op)
        now = self.clock.now()
        location_path = names.container_location_path(self.project, location)
        op.setdefault("name", f"operation-{int(now.timestamp() * 1000)}-{secrets.token_hex(4)}")
        op.setdefault("zone", location)
        op.setdefault("location", location)
        op.setdefault("status", "RUNNING")
        op.setdefault("startTime", rfc3339_nanos(now))
        op.setdefault("selfLink", f"{location_path}/operations/{op['name']}")
        if cluster is not None and "targetLink" not in op:
            target = f"{location_path}/clusters/{cluster}"
            op["targetLink"] = f"{target}/nodePools/{node_pool}" if node_pool else target
        if op["status"] == "DONE":
            op.setdefault("endTime", rfc3339_nanos(now))
        with self.lock:
            self._operations[op["name"]] = op
            return copy.deepcopy(op)

    def update_operation(self, name: str, **fields: Any) -> Json:
        """Change an operation (camelCase fields); reaching DONE stamps endTime from the clock."""
        with self.lock:
            op = self._operations.get(name)
            if op is None:
                raise KeyError(f"no operation {name}")
            _assign(op, fields)
            if op.get("status") == "DONE":
                op.setdefault("endTime", rfc3339_nanos(self.clock.now()))
            return copy.deepcopy(op)

    def get_operation(self, name: str) -> Json | None:
        with self.lock:
            found = self._operations.get(name)
            return copy.deepcopy(found) if found is not None else None

    def operations(self, location: str | None = None) -> list[Json]:
        """Operations in ``location`` ("-" or None: all), oldest first."""
        with self.lock:
            return [
                copy.deepcopy(op)
                for op in self._operations.values()
                if location in (None, "-") or op["location"] == location
            ]

    # ------------------------------------------------------- instance groups, VMs

    def add_managed_instance(
        self,
        zone: str,
        igm: str,
        name: str,
        *,
        status: str = "RUNNING",
        current_action: str = "NONE",
        created: datetime | None = None,
        machine_type: str | None = None,
        network_ip: str | None = None,
        external: bool | None = None,
        labels: dict[str, str] | None = None,
    ) -> Json:
        """Create VM ``name`` in zone ``zone`` as a member of instance group manager ``igm``.

        The machine type and GKE labels come from the node pool whose
        instanceGroupUrls name this group, when there is one, as on GKE. The
        VM's id, internal address (a free one in the region's default
        subnet), external NAT address (unless ``external`` is False or the
        cluster has private nodes) and, for a VPC-native cluster, its pod
        range (an alias IP range) are the facts its Kubernetes node repeats;
        ``sim.machines.node_for_instance`` builds the node from this record.
        """
        with self.lock:
            owner = self._pool_of_group(zone, igm)
            pool_type = owner[1].get("config", {}).get("machineType") if owner else None
            all_labels = dict(self._gke_labels(owner))
            all_labels.update(labels or {})
            region = names.region_of(zone)
            old = self._instances.get((zone, name))
            # Compute numbers every instance it creates anew: one deleted and created again under the same
            # name (a managed group recreating it) is another VM with another id.
            incarnation = self._deleted.get((zone, name), 0)
            instance_id = (
                str(old["id"]) if old is not None
                else network.instance_id(self.project, zone, name if not incarnation else f"{name}/{incarnation}")
            )
            if old is not None:
                self._addresses.discard(network.as_int(old["networkInterfaces"][0]["networkIP"]))
            if network_ip is None:
                network_ip, _ = network.allocate_ip(region, f"{self.project}/{zone}/{name}", self._addresses)
            self._addresses.add(network.as_int(network_ip))
            nic: Json = {
                "kind": "compute#networkInterface",
                "name": "nic0",
                "network": network.network_url(self.project),
                "subnetwork": network.subnetwork_url(self.project, region),
                "networkIP": network_ip,
                "stackType": "IPV4_ONLY",
                "fingerprint": geography.fingerprint("nic", self.project, zone, name),
            }
            if external is None:
                external = not (owner and owner[0].get("privateClusterConfig", {}).get("enablePrivateNodes"))
            if external:
                nic["accessConfigs"] = [
                    {
                        "kind": "compute#accessConfig",
                        "type": "ONE_TO_ONE_NAT",
                        "name": "external-nat",
                        "natIP": network.external_ip(region, self.project, zone, name),
                        "networkTier": "PREMIUM",
                    }
                ]
            if owner is not None:
                if old is not None and old["networkInterfaces"][0].get("aliasIpRanges"):
                    nic["aliasIpRanges"] = old["networkInterfaces"][0]["aliasIpRanges"]
                else:
                    nic["aliasIpRanges"] = [self._next_pod_range(owner[0])]
            instance: Json = {
                "kind": "compute#instance",
                "id": instance_id,
                "name": name,
                "zone": names.zone_url(self.project, zone),
                "status": status,
                "creationTimestamp": (created or self.clock.now()).isoformat(timespec="milliseconds"),
                "machineType": names.machine_type_url(self.project, zone, machine_type or pool_type or "e2-medium"),
                "networkInterfaces": [nic],
                "labels": all_labels,
                "selfLink": names.instance_url(self.project, zone, name),
                "canIpForward": True,
                "scheduling": {"automaticRestart": True, "onHostMaintenance": "MIGRATE", "preemptible": False, "provisioningModel": "STANDARD"},
                "serviceAccounts": [
                    {"email": geography.default_service_account(self.project), "scopes": ["https://www.googleapis.com/auth/cloud-platform"]}
                ],
            }
            if owner is not None:
                instance["tags"] = {"items": [f"gke-{owner[0]['name']}-{names.pool_hash(owner[0]['name'], '', owner[0]['location'])}-node"]}
                instance["tags"]["fingerprint"] = geography.fingerprint("tags", self.project, zone, name)
                pool_config = owner[1].get("config", {})
                instance["disks"] = [{
                    "kind": "compute#attachedDisk",
                    "type": "PERSISTENT",
                    "mode": "READ_WRITE",
                    "source": f"{names.zone_url(self.project, zone)}/disks/{name}",
                    "deviceName": "persistent-disk-0",
                    "index": 0,
                    "boot": True,
                    "autoDelete": True,
                    "interface": "SCSI",
                    "diskSizeGb": str(pool_config.get("diskSizeGb", 100)),
                    "architecture": "X86_64",
                }]
                instance["metadata"] = {
                    "kind": "compute#metadata",
                    "fingerprint": geography.fingerprint("metadata", self.project, zone, name),
                    "items": [
                        {"key": "cluster-location", "value": owner[0]["location"]},
                        {"key": "cluster-name", "value": owner[0]["name"]},
                        *({"key": k, "value": v} for k, v in sorted((pool_config.get("metadata") or {}).items())),
                        {"key": "created-by", "value": f"projects/{self.project}/zones/{zone}/instanceGroupManagers/{igm}"},
                    ],
                }
            group = self._groups.get((zone, igm)) or self._new_group(zone, igm)
            self._instances[(zone, name)] = instance
            members = self._members.setdefault((zone, igm), [])
            members[:] = [m for m in members if m["name"] != name]
            members.append(
                {
                    "instance": instance["selfLink"],
                    "id": instance_id,
                    "name": name,
                    "instanceStatus": status,
                    "currentAction": current_action,
                    "version": {"instanceTemplate": group["instanceTemplate"]},
                }
            )
            self._resize_group(zone, igm)
            return copy.deepcopy(instance)

    def _next_pod_range(self, cluster: Json) -> Json:
        """The next /24 of the cluster's pod range: the node's podCIDR, carried by its VM as an alias range."""
        key = (cluster["location"], cluster["name"])
        index = self._pod_ranges.get(key, 0)
        self._pod_ranges[key] = index + 1
        block = ipaddress.IPv4Network(cluster.get("clusterIpv4Cidr") or DEFAULT_POD_RANGE)
        # Past the end of the range, the next range of the same size follows, as an additional pod range would.
        cidr = ipaddress.IPv4Network((int(block.network_address) + index * 256, 24))
        secondary = (cluster.get("ipAllocationPolicy") or {}).get("clusterSecondaryRangeName", "")
        entry: Json = {"ipCidrRange": str(cidr)}
        if secondary:
            entry["subnetworkRangeName"] = secondary
        return entry

    def remove_managed_instance(self, zone: str, igm: str, name: str) -> None:
        with self.lock:
            members = self._members.get((zone, igm), [])
            members[:] = [m for m in members if m["name"] != name]
            gone = self._instances.pop((zone, name), None)
            if gone is not None:
                self._deleted[(zone, name)] = self._deleted.get((zone, name), 0) + 1
                self._addresses.discard(network.as_int(gone["networkInterfaces"][0]["networkIP"]))
            if (zone, igm) in self._groups:
                self._resize_group(zone, igm)

    def instance_group_manager(self, zone: str, igm: str) -> Json | None:
        with self.lock:
            group = self._groups.get((zone, igm))
            return copy.deepcopy(group) if group is not None else None

    def instance_group_managers(self) -> list[tuple[str, Json]]:
        """Every group with its zone, by zone then name."""
        with self.lock:
            return [(zone, copy.deepcopy(group)) for (zone, _), group in sorted(self._groups.items())]

    def managed_instances(self, zone: str, igm: str) -> list[Json] | None:
        """Members of a group in creation order, or None when there is no such group."""
        with self.lock:
            if (zone, igm) not in self._groups:
                return None
            return copy.deepcopy(self._members.get((zone, igm), []))

    def instance(self, zone: str, name: str) -> Json | None:
        with self.lock:
            found = self._instances.get((zone, name))
            return copy.deepcopy(found) if found is not None else None

    def instances(self) -> list[Json]:
        """Every VM, of every group and zone."""
        with self.lock:
            return [copy.deepcopy(i) for _, i in sorted(self._instances.items())]

    def _new_group(self, zone: str, igm: str) -> Json:
        template = igm.removesuffix("-grp")
        group: Json = {
            "kind": "compute#instanceGroupManager",
            "id": names.numeric_id(self.project, zone, "igm", igm),
            "name": igm,
            "zone": names.zone_url(self.project, zone),
            "baseInstanceName": template,
            "instanceTemplate": f"{names.COMPUTE_ROOT}/projects/{self.project}/global/instanceTemplates/{template}",
            "instanceGroup": names.instance_group_url(self.project, zone, igm),
            "selfLink": names.instance_group_manager_url(self.project, zone, igm),
            "targetSize": 0,
            "creationTimestamp": self.clock.now().isoformat(timespec="milliseconds"),
        }
        self._groups[(zone, igm)] = group
        return group

    def _resize_group(self, zone: str, igm: str) -> None:
        """Derive targetSize, currentActions and status from the members."""
        group = self._groups[(zone, igm)]
        members = self._members.get((zone, igm), [])
        actions = {key: 0 for key in _ACTION_KEYS.values()}
        for member in members:
            key = _ACTION_KEYS.get(member["currentAction"])
            if key:
                actions[key] += 1
        group["targetSize"] = len(members)
        group["currentActions"] = actions
        stable = actions["none"] == len(members)
        group["status"] = {"isStable": stable, "versionTarget": {"isReached": True}}

    def _pool_of_group(self, zone: str, igm: str) -> tuple[Json, Json] | None:
        url = names.instance_group_manager_url(self.project, zone, igm)
        for cluster in self._clusters.values():
            for pool in cluster.get("nodePools", []):
                if url in pool.get("instanceGroupUrls", []):
                    return cluster, pool
        return None

    @staticmethod
    def _gke_labels(owner: tuple[Json, Json] | None) -> dict[str, str]:
        if owner is None:
            return {}
        cluster, pool = owner
        return {
            "goog-gke-node": "",
            "goog-k8s-cluster-name": cluster["name"],
            "goog-k8s-cluster-location": cluster["location"],
            "goog-k8s-node-pool-name": pool["name"],
        }

    # -------------------------------------------------------------- log entries

    def add_log_entries(self, entries: Iterable[Json]) -> int:
        """Store LogEntry dicts; fills timestamp, receiveTimestamp, insertId and severity when absent."""
        added = 0
        with self.lock:
            for entry in entries:
                entry = copy.deepcopy(entry)
                seq = next(self._sequence)
                entry.setdefault("timestamp", rfc3339_nanos(self.clock.now()))
                entry.setdefault("receiveTimestamp", entry["timestamp"])
                entry.setdefault("insertId", f"{seq:08x}{secrets.token_hex(4)}")
                entry.setdefault("severity", "DEFAULT")
                moment = parse_timestamp(entry["timestamp"])
                if moment is None:
                    raise ValueError(f"log entry timestamp is not RFC 3339: {entry['timestamp']!r}")
                bisect.insort(self._log, (moment, seq, entry), key=lambda item: (item[0], item[1]))
                added += 1
        return added

    def log_entries(self) -> list[Json]:
        """Every entry, oldest first (the API module filters, orders and pages)."""
        with self.lock:
            return [entry for _, _, entry in self._log]


def _assign(resource: Json, fields: dict[str, Any]) -> None:
    for key, value in fields.items():
        if value is None:
            resource.pop(key, None)
        else:
            resource[key] = copy.deepcopy(value)


_ACTION_KEYS = {
    "NONE": "none",
    "CREATING": "creating",
    "CREATING_WITHOUT_RETRIES": "creatingWithoutRetries",
    "RECREATING": "recreating",
    "DELETING": "deleting",
    "ABANDONING": "abandoning",
    "RESTARTING": "restarting",
    "REFRESHING": "refreshing",
    "VERIFYING": "verifying",
    "STARTING": "starting",
    "STOPPING": "stopping",
    "SUSPENDING": "suspending",
    "RESUMING": "resuming",
}

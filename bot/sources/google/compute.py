"""``ComputeSource``: the VMs behind a node pool's instance groups.

This is the side of the shortfall the Kubernetes API cannot show: VMs that
run (and are billed) but never registered as nodes. Listing members is one
paged call per zonal group; a VM's creation time needs one more call per VM,
so it is fetched only for the VMs a caller asks about. So is the tail of a
VM's serial port (instances.getSerialPortOutput), where a VM that never
became a node shows why its kubelet and kube-proxy did not start.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from google.api_core.retry import Retry

from bot.errors import BadInput
from bot.model.gke import ManagedVm, SerialOutput
from bot.settings import ClusterConfig, GkeConfig
from bot.sources.google.calls import GoogleCalls
from bot.sources.google.compute_parse import (
    ZonalName,
    creator_group,
    parse_managed_instance,
    parse_zonal_url,
)
from bot.sources.google.endpoint import credentials_for, parse_endpoint
from bot.sources.google.retry import bounded_retry
from bot.sources.lazy import Lazy
from bot.sources.timestamps import parse_time

if TYPE_CHECKING:
    from google.cloud import compute_v1

SERVICE = "The Compute Engine API"
ROLE = "roles/compute.viewer"
PAGE_SIZE = 500
GROUP_WORKERS = 4  # instance groups listed at once
CONSOLE_PORT = 1  # the serial port a VM's console (kernel, systemd, its services' output) writes to
SERIAL_TAIL_BYTES = 16384  # the tail of the console read for a VM: a few hundred lines
# Not part of roles/compute.viewer: a VM's console may hold what its disks do.
# Creation times kept per cluster (a node pool's VMs, many times over) before the memory starts again.
MAX_REMEMBERED_VMS = 20_000
CONSOLE_ROLE = "a role with compute.instances.getSerialPortOutput"

def _transport_options(gke: GkeConfig) -> dict[str, Any]:
    options: dict[str, Any] = {"credentials": credentials_for(gke.anonymous)}
    if gke.compute_endpoint:
        endpoint = parse_endpoint(gke.compute_endpoint)
        options.update(host=endpoint.host, url_scheme=endpoint.scheme)
    return options


# The client library is imported where a client or a request is first built, never at start-up: its
# generated types for all of Compute Engine take about 90 MB and a second and a half to load, which a bot
# with no GKE cluster, or one that has not yet been asked about VMs, need not pay.


def groups_client_for(gke: GkeConfig) -> compute_v1.InstanceGroupManagersClient:
    from google.cloud import compute_v1
    from google.cloud.compute_v1.services.instance_group_managers.transports.rest import (
        InstanceGroupManagersRestTransport,
    )

    return compute_v1.InstanceGroupManagersClient(transport=InstanceGroupManagersRestTransport(**_transport_options(gke)))


def instances_client_for(gke: GkeConfig) -> compute_v1.InstancesClient:
    from google.cloud import compute_v1
    from google.cloud.compute_v1.services.instances.transports.rest import (
        InstancesRestTransport,
    )

    return compute_v1.InstancesClient(transport=InstancesRestTransport(**_transport_options(gke)))


class ComputeSource:
    """Implements ``ComputeReader``; ``vm_details`` and ``with_created`` go one VM at a time."""

    def __init__(
        self,
        gke: GkeConfig,
        groups: compute_v1.InstanceGroupManagersClient | Callable[[], compute_v1.InstanceGroupManagersClient],
        instances: compute_v1.InstancesClient | Callable[[], compute_v1.InstancesClient],
        *,
        timeout_seconds: float = 10.0,
        retry: Retry | None = None,
    ) -> None:
        self.gke = gke
        self._calls = GoogleCalls(SERVICE, ROLE, timeout_seconds=timeout_seconds, retry=retry)
        self._groups: Lazy[compute_v1.InstanceGroupManagersClient] = Lazy(groups)
        self._instances: Lazy[compute_v1.InstancesClient] = Lazy(instances)
        self._created: dict[tuple[str, str, str], datetime] = {}  # creation times looked up, by VM identity
        self._created_lock = threading.Lock()

    @classmethod
    def from_config(cls, config: ClusterConfig) -> ComputeSource:
        assert config.gke is not None, "ComputeSource needs a cluster configured as GKE"
        gke = config.gke
        timeout = config.request_timeout_seconds
        return cls(
            gke,
            lambda: groups_client_for(gke),
            lambda: instances_client_for(gke),
            timeout_seconds=timeout,
            retry=bounded_retry(timeout),
        )

    @property
    def stats(self) -> dict[str, int]:
        return self._calls.stats

    def list_managed_vms(
        self, instance_group_urls: list[str], *, pools: Mapping[tuple[str, str], str] | None = None
    ) -> list[ManagedVm]:
        """Members of each group; ``pools`` ((zone, group) -> pool, see ``pools_by_group``) names their pool."""
        known = dict(pools or {})
        groups = []
        for url in instance_group_urls:
            group = parse_zonal_url(url)
            if group is None or group.collection != "instanceGroupManagers":
                raise BadInput(f"{url!r} is not an instance group manager URL.")
            groups.append(group)
        if len(groups) <= 1:
            return [vm for group in groups for vm in self._group_vms(group, known)]
        # A pool has a group per zone and a cluster several pools: ask for them side by side.
        with ThreadPoolExecutor(max_workers=min(GROUP_WORKERS, len(groups)), thread_name_prefix="compute") as pool:
            return [vm for members in pool.map(lambda g: self._group_vms(g, known), groups) for vm in members]

    def _group_vms(self, group: ZonalName, known: Mapping[tuple[str, str], str]) -> list[ManagedVm]:
        from google.cloud import compute_v1

        request = compute_v1.ListManagedInstancesInstanceGroupManagersRequest(
            project=group.project, zone=group.zone, instance_group_manager=group.name, max_results=PAGE_SIZE
        )
        missing = f"Instance group {group.name} in {group.zone}"
        pager = self._calls(
            lambda: self._groups.get().list_managed_instances(request=request, **self._calls.options), missing=missing
        )
        return [
            parse_managed_instance(m, group=group, pools=known, cluster=self.gke.cluster)
            for page in self._pages(pager, missing=missing)
            for m in type(page).pb(page).managed_instances  # the raw messages: see parse_managed_instance
        ]

    def vm_details(self, zone: str, name: str) -> ManagedVm:
        """One VM with its creation time; group and pool come from its ``created-by`` metadata."""
        instance = self._calls(
            lambda: self._instances.get().get(project=self.gke.project, zone=zone, instance=name, **self._calls.options),
            missing=f"VM {name} in {zone}",
        )
        group = creator_group(instance)
        return ManagedVm(
            name=instance.name,
            zone=zone,
            instance_group=group.name if group else "",
            status=instance.status or "",
            current_action="",
            created=parse_time(instance.creation_timestamp),
            pool=instance.labels.get("goog-k8s-node-pool-name", ""),
            id=str(instance.id) if instance.id else "",
        )

    def serial_port_tail(self, zone: str, name: str, *, max_bytes: int = SERIAL_TAIL_BYTES) -> SerialOutput:
        """The last ``max_bytes`` the VM wrote to its console (a negative start asks Compute for a tail)."""
        from google.cloud import compute_v1

        if max_bytes <= 0:
            raise BadInput("Ask for a positive number of bytes of serial port output.")
        request = compute_v1.GetSerialPortOutputInstanceRequest(
            project=self.gke.project, zone=zone, instance=name, port=CONSOLE_PORT, start=-max_bytes
        )
        output = self._calls(
            lambda: self._instances.get().get_serial_port_output(request=request, **self._calls.options),
            missing=f"VM {name} in {zone}",
            role=CONSOLE_ROLE,
        )
        return SerialOutput(
            instance=name, zone=zone, contents=output.contents or "", start=int(output.start or 0), next=int(output.next_ or 0)
        )

    def with_created(
        self, vms: Iterable[ManagedVm], *, known: Iterable[ManagedVm] = (), limit: int | None = None
    ) -> list[ManagedVm]:
        """The same VMs with ``created`` filled in.

        A VM's creation time never changes, so a time known for the same VM
        (the same instance id: a VM recreated under its old name was created
        anew) is reused, whether it is in ``known`` (VMs read earlier) or was
        looked up here before: a burst of answers about the same unregistered
        VMs asks once. The rest cost one request each, at most ``limit`` of
        them, so pass only the VMs that matter.
        """
        with self._created_lock:
            times = dict(self._created)
        times.update((vm.identity, vm.created) for vm in known if vm.created)
        filled, lookups, learned = [], 0, {}
        for vm in vms:
            if vm.created is None and vm.identity in times:
                vm = replace(vm, created=times[vm.identity])
            elif vm.created is None and (limit is None or lookups < limit):
                lookups += 1
                vm = replace(vm, created=self.vm_details(vm.zone, vm.name).created)
                if vm.created is not None and vm.id:
                    learned[vm.identity] = vm.created
            filled.append(vm)
        if learned:
            with self._created_lock:
                if len(self._created) > MAX_REMEMBERED_VMS:
                    self._created.clear()
                self._created.update(learned)
        return filled

    def _pages(self, pager: Any, *, missing: str) -> Iterable[Any]:
        """The pager's pages; each one after the first is a request of its own, counted and translated."""
        pages = iter(pager.pages)
        while True:
            with self._calls.translated(missing=missing):
                page = next(pages, None)
            if page is None:
                return
            yield page
            if page.next_page_token:
                self._calls.count()

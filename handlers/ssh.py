"""`ssh NODE_OR_VM`: the IAP SSH command for a node, or for a pool VM that never became one."""

from __future__ import annotations

from bot.commands.context import CommandContext
from bot.commands.registry import Arg, ParsedArgs, command
from bot.commands.reply import Reply
from bot.commands.validate import resource_name
from bot.errors import BadInput, NotConfigured, NotFound
from bot.render.ssh import render_ssh
from handlers.common import find_pool_vm, node_zone, ssh_for


@command(
    "ssh",
    "The gcloud IAP SSH command, SSH-in-browser link and firewall prerequisite for a node or pool VM",
    args=(Arg("NODE_OR_VM", help="A node name, or a VM of a node pool", parse=lambda v: resource_name(v, "node or VM name")),),
    sensitive=True,
    examples=("ssh gke-prod-default-pool-3c4d-y1",),
)
def ssh(context: CommandContext, args: ParsedArgs) -> Reply:
    if context.public:
        raise BadInput("`ssh` answers only to you: access hints are never posted in the channel, so drop `--public`.")
    handle = context.handle
    if handle.config.gke is None:
        raise NotConfigured(
            f"`{handle.name}` is not a GKE cluster in the configuration, so there is no IAP SSH to offer; "
            "use your provider's own way onto the node."
        )
    name = args.NODE_OR_VM
    gke = handle.gke.get_cluster() if handle.gke is not None else None
    try:
        node = handle.kube.get_node(name)
    except NotFound:
        vm = find_pool_vm(handle, gke, name) if gke is not None else None
        if vm is None:
            raise NotFound(f"`{name}` is neither a node of `{handle.name}` nor a VM of its node pools.") from None
        return render_ssh(ssh_for(handle, vm.name, vm.zone, registered=False, gke=gke))
    zone = node_zone(node)
    if not zone:
        raise NotFound(f"Node `{name}` has no zone label or GCE provider ID, so its VM cannot be located.")
    return render_ssh(ssh_for(handle, node.name, zone, registered=True, gke=gke))

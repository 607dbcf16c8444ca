"""`ssh NODE_OR_VM`: the IAP SSH command for a node, or for a pool VM that never became one; only to the asker."""

from __future__ import annotations

from bot.analysis.ssh import IAP_RANGE, SshHint
from bot.blocks import MessageBuilder, Reply, code_block, escape, link
from bot.commands.registry import Arg, CommandContext, CommandSet, ParsedArgs
from bot.commands.validate import resource_name
from bot.errors import BadInput, NotConfigured, NotFound
from handlers.common import find_pool_vm, node_zone, ssh_for

commands = CommandSet()


@commands.command(
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
    gke = handle.gke_cluster() if handle.gke is not None else None
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


def render_ssh(hint: SshHint) -> Reply:
    state = (
        f"Node {hint.target} in {hint.zone}"
        if hint.registered
        else f"VM {hint.target} in {hint.zone} is running but never registered as a node"
    )
    out = MessageBuilder()
    out.header(f"SSH to {hint.target}")
    out.section(f"*{escape(state)}.* Through Identity-Aware Proxy (no public IP needed):\n{code_block(hint.ssh_command)}")
    out.section(f"Or in the browser: {link(hint.browser_url, 'SSH-in-browser')}")
    out.section(
        f"*Prerequisite:* a firewall rule allowing ingress TCP 22 from IAP's range {IAP_RANGE} "
        f"to the nodes (set NETWORK to the cluster's VPC):\n{code_block(hint.firewall_command)}"
    )
    out.section(f"kubectl credentials for the cluster:\n{code_block(hint.credentials_command)}")
    out.context("Only you can see this. Your account needs IAP-secured Tunnel User and Compute OS Login (or instance admin).")
    plain = "\n".join(
        [
            f"{state}.",
            "SSH through IAP:",
            f"  {hint.ssh_command}",
            f"SSH-in-browser: {hint.browser_url}",
            f"Prerequisite: ingress TCP 22 from {IAP_RANGE} (IAP):",
            f"  {hint.firewall_command}",
            "kubectl credentials:",
            f"  {hint.credentials_command}",
        ]
    )
    return Reply(text=escape(f"SSH to {hint.target}: {hint.ssh_command}"), blocks=out.build(), plain=plain, public=False)

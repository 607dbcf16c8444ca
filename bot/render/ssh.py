"""The SSH hint as Block Kit and text; always ephemeral."""

from __future__ import annotations

from bot.commands.reply import Reply
from bot.render.limits import MessageBuilder
from bot.render.mrkdwn import code_block, escape, link
from bot.results.links import SshHint
from bot.analysis.ssh import IAP_RANGE


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

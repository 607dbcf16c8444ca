"""The command families, one module each: its handlers, the results they build and their rendering.

``command_registry`` is how the runtime gets the commands: explicitly, from
the modules' ``CommandSet``s, rather than as a side effect of an import.
"""

from __future__ import annotations

from bot.commands.registry import Registry


def command_registry() -> Registry:
    """Every command the bot runs, in the order help lists them."""
    from handlers import alerts, cluster, clusters, describe, events, help, logs, nodes, pods, ssh, top, workloads

    return Registry(
        [help.commands, clusters.commands, nodes.commands, pods.commands, workloads.commands, events.commands,
         top.commands, describe.commands, logs.commands, ssh.commands, cluster.commands, alerts.commands]
    )

"""The command layer: parse a command line, run the command, return a reply.

Slack (slash commands, mentions, buttons) and the local console (``ask``) are
adapters around the one ``Router`` here; none of this module knows how a
request arrived.
"""

from bot.commands.invocation import Invocation
from bot.commands.registry import Arg, CommandSpec, Flag, command, registry
from bot.commands.reply import Attachment, Reply

__all__ = ["Arg", "Attachment", "CommandSpec", "Flag", "Invocation", "Reply", "command", "registry"]

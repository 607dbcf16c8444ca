"""`help [COMMAND]`: generated from the same declarations that parse the commands."""

from __future__ import annotations

from bot.blocks import Reply
from bot.commands.registry import (
    Arg,
    CommandContext,
    CommandSet,
    ParsedArgs,
    help_reply,
)
from bot.errors import BadInput

commands = CommandSet()


@commands.command(
    "help",
    "The commands, or one command's usage",
    args=(Arg("COMMAND", help="A command, e.g. nodes", optional=True), Arg("SUBCOMMAND", help="e.g. node in `logs node`", optional=True)),
    needs_cluster=False,
    examples=("help", "help nodes", "help logs node"),
)
def help_command(context: CommandContext, args: ParsedArgs) -> Reply:
    slash = context.settings.slack.command
    registry = context.registry
    words = [w.lower() for w in (args.get("COMMAND"), args.get("SUBCOMMAND")) if w]
    if not words:
        return help_reply(registry, None, slash)
    spec, used = registry.lookup(words)
    if spec is not None and used == len(words):
        return help_reply(registry, spec, slash)
    subs = registry.subcommands(words[0])
    if subs and len(words) == 1:
        replies = [help_reply(registry, s, slash) for s in subs]
        return Reply(
            text=f"Help for {words[0]}",
            blocks=[b for r in replies for b in r.blocks],
            plain="\n\n".join(r.plain for r in replies),
        )
    shown = " ".join(words)[:60].replace("`", "'")
    raise BadInput(f"`{shown}` is not a command. Try `help` for the list.")

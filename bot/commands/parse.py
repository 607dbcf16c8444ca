"""Turn a command line into a command and its arguments, kubectl-style.

User text is split like a shell would (quotes group words) but never reaches
a shell; every value then goes through the flag's or argument's validator.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from bot.commands.registry import CommandSpec, Flag, ParsedArgs, Registry
from bot.commands.validate import MAX_COMMAND_LENGTH, _show
from bot.errors import BadInput

COMMON_FLAGS = (
    Flag("--cluster", metavar="NAME", help="Which configured cluster"),
    Flag("--public", takes_value=False, help="Answer in the channel instead of only to you"),
    Flag("--help", "-h", takes_value=False, help="Show this command's usage"),
)


@dataclass
class ParsedCommand:
    spec: CommandSpec | None  # None: the line was empty (show help)
    args: ParsedArgs
    cluster: str | None
    public: bool
    wants_help: bool


def split_words(text: str) -> list[str]:
    if len(text) > MAX_COMMAND_LENGTH:
        raise BadInput(f"That command line is {len(text):,} characters long; the limit is {MAX_COMMAND_LENGTH:,}.")
    try:
        return shlex.split(text, posix=True)
    except ValueError:
        raise BadInput("That command line has an unclosed quote.") from None


def parse(text: str, registry: Registry) -> ParsedCommand:
    words = split_words(text.strip())
    if not words:
        return ParsedCommand(None, ParsedArgs(), None, False, True)
    spec, used = registry.lookup(words)
    if spec is None:
        subs = registry.subcommands(words[0].lower())
        if subs:
            names = ", ".join(f"`{s.name}`" for s in subs)
            raise BadInput(f"`{_show(words[0])}` needs a sub-command: {names}.")
        raise BadInput(f"`{_show(words[0])}` is not a command. Try `help` for the list.")
    return _parse_rest(spec, words[used:])


def _parse_rest(spec: CommandSpec, words: list[str]) -> ParsedCommand:
    flags = {f.long: f for f in spec.flags + COMMON_FLAGS}
    flags.update({f.short: f for f in spec.flags + COMMON_FLAGS if f.short})
    values: dict[str, object] = {f.dest: f.default for f in spec.flags}
    positionals: list[str] = []
    common: dict[str, object] = {"cluster": None, "public": False, "help": False}
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if word.startswith("-") and len(word) > 1 and not _is_number(word):
            name, eq, inline = word.partition("=")
            flag = flags.get(name)
            if flag is None:
                raise BadInput(f"`{_show(name)}` is not an option of `{spec.name}`.", usage=spec.usage)
            if not flag.takes_value:
                if eq:
                    raise BadInput(f"`{flag.long}` takes no value.", usage=spec.usage)
                value: object = True
            else:
                if eq:
                    raw = inline
                elif index < len(words):
                    raw = words[index]
                    index += 1
                else:
                    raise BadInput(f"`{flag.long}` needs a value ({flag.metavar}).", usage=spec.usage)
                value = _convert(flag, raw, spec)
            target = common if flag in COMMON_FLAGS else values
            target[flag.dest] = value
        else:
            positionals.append(word)
    if common["help"]:
        return ParsedCommand(spec, ParsedArgs(values), common["cluster"], bool(common["public"]), True)  # type: ignore[arg-type]
    if len(positionals) > len(spec.args):
        extra = positionals[len(spec.args)]
        raise BadInput(f"`{spec.name}` does not take `{_show(extra)}`.", usage=spec.usage)
    for position, arg in enumerate(spec.args):
        if position < len(positionals):
            raw = positionals[position]
            values[arg.name] = arg.parse(raw) if arg.parse else raw
        elif not arg.optional:
            raise BadInput(f"`{spec.name}` needs {arg.name}.", usage=spec.usage)
        else:
            values.setdefault(arg.name, None)
    cluster = common["cluster"]
    if cluster is not None:
        from bot.commands.validate import dns_label

        dns_label(str(cluster), "cluster name")
    return ParsedCommand(spec, ParsedArgs(values), cluster, bool(common["public"]), False)  # type: ignore[arg-type]


def _convert(flag: Flag, raw: str, spec: CommandSpec) -> object:
    if flag.choices and raw not in flag.choices:
        raise BadInput(
            f"`{_show(raw)}` is not a choice for `{flag.long}`: one of {', '.join(flag.choices)}.", usage=spec.usage
        )
    return flag.parse(raw) if flag.parse else raw


def _is_number(word: str) -> bool:
    return word[1:].isdigit()

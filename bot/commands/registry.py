"""The vocabulary of commands: who asked, what a command may use, what exists, how a line is read.

Commands are declared beside their handlers on a ``CommandSet``; the runtime
builds one ``Registry`` from the sets it wants and hands it down, so help,
parsing and dispatch all read the same object. Tests build their own.

User text is split like a shell would (quotes group words) but never reaches
a shell; every value then goes through the flag's or argument's validator.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot.blocks import SECTION_TEXT_BUDGET, Reply, escape, truncate
from bot.clock import Clock
from bot.clusters import ClusterHandle, ClusterRegistry
from bot.commands.validate import MAX_COMMAND_LENGTH, dns_label, shown
from bot.errors import BadInput
from bot.settings import Settings

if TYPE_CHECKING:  # the alert service's types; its database layer is imported only where alerts run
    from bot.alerts.render import IncidentSummary
    from bot.alerts.store import Incident, MuteResult

Validator = Callable[[str], Any]  # returns the parsed value or raises BadInput


# -- who asks, and what a command may use ------------------------------------------------

Origin = Literal["slash", "mention", "button", "cli"]


@dataclass(frozen=True)
class Invocation:
    """Who asked what, from where: the input every command receives."""

    text: str  # the command line, Slack escaping already undone
    origin: Origin = "cli"
    user_id: str = ""
    user_name: str = ""
    channel_id: str = ""
    channel_name: str = ""
    thread_ts: str | None = None
    usergroups: tuple[str, ...] = ()
    # Defaults from the context, e.g. an incident thread's cluster and scope.
    defaults: dict[str, str] = field(default_factory=dict)

    @property
    def who(self) -> str:
        """How an action is attributed: the Slack user, else the console's operator."""
        return self.user_id or self.user_name or "console"


class AlertCommands(Protocol):
    """What the ``alerts`` commands may ask of the alert service."""

    def open_incidents(self, cluster: str | None = None) -> list[IncidentSummary]: ...

    def incident_counts(self) -> Mapping[str, Mapping[str, int]]: ...

    def acknowledge(self, incident_id: int, user: str) -> Incident: ...

    def resolve(self, incident_id: int, user: str) -> Incident: ...

    def mute(self, target: str, duration: timedelta, user: str, cluster: str | None = None) -> MuteResult: ...

    def unmute(self, target: str, user: str, cluster: str | None = None) -> MuteResult: ...

    def summary(self, incident_id: int, user: str) -> Incident: ...


@dataclass
class CommandContext:
    """What a running command may use."""

    invocation: Invocation
    settings: Settings
    clusters: ClusterRegistry
    clock: Clock
    registry: Registry
    cluster: ClusterHandle | None = None  # resolved for commands that need one
    public: bool = False
    alerts: AlertCommands | None = None

    @property
    def handle(self) -> ClusterHandle:
        if self.cluster is None:
            raise RuntimeError("this command was declared without needs_cluster")
        return self.cluster



# -- declarations ----------------------------------------------------------------------

Handler = Callable[[CommandContext, "ParsedArgs"], Reply]


@dataclass(frozen=True)
class Flag:
    """``--long`` / ``-s`` option; ``takes_value`` False makes it a switch."""

    long: str
    short: str = ""
    takes_value: bool = True
    metavar: str = "VALUE"
    help: str = ""
    choices: tuple[str, ...] = ()
    default: Any = None
    parse: Validator | None = None

    @property
    def dest(self) -> str:
        return self.long.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class Arg:
    """A positional argument."""

    name: str
    help: str = ""
    optional: bool = False
    parse: Validator | None = None


@dataclass(frozen=True)
class CommandSpec:
    name: str  # "nodes", or "logs node" for a sub-command
    summary: str
    handler: Handler
    args: tuple[Arg, ...] = ()
    flags: tuple[Flag, ...] = ()
    needs_cluster: bool = True
    sensitive: bool = False  # denied unless an access rule grants it
    examples: tuple[str, ...] = ()
    # For a command that needs no cluster: `--cluster NAME`, when given, narrows it to that cluster.
    cluster_scoped: bool = False

    @property
    def family(self) -> str:
        """What access rules name besides the full name: the first word ("logs", "alerts")."""
        return self.name.split()[0]

    @property
    def usage(self) -> str:
        parts = [self.name]
        for arg in self.args:
            parts.append(f"[{arg.name}]" if arg.optional else arg.name)
        for flag in self.flags:
            name = f"{flag.short}|{flag.long}" if flag.short else flag.long
            parts.append(f"[{name} {flag.metavar}]" if flag.takes_value else f"[{name}]")
        if self.needs_cluster or self.cluster_scoped:
            parts.append("[--cluster NAME]")
        return " ".join(parts)


@dataclass
class ParsedArgs:
    """Positional values by ``Arg.name`` and flag values by ``Flag.dest``."""

    values: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def get(self, name: str, default: Any = None) -> Any:
        value = self.values.get(name)
        return default if value is None else value


class CommandSet:
    """Commands declared together (one family's module); a ``Registry`` is built from sets."""

    def __init__(self) -> None:
        self.specs: list[CommandSpec] = []

    def command(
        self,
        name: str,
        summary: str,
        *,
        args: tuple[Arg, ...] = (),
        flags: tuple[Flag, ...] = (),
        needs_cluster: bool = True,
        sensitive: bool = False,
        examples: tuple[str, ...] = (),
        cluster_scoped: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Declare the decorated function as the handler of ``name``."""

        def declare(handler: Handler) -> Handler:
            self.specs.append(
                CommandSpec(name, summary, handler, args, flags, needs_cluster, sensitive, examples, cluster_scoped)
            )
            return handler

        return declare


class Registry:
    """The commands one bot runs; help, parsing and dispatch all read this one object."""

    def __init__(self, sets: Iterable[CommandSet] = ()) -> None:
        self._specs: dict[str, CommandSpec] = {}
        for command_set in sets:
            for spec in command_set.specs:
                self.add(spec)

    def add(self, spec: CommandSpec) -> None:
        if spec.name in self._specs:
            raise ValueError(f"command {spec.name!r} declared twice")
        self._specs[spec.name] = spec

    def specs(self) -> list[CommandSpec]:
        return list(self._specs.values())

    def lookup(self, words: list[str]) -> tuple[CommandSpec | None, int]:
        """The longest declared name matching the first words, and how many words it used."""
        for length in (2, 1):
            if len(words) >= length:
                spec = self._specs.get(" ".join(words[:length]).lower())
                if spec is not None:
                    return spec, length
        return None, 0

    def subcommands(self, family: str) -> list[CommandSpec]:
        return [s for s in self._specs.values() if s.family == family and " " in s.name]

    def identify(self, text: str) -> CommandSpec | None:
        """The command a line names, without running it (None when it names none or does not parse)."""
        try:
            return parse(text, self).spec
        except BadInput:
            return None


# -- parsing -----------------------------------------------------------------------------

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
            raise BadInput(f"`{shown(words[0])}` needs a sub-command: {names}.")
        raise BadInput(f"`{shown(words[0])}` is not a command. Try `help` for the list.")
    return _parse_rest(spec, words[used:])


def _parse_rest(spec: CommandSpec, words: list[str]) -> ParsedCommand:
    flags = {f.long: f for f in spec.flags + COMMON_FLAGS}
    flags.update({f.short: f for f in spec.flags + COMMON_FLAGS if f.short})
    values: dict[str, object] = {f.dest: f.default for f in spec.flags}
    positionals: list[str] = []
    cluster: str | None = None
    public = wants_help = False
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if not (word.startswith("-") and len(word) > 1 and not word[1:].isdigit()):
            positionals.append(word)
            continue
        name, eq, inline = word.partition("=")
        flag = flags.get(name)
        if flag is None:
            raise BadInput(f"`{shown(name)}` is not an option of `{spec.name}`.", usage=spec.usage)
        value: object = True
        if not flag.takes_value:
            if eq:
                raise BadInput(f"`{flag.long}` takes no value.", usage=spec.usage)
        else:
            if eq:
                raw = inline
            elif index < len(words):
                raw = words[index]
                index += 1
            else:
                raise BadInput(f"`{flag.long}` needs a value ({flag.metavar}).", usage=spec.usage)
            value = _convert(flag, raw, spec)
        if flag.long == "--cluster":
            cluster = dns_label(str(value), "cluster name")
        elif flag.long == "--public":
            public = True
        elif flag.long == "--help":
            wants_help = True
        else:
            values[flag.dest] = value
    if wants_help:
        return ParsedCommand(spec, ParsedArgs(values), cluster, public, True)
    if len(positionals) > len(spec.args):
        extra = positionals[len(spec.args)]
        raise BadInput(f"`{spec.name}` does not take `{shown(extra)}`.", usage=spec.usage)
    for position, arg in enumerate(spec.args):
        if position < len(positionals):
            raw = positionals[position]
            values[arg.name] = arg.parse(raw) if arg.parse else raw
        elif not arg.optional:
            raise BadInput(f"`{spec.name}` needs {arg.name}.", usage=spec.usage)
        else:
            values.setdefault(arg.name, None)
    return ParsedCommand(spec, ParsedArgs(values), cluster, public, False)


def _convert(flag: Flag, raw: str, spec: CommandSpec) -> object:
    if flag.choices and raw not in flag.choices:
        raise BadInput(
            f"`{shown(raw)}` is not a choice for `{flag.long}`: one of {', '.join(flag.choices)}.", usage=spec.usage
        )
    return flag.parse(raw) if flag.parse else raw


# -- help --------------------------------------------------------------------------------


def help_reply(registry: Registry, spec: CommandSpec | None, slash: str) -> Reply:
    """One command's usage, or the list of every command the registry holds."""
    if spec is not None:
        lines = [f"*{escape(slash)} {escape(spec.name)}*: {escape(spec.summary)}", f"`{escape(slash)} {escape(spec.usage)}`"]
        plain = [f"{slash} {spec.name}: {spec.summary}", f"usage: {slash} {spec.usage}"]
        for flag in spec.flags:
            name = f"{flag.short}, {flag.long}" if flag.short else flag.long
            lines.append(f"• `{escape(name)}` {escape(flag.help)}")
            plain.append(f"  {name}  {flag.help}")
        for example in spec.examples:
            lines.append(f"e.g. `{escape(slash)} {escape(example)}`")
            plain.append(f"  e.g. {slash} {example}")
        if spec.sensitive:
            lines.append("_Sensitive: only people granted it by the bot's access rules may run it._")
            plain.append("  (sensitive: needs an access rule)")
        text = truncate("\n".join(lines), SECTION_TEXT_BUDGET)
        return Reply(text=f"Help for {spec.name}", blocks=[SectionBlock(text=MarkdownTextObject(text=text))], plain="\n".join(plain))
    lines = [f"*{escape(slash)}* commands (add `--help` to any for its options):"]
    plain = [f"{slash} commands (add --help to any for its options):"]
    for item in registry.specs():
        lines.append(f"• `{escape(item.name)}` {escape(item.summary)}{' :lock:' if item.sensitive else ''}")
        plain.append(f"  {item.name:<16} {item.summary}{' (sensitive)' if item.sensitive else ''}")
    lines.append("Common options: `--cluster NAME`, `--public` (answer in the channel).")
    plain.append("Common options: --cluster NAME, --public (answer in the channel).")
    text = truncate("\n".join(lines), SECTION_TEXT_BUDGET)
    return Reply(text="k8s-chatops help", blocks=[SectionBlock(text=MarkdownTextObject(text=text))], plain="\n".join(plain))

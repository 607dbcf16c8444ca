"""Commands are declared where they are implemented; help and parsing read the same declarations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.commands.context import CommandContext
    from bot.commands.reply import Reply

Handler = Callable[["CommandContext", "ParsedArgs"], "Reply"]
Validator = Callable[[str], Any]  # returns the parsed value or raises BadInput


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
    family: str = ""  # what access rules name: the first word ("logs", "alerts")

    @property
    def usage(self) -> str:
        parts = [self.name]
        for arg in self.args:
            parts.append(f"[{arg.name}]" if arg.optional else arg.name)
        for flag in self.flags:
            name = f"{flag.short}|{flag.long}" if flag.short else flag.long
            parts.append(f"[{name} {flag.metavar}]" if flag.takes_value else f"[{name}]")
        if self.needs_cluster:
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


class Registry:
    def __init__(self) -> None:
        self._specs: dict[str, CommandSpec] = {}

    def add(self, spec: CommandSpec) -> None:
        if spec.name in self._specs:
            raise ValueError(f"command {spec.name!r} declared twice")
        self._specs[spec.name] = spec

    def specs(self) -> list[CommandSpec]:
        return list(self._specs.values())

    def families(self) -> list[str]:
        return sorted({s.family for s in self._specs.values()})

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


registry = Registry()


def command(
    name: str,
    summary: str,
    *,
    args: tuple[Arg, ...] = (),
    flags: tuple[Flag, ...] = (),
    needs_cluster: bool = True,
    sensitive: bool = False,
    examples: tuple[str, ...] = (),
) -> Callable[[Handler], Handler]:
    """Declare a command on the module-level registry."""

    def declare(handler: Handler) -> Handler:
        registry.add(
            CommandSpec(
                name=name,
                summary=summary,
                handler=handler,
                args=args,
                flags=flags,
                needs_cluster=needs_cluster,
                sensitive=sensitive,
                examples=examples,
                family=name.split()[0],
            )
        )
        return handler

    return declare

"""Who asked what, from where: the input every command receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Origin = Literal["slash", "mention", "button", "cli"]


@dataclass(frozen=True)
class Invocation:
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

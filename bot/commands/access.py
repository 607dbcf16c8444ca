"""Who may run which command: the bot's access rules, applied by the door before a command runs.

``logs`` and ``ssh`` reach node logs and hosts, so they are denied unless a
rule grants them to the person, one of their user groups, or the channel.
Group membership lives in Slack and is looked up through ``usergroup_lookup``
(see ``bot.slack.app.SlackUsergroups``); a failed lookup denies rather than allows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.commands.registry import CommandSpec, Invocation
from bot.settings import AccessConfig, AccessRule

UsergroupLookup = Callable[[str], Iterable[str]]  # group handle or ID -> member user IDs


def refusal_for(spec: CommandSpec, sensitive: bool) -> str:
    if sensitive:
        return (
            f"`{spec.family}` is restricted: ask an admin to grant it to you, your user group or this channel "
            "in the bot's access rules."
        )
    return (
        f"`{spec.family}` needs an access rule here: ask an admin to grant it to you, your user group or this "
        "channel in the bot's access rules."
    )


class AccessPolicy:
    """The door's authorization step: None to allow, else the one sentence saying what is needed.

    ``is_sensitive`` also decides whether an answer may be seen by others (a
    mention answered in a thread), so access and privacy follow one rule.
    """

    def __init__(self, config: AccessConfig, usergroup_lookup: UsergroupLookup | None = None) -> None:
        self._config = config
        self._sensitive = {name.lower() for name in config.sensitive}
        self.usergroup_lookup = usergroup_lookup

    def is_sensitive(self, spec: CommandSpec) -> bool:
        return spec.sensitive or spec.family in self._sensitive or spec.name in self._sensitive

    def __call__(self, spec: CommandSpec, invocation: Invocation) -> str | None:
        sensitive = self.is_sensitive(spec)
        if not sensitive and self._config.open_to_all:
            return None
        if invocation.origin == "cli":
            return None  # the local console is run by whoever operates the bot itself
        if any(self._grants(rule, invocation) for rule in self._rules_for(spec)):
            return None
        return refusal_for(spec, sensitive)

    def allowed_at_once(self, spec: CommandSpec, invocation: Invocation) -> bool:
        """Whether the rules let ``invocation`` run ``spec`` without asking Slack who is in which user group.

        For the acknowledgement, which must be sent within three seconds: False
        means "refused, or not known yet", never a refusal by itself.
        """
        if not self.is_sensitive(spec) and self._config.open_to_all:
            return True
        if invocation.origin == "cli":
            return True
        return any(self._grants(rule, invocation, ask_slack=False) for rule in self._rules_for(spec))

    def _rules_for(self, spec: CommandSpec) -> list[AccessRule]:
        wanted = {"*", spec.family, spec.name}
        return [r for r in self._config.rules if wanted & {c.strip().lower() for c in r.commands}]

    def _grants(self, rule: AccessRule, invocation: Invocation, *, ask_slack: bool = True) -> bool:
        if invocation.user_id and invocation.user_id in rule.users:
            return True
        channel_refs = {invocation.channel_id, invocation.channel_name, f"#{invocation.channel_name}"} - {"", "#"}
        if channel_refs & set(rule.channels):
            return True
        known_groups = set(invocation.usergroups)
        for group in rule.usergroups:
            if group in known_groups or group.lstrip("@") in known_groups:
                return True
            if (
                ask_slack
                and self.usergroup_lookup is not None
                and invocation.user_id
                and invocation.user_id in set(self.usergroup_lookup(group))
            ):
                return True
        return False

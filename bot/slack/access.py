"""Who may run which command: the bot's access rules, applied before a command runs.

``logs`` and ``ssh`` reach node logs and hosts, so they are denied unless a
rule grants them to the person, one of their user groups, or the channel.
Group membership lives in Slack, so it is looked up there and cached for a
while (a membership change takes effect within ``ttl`` seconds), and a failed
lookup denies rather than allows.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.commands.invocation import Invocation
from bot.commands.registry import CommandSpec
from bot.metrics import Metrics, metrics as default_metrics
from bot.settings import AccessConfig, AccessRule

log = logging.getLogger(__name__)

UsergroupLookup = Callable[[str], Iterable[str]]  # group handle or ID -> member user IDs
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
DEFAULT_MEMBERSHIP_TTL = 300.0


class SlackUsergroups:
    """Member lists of Slack user groups, fetched on demand and kept for ``ttl`` seconds."""

    def __init__(
        self,
        client: WebClient,
        *,
        ttl: float = DEFAULT_MEMBERSHIP_TTL,
        monotonic: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
    ) -> None:
        self._client = client
        self._ttl = ttl
        self._monotonic = monotonic
        self._metrics = metrics or default_metrics
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    def __call__(self, group: str) -> frozenset[str]:
        now = self._monotonic()
        with self._lock:
            cached = self._cache.get(group)
            if cached and now - cached[0] < self._ttl:
                return cached[1]
        members = self._fetch(group)
        with self._lock:
            self._cache[group] = (now, members)
        return members

    def _fetch(self, group: str) -> frozenset[str]:
        try:
            group_id = group if _GROUP_ID.match(group) else self._id_of_handle(group.lstrip("@"))
            if group_id is None:
                log.warning("access rule names user group %r, which Slack does not know", group)
                return frozenset()
            answer = self._client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown"))
            self._metrics.slack_api_error("usergroups", error)
            log.warning("cannot read the members of user group %r (%s); treating it as empty", group, error)
            return frozenset()
        return frozenset(answer.get("users") or [])

    def _id_of_handle(self, handle: str) -> str | None:
        answer = self._client.usergroups_list()
        for item in answer.get("usergroups") or []:
            if item.get("handle") == handle:
                return str(item["id"])
        return None


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
    """The Router's ``authorize``: None to allow, else the one sentence saying what is needed."""

    def __init__(self, config: AccessConfig, usergroup_lookup: UsergroupLookup | None = None) -> None:
        self._config = config
        self._sensitive = {name.lower() for name in config.sensitive}
        self._lookup = usergroup_lookup

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

    def _rules_for(self, spec: CommandSpec) -> list[AccessRule]:
        wanted = {"*", spec.family, spec.name}
        return [r for r in self._config.rules if wanted & {c.strip().lower() for c in r.commands}]

    def _grants(self, rule: AccessRule, invocation: Invocation) -> bool:
        if invocation.user_id and invocation.user_id in rule.users:
            return True
        channel_refs = {invocation.channel_id, invocation.channel_name, f"#{invocation.channel_name}"} - {"", "#"}
        if channel_refs & set(rule.channels):
            return True
        known_groups = set(invocation.usergroups)
        for group in rule.usergroups:
            if group in known_groups or group.lstrip("@") in known_groups:
                return True
            if self._lookup is not None and invocation.user_id and invocation.user_id in set(self._lookup(group)):
                return True
        return False

"""Who may run which command: the access rules on their own, with Slack's user groups."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.blocks import Reply
from bot.commands.access import AccessPolicy
from bot.commands.registry import CommandSpec, Invocation
from bot.metrics import Metrics
from bot.settings import AccessConfig, AccessRule
from bot.slack.app import SlackUsergroups
from sim.server import SimServer
from sim.world import World


def spec(name: str, *, sensitive: bool = False) -> CommandSpec:
    return CommandSpec(name, "", lambda ctx, args: Reply(text=""), sensitive=sensitive)


def asked(user_id: str = "U1", channel_id: str = "C1", channel_name: str = "ops", **extra: object) -> Invocation:
    return Invocation(text="x", origin="slash", user_id=user_id, channel_id=channel_id, channel_name=channel_name, **extra)  # type: ignore[arg-type]


LOGS, SSH, NODES, LOGS_NODE = spec("logs"), spec("ssh"), spec("nodes"), spec("logs node")


def test_sensitive_commands_are_refused_without_a_rule() -> None:
    policy = AccessPolicy(AccessConfig())
    assert policy(LOGS, asked()) == (
        "`logs` is restricted: ask an admin to grant it to you, your user group or this channel "
        "in the bot's access rules."
    )
    assert policy(SSH, asked()) is not None
    assert policy(NODES, asked()) is None


def test_a_rule_grants_by_user_by_channel_id_or_name_and_by_family() -> None:
    policy = AccessPolicy(AccessConfig(rules=[
        AccessRule(commands=["logs"], users=["U7"]),
        AccessRule(commands=["ssh"], channels=["#sre"]),
        AccessRule(commands=["*"], channels=["C9"]),
    ]))
    assert policy(LOGS_NODE, asked(user_id="U7")) is None  # "logs" covers its sub-commands
    assert policy(LOGS, asked(user_id="U8")) is not None
    assert policy(SSH, asked(channel_id="C5", channel_name="sre")) is None
    assert policy(SSH, asked(channel_id="C5", channel_name="ops")) is not None
    assert policy(LOGS, asked(channel_id="C9")) is None


def test_a_command_declared_sensitive_is_restricted_even_if_not_listed() -> None:
    assert AccessPolicy(AccessConfig(sensitive=[]))(spec("secrets", sensitive=True), asked()) is not None


def test_closed_mode_needs_a_rule_for_every_command() -> None:
    policy = AccessPolicy(AccessConfig(open_to_all=False, rules=[AccessRule(commands=["nodes"], users=["U1"])]))
    assert policy(NODES, asked(user_id="U1")) is None
    refusal = policy(NODES, asked(user_id="U2"))
    assert refusal is not None and refusal.startswith("`nodes` needs an access rule")


def test_the_local_console_is_not_restricted() -> None:
    assert AccessPolicy(AccessConfig())(LOGS, Invocation(text="logs", origin="cli")) is None


@pytest.fixture
def slack() -> Iterator[tuple[World, WebClient]]:
    world = World()
    with SimServer(world) as server:
        assert server.endpoints is not None
        yield world, WebClient(token=world.slack.bot_token, base_url=server.endpoints.slack)


def test_usergroup_members_are_granted_and_the_membership_is_cached(slack: tuple[World, WebClient]) -> None:
    world, client = slack
    carol = world.slack.add_user("carol", groups=["sre"])
    dave = world.slack.add_user("dave")
    sre = world.slack.add_usergroup("sre")
    now = [0.0]
    lookup = SlackUsergroups(client, ttl=60, monotonic=lambda: now[0])
    policy = AccessPolicy(AccessConfig(rules=[AccessRule(commands=["logs"], usergroups=[sre])]), lookup)
    assert policy(LOGS, asked(user_id=carol)) is None
    assert policy(LOGS, asked(user_id=dave)) is not None
    assert len(world.slack.calls_to("usergroups.users.list")) == 1
    world.slack.add_user("dave", groups=["sre"])
    assert policy(LOGS, asked(user_id=dave)) is not None  # still the cached membership
    now[0] = 61.0
    assert policy(LOGS, asked(user_id=dave)) is None
    assert len(world.slack.calls_to("usergroups.users.list")) == 2


def test_a_rule_may_name_a_usergroup_by_its_handle(slack: tuple[World, WebClient]) -> None:
    world, client = slack
    erin = world.slack.add_user("erin", groups=["platform-oncall"])
    frank = world.slack.add_user("frank")
    policy = AccessPolicy(AccessConfig(rules=[AccessRule(commands=["ssh"], usergroups=["platform-oncall"])]), SlackUsergroups(client))
    assert policy(SSH, asked(user_id=erin)) is None
    assert policy(SSH, asked(user_id=frank)) is not None
    assert world.slack.calls_to("usergroups.list"), "the handle was resolved to the group's ID through Slack"


def test_a_failed_membership_lookup_denies_and_is_counted(slack: tuple[World, WebClient]) -> None:
    world, client = slack
    carol = world.slack.add_user("carol", groups=["sre"])
    metrics = Metrics()
    policy = AccessPolicy(
        AccessConfig(rules=[AccessRule(commands=["logs"], usergroups=["S9999999"])]),
        SlackUsergroups(client, metrics=metrics),
    )
    assert policy(LOGS, asked(user_id=carol)) is not None
    assert metrics.registry.get_sample_value(
        "k8s_chatops_slack_api_errors_total", {"method": "usergroups", "error": "no_such_subteam"}
    ) == 1.0


def test_groups_already_known_on_the_invocation_are_honoured() -> None:
    policy = AccessPolicy(AccessConfig(rules=[AccessRule(commands=["ssh"], usergroups=["@oncall"])]))
    assert policy(SSH, asked(usergroups=("oncall",))) is None


def test_the_ack_decides_from_the_rules_alone_and_never_asks_slack_about_groups() -> None:
    def lookup(group: str) -> frozenset[str]:
        raise AssertionError("the acknowledgement must not wait for Slack")

    policy = AccessPolicy(
        AccessConfig(rules=[AccessRule(commands=["logs"], users=["U1"]), AccessRule(commands=["ssh"], usergroups=["oncall"])]),
        usergroup_lookup=lookup,
    )
    assert policy.allowed_at_once(NODES, asked("U9")), "open to all"
    assert policy.allowed_at_once(LOGS, asked("U1")), "granted by user"
    assert not policy.allowed_at_once(LOGS, asked("U9")), "refused"
    assert not policy.allowed_at_once(SSH, asked("U1")), "only a user group could grant it: not known at once"
    assert policy.allowed_at_once(SSH, asked("U1", usergroups=("oncall",))), "a group already known on the request"

"""Mentions and buttons end to end, and Slack pushing back with 429."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bot.blocks import Reply
from bot.commands.registry import Arg, CommandSpec
from bot.settings import AccessConfig, AccessRule
from sim.slack.records import Ephemeral, Message
from sim.world import World
from tests.harness import BotUnderTest, SampleCommands, wait_until

INCIDENT_DEFAULTS = {"cluster": "prod", "scope": "zone=us-west1-b"}


@pytest.fixture(scope="module")
def world() -> World:
    world = World()
    world.slack.add_user("bob")
    return world


@pytest.fixture(scope="module")
def incident_threads() -> dict[tuple[str, str], dict[str, str]]:
    """Stands in for the incident engine: (channel, thread ts) -> the thread's defaults."""
    return {}


@pytest.fixture(scope="module")
def bot(world: World, incident_threads: dict[tuple[str, str], dict[str, str]]) -> Iterator[BotUnderTest]:
    def thread_defaults(channel: str, thread_ts: str) -> dict[str, str]:
        return incident_threads.get((channel, thread_ts), {})

    with BotUnderTest(
        world,
        registry=SampleCommands().registry,
        access=AccessConfig(),
        clusters=[],
        thread_defaults=thread_defaults,
    ) as running:
        yield running


def retries(bot: BotUnderTest, method: str | None = None) -> float:
    """Web API retries the bot's client made, of one method or of all."""
    return sum(
        sample.value
        for metric in bot.metrics.registry.collect()
        for sample in metric.samples
        if sample.name == "k8s_chatops_slack_retries_total" and method in (None, sample.labels.get("method"))
    )


def incident_parent(world: World, threads: dict[tuple[str, str], dict[str, str]]) -> str:
    parent = world.slack.post_message("alerts", user=world.slack.bot_user_id, text="Pods pending on prod")
    threads[(world.slack.channel_id("alerts"), parent.ts)] = INCIDENT_DEFAULTS
    return parent.ts


@pytest.mark.parametrize("via", ["socket", "http"])
def test_a_mention_is_answered_in_a_new_thread_under_it(bot: BotUnderTest, world: World, via: str) -> None:
    reply = bot.mention("echo hello", via=via)  # type: ignore[arg-type]
    assert isinstance(reply, Message)
    assert reply.user == world.slack.bot_user_id and reply.is_reply
    assert reply.all_text().startswith("echo: hello")


def test_a_mention_in_an_incident_thread_answers_there_with_its_defaults(
    bot: BotUnderTest, world: World, incident_threads: dict[tuple[str, str], dict[str, str]]
) -> None:
    parent = incident_parent(world, incident_threads)
    reply = bot.mention("echo zone", thread_ts=parent)
    assert isinstance(reply, Message) and reply.thread_ts == parent
    assert "cluster=prod,scope=zone=us-west1-b" in reply.text


def test_a_sensitive_command_by_mention_is_refused_privately(bot: BotUnderTest, world: World) -> None:
    reply = bot.mention("logs", user="bob")
    assert isinstance(reply, Ephemeral) and reply.user == world.slack.user_id("bob")
    assert "`logs` is restricted" in reply.all_text()


def test_a_run_command_button_runs_its_command_ephemerally(bot: BotUnderTest) -> None:
    answer = bot.click("run_command:1", "echo from-a-button")
    assert answer.response_type == "ephemeral"
    assert answer.all_text().startswith("echo: from-a-button")


def test_a_button_on_an_incident_message_runs_with_the_incident_defaults(
    bot: BotUnderTest, world: World, incident_threads: dict[tuple[str, str], dict[str, str]]
) -> None:
    parent = incident_parent(world, incident_threads)
    answer = bot.click("run_command", "echo drill", message_ts=parent)
    assert "echo: drill cluster=prod" in answer.text


def test_a_button_inside_a_thread_answers_in_that_thread(
    bot: BotUnderTest, world: World, incident_threads: dict[tuple[str, str], dict[str, str]]
) -> None:
    parent = incident_parent(world, incident_threads)
    answer = bot.click("run_command:2", "echo in-thread", thread_ts=parent)
    assert answer.thread_ts == parent
    assert "cluster=prod" in answer.text


def test_a_rate_limited_answer_is_retried_and_still_arrives(bot: BotUnderTest, world: World) -> None:
    retries_before = retries(bot)
    rate_limited_before = len([c for c in world.slack.calls if c.status == 429])
    with world.lock:
        world.faults.slack_retry_after = 1
        world.faults.slack_rate_limited = 1
    reply = bot.mention("echo patience", channel="ops")
    assert reply.all_text().startswith("echo: patience")
    assert len([c for c in world.slack.calls if c.status == 429]) == rate_limited_before + 1
    assert retries(bot) == retries_before + 1


def test_an_answer_slack_took_before_the_connection_dropped_is_shown_once(bot: BotUnderTest, world: World) -> None:
    looked_before = len(world.slack.calls_to("conversations.replies"))
    with world.lock:
        world.faults.slack_drop_after_accept["chat.postMessage"] = 1
    reply = bot.mention("echo just once", channel="ops")
    assert isinstance(reply, Message) and reply.thread_ts
    world.slack.wait_for(lambda: len(world.slack.calls_to("conversations.replies")) > looked_before, 20.0)
    answers = [m for m in world.slack.thread("ops", reply.thread_ts) if m.user == world.slack.bot_user_id]
    assert [m.ts for m in answers] == [reply.ts], "looked for in the thread and found: not posted again"
    assert retries(bot, "chat.postMessage") == 0, "the client itself never re-sent the post"


def test_a_private_answer_whose_outcome_is_unknown_is_not_sent_again(bot: BotUnderTest, world: World) -> None:
    def failures() -> float:
        sample = {"method": "chat.postEphemeral", "error": "RemoteDisconnected"}
        return bot.metrics.registry.get_sample_value("k8s_chatops_slack_api_errors_total", sample) or 0.0

    before = failures()
    with world.lock:
        world.faults.slack_drop_after_accept["chat.postEphemeral"] = 1
    refusal = bot.mention("logs", channel="ops")
    assert isinstance(refusal, Ephemeral) and "restricted" in refusal.text
    # Polled: the count is the bot's, not Slack's record, whose wait_for would only look again on a record change.
    wait_until(lambda: failures() > before, 20.0, "the lost answer being counted as a failure")
    assert [e for e in world.slack.ephemerals("ops") if e.thread_ts == refusal.thread_ts] == [refusal]
    assert retries(bot, "chat.postEphemeral") == 0


@pytest.mark.parametrize("via", ["socket", "http"])
def test_a_button_whose_command_fails_is_acked_and_answered_with_a_short_apology(
    bot: BotUnderTest, world: World, via: str
) -> None:
    message = world.slack.post_message("alerts", user=world.slack.bot_user_id, text="incident")
    assert bot.sender is not None
    delivery = bot.sender.block_action("run_command:1", "explode", message_ts=message.ts, via=via)  # type: ignore[arg-type]
    assert delivery.acked
    [answer] = world.slack.wait_for(lambda: world.slack.responses(delivery.response_url_id), 20.0)
    assert answer.response_type == "ephemeral"
    assert "Something went wrong on the bot's side" in answer.text
    assert "secret-internal-detail" not in json.dumps(answer.blocks) + answer.text


def test_a_command_made_sensitive_by_its_full_name_is_answered_privately_in_a_thread() -> None:
    """Privacy of a mention's answer follows the access policy's rule, sub-commands by full name included."""
    world = World()  # a world of its own: the module's world already has a simulated Slack serving another bot
    world.slack.add_user("bob")
    commands = SampleCommands()
    commands.registry.add(CommandSpec("logs node", "A node's logs", lambda ctx, args: Reply(text="kube-proxy lines"),
                                      args=(Arg("NAME"),), needs_cluster=False))
    access = AccessConfig(sensitive=["logs node"], rules=[AccessRule(commands=["logs node"], users=[world.slack.user_id("bob")])])
    with BotUnderTest(world, registry=commands.registry, access=access, clusters=[], transports=("socket",)) as running:
        granted = running.mention("logs node gke-a", user="bob")
        assert isinstance(granted, Ephemeral) and granted.user == world.slack.user_id("bob")
        assert granted.text == "kube-proxy lines"
        public = running.mention("echo anyone may see this", user="bob")
        assert isinstance(public, Message), "commands not made sensitive still answer in the thread for all"

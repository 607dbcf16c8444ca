"""The real commands through Slack, on the seed's incident: a zonal cluster short of nodes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sim import scenario
from sim.world import World
from tests.harness import BotUnderTest


@pytest.fixture(scope="module")
def bot() -> Iterator[BotUnderTest]:
    world = World()
    scenario.load(world, "zonal-shortfall")
    world.slack.add_user("mallory")
    with BotUnderTest(world) as running:
        yield running


def test_nodes_names_the_zones_whose_vms_never_registered(bot: BotUnderTest) -> None:
    answer = bot.slash("nodes")
    text = answer.all_text()
    assert "us-west1-b" in text and "us-west1-c" in text
    assert "never registered" in text


def test_node_logs_are_refused_to_someone_without_a_grant(bot: BotUnderTest) -> None:
    answer = bot.slash("logs node gke-shop-prod-default-pool-x", user="mallory")
    assert answer.response_type == "ephemeral"
    assert "`logs` is restricted" in answer.all_text()


def test_a_mention_answers_with_the_same_command_set(bot: BotUnderTest) -> None:
    reply = bot.mention("clusters", channel="ops")
    assert "shop-prod" in reply.all_text()

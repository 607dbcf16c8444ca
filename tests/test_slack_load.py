"""Acks never wait for answers: many slash commands at once, while every answer is still being worked on.

A command here blocks until the test releases it, so answers pile up for as
long as the test wants; what must not pile up is the acknowledgements
(Slack drops a request not acknowledged within 3 seconds).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot.blocks import Reply
from bot.commands.registry import CommandContext, CommandSpec, ParsedArgs, Registry
from bot.slack.delivery import BUSY_TEXT
from sim.world import World
from tests.harness import ANSWER_TIMEOUT, BotUnderTest

BURST = 30


class Gate:
    """A command that answers only once the test opens the gate."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.registry = Registry()
        self.registry.add(CommandSpec("slow", "Waits for the test", self._slow, needs_cluster=True))

    def _slow(self, ctx: CommandContext, args: ParsedArgs) -> Reply:
        self.open.wait(ANSWER_TIMEOUT)
        return Reply(text="done", blocks=[SectionBlock(text=MarkdownTextObject(text="done"))], plain="done")


def bot_with(gate: Gate, workers: int, backlog: int) -> BotUnderTest:
    return BotUnderTest(
        World(), registry=gate.registry, clusters=None, settings_overrides={"slack": {"answer_workers": workers, "answer_backlog": backlog}}
    )


@pytest.fixture
def gate() -> Iterator[Gate]:
    gate = Gate()
    yield gate
    gate.open.set()


@pytest.mark.parametrize("via", ["http", "socket"])
def test_a_burst_of_slow_commands_is_acknowledged_while_every_answer_is_still_pending(gate: Gate, via: str) -> None:
    with bot_with(gate, workers=2, backlog=100) as bot:
        with ThreadPoolExecutor(max_workers=BURST) as users:
            deliveries = list(users.map(lambda _: bot.send_slash("slow", via=via), range(BURST)))  # type: ignore[arg-type]
        assert all(d.acked for d in deliveries), [d.body for d in deliveries if not d.acked]
        assert all("Working on `slow`" in str(d.body) for d in deliveries)
        assert not any(bot.world.slack.responses(d.response_url_id)[1:] for d in deliveries), "no answer yet"
        gate.open.set()
        for delivery in deliveries:
            assert bot.answer_to(delivery).text == "done"
        acks = bot.metrics.registry.get_sample_value("k8s_chatops_ack_seconds_count", {"kind": "slash"})
        within = bot.metrics.registry.get_sample_value("k8s_chatops_ack_seconds_bucket", {"kind": "slash", "le": "3.0"})
        assert acks == within == BURST, "every ack measured, and each within Slack's three seconds"


def test_past_the_backlog_a_request_is_told_at_once_that_the_bot_is_busy(gate: Gate) -> None:
    with bot_with(gate, workers=1, backlog=1) as bot:
        first, second = bot.send_slash("slow", via="http"), bot.send_slash("slow", via="http")
        third = bot.send_slash("slow", via="http")
        assert first.acked and second.acked and third.acked
        assert "Working on" in str(first.body) and "Working on" in str(second.body)
        assert BUSY_TEXT in str(third.body)
        assert bot.metrics.registry.get_sample_value("k8s_chatops_busy_refusals_total", {"kind": "slash"}) == 1
        gate.open.set()
        assert bot.answer_to(first).text == "done" and bot.answer_to(second).text == "done"
        assert bot.slash("slow", via="http").text == "done", "room again once the answers are out"

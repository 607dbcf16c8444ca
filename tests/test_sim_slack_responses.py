"""response_url endpoints and the workspace record, driven by slack_sdk's WebhookClient."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk.webhook import WebhookClient

from sim.server import SimServer
from sim.world import World


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def root(world: World) -> Iterator[str]:
    server = SimServer(world)
    endpoints = server.start()
    yield endpoints.slack_root
    server.stop()


def hook(root: str, url_id: str) -> WebhookClient:
    return WebhookClient(f"{root}response/{url_id}")


def test_an_ephemeral_answer_reaches_only_the_asking_user(world: World, root: str) -> None:
    alice = world.slack.user_id("alice")
    url = world.slack.new_response_url("ops", alice)
    answer = hook(root, url.id).send(text="3 nodes Ready", response_type="ephemeral")
    assert answer.status_code == 200
    [post] = world.slack.responses(url.id)
    assert (post.text, post.response_type, post.via) == ("3 nodes Ready", "ephemeral", "response_url")
    assert [e.text for e in world.slack.ephemerals(channel="ops", user="alice")] == ["3 nodes Ready"]
    assert world.slack.messages("ops") == []


def test_an_in_channel_answer_can_go_to_a_thread(world: World, root: str) -> None:
    parent = world.slack.post_message("alerts", user=world.slack.bot_user_id, text="incident")
    url = world.slack.new_response_url("alerts", world.slack.user_id("alice"))
    hook(root, url.id).send_dict({"text": "timeline", "response_type": "in_channel", "thread_ts": parent.ts})
    assert [m.text for m in world.slack.thread("alerts", parent.ts)] == ["timeline"]


def test_replace_original_edits_the_clicked_message(world: World, root: str) -> None:
    parent = world.slack.post_message("alerts", user=world.slack.bot_user_id, text="firing")
    url = world.slack.new_response_url("alerts", world.slack.user_id("alice"), message_ts=parent.ts)
    hook(root, url.id).send(text="acknowledged", replace_original=True)
    [message] = world.slack.messages("alerts")
    assert message.text == "acknowledged"
    assert [v.text for v in message.edits] == ["firing"]


def test_invalid_answers_are_refused_and_recorded(world: World, root: str) -> None:
    url = world.slack.new_response_url("ops", world.slack.user_id("alice"))
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    answer = hook(root, url.id).send(text="too long", blocks=blocks)
    assert answer.status_code == 400
    [post] = world.slack.responses(url.id)
    assert post.error == "invalid_blocks"
    assert world.slack.ephemerals() == []


def test_an_unknown_response_url_answers_404(root: str) -> None:
    assert hook(root, "R0nothing").send(text="hello").status_code == 404


def test_wait_for_gives_up_with_a_timeout_error(world: World) -> None:
    with pytest.raises(TimeoutError):
        world.slack.wait_for(lambda: world.slack.messages("ops"), timeout=0.05)


def test_wait_for_returns_what_the_predicate_found(world: World) -> None:
    world.slack.post_message("ops", user=world.slack.user_id("alice"), text="hi")
    [message] = world.slack.wait_for(lambda: world.slack.messages("ops"))
    assert message.text == "hi"

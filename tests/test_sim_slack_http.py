"""Signed HTTP delivery to a real slack_bolt app served by waitress through bolt's WSGI adapter."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import waitress
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from sim.server import SimServer
from sim.slack.sender import SlackSender
from sim.slack.signing import signature
from sim.world import World


@dataclass
class Stage:
    world: World
    sender: SlackSender


def build_bot(world: World, server: SimServer) -> App:
    assert server.endpoints is not None
    app = App(
        client=WebClient(token=world.slack.bot_token, base_url=server.endpoints.slack),
        signing_secret=world.slack.signing_secret,
    )

    @app.command("/k8s")
    def command(ack, respond, command):  # type: ignore[no-untyped-def]
        ack()
        respond(response_type="in_channel", text=f"{command['text']} for {command['user_name']}")

    @app.action("resolve")
    def resolve(ack, respond):  # type: ignore[no-untyped-def]
        ack()
        respond(delete_original=True)

    @app.event("app_mention")
    def mention(event, say):  # type: ignore[no-untyped-def]
        say(text="on it", thread_ts=event["ts"])

    return app


@pytest.fixture(scope="module")
def stage() -> Iterator[Stage]:
    world = World()
    server = SimServer(world)
    server.start()
    wsgi = waitress.create_server(SlackRequestHandler(build_bot(world, server)), host="127.0.0.1", port=0, threads=2)
    serving = threading.Thread(target=wsgi.run, name="bolt-http", daemon=True)
    serving.start()
    bot_url = f"http://127.0.0.1:{wsgi.effective_port}/slack/events"  # type: ignore[union-attr]
    yield Stage(world, SlackSender(world, server, bot_url=bot_url))
    wsgi.close()
    server.stop()


def test_a_signed_slash_command_is_accepted_and_answered(stage: Stage) -> None:
    slack = stage.world.slack
    delivery = stage.sender.slash_command("/k8s", "nodes", channel="ops", via="http")
    assert delivery.status == 200
    [answer] = slack.wait_for(lambda: slack.responses(delivery.response_url_id))
    assert answer.response_type == "in_channel"
    assert [m.text for m in slack.messages("ops")] == ["nodes for alice"]


def test_a_bad_signature_is_rejected(stage: Stage) -> None:
    forged = signature("not-the-secret", str(int(time.time())), "anything")
    delivery = stage.sender.slash_command("/k8s", "nodes", via="http", signature=forged)
    assert delivery.status == 401
    assert stage.world.slack.responses(delivery.response_url_id) == []


def test_an_old_timestamp_is_rejected_even_when_signed(stage: Stage) -> None:
    ten_minutes_ago = int(time.time()) - 600
    delivery = stage.sender.slash_command("/k8s", "nodes", via="http", timestamp=ten_minutes_ago)
    assert delivery.status == 401


def test_a_button_click_over_http_can_delete_the_message(stage: Stage) -> None:
    slack = stage.world.slack
    slack.add_channel("incidents")
    parent = slack.post_message("incidents", user=slack.bot_user_id, text="node NotReady")
    delivery = stage.sender.block_action("resolve", "inc-2", channel="incidents", message_ts=parent.ts, via="http")
    assert delivery.status == 200
    slack.wait_for(lambda: slack.responses(delivery.response_url_id))
    assert slack.messages("incidents") == []


def test_a_mention_over_http_is_answered_in_a_thread(stage: Stage) -> None:
    slack = stage.world.slack
    slack.add_channel("mentions")
    delivery = stage.sender.app_mention("help", channel="mentions", via="http")
    assert delivery.status == 200
    [answer] = slack.wait_for(lambda: slack.thread("mentions", delivery.message_ts))
    assert answer.text == "on it"


def test_a_bot_that_is_down_does_not_ack(stage: Stage) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        nobody = f"http://127.0.0.1:{probe.getsockname()[1]}/slack/events"
    delivery = stage.sender.slash_command("/k8s", "nodes", via="http", url=nobody)
    assert not delivery.acked and delivery.status is None

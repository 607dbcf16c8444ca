"""Socket Mode against a real slack_bolt app connected with its builtin SocketModeHandler."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.socket_mode import SocketModeClient

from sim.server import SimServer
from sim.slack.records import Message
from sim.slack.sender import SlackSender
from sim.slack.workspace import SlackWorkspace
from sim.world import World


@dataclass
class Stage:
    """One simulated Slack with the bot connected, shared by the tests that only talk to it."""

    world: World
    server: SimServer
    sender: SlackSender

    @property
    def slack(self) -> SlackWorkspace:
        return self.world.slack


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def server(world: World) -> Iterator[SimServer]:
    server = SimServer(world)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stage() -> Iterator[Stage]:
    """Connecting and closing a Socket Mode client costs about a second, so these tests share one."""
    world = World()
    server = SimServer(world)
    server.start()
    sender = SlackSender(world, server)
    handler = connect_bot(world, server)
    yield Stage(world, server, sender)
    disconnect_bot(sender, handler)
    server.stop()


@pytest.fixture
def channel(stage: Stage, request: pytest.FixtureRequest) -> str:
    """A channel of the test's own, so shared-stage tests read only their own record."""
    return stage.slack.add_channel(request.node.name.replace("_", "-")[:60])


def build_bot(world: World, server: SimServer) -> App:
    """A tiny bot: answers /k8s through respond(), buttons by replacing, mentions in the thread."""
    assert server.endpoints is not None
    app = App(client=WebClient(token=world.slack.bot_token, base_url=server.endpoints.slack))

    @app.command("/k8s")
    def command(ack, respond, command):  # type: ignore[no-untyped-def]
        ack()
        respond(f"you asked for {command['text']} in {command['channel_name']}")

    @app.command("/k8s-quick")
    def quick(ack):  # type: ignore[no-untyped-def]
        ack(text="working on it")

    @app.action("acknowledge")
    def acknowledge(ack, respond, body):  # type: ignore[no-untyped-def]
        ack()
        respond(replace_original=True, text=f"acknowledged by <@{body['user']['id']}> ({body['actions'][0]['value']})")

    @app.event("app_mention")
    def mention(event, say):  # type: ignore[no-untyped-def]
        say(text=f"heard: {event['text']}", thread_ts=event.get("thread_ts") or event["ts"])

    return app


def connect_bot(world: World, server: SimServer) -> SocketModeHandler:
    handler = SocketModeHandler(build_bot(world, server), world.slack.app_token, auto_reconnect_enabled=False)
    opened = world.slack.socket.connections_opened
    handler.connect()
    world.slack.wait_for(lambda: world.slack.socket.connections_opened > opened)
    return handler


def disconnect_bot(sender: SlackSender, handler: SocketModeHandler) -> None:
    # closing from the server side first spares the client its blocking read timeout
    sender.drop_socket_connections()
    handler.close()


def test_a_slash_command_is_acked_and_answered_at_the_response_url(stage: Stage, channel: str) -> None:
    bob = stage.slack.add_user("bob")
    delivery = stage.sender.slash_command("/k8s", "nodes", user="bob", channel=channel)
    assert delivery.acked and delivery.within_deadline
    [answer] = stage.slack.wait_for(lambda: stage.slack.responses(delivery.response_url_id))
    name = stage.slack.channel(channel).name
    assert answer.text == f"you asked for nodes in {name}"
    assert answer.response_type == "ephemeral"
    [seen] = stage.slack.ephemerals(channel=channel, user=bob)
    assert seen.text == answer.text


def test_an_ack_with_text_is_shown_to_the_user(stage: Stage, channel: str) -> None:
    delivery = stage.sender.slash_command("/k8s-quick", "", channel=channel)
    assert delivery.body == {"text": "working on it"}
    [answer] = stage.slack.responses(delivery.response_url_id)
    assert answer.via == "ack" and answer.text == "working on it"
    assert [e.text for e in stage.slack.ephemerals(channel=channel)] == ["working on it"]


def test_a_button_click_can_replace_the_clicked_message(stage: Stage, channel: str) -> None:
    slack = stage.slack
    button = {"type": "button", "action_id": "acknowledge", "text": {"type": "plain_text", "text": "Ack"}}
    blocks = [{"type": "actions", "block_id": "incident", "elements": [button]}]
    parent = slack.post_message(channel, user=slack.bot_user_id, text="3 nodes missing", blocks=blocks)
    delivery = stage.sender.block_action("acknowledge", "inc-1", channel=channel, message_ts=parent.ts)
    assert delivery.acked
    slack.wait_for(lambda: slack.responses(delivery.response_url_id))
    [message] = slack.messages(channel)
    assert message.text == f"acknowledged by <@{slack.user_id('alice')}> (inc-1)"
    assert [v.text for v in message.edits] == ["3 nodes missing"]


def test_a_mention_in_a_thread_is_answered_in_that_thread(stage: Stage, channel: str) -> None:
    slack = stage.slack
    parent = slack.post_message(channel, user=slack.bot_user_id, text="incident")
    delivery = stage.sender.app_mention("pods", channel=channel, thread_ts=parent.ts)
    assert delivery.acked

    def answered() -> list[Message]:
        replies = slack.thread(channel, parent.ts)
        return replies if len(replies) == 2 else []

    mention, answer = slack.wait_for(answered)
    assert mention.text == f"<@{slack.bot_user_id}> pods"
    assert answer.text == f"heard: <@{slack.bot_user_id}> pods"
    assert answer.user == slack.bot_user_id


def test_the_app_reconnects_when_slack_asks_for_a_refresh(world: World, server: SimServer) -> None:
    sender = SlackSender(world, server)
    handler = connect_bot(world, server)
    try:
        assert sender.request_socket_refresh() == 1
        hub = world.slack.socket
        world.slack.wait_for(lambda: hub.connections_opened == 2 and hub.connection_count == 1)
        delivery = sender.slash_command("/k8s", "pods")
        assert delivery.acked
        world.slack.wait_for(lambda: world.slack.responses(delivery.response_url_id))
    finally:
        disconnect_bot(sender, handler)


def test_an_envelope_nobody_acks_is_recorded(world: World, server: SimServer) -> None:
    assert server.endpoints is not None
    web = WebClient(token=world.slack.bot_token, base_url=server.endpoints.slack)
    silent = SocketModeClient(app_token=world.slack.app_token, web_client=web, auto_reconnect_enabled=False)
    silent.connect()
    try:
        world.slack.wait_for(lambda: world.slack.socket.connection_count == 1)
        delivery = SlackSender(world, server, ack_timeout=0.2).slash_command("/k8s", "nodes")
    finally:
        SlackSender(world, server).drop_socket_connections()
        silent.close()
    assert not delivery.acked
    [unacked] = world.slack.socket.unacked()
    assert unacked.envelope_id == delivery.envelope_id
    assert unacked.payload["text"] == "nodes"

"""The simulated Slack's faults, and the reading methods a bot uses to find out what Slack kept.

Slack may carry a call out and then lose the answer (the connection drops, or
the caller dies waiting); the faults here do exactly that, per method. Finding
out afterwards needs conversations.history / conversations.replies served as
Slack serves them: by channel ID, newest or oldest first, a page at a time,
metadata only when asked for.
"""

from __future__ import annotations

import socket
import urllib.error
from collections.abc import Iterator
from http.client import RemoteDisconnected

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sim.server import Endpoints, SimServer
from sim.world import World

POST = "chat.postMessage"


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def endpoints(world: World) -> Iterator[Endpoints]:
    server = SimServer(world)
    yield server.start()
    server.stop()


@pytest.fixture
def client(world: World, endpoints: Endpoints) -> WebClient:
    """A client that never retries: what the simulation does is what the test sees."""
    return WebClient(token=world.slack.bot_token, base_url=endpoints.slack, retry_handlers=[], timeout=5)


def error_of(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(SlackApiError) as caught:
        call()
    return str(caught.value.response["error"])


def test_accept_then_drop_posts_the_message_and_the_caller_gets_no_answer(client: WebClient, world: World) -> None:
    world.faults.slack_drop_after_accept[POST] = 1
    with pytest.raises((RemoteDisconnected, ConnectionError, urllib.error.URLError)):
        client.chat_postMessage(channel="#alerts", text="posted, answer lost")
    [message] = world.slack.messages("alerts")
    assert message.text == "posted, answer lost"
    [call] = world.slack.calls_to(POST)
    assert call.ok and not call.answered
    client.chat_postMessage(channel="#alerts", text="the next one is answered")
    assert world.slack.calls_to(POST)[-1].answered, "the count is used up"


def test_the_sdks_default_client_sends_a_dropped_post_twice(world: World, endpoints: Endpoints) -> None:
    """Why the bot cannot keep slack_sdk's default connection-error retry for posts."""
    world.faults.slack_drop_after_accept[POST] = 1
    WebClient(token=world.slack.bot_token, base_url=endpoints.slack).chat_postMessage(channel="#alerts", text="once?")
    assert [m.text for m in world.slack.messages("alerts")] == ["once?", "once?"]


def test_accept_then_hold_keeps_the_caller_waiting_past_its_timeout(world: World, endpoints: Endpoints) -> None:
    world.faults.slack_hold_after_accept[POST] = 1
    world.faults.slack_hold_seconds = 5
    impatient = WebClient(token=world.slack.bot_token, base_url=endpoints.slack, retry_handlers=[], timeout=1)
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        impatient.chat_postMessage(channel="#alerts", text="held")
    assert [m.text for m in world.slack.messages("alerts")] == ["held"]
    assert not world.slack.calls_to(POST)[0].answered


def test_a_stalled_call_times_out_and_is_not_carried_out(world: World, endpoints: Endpoints) -> None:
    world.faults.slack_stalls[POST] = 1
    world.faults.slack_stall_seconds = 2
    impatient = WebClient(token=world.slack.bot_token, base_url=endpoints.slack, retry_handlers=[], timeout=1)
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        impatient.chat_postMessage(channel="#alerts", text="never")
    assert world.slack.messages("alerts") == []


def test_per_method_errors_hit_only_that_method(client: WebClient, world: World) -> None:
    world.faults.slack_method_errors["auth.test"] = [429, 503]
    world.faults.slack_retry_after = 7
    with pytest.raises(SlackApiError) as limited:
        client.auth_test()
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers.get("retry-after", limited.value.response.headers.get("Retry-After")) in (
        "7", ["7"]
    )
    client.chat_postMessage(channel="#alerts", text="other methods answer")
    with pytest.raises(SlackApiError) as unavailable:
        client.auth_test()
    assert unavailable.value.response.status_code == 503
    assert client.auth_test()["ok"]


def test_history_wants_a_channel_id_and_pages_newest_first(client: WebClient, world: World) -> None:
    for n in range(5):
        client.chat_postMessage(channel="#alerts", text=f"m{n}")
    assert error_of(lambda: client.conversations_history(channel="#alerts")) == "channel_not_found"
    alerts = world.slack.channel_id("alerts")
    first = client.conversations_history(channel=alerts, limit=2)
    assert [m["text"] for m in first["messages"]] == ["m4", "m3"] and first["has_more"]
    cursor = first["response_metadata"]["next_cursor"]
    second = client.conversations_history(channel=alerts, limit=2, cursor=cursor)
    assert [m["text"] for m in second["messages"]] == ["m2", "m1"]
    third = client.conversations_history(channel=alerts, limit=2, cursor=second["response_metadata"]["next_cursor"])
    assert [m["text"] for m in third["messages"]] == ["m0"]
    assert not third["has_more"] and third["response_metadata"]["next_cursor"] == ""
    assert error_of(lambda: client.conversations_history(channel=alerts, cursor="bogus")) == "invalid_cursor"


def test_history_between_oldest_and_latest(client: WebClient, world: World) -> None:
    stamps = []
    for n in range(4):
        stamps.append(client.chat_postMessage(channel="#alerts", text=f"m{n}")["ts"])
        world.clock.advance(10)
    alerts = world.slack.channel_id("alerts")
    window = client.conversations_history(channel=alerts, oldest=stamps[1], latest=stamps[3])
    assert [m["text"] for m in window["messages"]] == ["m2"], "both bounds exclusive"
    inclusive = client.conversations_history(channel=alerts, oldest=stamps[1], latest=stamps[3], inclusive=True)
    assert [m["text"] for m in inclusive["messages"]] == ["m3", "m2", "m1"]


def test_metadata_is_kept_and_shown_only_when_asked_for(client: WebClient, world: World) -> None:
    metadata = {"event_type": "incident_posted", "event_payload": {"key": "abc"}}
    posted = client.chat_postMessage(channel="#alerts", text="with metadata", metadata=metadata)
    assert posted["message"]["metadata"] == metadata
    alerts = world.slack.channel_id("alerts")
    [plain] = client.conversations_history(channel=alerts)["messages"]
    assert "metadata" not in plain
    [full] = client.conversations_history(channel=alerts, include_all_metadata=True)["messages"]
    assert full["metadata"] == metadata
    reply = {"event_type": "incident_posted", "event_payload": {"key": "def"}}
    client.chat_postMessage(channel="#alerts", text="reply", thread_ts=posted["ts"], metadata=reply)
    thread = client.conversations_replies(channel=alerts, ts=posted["ts"], include_all_metadata=True)["messages"]
    assert [m.get("metadata") for m in thread] == [metadata, reply]
    assert error_of(lambda: client.chat_postMessage(channel="#alerts", text="x", metadata={"event_type": "x"})) == (
        "invalid_metadata_schema"
    )


def test_replies_page_oldest_first_after_the_parent(client: WebClient, world: World) -> None:
    parent = client.chat_postMessage(channel="#alerts", text="parent")["ts"]
    for n in range(3):
        client.chat_postMessage(channel="#alerts", text=f"r{n}", thread_ts=parent)
    alerts = world.slack.channel_id("alerts")
    assert error_of(lambda: client.conversations_replies(channel="#alerts", ts=parent)) == "channel_not_found"
    first = client.conversations_replies(channel=alerts, ts=parent, limit=2)
    assert [m["text"] for m in first["messages"]] == ["parent", "r0"] and first["has_more"]
    rest = client.conversations_replies(channel=alerts, ts=parent, cursor=first["response_metadata"]["next_cursor"])
    assert [m["text"] for m in rest["messages"]] == ["r1", "r2"] and not rest["has_more"]


def test_conversations_list_finds_a_channel_id_by_name(client: WebClient, world: World) -> None:
    world.slack.add_channel("deploys")
    names = {}
    cursor = None
    while True:
        page = client.conversations_list(types="public_channel,private_channel", limit=1, cursor=cursor)
        names.update({c["name"]: c["id"] for c in page["channels"]})
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert names == {name: world.slack.channel_id(name) for name in ("alerts", "ops", "deploys")}

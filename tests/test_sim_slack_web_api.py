"""The simulated Slack Web API, driven by the real slack_sdk WebClient over loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from sim.server import Endpoints, SimServer
from sim.world import World


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
    return WebClient(token=world.slack.bot_token, base_url=endpoints.slack)


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def error_of(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(SlackApiError) as caught:
        call()
    return caught.value.response["error"]


def test_auth_test_names_the_bot(client: WebClient, world: World) -> None:
    answer = client.auth_test()
    assert answer["user_id"] == world.slack.bot_user_id
    assert answer["team_id"] == "T0SIM"


def test_a_posted_message_is_recorded_with_its_blocks(client: WebClient, world: World) -> None:
    answer = client.chat_postMessage(channel="#alerts", text="fallback", blocks=[section("*2 nodes* missing")])
    alerts = world.slack.channel_id("alerts")
    assert answer["channel"] == alerts
    [message] = world.slack.messages("alerts")
    assert message.ts == answer["ts"]
    assert message.user == world.slack.bot_user_id
    assert "*2 nodes* missing" in message.all_text()


def test_ts_values_are_unique_and_increasing(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="ops", text=str(i))["ts"] for i in range(5)]
    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 5


def test_replies_form_a_thread_readable_through_conversations_replies(client: WebClient, world: World) -> None:
    parent = client.chat_postMessage(channel="alerts", text="incident")["ts"]
    client.chat_postMessage(channel="alerts", text="update 1", thread_ts=parent)
    client.chat_postMessage(channel="alerts", text="update 2", thread_ts=parent)
    assert [m.text for m in world.slack.messages("alerts")] == ["incident"]
    assert [m.text for m in world.slack.thread("alerts", parent)] == ["update 1", "update 2"]
    replies = client.conversations_replies(channel=world.slack.channel_id("alerts"), ts=parent)["messages"]
    assert [m["text"] for m in replies] == ["incident", "update 1", "update 2"]
    assert replies[0]["reply_count"] == 2


def test_an_update_keeps_the_earlier_version(client: WebClient, world: World) -> None:
    channel = world.slack.channel_id("alerts")
    ts = client.chat_postMessage(channel=channel, text="upgrade running")["ts"]
    client.chat_update(channel=channel, ts=ts, text="upgrade finished", blocks=[section("done")])
    [message] = world.slack.messages("alerts")
    assert message.text == "upgrade finished"
    assert [v.text for v in message.edits] == ["upgrade running"]


def test_ephemeral_messages_reach_only_their_user(client: WebClient, world: World) -> None:
    alice = world.slack.user_id("alice")
    bob = world.slack.add_user("bob")
    client.chat_postEphemeral(channel="ops", user=alice, text="gcloud compute ssh ...")
    assert [e.text for e in world.slack.ephemerals(user="alice")] == ["gcloud compute ssh ..."]
    assert world.slack.ephemerals(user=bob) == []
    assert world.slack.messages("ops") == []


def test_reactions_and_permalinks(client: WebClient, world: World) -> None:
    channel = world.slack.channel_id("ops")
    ts = client.chat_postMessage(channel=channel, text="hello")["ts"]
    client.reactions_add(channel=channel, timestamp=ts, name="eyes")
    assert world.slack.messages("ops")[0].reactions == {"eyes": [world.slack.bot_user_id]}
    assert error_of(lambda: client.reactions_add(channel=channel, timestamp=ts, name="eyes")) == "already_reacted"
    link = client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"]
    assert link.endswith(f"/archives/{channel}/p{ts.replace('.', '')}")


def test_files_upload_v2_goes_through_the_three_steps(client: WebClient, world: World) -> None:
    parent = client.chat_postMessage(channel="alerts", text="pods")["ts"]
    client.files_upload_v2(
        channel=world.slack.channel_id("alerts"),
        thread_ts=parent,
        content="NAME  STATUS\nweb-1 Pending\n",
        filename="pods.txt",
        title="All pending pods",
        initial_comment="and 140 more",
    )
    methods = [c.method for c in world.slack.calls]
    assert methods[-2:] == ["files.getUploadURLExternal", "files.completeUploadExternal"]
    [upload] = world.slack.files
    assert upload.content == b"NAME  STATUS\nweb-1 Pending\n"
    assert (upload.title, upload.thread_ts, upload.initial_comment) == ("All pending pods", parent, "and 140 more")
    [reply] = world.slack.thread("alerts", parent)
    assert reply.files == [upload.id] and reply.text == "and 140 more"


def test_directory_lookups(client: WebClient, world: World) -> None:
    carol = world.slack.add_user("carol", groups=["sre"])
    group = world.slack.add_usergroup("sre")
    assert client.users_info(user=carol)["user"]["name"] == "carol"
    assert client.usergroups_users_list(usergroup=group)["users"] == [carol]
    assert client.conversations_info(channel=world.slack.channel_id("ops"))["channel"]["name"] == "ops"
    dm = client.conversations_open(users=carol)["channel"]["id"]
    client.chat_postMessage(channel=dm, text="private")
    assert [m.text for m in world.slack.messages(dm)] == ["private"]


def test_authentication_errors(world: World, endpoints: Endpoints) -> None:
    anonymous = WebClient(base_url=endpoints.slack)
    assert error_of(lambda: anonymous.chat_postMessage(channel="ops", text="x")) == "not_authed"
    stranger = WebClient(token="xoxb-wrong", base_url=endpoints.slack)
    assert error_of(lambda: stranger.chat_postMessage(channel="ops", text="x")) == "invalid_auth"
    app_level = WebClient(token=world.slack.app_token, base_url=endpoints.slack)
    assert error_of(lambda: app_level.chat_postMessage(channel="ops", text="x")) == "not_allowed_token_type"
    bot = WebClient(token=world.slack.bot_token, base_url=endpoints.slack)
    assert error_of(lambda: bot.apps_connections_open(app_token=world.slack.bot_token)) == "not_allowed_token_type"
    assert app_level.apps_connections_open(app_token=world.slack.app_token)["url"].startswith("ws://127.0.0.1:")


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_content_errors(client: WebClient, world: World) -> None:
    assert error_of(lambda: client.chat_postMessage(channel="nowhere", text="x")) == "channel_not_found"
    assert error_of(lambda: client.chat_postMessage(channel="ops")) == "no_text"
    assert error_of(lambda: client.chat_postMessage(channel="ops", text="x" * 40_001)) == "msg_too_long"
    too_many = [section(str(i)) for i in range(51)]
    assert error_of(lambda: client.chat_postMessage(channel="ops", text="x", blocks=too_many)) == "invalid_blocks"
    too_long = [section("y" * 3001)]
    assert error_of(lambda: client.chat_postMessage(channel="ops", text="x", blocks=too_long)) == "invalid_blocks"
    header = [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]
    assert error_of(lambda: client.chat_postMessage(channel="ops", text="x", blocks=header)) == "invalid_blocks"
    malformed = {"channel": "ops", "text": "x", "blocks": "[{"}
    assert error_of(lambda: client.api_call("chat.postMessage", data=malformed)) == "invalid_blocks_format"
    assert error_of(lambda: client.chat_update(channel="ops", ts="1.000001", text="x")) == "message_not_found"
    assert world.slack.messages("ops") == []


def test_invalid_blocks_name_the_offending_block(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="ops", text="x", blocks=[section("ok"), section("y" * 3001)])
    assert any("/blocks/1/text/text" in m for m in caught.value.response["response_metadata"]["messages"])


def test_rate_limits_are_retried_after_retry_after(world: World, endpoints: Endpoints) -> None:
    world.faults.slack_rate_limited = 1
    world.faults.slack_retry_after = 0
    client = WebClient(
        token=world.slack.bot_token,
        base_url=endpoints.slack,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    client.chat_postMessage(channel="ops", text="after the limit")
    attempts = world.slack.calls_to("chat.postMessage")
    assert [c.status for c in attempts] == [429, 200]
    assert len(world.slack.messages("ops")) == 1
    assert world.faults.slack_rate_limited == 0


def test_a_rate_limit_without_retry_handler_reaches_the_caller(world: World, client: WebClient) -> None:
    world.faults.slack_rate_limited = 1
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="ops", text="x")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == str(world.faults.slack_retry_after)


def test_server_errors_are_retried(world: World, endpoints: Endpoints) -> None:
    world.faults.slack_server_errors = 2
    client = WebClient(
        token=world.slack.bot_token,
        base_url=endpoints.slack,
        retry_handlers=[
            ServerErrorRetryHandler(max_retry_count=2, interval_calculator=FixedValueRetryIntervalCalculator(0.01))
        ],
    )
    client.chat_postMessage(channel="ops", text="eventually")
    assert [c.status for c in world.slack.calls_to("chat.postMessage")] == [503, 503, 200]


def test_form_encoded_calls_are_understood(client: WebClient, world: World) -> None:
    blocks = json.dumps([section("form")])
    answer = client.api_call("chat.postMessage", data={"channel": "ops", "text": "t", "blocks": blocks})
    assert answer["ok"]
    assert world.slack.messages("ops")[0].blocks == [section("form")]

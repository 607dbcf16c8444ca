"""Slash commands end to end: real bolt app, real slack_sdk, simulated Slack over loopback.

The commands here are a tiny set declared on a registry of their own, so the
Slack side is tested on its own terms: what the user sees for a good answer,
a bad line, a crash, a restricted command, a long table.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Iterator

import pytest

from bot.settings import AccessConfig, AccessRule, SlackConfig
from bot.slack.transports import HttpTransport, transport_for
from sim.world import World
from tests.harness import BotUnderTest, SampleCommands


@pytest.fixture(scope="module")
def world() -> World:
    world = World()
    world.slack.add_user("bob")
    world.slack.add_user("carol", groups=["sre"])
    return world


@pytest.fixture(scope="module")
def commands() -> SampleCommands:
    return SampleCommands()


@pytest.fixture(scope="module")
def bot(world: World, commands: SampleCommands) -> Iterator[BotUnderTest]:
    sre = world.slack.add_usergroup("sre")
    access = AccessConfig(rules=[AccessRule(commands=["logs"], usergroups=[sre])])
    with BotUnderTest(world, registry=commands.registry, access=access, clusters=[]) as running:
        yield running


def test_a_signed_http_slash_command_is_acked_and_answered_via_the_response_url(bot: BotUnderTest) -> None:
    delivery = bot.send_slash("echo hello", via="http")
    assert delivery.acked and delivery.status == 200
    answer = bot.answer_to(delivery)
    assert answer.response_type == "ephemeral"
    assert "echo: hello" in answer.all_text()


def test_the_same_command_over_socket_mode(bot: BotUnderTest, world: World) -> None:
    delivery = bot.send_slash("echo 'two words' --loud", via="socket")
    assert delivery.acked
    answer = bot.answer_to(delivery)
    assert "echo: two words (loud)" in answer.all_text()
    assert world.slack.socket.unacked() == []


def test_slack_escaping_is_undone_before_parsing(bot: BotUnderTest) -> None:
    answer = bot.slash("echo 'a &lt;b&gt; &amp;amp; c'")
    # &amp; is undone last, so "&amp;amp;" is the user's literal "&amp;".
    assert answer.text == "echo: a <b> &amp; c"


def test_public_flag_answers_in_the_channel(bot: BotUnderTest, world: World) -> None:
    answer = bot.slash("echo hi --public")
    assert answer.response_type == "in_channel"
    assert any("echo: hi" in m.all_text() for m in world.slack.messages("ops"))


@pytest.mark.parametrize("via", ["http", "socket"])
def test_a_bad_signature_or_old_timestamp_gets_401_and_no_answer(
    bot: BotUnderTest, world: World, commands: SampleCommands, via: str
) -> None:
    before = commands.count("echo")
    bad_signature = bot.send_slash("echo forged", via="http", signature="v0=" + "0" * 64)
    stale = bot.send_slash("echo stale", via="http", timestamp=1_000_000_000)
    assert bad_signature.status == 401 and not bad_signature.acked
    assert stale.status == 401 and not stale.acked
    # A good command sent afterwards is answered, and it is the only answer.
    bot.slash("echo real", via=via)  # type: ignore[arg-type]
    texts = [p.all_text() for p in world.slack.responses()]
    assert not any("forged" in t or "stale" in t for t in texts)
    assert commands.count("echo") == before + 1


def test_an_unknown_command_gets_a_clear_ephemeral_sentence(bot: BotUnderTest) -> None:
    answer = bot.slash("frobnicate now")
    assert answer.response_type == "ephemeral"
    assert "`frobnicate` is not a command" in answer.all_text()


def test_a_bad_flag_gets_the_usage(bot: BotUnderTest) -> None:
    answer = bot.slash("echo hi --colour red")
    text = answer.all_text()
    assert "is not an option of `echo`" in text
    assert "Usage: `/k8s echo [words] [--loud]`" in text


def test_a_10kb_command_line_gets_the_length_error(bot: BotUnderTest) -> None:
    answer = bot.slash("echo " + "x" * 10_000)
    assert "characters long; the limit is" in answer.all_text()


def test_an_unexpected_exception_yields_a_reference_and_no_trace(bot: BotUnderTest) -> None:
    answer = bot.slash("explode")
    text = answer.all_text()
    assert "reference `" in text
    assert "Traceback" not in text and "secret-internal-detail" not in text and "handlers.py" not in text


def test_an_unauthorized_user_is_refused_logs_and_the_handler_does_not_run(
    bot: BotUnderTest, commands: SampleCommands
) -> None:
    before = commands.count("logs")
    answer = bot.slash("logs", user="bob")
    assert answer.response_type == "ephemeral"
    assert "`logs` is restricted: ask an admin to grant it to you, your user group or this channel" in answer.all_text()
    assert commands.count("logs") == before


def test_a_member_of_the_granted_usergroup_may_run_logs(bot: BotUnderTest, commands: SampleCommands) -> None:
    before = commands.count("logs")
    answer = bot.slash("logs", user="carol")
    assert "kube-proxy log lines" in answer.all_text()
    assert commands.count("logs") == before + 1


def test_an_ephemeral_answer_with_an_attachment_sends_the_file_by_direct_message(bot: BotUnderTest, world: World) -> None:
    answer = bot.slash("table")
    assert "in your direct messages" in answer.all_text()
    upload = world.slack.files[-1]
    assert upload.name == "nodes.txt" and upload.completed and b"node-299 Ready" in upload.content
    dm = world.slack.channel(upload.channels[0])
    assert dm.is_im and dm.im_user == world.slack.user_id("alice")


def test_a_public_answer_with_an_attachment_uploads_into_the_channel(bot: BotUnderTest, world: World) -> None:
    answer = bot.slash("table --public")
    assert "attached below" in answer.all_text()
    upload = world.slack.files[-1]
    assert upload.name == "nodes.txt" and upload.completed
    assert upload.channels == [world.slack.channel_id("ops")]


def test_every_command_writes_one_audit_line(bot: BotUnderTest, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="k8s_chatops.audit")
    caplog.clear()
    bot.slash("echo audited", user="bob")
    bot.slash("logs", user="bob")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "k8s_chatops.audit"]
    assert [(line["command"], line["outcome"]) for line in lines] == [("echo", "ok"), ("logs", "forbidden")]
    first = lines[0]
    assert first["user_name"] == "bob" and first["origin"] == "slash" and first["line"] == "echo audited"
    assert first["channel_name"] == "ops" and isinstance(first["duration_ms"], float)
    assert not any("xoxb" in r.getMessage() for r in caplog.records)


def test_the_configured_mode_picks_the_transport_and_a_stopped_server_is_gone(bot: BotUnderTest) -> None:
    assert bot.app is not None
    with pytest.raises(ValueError, match="app_token"):
        transport_for(SlackConfig(mode="socket"), bot.app)
    transport = transport_for(SlackConfig(mode="http", signing_secret="s", http_host="127.0.0.1", http_port=0), bot.app)
    assert isinstance(transport, HttpTransport)
    transport.start()
    forged = bot.send_slash("echo via-second-server", via="http", url=transport.url, signature="v0=" + "1" * 64)
    assert forged.status == 401
    url = transport.url
    transport.stop()
    assert not transport.is_ready()
    with pytest.raises(OSError):
        urllib.request.urlopen(url, data=b"", timeout=5)


def test_a_token_pasted_into_a_command_line_is_redacted_in_the_audit_log(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="k8s_chatops.audit")
    caplog.clear()
    bot.slash("echo xoxb-1234-abcd")
    [line] = [json.loads(r.getMessage()) for r in caplog.records if r.name == "k8s_chatops.audit"]
    assert line["line"] == "echo [redacted-token]"

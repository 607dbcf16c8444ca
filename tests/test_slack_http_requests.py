"""What the HTTP endpoint does with requests that are not what Slack sends: refused early, briefly, never twice.

Anyone can reach a bot served over HTTP. Before a request is verified it
may be anything: too large, of another content type, with a timestamp that
is missing or not a number, with bytes that are not UTF-8. Each gets 400,
401 or 413 (never 200, never 500), one short log line saying why, how large
and from where (never the body), and a count by reason in the metrics. A
signed request sent again as it was (same signature, same timestamp) is
acknowledged and not run again.
"""

from __future__ import annotations

import http.client
import logging
import socket
import time
import urllib.parse
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from bot.settings import AccessConfig
from sim.slack.signing import signature
from sim.world import World
from tests.harness import BotUnderTest, SampleCommands

SECRET_WORDS = "tell-no-one-4711"  # in every refused body; must never reach the log
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def commands() -> SampleCommands:
    return SampleCommands()


@pytest.fixture(scope="module")
def bot(commands: SampleCommands) -> Iterator[BotUnderTest]:
    with BotUnderTest(World(), registry=commands.registry, access=AccessConfig(), clusters=[], transports=("http",)) as running:
        yield running


def slash_body(bot: BotUnderTest, text: str) -> str:
    ws = bot.world.slack
    user, channel = ws.user_id("alice"), ws.channel("ops")
    response_url = ws.new_response_url(channel.id, user)
    return urllib.parse.urlencode({
        "team_id": ws.team_id, "channel_id": channel.id, "channel_name": channel.name, "user_id": user,
        "user_name": "alice", "command": "/k8s", "text": text, "api_app_id": ws.app_id,
        "response_url": f"{bot.endpoints.slack_root}response/{response_url.id}", "trigger_id": "1.2.3",
    })


def send(bot: BotUnderTest, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    assert bot.http is not None
    target = urlsplit(bot.http.url)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def signed(body: bytes, *, stamp: str | None = None, content_type: str = FORM, secret: str | None = None) -> dict[str, str]:
    stamp = stamp if stamp is not None else str(int(time.time()))
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature(secret or World().slack.signing_secret, stamp, body),
    }


def rejected(bot: BotUnderTest, reason: str) -> float:
    return bot.metrics.registry.get_sample_value("k8s_chatops_rejected_requests_total", {"reason": reason}) or 0.0


BODY = f"command=/k8s&text=echo+{SECRET_WORDS}".encode()
def malformed(reason: str) -> tuple[bytes, dict[str, str], int]:
    """The request for ``reason`` and the status it must get, signed now (a signature is valid for 5 minutes)."""
    now = str(int(time.time()))
    garbled = b"text=" + SECRET_WORDS.encode() + b"\xff\xfe"
    json_body = b'{"type": ' + SECRET_WORDS.encode()
    requests = {
        "timestamp_missing": lambda: (BODY, {"Content-Type": FORM, "X-Slack-Signature": "v0=" + "0" * 64}, 400),
        "timestamp_malformed": lambda: (BODY, {**signed(BODY), "X-Slack-Request-Timestamp": "yesterday"}, 400),
        "signature_missing": lambda: (BODY, {"Content-Type": FORM, "X-Slack-Request-Timestamp": now}, 401),
        "content_type": lambda: (BODY, {**signed(BODY), "Content-Type": "text/plain"}, 400),
        "encoding": lambda: (garbled, signed(garbled), 400),
        "stale": lambda: (BODY, signed(BODY, stamp=str(int(time.time()) - 3600)), 401),
        "signature": lambda: (BODY, signed(BODY, secret="someone-elses-secret"), 401),
        "body": lambda: (json_body, signed(json_body, content_type="application/json"), 400),
    }
    return requests[reason]()


MALFORMED = ("body", "content_type", "encoding", "signature", "signature_missing", "stale", "timestamp_malformed",
             "timestamp_missing")


@pytest.mark.parametrize("reason", MALFORMED)
def test_a_malformed_or_unverified_request_is_refused_with_one_short_line_and_no_body_in_the_log(
    bot: BotUnderTest, commands: SampleCommands, caplog: pytest.LogCaptureFixture, reason: str
) -> None:
    body, headers, status = malformed(reason)
    before, ran = rejected(bot, reason), commands.count("echo")
    with caplog.at_level(logging.INFO):
        got, answer = send(bot, body, headers)
    assert got == status, answer
    assert rejected(bot, reason) == before + 1
    assert commands.count("echo") == ran, "no listener ran"
    [line] = [r for r in caplog.records if r.name == "bot.slack.gate"]
    message = line.getMessage()
    assert reason in message and f"{len(body)} bytes from 127.0.0.1" in message and "\n" not in message
    assert SECRET_WORDS not in caplog.text, "never the body"
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)


def test_a_body_larger_than_slack_ever_sends_is_refused_before_it_is_read(bot: BotUnderTest) -> None:
    assert bot.http is not None
    target = urlsplit(bot.http.url)
    with socket.create_connection((target.hostname, target.port), timeout=10) as conn:
        conn.sendall(
            f"POST {target.path} HTTP/1.1\r\nHost: bot\r\nContent-Type: {FORM}\r\n"
            f"Content-Length: {100 * 1024 * 1024}\r\n\r\n".encode() + b"x" * 1024
        )  # 1 KB of the 100 MB it announced: an answer now means it did not wait for the rest
        answer = conn.recv(4096).decode(errors="replace")
    assert answer.startswith("HTTP/1.1 413"), answer


def test_a_replayed_signed_request_runs_once(bot: BotUnderTest, commands: SampleCommands) -> None:
    body = slash_body(bot, "echo once").encode()
    headers = signed(body)
    ran, replays = commands.count("echo"), rejected(bot, "replayed")
    first_status, first = send(bot, body, headers)
    assert first_status == 200
    bot.world.slack.wait_for(lambda: commands.count("echo") == ran + 1, 20)
    again_status, again = send(bot, body, headers)
    assert again_status == 200 and again == b"", "acknowledged, so Slack does not retry it"
    time.sleep(0.5)
    assert commands.count("echo") == ran + 1, "not run a second time"
    assert rejected(bot, "replayed") == replays + 1


def test_a_well_formed_signed_request_still_reaches_its_listener(bot: BotUnderTest) -> None:
    answer = bot.slash("echo gate", via="http")
    assert answer.text.startswith("echo: gate")

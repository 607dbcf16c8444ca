"""Wrong input through Slack: each gets one clear answer, and nothing else happens.

Given the zonal-shortfall scenario and a bot that grants `logs` and `ssh` to
alice only, users send what they should not: unknown commands, bad flags,
names that are not names, text aimed at the log filter, a shell or Slack's
markup, a 10 KB line, and forged requests. The simulated APIs count every
request they answer, so "rejected before any API call" is checked on those
counters; every Slack record is checked for stack trace text after each test.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.settings import AccessConfig, AccessRule
from sim import scenario
from sim.scenario import Scenario
from sim.slack.records import Ephemeral, ResponsePost
from sim.world import World
from tests.harness import BotUnderTest

VIAS = ("http", "socket")
TRACE_MARKS = ("Traceback", 'File "', '.py", line', "Exception:", "Error(")


@dataclass
class Shop:
    bot: BotUnderTest
    world: World
    scenario: Scenario

    @property
    def vm(self) -> str:
        return self.scenario.unregistered_vms["us-west1-b"][0]

    def api_requests(self) -> dict[str, int]:
        """Requests answered by the Kubernetes and Google APIs (Slack's own traffic left out)."""
        assert self.bot.server is not None
        return {name: count for name, (count, _) in self.bot.server.traffic.snapshot().items() if name != "slack"}


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    world = World()
    loaded = scenario.load(world, "zonal-shortfall")
    world.slack.add_user("mallory")
    access = AccessConfig(rules=[AccessRule(commands=["logs", "ssh"], users=[world.slack.user_id("alice")])])
    with BotUnderTest(world, access=access) as bot:
        yield Shop(bot, world, loaded)


def everything_said(world: World) -> list[str]:
    """The text of every answer, message and ephemeral Slack recorded, blocks included."""
    ws = world.slack
    said = [r.all_text() for r in ws.responses()]
    said += [e.all_text() for e in ws.ephemerals()]
    for channel in ws.channel_objects():
        for message in ws.messages(channel.id):
            said.append(message.all_text())
            said += [reply.all_text() for reply in ws.thread(channel.id, message.ts)]
    return said


@pytest.fixture(autouse=True)
def no_stack_trace_reaches_slack(shop: Shop) -> Iterator[None]:
    yield
    for text in everything_said(shop.world):
        assert not any(mark in text for mark in TRACE_MARKS), text


def rejected(shop: Shop, line: str, *, via: str = "socket", user: str = "alice") -> ResponsePost:
    """Send ``line``; the answer must come while the Kubernetes and Google APIs are not asked anything."""
    before = shop.api_requests()
    answer = shop.bot.slash(line, via=via, user=user)  # type: ignore[arg-type]
    assert shop.api_requests() == before, f"{line!r} reached an API"
    assert answer.response_type == "ephemeral"
    return answer


def only_sentence(answer: ResponsePost) -> str:
    """The answer's message, which must be a single warning section (plus the usage line, if any)."""
    blocks = answer.blocks or []
    assert blocks and blocks[0]["type"] == "section", blocks
    assert all(b["type"] == "context" for b in blocks[1:]), blocks
    return blocks[0]["text"]["text"]


# -- lines that are not commands -------------------------------------------------------------


@pytest.mark.parametrize("via", VIAS)
def test_an_unknown_command_says_so_and_points_to_help(shop: Shop, via: str) -> None:
    answer = rejected(shop, "reboot-everything now", via=via)
    assert only_sentence(answer) == ":warning: `reboot-everything` is not a command. Try `help` for the list."


@pytest.mark.parametrize(
    ("line", "sentence"),
    [
        ("nodes --colour red", "`--colour` is not an option of `nodes`."),
        ("nodes --zone", "`--zone` needs a value (ZONE)."),
        ("nodes --problems=yes", "`--problems` takes no value."),
        ("pods --pending --failing", "Pick one of `--pending`, `--failing` and `--node`."),
        ("pods -n shop -A", "Use either `-n NAMESPACE` or `-A`, not both."),
        ("logs node {vm} --since forever", "`forever` is not a duration: use a number and s, m, h or d, e.g. `15m` or `2h`."),
        ("logs node {vm} --component etcd", "`etcd` is not a choice for `--component`: one of kubelet, kube-proxy, container-runtime, node-problem-detector."),
        ("logs node {vm} --limit 100000", "`100000` is not a whole number from 1 to 500."),
        ("pods -l 'app in ()'", "`app in ()` needs at least one value in the parentheses."),
        ("nodes --cluster Prod_EU", "`Prod_EU` is not a valid cluster name: lowercase letters, digits and '-', at most 63."),
        ("nodes --cluster staging", "No cluster named `staging` is configured (known: shop-prod)."),
        ("node", "`node` needs NAME."),
        ("nodes 'unclosed", "That command line has an unclosed quote."),
    ],
)
def test_a_bad_flag_or_argument_gets_one_sentence_and_no_api_call(shop: Shop, line: str, sentence: str) -> None:
    answer = rejected(shop, line.format(vm=shop.vm))
    assert only_sentence(answer) == ":warning: " + sentence


def test_a_bad_flag_answer_shows_the_commands_usage(shop: Shop) -> None:
    answer = rejected(shop, "nodes --colour red")
    assert "Usage: `/k8s nodes [--pool POOL] [--zone ZONE] [--problems]" in answer.all_text()


@pytest.mark.parametrize("via", VIAS)
def test_an_invalid_node_name_is_refused_before_the_api(shop: Shop, via: str) -> None:
    answer = rejected(shop, "node Bad_Name", via=via)
    assert only_sentence(answer) == (
        ":warning: `Bad_Name` is not a valid node name: lowercase letters, digits, '-' and '.', at most 253."
    )


def test_a_node_that_does_not_exist_is_one_sentence(shop: Shop) -> None:
    answer = shop.bot.slash("node gke-shop-prod-default-pool-0000-zzzz")
    assert only_sentence(answer) == ":mag: Node `gke-shop-prod-default-pool-0000-zzzz` was not found in cluster shop-prod."


# -- user text aimed at a shell, the log filter or Slack's markup ----------------------------


@pytest.mark.parametrize(
    "line",
    [
        "node $(reboot)",
        "node `reboot`",
        "ssh 'a;rm -rf /'",
        "ssh '../../etc/passwd'",
        'logs node \'x" OR ""="\'',
        "pod 'shop/web;id'",
        "pods --node 'a|b'",
    ],
)
def test_shell_like_names_are_rejected_before_any_api_call(shop: Shop, line: str) -> None:
    answer = rejected(shop, line)
    assert "is not a valid" in only_sentence(answer)


@pytest.mark.parametrize("via", VIAS)
def test_a_grep_written_as_filter_syntax_stays_one_literal_and_matches_nothing(shop: Shop, via: str) -> None:
    attack = 'x" OR severity>=DEBUG OR "'
    answer = shop.bot.slash(f"logs node {shop.vm} --grep '{attack}'", via=via)  # type: ignore[arg-type]
    text = answer.all_text()
    assert answer.text.startswith("0 log lines")
    assert "```" not in text, "no line came back"
    [shown] = re.findall(r"Filter: `(.*?)`", text)
    assert shown.endswith(' AND "x\\" OR severity&gt;=DEBUG OR \\""'), shown


def test_a_plain_grep_on_the_same_vm_finds_only_matching_lines(shop: Shop) -> None:
    answer = shop.bot.slash(f"logs node {shop.vm} --grep 'Failed to retrieve node info'")
    logged = "\n".join(re.findall(r"```\n(.*?)\n```", answer.all_text(), flags=re.S)).splitlines()
    assert logged and all("Failed to retrieve node info" in line for line in logged)


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("node <!channel>", "`&lt;!channel&gt;`"),
        ("node <!here|here>", "`&lt;!here|here&gt;`"),
        ("node <@U0SIMBOT>", "`&lt;@U0SIMBOT&gt;`"),
        ("node a&amp;b", "`a&amp;b`"),
        ("pods -l 'app=&lt;script&gt;'", "`&lt;script&gt;` is not a valid label value"),
    ],
)
def test_markup_in_a_name_comes_back_escaped_never_as_a_live_mention(shop: Shop, typed: str, shown: str) -> None:
    answer = rejected(shop, typed)
    sentence = only_sentence(answer)
    assert shown in sentence, sentence
    for text in (answer.text, answer.all_text()):
        assert "<!" not in text and "<@" not in text and "<script" not in text


def test_markup_in_a_mention_comes_back_escaped_in_the_thread(shop: Shop) -> None:
    reply = shop.bot.mention("node <!channel>", channel="ops")
    assert "`&lt;!channel&gt;`" in reply.all_text()
    assert "<!channel>" not in reply.all_text()


# -- size ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("via", VIAS)
def test_a_10kb_command_line_gets_the_length_limit(shop: Shop, via: str) -> None:
    answer = rejected(shop, "nodes --zone " + "a" * 10_000, via=via)
    assert only_sentence(answer) == ":warning: That command line is 10,013 characters long; the limit is 1,000."


# -- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize("line", ["logs node {vm} --component kube-proxy", "ssh {vm}", "logs autoscaler"])
def test_an_unauthorized_user_is_refused_and_nothing_is_fetched(
    shop: Shop, line: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="k8s_chatops.audit")
    caplog.clear()
    answer = rejected(shop, line.format(vm=shop.vm), user="mallory")
    family = line.split()[0]
    assert only_sentence(answer).startswith(f":no_entry: `{family}")
    assert "is restricted: ask an admin to grant it" in answer.all_text()
    assert shop.vm not in answer.all_text().replace(line.format(vm=shop.vm), ""), "no data about the VM"
    [audit] = [json.loads(r.getMessage()) for r in caplog.records if r.name == "k8s_chatops.audit"]
    assert audit["outcome"] == "forbidden" and audit["user_name"] == "mallory"


def test_an_unauthorized_mention_is_refused_privately_in_the_thread(shop: Shop) -> None:
    before = shop.api_requests()
    reply = shop.bot.mention(f"ssh {shop.vm}", user="mallory", channel="ops")
    assert isinstance(reply, Ephemeral) and reply.user == shop.world.slack.user_id("mallory")
    assert "`ssh` is restricted" in reply.all_text()
    assert "gcloud" not in reply.all_text()
    assert shop.api_requests() == before


def test_ssh_will_not_be_posted_in_the_channel(shop: Shop) -> None:
    channel_before = len(shop.world.slack.messages("ops"))
    answer = rejected(shop, f"ssh {shop.vm} --public")
    assert "`ssh` answers only to you" in only_sentence(answer)
    assert len(shop.world.slack.messages("ops")) == channel_before


def test_a_button_value_is_checked_like_a_typed_line(shop: Shop) -> None:
    before = shop.api_requests()
    answer = shop.bot.click("run_command:1", "node $(reboot)", channel="ops")
    assert shop.api_requests() == before
    assert "`$(reboot)` is not a valid node name" in answer.all_text()


# -- forged requests --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "forgery", [{"signature": "v0=" + "0" * 64}, {"timestamp": 1_000_000_000}], ids=["bad-signature", "old-timestamp"]
)
def test_a_forged_http_request_gets_401_and_no_answer(shop: Shop, forgery: dict[str, object]) -> None:
    before = shop.api_requests()
    forged = shop.bot.send_slash(f"ssh {shop.vm}", via="http", **forgery)
    assert forged.status == 401 and not forged.acked
    # A genuine request sent afterwards is answered; the forged one never is.
    shop.bot.slash("help", via="http")
    assert shop.world.slack.responses(forged.response_url_id) == []
    assert shop.api_requests() == before


@pytest.mark.parametrize("via", VIAS)
def test_control_characters_in_a_command_line_are_shown_escaped(shop: Shop, via: str) -> None:
    answer = shop.bot.slash("node gke-a\x00b\x1b[31mred\u202egnp.exe", via=via)  # type: ignore[arg-type]
    text = answer.all_text()
    assert "gke-a\\x00b\\x1b[31mred\\u202egnp.exe" in text, text
    assert not any(invisible in text for invisible in ("\x00", "\x1b", "\u202e"))


@pytest.mark.parametrize("via", VIAS)
def test_a_sensitive_command_someone_may_not_run_is_not_announced_as_being_worked_on(shop: Shop, via: str) -> None:
    refused = shop.bot.send_slash(f"logs node {shop.vm}", user="mallory", via=via)  # type: ignore[arg-type]
    assert refused.acked and "Working on" not in json.dumps(refused.body)
    assert "is restricted" in shop.bot.answer_to(refused).text
    granted = shop.bot.send_slash(f"logs node {shop.vm}", user="alice", via=via)  # type: ignore[arg-type]
    assert "Working on `logs node`" in str(granted.body), "a grant the rules show at once is announced"
    assert "is restricted" not in shop.bot.answer_to(granted).text

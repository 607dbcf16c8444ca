"""Slack's content limits as the simulated API enforces them."""

from __future__ import annotations

import pytest

from sim.slack.validation import ContentError, block_problems, check_message, parse_blocks


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def code_of(text: str | None, blocks: list | None) -> str:
    with pytest.raises(ContentError) as caught:
        check_message(text, blocks)
    return caught.value.code


def test_limits_at_the_edge_are_accepted() -> None:
    check_message("x" * 40_000, [section("y" * 3000)] * 1 + [section(str(i)) for i in range(49)])
    header = {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}}
    fields = {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2000}] * 10}
    assert block_problems([header, fields]) == []


@pytest.mark.parametrize(
    ("text", "blocks", "code"),
    [
        (None, None, "no_text"),
        ("", [], "no_text"),
        ("x" * 40_001, None, "msg_too_long"),
        ("t", [section("y" * 3001)], "invalid_blocks"),
        ("t", [section("")], "invalid_blocks"),
        ("t", [section(str(i)) for i in range(51)], "invalid_blocks"),
        ("t", [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}], "invalid_blocks"),
        ("t", [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "invalid_blocks"),
        ("t", [{"type": "no_such_block"}], "invalid_blocks"),
        ("t", [{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}], "invalid_blocks"),
    ],
)
def test_content_slack_refuses(text: str | None, blocks: list | None, code: str) -> None:
    assert code_of(text, blocks) == code


def test_buttons_are_checked() -> None:
    long_label = {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "b" * 76}}
    twin = {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "ok"}}
    problems = block_problems([{"type": "actions", "elements": [long_label, twin]}])
    assert any("/elements/0/text/text" in p for p in problems)
    assert any("duplicate action_id" in p for p in problems)


def test_blocks_must_be_a_json_array() -> None:
    with pytest.raises(ContentError) as caught:
        parse_blocks('{"type": "divider"}')
    assert caught.value.code == "invalid_blocks_format"
    assert parse_blocks('[{"type": "divider"}]') == [{"type": "divider"}]
    assert parse_blocks(None) is None

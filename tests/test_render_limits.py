"""Long answers never fail: the builder keeps every message within Slack's limits."""

from __future__ import annotations

from bot.blocks import Button, MessageBuilder, limit_violations


def test_many_lines_are_summarized_within_fifty_blocks() -> None:
    out = MessageBuilder()
    shown = out.lines([f"line {i} " + "x" * 100 for i in range(5000)], noun="things")
    dicts = [b.to_dict() for b in out.build()]
    assert len(dicts) <= 50 and out.cut and shown < 5000
    assert "more things" in dicts[-1]["elements"][0]["text"]
    assert limit_violations(dicts) == []


def test_oversized_text_fields_and_header_are_cut() -> None:
    out = MessageBuilder()
    out.header("h" * 400)
    out.section("s" * 5000, fields=["f" * 3000] * 12)
    dicts = [b.to_dict() for b in out.build()]
    assert limit_violations(dicts) == [] and out.cut


def test_button_ids_are_unique_and_carry_the_command() -> None:
    out = MessageBuilder()
    out.buttons([Button("a", "nodes"), Button("b", "pods")])
    out.buttons([Button("c", "node x --cluster prod")])
    ids = [e["action_id"] for b in out.build() for e in b.to_dict()["elements"]]
    assert ids == ["run_command:1", "run_command:2", "run_command:3"]
    assert limit_violations([b.to_dict() for b in out.build()]) == []

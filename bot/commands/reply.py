"""A command's answer, rendered once for Slack and once as plain text."""

from __future__ import annotations

from dataclasses import dataclass, field

from slack_sdk.models.blocks import Block


@dataclass(frozen=True)
class Attachment:
    """The full table behind a summarized answer, uploaded as a file."""

    filename: str
    content: str
    title: str


@dataclass
class Reply:
    text: str  # notification / fallback text, mrkdwn-escaped
    blocks: list[Block] = field(default_factory=list)
    plain: str = ""  # the console rendering (``k8s-chatops ask``)
    public: bool = False  # in_channel instead of ephemeral
    attachment: Attachment | None = None
    ok: bool = True  # False for errors and refusals (audit outcome)
    outcome: str = "ok"  # ok | bad_input | not_found | forbidden | unreachable | not_configured | error

    def blocks_as_dicts(self) -> list[dict]:
        return [b.to_dict() for b in self.blocks]

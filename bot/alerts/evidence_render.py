"""Evidence as a thread reply within Slack's limits, and as Markdown for the file and the postmortem.

The reply shows the newest lines of each excerpt and every fact, the SSH
line whole, the links, and one line naming what could not be read. Whatever
it had to leave out (older lines, long lines, parts beyond the block budget)
is in the Markdown, which travels with it as a file in the same thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.models.blocks import Block

from bot.alerts.evidence import Evidence, Excerpt, Part
from bot.blocks import (
    MAX_SECTION_TEXT,
    SECTION_TEXT_BUDGET,
    Attachment,
    MessageBuilder,
    code_block,
    escape,
    fallback_text,
    link,
    truncate,
)

MAX_BLOCKS = 40  # of Slack's 50, leaving room for what a client adds
LINE_LIMIT = 240  # characters of one excerpt line shown in Slack; the file has all of it
FACT_LIMIT = 500


@dataclass(frozen=True)
class EvidenceReply:
    text: str
    blocks: list[Block]
    attachment: Attachment | None  # the whole evidence as Markdown, when the reply had to leave some out
    markdown: str


def filename(evidence: Evidence) -> str:
    return f"incident-{evidence.incident_id}-evidence.md"


def evidence_reply(evidence: Evidence) -> EvidenceReply:
    markdown = evidence_markdown(evidence)
    out = MessageBuilder(max_blocks=MAX_BLOCKS)
    out.section(truncate(f":mag: *Evidence* · {escape(evidence.title)}", SECTION_TEXT_BUDGET))
    out.context(
        f"Read at {evidence.gathered_at:%H:%M} UTC, once, when the incident opened · #{evidence.incident_id}"
    )
    reserve = 4  # links, notes, what could not be read, where the file is
    for part in evidence.parts:
        if out.room <= reserve + 1:
            out.cut = True
            break
        _part(out, part, reserve)
    if evidence.links:
        out.section(truncate(" · ".join(link(item.url, item.label) for item in evidence.links), SECTION_TEXT_BUDGET))
    for note in evidence.notes:
        out.context(escape(note))
    if evidence.unread:
        out.context(truncate(":warning: *Could not read:* " + escape("; ".join(evidence.unread)), SECTION_TEXT_BUDGET))
    attachment = None
    if out.cut:
        attachment = Attachment(filename=filename(evidence), content=markdown, title=f"Evidence for incident #{evidence.incident_id}")
        out.context(f":page_facing_up: Everything that was read, older lines included, is in `{escape(attachment.filename)}` below.")
    text = fallback_text(escape(f"Evidence for incident #{evidence.incident_id}: {evidence.title}"))
    return EvidenceReply(text=text, blocks=out.build(), attachment=attachment, markdown=markdown)


def _part(out: MessageBuilder, part: Part, reserve: int) -> None:
    facts = [truncate(escape(f), FACT_LIMIT) for f in part.facts]
    if any(len(f) > FACT_LIMIT for f in part.facts):
        out.cut = True
    body = f"*{escape(part.title)}*" + "".join(f"\n• {f}" for f in facts)
    if len(body) > SECTION_TEXT_BUDGET:
        out.cut = True
    out.section(truncate(body, SECTION_TEXT_BUDGET))
    for excerpt in part.excerpts:
        if out.room <= reserve + 1:
            out.cut = True
            return
        out.section(_excerpt(out, excerpt))
    if part.command and out.room > reserve:
        out.section(f"SSH through IAP:\n{code_block(part.command)}")
    if part.links and out.room > reserve:
        out.context(" · ".join(link(item.url, item.label) for item in part.links))


def _excerpt(out: MessageBuilder, excerpt: Excerpt) -> str:
    label = f"_{escape(excerpt.label)}_"
    if not excerpt.lines:
        return f"{label}: {escape(excerpt.empty)}"
    shown = list(excerpt.lines[-excerpt.shown:]) if excerpt.shown > 0 else []
    if len(shown) < len(excerpt.lines):
        out.cut = True
        label += f" (the last {len(shown)} of {len(excerpt.lines)})"
    lines = []
    for line in shown:
        if len(line) > LINE_LIMIT:
            out.cut = True
            line = line[: LINE_LIMIT - 1] + "…"
        lines.append(line)
    budget = MAX_SECTION_TEXT - len(label) - 20
    while lines and len(code_block("\n".join(lines))) > budget:  # the newest lines matter most: drop the oldest
        lines.pop(0)
        out.cut = True
    return f"{label}\n{code_block(chr(10).join(lines))}" if lines else label


# -- Markdown -------------------------------------------------------------------------


def _fence(lines: list[str] | tuple[str, ...], language: str = "text") -> str:
    body = "\n".join(line.replace("```", "'''") for line in lines)
    return f"```{language}\n{body}\n```"


def evidence_markdown(evidence: Evidence, level: int = 2) -> str:
    """The whole evidence as Markdown, its title a heading of ``level``."""
    h = "#" * level
    out = [f"{h} Evidence: {evidence.title}", ""]
    out.append(f"Read at {evidence.gathered_at:%Y-%m-%d %H:%M:%S} UTC in {evidence.took_seconds:g} s, when incident #{evidence.incident_id} opened.")
    for part in evidence.parts:
        out += ["", f"{h}# {part.title}"]
        if part.facts:
            out.append("")
            out += [f"- {fact}" for fact in part.facts]
        for excerpt in part.excerpts:
            out += ["", f"{excerpt.label}:", ""]
            out.append(_fence(excerpt.lines) if excerpt.lines else f"_{excerpt.empty}_")
        if part.command:
            out += ["", "SSH through IAP:", "", _fence([part.command], "sh")]
        for item in part.links:
            out += ["", f"- [{item.label}]({item.url})"]
    if evidence.links:
        out += ["", f"{h}# Links", ""]
        out += [f"- [{item.label}]({item.url})" for item in evidence.links]
    if evidence.notes:
        out += [""] + [f"_{note}_" for note in evidence.notes]
    if evidence.unread:
        out += ["", f"{h}# Could not read", ""]
        out += [f"- {what}" for what in evidence.unread]
    return "\n".join(out) + "\n"

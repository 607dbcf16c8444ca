"""An incident as Markdown for its postmortem: what, when, who, for how long, the evidence and the links.

`alerts summary ID` (and the button on a resolved incident's parent) posts it
in the incident's thread: inline in a code block when it is short, as a file
when it is not, so it can be pasted into a postmortem document as it is.
Everything comes from the incident store (the incident, its timeline, the
evidence recorded when it opened) and from Slack (the thread's link, the
names of the people who acted).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.alerts.evidence import EVIDENCE_EVENT
from bot.alerts.render import clock_time, human_duration
from bot.alerts.store import Incident, IncidentEvent
from bot.blocks import MAX_SECTION_TEXT, Attachment, code_block, escape, fallback_text

INLINE_LIMIT = MAX_SECTION_TEXT - 200  # longer than this, the Markdown travels as a file


def summary_markdown(
    incident: Incident,
    events: Sequence[IncidentEvent],
    now: datetime,
    *,
    permalink: str | None = None,
    name: Callable[[str], str] = lambda user: user,
) -> str:
    """The whole incident, ready to paste into a postmortem."""
    status = incident.status
    end = incident.resolved_at if status == "resolved" and incident.resolved_at else now
    peak = incident.peak_severity or incident.severity
    rows = [
        ("Cluster", incident.cluster),
        ("Kind", incident.kind + (f" ({incident.scope})" if incident.scope else "")),
        ("Severity", incident.severity + (f", at worst {peak}" if peak != incident.severity else "")),
        ("Status", _status(incident, name)),
        ("Trouble began", clock_time(incident.since)),
        ("Incident opened", clock_time(incident.opened_at)),
    ]
    if incident.acknowledged_by:
        after = f", {human_duration(incident.acknowledged_at - incident.opened_at)} after it opened" if incident.acknowledged_at else ""
        rows.append(("Acknowledged", f"by {name(incident.acknowledged_by)}" + (f" at {clock_time(incident.acknowledged_at)}" if incident.acknowledged_at else "") + after))
    else:
        rows.append(("Acknowledged", "by nobody"))
    if status == "resolved" and incident.resolved_at:
        rows.append(("Resolved", clock_time(incident.resolved_at)))
    rows.append(("Duration", human_duration(end - incident.since) + ("" if status == "resolved" else " so far")))
    if permalink:
        rows.append(("Slack thread", permalink))
    out = [f"# Incident #{incident.id}: {incident.title}", "", "| | |", "|---|---|"]
    out += [f"| {key} | {_cell(value)} |" for key, value in rows]
    if incident.detail:
        out += ["", "## What the bot saw", "", "```text", incident.detail.replace("```", "'''"), "```"]
    if incident.fix:
        out += ["", "## Suggested fix", "", incident.fix]
    out += ["", "## Timeline (UTC)", ""]
    for event in events:
        who = f" by {name(event.actor)}" if event.actor else ""
        if event.kind == EVIDENCE_EVENT:
            what = ": evidence read (below)"
        else:
            what = f": {' '.join(event.text.split())}" if event.text else ""
        out.append(f"- {event.at:%Y-%m-%d %H:%M} {event.kind}{who}{what}")
    evidence = [e for e in events if e.kind == EVIDENCE_EVENT and e.text]
    if evidence:
        out += ["", evidence[-1].text.strip()]
    else:
        out += ["", "## Evidence", "", "_No evidence was read for this incident (its kind has none, or it was informational)._"]
    out += ["", f"_Summary written {clock_time(now)} by k8s-chatops._"]
    return "\n".join(out) + "\n"


def _status(incident: Incident, name: Callable[[str], str]) -> str:
    if incident.status != "resolved":
        return "open"
    if incident.resolved_by:
        return f"resolved by hand by {name(incident.resolved_by)}"
    return "resolved: no longer observed"


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def summary_filename(incident: Incident, now: datetime) -> str:
    """Unique to the minute it was asked for: a second click in the same minute is found and not posted again."""
    return f"incident-{incident.id}-summary-{now:%Y%m%d-%H%M}.md"


def summary_reply(incident: Incident, markdown: str, now: datetime) -> tuple[str, list[Block], Attachment | None]:
    """The thread reply: the Markdown inline when it is short, else a file announced by the reply."""
    headline = f":memo: *Postmortem summary of incident #{incident.id}*: {escape(incident.title)}"
    text = fallback_text(escape(f"Postmortem summary of incident #{incident.id}: {incident.title}"))
    if len(code_block(markdown)) <= INLINE_LIMIT:
        blocks: list[Block] = [
            SectionBlock(text=MarkdownTextObject(text=headline[:MAX_SECTION_TEXT])),
            SectionBlock(text=MarkdownTextObject(text=code_block(markdown.rstrip("\n")))),
            ContextBlock(elements=[MarkdownTextObject(text="Markdown, ready to paste into a postmortem.")]),
        ]
        return text, blocks, None
    attachment = Attachment(
        filename=summary_filename(incident, now), content=markdown, title=f"Postmortem summary of incident #{incident.id}"
    )
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=headline[:MAX_SECTION_TEXT])),
        ContextBlock(elements=[MarkdownTextObject(
            text=f":page_facing_up: The Markdown ({len(markdown.splitlines())} lines) is in `{escape(attachment.filename)}` below, ready to paste into a postmortem."
        )]),
    ]
    return text, blocks, attachment

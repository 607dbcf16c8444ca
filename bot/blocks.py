"""Everything an answer is drawn with: Slack's limits and escaping, plain-text tables, the Reply.

Slack rejects a whole message when one block breaks a limit, so a 2,000-pod
answer that does not fit would be no answer at all. Renderers add blocks
through ``MessageBuilder``, which truncates text to each element's limit,
packs long lists of lines into as few sections as possible, stops at the
block budget with "and N more", and records that something was cut so the
full table can travel as a file instead. Every limit and action id of Slack's
that the bot relies on is spelled here once.

The console (``ask``) and the attached files are read in a terminal or an
editor, where a table is only readable when its columns line up: the plain
helpers below serve that side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

# -- escaping --------------------------------------------------------------------

# Characters a reader cannot see or that rearrange what they see: C0 and C1 controls (a NUL, an escape
# sequence; tab and newline are text), the bidirectional overrides and isolates, the line separators.
_INVISIBLE = {
    code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    for code in [*range(0x00, 0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
    if chr(code) not in "\n\t"
}


def escape(text: str) -> str:
    """Slack's three control characters, and what a reader could not see shown as its escape (a NUL as \\x00)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").translate(_INVISIBLE)


def code(text: str) -> str:
    """Inline code; backticks inside would end it early, so they are swapped for quotes."""
    return "`" + escape(text.replace("`", "'")) + "`"


def code_block(text: str) -> str:
    return "```\n" + escape(text.replace("```", "'''")) + "\n```"


def link(url: str, label: str) -> str:
    """A link whose label cannot break out of the angle brackets."""
    safe_url = url.replace("<", "%3C").replace(">", "%3E").replace("|", "%7C").replace(" ", "%20")
    return f"<{safe_url}|{escape(label).replace('|', '¦')}>"


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- the reply ---------------------------------------------------------------------

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
    outcome: str = "ok"  # ok | bad_input | not_found | forbidden | unreachable | not_configured | error | busy
    # Nothing to tell the asker: a click on an incident's button is answered by the edit
    # of the incident's parent, which everyone sees.
    quiet: bool = False

    def blocks_as_dicts(self) -> list[dict[str, Any]]:
        return [b.to_dict() for b in self.blocks]


# -- limits and the builder ----------------------------------------------------------

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTONS = 25
MAX_BUTTON_LABEL = 75
MAX_BUTTON_VALUE = 2000
MAX_FALLBACK_TEXT = 3000
# Every button the bot draws carries a command line in its value and an action id with this
# prefix; one listener runs them all through the same door as typed commands.
RUN_COMMAND = "run_command"
# Section text the bot writes itself stays this far under Slack's limit, leaving room
# for an icon or a note added around it.
SECTION_TEXT_BUDGET = MAX_SECTION_TEXT - 100


@dataclass(frozen=True)
class Button:
    """A drill-down: pressing it runs ``command`` as if typed (the router checks it again)."""

    label: str
    command: str
    style: str | None = None  # "primary" | "danger" | None


def is_run_command(action_id: str) -> bool:
    """Whether a clicked action is one of the bot's command buttons."""
    return action_id == RUN_COMMAND or action_id.startswith(RUN_COMMAND + ":")


def command_button(label: str, command: str, *, key: str, style: str | None = None) -> ButtonElement:
    """A button that runs ``command`` when clicked; ``key`` keeps its action id unique in the message."""
    return ButtonElement(
        text=truncate(label, MAX_BUTTON_LABEL),
        action_id=f"{RUN_COMMAND}:{key}",
        value=command,
        style=style,
    )


def on_cluster(command: str, cluster: str) -> str:
    """A drill-down command line pinned to the cluster the answer came from."""
    return f"{command} --cluster {cluster}"


@dataclass(frozen=True)
class Table:
    """The full data behind a summarized list, for the attached file."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass
class MessageBuilder:
    """Accumulates blocks within the budget; ``cut`` turns True as soon as anything was left out."""

    max_blocks: int = MAX_BLOCKS
    blocks: list[Block] = field(default_factory=list)
    cut: bool = False
    _buttons: int = 0

    @property
    def room(self) -> int:
        return self.max_blocks - len(self.blocks)

    def _add(self, block: Block) -> bool:
        if self.room <= 0:
            self.cut = True
            return False
        self.blocks.append(block)
        return True

    def header(self, text: str) -> None:
        self._add(HeaderBlock(text=truncate(text, MAX_HEADER)))

    def section(self, mrkdwn: str, *, fields: list[str] | None = None) -> None:
        """One section; text beyond the limit is cut (and noted), at most 10 fields."""
        if len(mrkdwn) > MAX_SECTION_TEXT or (fields and len(fields) > MAX_FIELDS):
            self.cut = True
        items = [MarkdownTextObject(text=truncate(f, MAX_FIELD_TEXT)) for f in (fields or [])[:MAX_FIELDS]]
        text = MarkdownTextObject(text=_cut_mrkdwn(mrkdwn, MAX_SECTION_TEXT)) if mrkdwn else None
        if text is None and not items:
            return
        self._add(SectionBlock(text=text, fields=items or None))

    def fields(self, fields: list[str]) -> None:
        """Many short fields as several sections of ten."""
        for start in range(0, len(fields), MAX_FIELDS):
            self.section("", fields=fields[start : start + MAX_FIELDS])

    def context(self, *mrkdwn: str) -> None:
        elements = [MarkdownTextObject(text=truncate(t, MAX_FIELD_TEXT)) for t in mrkdwn if t][:MAX_CONTEXT_ELEMENTS]
        if elements:
            self._add(ContextBlock(elements=elements))

    def divider(self) -> None:
        if self.blocks and self.room > 1:
            self._add(DividerBlock())

    def buttons(self, buttons: list[Button]) -> None:
        """An actions block of run_command buttons; ids stay unique across the message."""
        elements = []
        for button in buttons[:MAX_BUTTONS]:
            if len(button.command) > MAX_BUTTON_VALUE:
                continue
            self._buttons += 1
            elements.append(command_button(button.label, button.command, key=str(self._buttons), style=button.style))
        if elements:
            self._add(ActionsBlock(elements=elements))

    def lines(self, lines: list[str], *, noun: str, reserve: int = 1, limit: int | None = None) -> int:
        """Pack mrkdwn lines into sections, leaving ``reserve`` blocks free; returns how many were shown.

        What does not fit (by blocks, or beyond ``limit`` lines) is summarized
        as "…and N more <noun>" in a context block.
        """
        shown_cap = len(lines) if limit is None else min(limit, len(lines))
        shown = 0
        chunk: list[str] = []
        size = 0
        for line in lines[:shown_cap]:
            line = _cut_mrkdwn(line, MAX_SECTION_TEXT - 10)
            if chunk and size + len(line) + 1 > MAX_SECTION_TEXT:
                if self.room <= reserve + 1:
                    break
                self.section("\n".join(chunk))
                shown += len(chunk)
                chunk, size = [], 0
            chunk.append(line)
            size += len(line) + 1
        if chunk and self.room > reserve:
            self.section("\n".join(chunk))
            shown += len(chunk)
        rest = len(lines) - shown
        if rest > 0:
            self.cut = True
            self.context(f"…and {rest:,} more {escape(noun)} (the full list is attached)")
        return shown

    def build(self) -> list[Block]:
        return list(self.blocks)


def _cut_mrkdwn(text: str, limit: int) -> str:
    """Truncate, closing a code block that the cut would leave open."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 5] + "…"
    if cut.count("```") % 2 == 1:
        cut += "\n```"
    return cut


def fallback_text(text: str) -> str:
    return truncate(text, MAX_FALLBACK_TEXT)


def table_attachment(filename: str, title: str, tables: list[Table]) -> Attachment:
    """Tab-separated tables, one after the other, each under its title."""
    parts = []
    for table in tables:
        rows = ["\t".join(_tsv_cell(c) for c in table.columns)]
        rows += ["\t".join(_tsv_cell(c) for c in row) for row in table.rows]
        parts.append(f"# {table.title}\n" + "\n".join(rows))
    return Attachment(filename=filename, content="\n\n".join(parts) + "\n", title=title)


def listing_reply(out: MessageBuilder, title: str, summary: str, table: Table, filename: str, notes: tuple[str, ...] = ()) -> Reply:
    """A list's answer once its message is built: when the message had to cut lines, the whole table rides
    along as a file; the plain form (a terminal has no block limit) always carries it, under ``notes``."""
    attachment = table_attachment(filename, title, [table]) if out.cut else None
    plain = [title, summary, *notes]
    if table.rows:
        plain.append(columns(table.columns, list(table.rows)))
    return Reply(text=fallback_text(escape(summary)), blocks=out.build(), plain="\n".join(plain), attachment=attachment)


def _tsv_cell(value: str) -> str:
    return str(value).replace("\t", " ").replace("\n", " ")


def limit_violations(blocks: list[dict[str, Any]]) -> list[str]:
    """Every way ``blocks`` (as dicts) break Slack's limits; empty when the message is valid."""
    problems = []
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks")
    action_ids: list[str] = []
    for index, block in enumerate(blocks):
        kind = block.get("type")
        if kind == "header" and len(block["text"]["text"]) > MAX_HEADER:
            problems.append(f"block {index}: header too long")
        if kind == "section":
            if len(block.get("text", {}).get("text", "")) > MAX_SECTION_TEXT:
                problems.append(f"block {index}: section text too long")
            fields = block.get("fields", [])
            if len(fields) > MAX_FIELDS:
                problems.append(f"block {index}: {len(fields)} fields")
            if any(len(f["text"]) > MAX_FIELD_TEXT for f in fields):
                problems.append(f"block {index}: field too long")
        if kind == "actions":
            for element in block.get("elements", []):
                action_ids.append(element.get("action_id", ""))
                if len(element.get("value", "")) > MAX_BUTTON_VALUE:
                    problems.append(f"block {index}: button value too long")
    if len(action_ids) != len(set(action_ids)):
        problems.append("duplicate action ids")
    return problems


# -- plain text ----------------------------------------------------------------------

def columns(headers: tuple[str, ...], rows: list[tuple[str, ...]], indent: str = "  ") -> str:
    """Rows aligned under their headers; the last column is not padded."""
    if not rows:
        return ""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    out = []
    for row in [headers, *rows]:
        cells = [str(cell).ljust(widths[i]) if i < len(row) - 1 else str(cell) for i, cell in enumerate(row)]
        out.append((indent + "  ".join(cells)).rstrip())
    return "\n".join(out)


def age(since: datetime | None, now: datetime) -> str:
    """"3d4h", "2h5m", "7m", "40s"; "?" when unknown."""
    if since is None:
        return "?"
    seconds = max(0, int((now - since).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def cpu(millicores: int) -> str:
    return f"{millicores / 1000:.2f}".rstrip("0").rstrip(".") if millicores % 1000 else str(millicores // 1000)


def memory(size: int) -> str:
    for unit, factor in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if size >= factor:
            return f"{size / factor:.1f}".rstrip("0").rstrip(".") + unit
    return str(size)


def percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "-"


def plural(count: int, noun: str, many: str | None = None) -> str:
    return f"{count:,} {noun if count == 1 else (many or noun + 's')}"

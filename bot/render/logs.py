"""Log lines as code blocks, newest first, with the Logs Explorer link for the same query."""

from __future__ import annotations

from bot.commands.reply import Reply
from bot.model.logs import LogLine
from bot.render.limits import MAX_SECTION_TEXT, MessageBuilder, Table, fallback_text, table_attachment
from bot.render.mrkdwn import code, code_block, escape, link
from bot.results.logs import LogsResult

_LINE_LIMIT = 400  # characters of one log line shown in Slack; the file has all of it


def _line_text(line: LogLine) -> str:
    when = line.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ") if line.timestamp else "-"
    parts = [when, line.severity or "-"]
    if line.origin:
        parts.append(line.origin)
    return " ".join(parts) + " " + line.text.replace("\n", " ")


def render_logs(result: LogsResult) -> Reply:
    title = f"Logs: {result.title} ({result.window}, {result.source})"
    out = MessageBuilder()
    out.header(title)
    if result.explorer_url:
        out.section(f"{link(result.explorer_url, 'Open in Logs Explorer')} (same query, same window)")
    if result.filter:
        out.context("Filter: " + code(result.filter))
    texts = [_line_text(line) for line in result.lines]
    if not texts:
        out.section("_No log lines in this window._")
    shown = 0
    chunk: list[str] = []
    budget = MAX_SECTION_TEXT - 10
    for text in texts:
        text = text if len(text) <= _LINE_LIMIT else text[: _LINE_LIMIT - 1] + "…"
        if chunk and len(code_block("\n".join(chunk + [text]))) > budget:
            if out.room <= 3:
                break
            out.section(code_block("\n".join(chunk)))
            shown += len(chunk)
            chunk = []
        chunk.append(text)
    if chunk and out.room > 2:
        out.section(code_block("\n".join(chunk)))
        shown += len(chunk)
    long_lines = any(len(t) > _LINE_LIMIT for t in texts)
    if shown < len(texts) or long_lines:
        out.cut = True
        if shown < len(texts):
            out.context(f"…and {len(texts) - shown:,} more lines (all of them are attached)")
    for note in result.notes:
        out.context(escape(note))
    attachment = None
    if out.cut:
        table = Table(title, ("TIME", "SEVERITY", "ORIGIN", "TEXT"), tuple(
            (l.timestamp.isoformat() if l.timestamp else "", l.severity, l.origin, l.text) for l in result.lines
        ))
        attachment = table_attachment(f"logs-{result.cluster}.tsv", title, [table])
    plain = [title]
    if result.filter:
        plain.append(f"Filter: {result.filter}")
    if result.explorer_url:
        plain.append(f"Logs Explorer: {result.explorer_url}")
    plain += [f"  {t}" for t in texts] or ["  (no log lines in this window)"]
    plain += list(result.notes)
    return Reply(text=fallback_text(escape(f"{len(texts)} log lines: {result.title}")), blocks=out.build(), plain="\n".join(plain), attachment=attachment)

"""Plain-text building blocks for the console rendering: aligned columns, ages, sizes.

The console (``ask``) and the attached files are read in a terminal or an
editor, where a table is only readable when its columns line up.
"""

from __future__ import annotations

from datetime import datetime


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

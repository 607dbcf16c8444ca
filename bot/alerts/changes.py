"""Which differences between two checks are worth telling people about.

A summarizing bot stays quiet about churn: a pending count going from 40 to
41 is noise, a second zone going dark or an upgrade reaching its next step is
news. The engine compares the facts it last posted with the current ones here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeGuard

# Facts whose every change is news (an operation's status, an upgrade's step).
STEP_FACTS = ("status", "progress", "phase", "reason")
# List facts where a new member is news (a new zone affected, a new scheduler reason).
GROWING_FACTS = ("zones", "reasons")
# Counters whose every rise is news: how often a node flapped.
COUNTER_FACTS = {"flaps": "flapped again (flap {new})"}


def significant_changes(old: Mapping[str, Any], new: Mapping[str, Any], threshold: float) -> list[str]:
    """Sentences describing what changed enough, empty when nothing did."""
    changes: list[str] = []
    for name in STEP_FACTS:
        if name in new and old.get(name) != new.get(name) and name in old:
            changes.append(f"{_label(name)}: {old.get(name)} → {new.get(name)}")
    for name in GROWING_FACTS:
        added = [v for v in new.get(name) or [] if v not in (old.get(name) or [])]
        if added and name in old:
            changes.append(f"new {_label(name)}: {', '.join(str(v) for v in added)}")
    for name, sentence in COUNTER_FACTS.items():
        before, after = old.get(name), new.get(name)
        if _is_count(before) and _is_count(after) and after > before:
            changes.append(sentence.format(old=before, new=after))
    for name, value in new.items():
        if name in STEP_FACTS or name in COUNTER_FACTS or not _is_count(value):
            continue
        before = old.get(name)
        if not _is_count(before):
            continue
        if abs(value - before) > threshold * max(abs(before), 1):
            changes.append(f"{_label(name)}: {before} → {value}")
    return changes


def _is_count(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _label(name: str) -> str:
    return name.replace("_", " ")

"""docs/faults.md names tests that exist: every row of the fault matrix points at a test function in this tree."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MATRIX = ROOT / "docs" / "faults.md"
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def test_every_row_of_the_fault_matrix_names_an_existing_test() -> None:
    rows = [line for line in MATRIX.read_text().splitlines() if line.startswith("| ") and not line.startswith("| Fault")]
    rows = [row for row in rows if not set(row) <= set("|- ")]
    assert len(rows) >= 30
    for row in rows:
        named = REFERENCE.findall(row)
        assert named, f"a row without a test: {row}"
        for path, name in named:
            tree = ast.parse((ROOT / path).read_text())
            functions = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
            assert name in functions, f"{path} has no test {name}"

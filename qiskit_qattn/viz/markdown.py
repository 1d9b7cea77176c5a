"""Markdown tables and named sections of ``benchmarks/RESULTS.md``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured markdown table.

    Example:
        >>> print(markdown_table(["a", "b"], [[1, 2]]))
        | a | b |
        |---|---|
        | 1 | 2 |
    """
    lines = ["| " + " | ".join(map(str, headers)) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A fixed-width table for terminals.

    Example:
        >>> print(text_table(["a", "bb"], [[1, 2]]))
        a  bb
        -  --
        1  2
    """
    cells = [list(map(str, headers))] + [list(map(str, r)) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*cells[0]), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*row) for row in cells[1:]]
    return "\n".join(line.rstrip() for line in out)


def update_results_section(path: str | Path, section: str, body: str) -> Path:
    """Replace (or append) the section ``section`` of a results file, keeping the others.

    Sections are delimited by ``<!-- section:NAME -->`` ... ``<!-- /section:NAME -->``.

    Example:
        >>> p = update_results_section("/tmp/qattn_results_doctest.md", "demo", "hello")
        >>> "hello" in p.read_text()
        True
    """
    path = Path(path)
    begin, end = f"<!-- section:{section} -->", f"<!-- /section:{section} -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    text = path.read_text() if path.exists() else "# Results\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)
    return path

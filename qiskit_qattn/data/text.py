"""Real English text that is present on every Python install, for offline experiments.

The source is CPython's own ``pydoc_data.topics``: the Python Language Reference prose shipped
with the interpreter (about 460k characters). No download, deterministic across machines
running the same Python minor version.
"""

from __future__ import annotations

import re


def reference_text(max_chars: int | None = None) -> str:
    """Paragraphs of the Python Language Reference, markup stripped, in a fixed order.

    Args:
        max_chars: truncate to at most this many characters (``None`` = all).

    Example:
        >>> len(reference_text(200)) <= 200
        True
    """
    from pydoc_data.topics import topics

    paragraphs: list[str] = []
    for key in sorted(topics):
        for block in re.split(r"\n\s*\n", topics[key]):
            line = " ".join(block.split())
            # Keep prose: sentences with mostly letters, not code listings or tables.
            letters = sum(ch.isalpha() or ch in " ,." for ch in line)
            if (
                len(line) > 120
                and letters > 0.97 * len(line)
                and line.endswith(".")
                and line[0].isupper()
            ):
                paragraphs.append(line)
    text = "\n".join(paragraphs)
    return text if max_chars is None else text[:max_chars]

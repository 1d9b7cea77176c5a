"""Attention heat maps: exact next to estimated weights."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def attention_heatmaps(
    weights: Sequence[np.ndarray],
    titles: Sequence[str],
    path: str | Path,
    *,
    tokens: Sequence[str] | None = None,
    suptitle: str | None = None,
    columns: int = 4,
) -> Path:
    """Save heat maps of attention weight matrices ``[n_q, n_k]`` to a PNG, ``columns`` per row.

    Titles are wrapped to the panel width, so long labels never run into each other.

    Example:
        >>> attention_heatmaps([np.eye(2)], ["I"], "/tmp/qattn_doctest.png").suffix
        '.png'
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if len(weights) != len(titles):
        raise ValueError("weights and titles must have the same length")
    if columns < 1:
        raise ValueError(f"columns must be >= 1; got {columns}")
    vmax = max(float(np.nanmax(w)) for w in weights)
    cols = min(columns, len(weights))
    rows = -(-len(weights) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 4.4 * rows), squeeze=False,
                             layout="constrained")
    image = None
    for index, ax in enumerate(axes.flat):
        if index >= len(weights):
            ax.set_visible(False)
            continue
        w, title, col = weights[index], titles[index], index % cols
        image = ax.imshow(w, cmap="viridis", vmin=0.0, vmax=vmax, aspect="auto")
        ax.set_title("\n".join(textwrap.wrap(title, 30)), fontsize=9)
        ax.set_xlabel("key")
        if tokens is not None:
            ax.set_xticks(range(w.shape[1]), list(tokens)[: w.shape[1]], rotation=90, fontsize=6)
        if col == 0:
            ax.set_ylabel("query")
            if tokens is not None:
                ax.set_yticks(range(w.shape[0]), list(tokens)[: w.shape[0]], fontsize=6)
        else:
            ax.set_yticks([])
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, label="attention weight")
    if suptitle:
        fig.suptitle(suptitle)
    path = Path(path)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path

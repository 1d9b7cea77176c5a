"""Attention heat maps: exact next to estimated weights."""

from __future__ import annotations

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
) -> Path:
    """Save side-by-side heat maps of attention weight matrices ``[n_q, n_k]`` to a PNG.

    Example:
        >>> attention_heatmaps([np.eye(2)], ["I"], "/tmp/qattn_doctest.png").suffix
        '.png'
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if len(weights) != len(titles):
        raise ValueError("weights and titles must have the same length")
    vmax = max(float(np.max(w)) for w in weights)
    fig, axes = plt.subplots(1, len(weights), figsize=(4.2 * len(weights), 4.0), squeeze=False)
    image = None
    for col, (ax, w, title) in enumerate(zip(axes[0], weights, titles, strict=True)):
        image = ax.imshow(w, cmap="viridis", vmin=0.0, vmax=vmax, aspect="auto")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("key")
        if tokens is not None:
            ax.set_xticks(range(w.shape[1]), list(tokens)[: w.shape[1]], rotation=90, fontsize=6)
        if col == 0:
            ax.set_ylabel("query")
            if tokens is not None:
                ax.set_yticks(range(w.shape[0]), list(tokens)[: w.shape[0]], fontsize=6)
        else:
            ax.set_yticks([])
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8, label="attention weight")
    if suptitle:
        fig.suptitle(suptitle)
    path = Path(path)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path

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


def error_heatmap(
    errors: np.ndarray,
    path: str | Path,
    *,
    title: str | None = None,
    row_label: str = "layer",
    column_label: str = "head",
    value_label: str = "relative error",
    percent: bool = True,
) -> Path:
    """Save a grid of errors (e.g. layer x head of a model sweep) as an annotated heat map PNG.

    NaN cells (not swept) are left blank. With ``percent`` the cells show ``100 x value``.

    Example:
        >>> grid = np.array([[0.01, 0.05], [np.nan, 0.2]])
        >>> error_heatmap(grid, "/tmp/qattn_doctest_errors.png").suffix
        '.png'
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.asarray(errors, dtype=float)
    if grid.ndim != 2 or grid.size == 0:
        raise ValueError(f"errors must be a non-empty 2-D array; got shape {grid.shape}")
    scale = 100.0 if percent else 1.0
    shown = np.ma.masked_invalid(grid * scale)
    rows, cols = grid.shape
    fig, ax = plt.subplots(figsize=(1.0 + 0.62 * cols, 1.2 + 0.5 * rows), layout="constrained")
    image = ax.imshow(shown, cmap="magma_r", aspect="auto", vmin=0.0,
                      vmax=float(np.nanmax(grid * scale)) if np.isfinite(grid).any() else 1.0)
    ax.set_xticks(range(cols))
    ax.set_yticks(range(rows))
    ax.set_xlabel(column_label)
    ax.set_ylabel(row_label)
    top = float(shown.max()) if shown.count() else 0.0
    for (i, j), value in np.ndenumerate(grid * scale):
        if np.isfinite(value):
            ax.text(j, i, f"{value:.1f}" if percent else f"{value:.3g}", ha="center",
                    va="center", fontsize=7, color="white" if value > 0.6 * top else "black")
    fig.colorbar(image, ax=ax, label=f"{value_label}{' [%]' if percent else ''}", shrink=0.9)
    if title:
        ax.set_title(title, fontsize=9)
    path = Path(path)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path

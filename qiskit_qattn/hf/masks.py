"""The mask function registered beside every ``qattn_<backend>`` attention function.

transformers builds a model's 4-D attention mask through ``AttentionMaskInterface`` under the
model's ``attn_implementation``; an implementation without a registered mask function gets *no
mask at all* (padding silently attended to). qattn implementations use transformers' boolean
``sdpa_mask`` (``True`` = attend, the convention of
:func:`qiskit_qattn.attention.attention`) with one change: the causal mask is always built,
never skipped in favour of SDPA's ``is_causal`` flag, which the attention backends do not have.
"""

from __future__ import annotations

from typing import Any


def qattn_mask(*args: Any, **kwargs: Any):
    """The boolean ``sdpa_mask`` of transformers, with the causal shortcut disabled.

    Returns a boolean mask ``[batch, 1, q_length, kv_length]`` (``True`` = attend) or ``None``
    when every key may be attended to (bidirectional, no padding).

    Example:
        >>> import torch
        >>> m = qattn_mask(batch_size=1, q_length=3, kv_length=3)
        >>> m[0, 0].int().tolist()                   # causal, although it could be skipped
        [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    """
    from transformers.masking_utils import sdpa_mask

    kwargs["allow_is_causal_skip"] = False
    return sdpa_mask(*args, **kwargs)

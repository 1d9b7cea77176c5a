"""A real 16-key attention head: MiniLM layer 2, head 3, on the Python Language Reference."""

from __future__ import annotations

import pytest

from qiskit_qattn.data import capture_heads


@pytest.fixture(scope="session")
def minilm_head():
    """``(Q [8, 32], K [16, 32], V [16, 4])`` float64 and the model's scale."""
    heads = capture_heads(18)
    q, k, v = (a[1:17] for a in heads.head(2, 3))
    return q[:8], k, v[:, :4], heads.scale

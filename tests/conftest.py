"""Shared fixtures: seeded random generators and small real-like attention heads."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def head(rng):
    """A random head with 5 queries, 11 keys (not a power of two), d=8, d_v=3."""
    q = rng.normal(size=(5, 8))
    k = rng.normal(size=(11, 8))
    v = rng.normal(size=(11, 3))
    return q, k, v

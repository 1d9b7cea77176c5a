"""Fixtures of the hardware-readiness tests: one FakeTorino per session, small seeded heads."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def torino():
    from qiskit_ibm_runtime.fake_provider import FakeTorino

    return FakeTorino()


@pytest.fixture
def small_head():
    """2 queries, 8 keys (m = 3), d = 6, d_v = 2."""
    rng = np.random.default_rng(2024)
    return rng.normal(size=(2, 6)), rng.normal(size=(8, 6)), rng.normal(size=(8, 2))

"""Fixtures for the passes tests: fake devices built once per session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def torino():
    from qiskit_ibm_runtime.fake_provider import FakeTorino

    return FakeTorino()


@pytest.fixture(scope="session")
def sherbrooke():
    from qiskit_ibm_runtime.fake_provider import FakeSherbrooke

    return FakeSherbrooke()

"""A real Dask ``LocalCluster`` (processes, 2 workers) shared by the sweep tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # sweep_helpers, also for the child driver


@pytest.fixture(scope="session")
def dask_workers():
    """Two local Dask worker processes, one thread each (the machine has two cores)."""
    from qiskit_qattn.sweeps import DaskWorkers

    workers = DaskWorkers(2, memory_limit="3GiB")
    yield workers
    workers.close()


@pytest.fixture(scope="session")
def helpers():
    import sweep_helpers

    return sweep_helpers

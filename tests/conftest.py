"""Shared fixtures: seeded random generators and small real-like attention heads."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _torch_threads_restored():
    """Each test starts with the session's torch thread count (benchmark helpers that tests
    run on tiny sizes pin torch to the thread count they time)."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


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


@pytest.fixture(scope="session")
def load_benchmark():
    """Import ``benchmarks/<name>.py`` as a module (so its core functions can run on tiny sizes).

    The module is registered in ``sys.modules`` while the session runs (dataclasses need it) and
    removed afterwards.
    """
    import importlib.util
    import sys
    from pathlib import Path

    scripts = Path(__file__).resolve().parents[1] / "benchmarks"
    loaded: dict[str, object] = {}

    def load(name: str):
        if name not in loaded:
            spec = importlib.util.spec_from_file_location(f"qattn_bench_{name}",
                                                          scripts / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
            loaded[name] = module
        return loaded[name]

    yield load
    for name in loaded:
        sys.modules.pop(f"qattn_bench_{name}", None)

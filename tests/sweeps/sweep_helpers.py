"""Units shared by the sweep tests and the driver they start in a child process.

The child imports this module by name (the test puts this folder on ``sys.path``), so both build
exactly the same units: same heads, same parameters, same fingerprints.
"""

from __future__ import annotations

import numpy as np

from qiskit_qattn.data import AttentionHeads
from qiskit_qattn.sweeps import attention_units


def random_heads(layers: int = 2, heads: int = 4, tokens: int = 10, dim: int = 8,
                 seed: int = 11) -> AttentionHeads:
    """Seeded random Q/K/V laid out like captured MiniLM heads ``[layers, heads, tokens, d]``."""
    rng = np.random.default_rng(seed)
    q, k, v = (rng.normal(size=(layers, heads, tokens, dim)).astype(np.float32)
               for _ in range(3))
    return AttentionHeads(q, k, v, [f"t{i}" for i in range(tokens)])


def noisy_units(count: int = 8, *, keys: int = 8, queries: int = 4, seed: int = 7):
    """``count`` heads through device-noise shots on FakeTorino (~0.5-1 s each, warm)."""
    heads = random_heads(layers=2, heads=max(1, (count + 1) // 2), tokens=keys + 2)
    units = attention_units(heads, num_keys=keys, num_queries=queries, value_columns=3,
                            family="warm_start", execution="shots", device="fake_torino",
                            shots=4096, seed=seed)
    return units[:count]


def exact_units(count: int = 4, *, keys: int = 6, queries: int = 3, seed: int = 7):
    """``count`` heads through exact amplitude encoding (statevector): error ~1e-12."""
    heads = random_heads(layers=1, heads=count, tokens=keys + 2)
    return attention_units(heads, num_keys=keys, num_queries=queries, family="softmax_state",
                           execution="statevector", device=None, seed=seed)

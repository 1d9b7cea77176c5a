"""Run measured ISA circuits through qiskit-ibm-runtime's executor-based ``Sampler``.

With a fake backend as ``mode`` this is Runtime's local testing mode (Aer with the device's
noise, no account). With an IBM backend, ``Session`` or ``Batch`` it submits to IBM Quantum.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from ..sim.aer_sampling import counts_to_array


def run_runtime_sampler(
    circuits: Sequence[QuantumCircuit],
    mode: Any,
    *,
    shots: int,
    num_outcomes: int,
    seed: int | None = None,
    options: dict | None = None,
) -> np.ndarray:
    """Sample every circuit (one PUB each, one job) and return counts ``[num_circuits, outcomes]``.

    Args:
        circuits: ISA circuits for ``mode``'s backend, measured into one register.
        mode: a ``BackendV2`` (job mode; fake backends run locally), ``Session`` or ``Batch``.
        shots: shots per circuit.
        num_outcomes: ``2**m`` for an ``m``-qubit key register.
        seed: ``simulator.seed_simulator`` for local testing mode (ignored on hardware).
        options: extra ``SamplerOptions`` fields as a dict.

    Example:
        >>> from qiskit_ibm_runtime.fake_provider import FakeTorino  # doctest: +SKIP
        >>> run_runtime_sampler(isa, FakeTorino(), shots=1000, num_outcomes=16)  # doctest: +SKIP
    """
    from qiskit_ibm_runtime.executor_sampler import Sampler

    sampler = Sampler(mode=mode, options=options or {})
    if seed is not None:
        sampler.options.simulator.seed_simulator = int(seed)
    result = sampler.run(list(circuits), shots=int(shots)).result()
    out = np.zeros((len(circuits), num_outcomes), dtype=np.int64)
    for i, pub_result in enumerate(result):
        registers = list(pub_result.data.keys())
        if len(registers) != 1:
            raise ValueError(f"expected one classical register per circuit; got {registers}")
        bits = pub_result.data[registers[0]]
        out[i] = counts_to_array(bits.get_int_counts(), num_outcomes)
    return out

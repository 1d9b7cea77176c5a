"""The one place where ``resources`` calls the package's execution spine.

Every call into head preparation, compilation, execution, device resolution, real MiniLM heads
and the classical sampler goes through these functions (``prepare_head`` -> ``estimate_attention``
with its executors), so an interface change is ported here and nowhere else.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.providers import BackendV2


def families() -> tuple[str, ...]:
    """Names of the circuit families that build a head's circuits.

    Example:
        >>> "softmax_state" in families() and "qaoa" in families()
        True
    """
    from ..circuits import FAMILY_NAMES

    return tuple(FAMILY_NAMES)


def check_family(family: Any) -> str:
    """``family`` if it names a circuit family, else ``ValueError`` listing the choices.

    Example:
        >>> check_family("qaoa")
        'qaoa'
    """
    names = families()
    if not isinstance(family, str) or family not in names:
        raise ValueError(f"family must be one of {names}; got {family!r}")
    return family


def resolve_device(device: Any) -> BackendV2:
    """A ``BackendV2`` for a device name (``"fake_torino"``) or a ``BackendV2`` itself.

    Example:
        >>> resolve_device("fake_torino").name
        'fake_torino'
    """
    from ..runtime import resolve_device as resolve

    return resolve(device)


def head_circuits(Q: Any, K: Any, V: Any, family: str, *, scale: float | None = None,
                  **options: Any) -> list[QuantumCircuit]:
    """One logical key-register circuit per query of the head, built by ``family``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> qcs = head_circuits(rng.normal(size=(2, 4)), rng.normal(size=(8, 4)), None, "qaoa")
        >>> len(qcs), qcs[0].num_qubits
        (2, 3)
    """
    from ..circuits import prepare_head

    if V is None:
        V = np.ones((np.shape(K)[0], 1))
    return prepare_head(Q, K, V, family=check_family(family), scale=scale, **options).circuits


def compile_for_device(circuits: list[QuantumCircuit], device: Any, *, seed: int = 0,
                       measure: bool = False) -> list[QuantumCircuit]:
    """ISA circuits for ``device`` at optimization level 3 (one transpiler seed).

    Example:
        >>> qc = QuantumCircuit(2); _ = qc.h(0); _ = qc.cx(0, 1)
        >>> compile_for_device([qc], "fake_torino")[0].num_qubits
        133
    """
    from ..passes import compile_circuits

    return compile_circuits(circuits, resolve_device(device), optimization_level=3,
                            seed_transpiler=seed, measure=measure)


def key_distribution(circuits: list[QuantumCircuit]) -> np.ndarray:
    """Exact key probabilities ``[n_q, 2**m]`` of logical circuits (column ``j`` = key ``j``).

    The key order of sorted-layout families (``metadata["key_order"]``) is undone.

    Example:
        >>> qc = QuantumCircuit(1); _ = qc.h(0)
        >>> key_distribution([qc]).round(6).tolist()
        [[0.5, 0.5]]
    """
    from ..circuits import to_key_order
    from ..execution import CircuitBatch, StatevectorExecutor

    probs = StatevectorExecutor().probabilities(CircuitBatch(circuits, circuits[0].num_qubits))
    orders = [(qc.metadata or {}).get("key_order") for qc in circuits]
    return np.stack([p if o is None else to_key_order(p, o) for p, o in zip(probs, orders,
                                                                              strict=True)])


def exact_output(Q: Any, K: Any, V: Any, *, scale: float | None = None) -> np.ndarray:
    """Exact softmax attention output ``[n_q, d_v]`` (the reference of every error here).

    Example:
        >>> exact_output(np.eye(2), np.eye(2), np.eye(2), scale=1.0).round(3).tolist()
        [[0.731, 0.269], [0.269, 0.731]]
    """
    from ..attention import exact_attention

    return exact_attention(Q, K, V, scale=scale)


@dataclass
class NoisyRun:
    """What one estimate of a head's output returned, in this subpackage's field names.

    Attributes:
        values: estimated output ``[n_q, d_v]``.
        std_errors: their standard errors (delta method, or ZNE's propagated errors).
        shots: shots per circuit as requested.
        total_shots: shots over the whole execution (ZNE folds and readout calibration
            included).
        compiled: the ISA circuits of the first scale factor (``None`` without a device).
        unmitigated_values: the same raw shots without mitigation (``None`` when none ran).
        wall_time: seconds.
        mean_scale_factor: mean ZNE noise-scale factor over the executed circuits (1 without
            ZNE), for device-time figures.
    """

    values: np.ndarray
    std_errors: np.ndarray
    shots: int
    total_shots: int
    compiled: list[QuantumCircuit] | None
    unmitigated_values: np.ndarray | None
    wall_time: float
    mean_scale_factor: float = 1.0


def estimate_output(Q: Any, K: Any, V: Any, family: str, *, device: Any | None = None,
                    shots: int = 4096, mitigation: str | None = None, seed: int = 0,
                    scale: float | None = None, **options: Any) -> NoisyRun:
    """Sample the head's output with ``shots`` per query: ideal, or with ``device``'s noise.

    With a device the circuits are compiled for it (optimization level 3, transpiler seed
    ``seed``) and sampled from their exact noisy distributions (the device's noise reduced to the
    qubits in use). ``mitigation`` is ``None``, ``"rem"``, ``"zne"`` or ``"zne+rem"``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> Q, K, V = rng.normal(size=(1, 4)), rng.normal(size=(4, 4)), rng.normal(size=(4, 2))
        >>> estimate_output(Q, K, V, "softmax_state", shots=100, seed=1).total_shots
        100
    """
    from ..attention import estimate_attention

    start = time.perf_counter()
    est = estimate_attention(
        Q, K, V, family=check_family(family), execution="shots", shots=shots,
        device=None if device is None else resolve_device(device), noise_model="device",
        mitigation=mitigation, seed=seed, scale=scale, **options,
    )
    report = est.mitigation
    n_q = est.values.shape[0]
    return NoisyRun(
        values=np.asarray(est.values), std_errors=np.asarray(est.std_errors), shots=int(shots),
        total_shots=int(report.total_shots) if report is not None else int(shots) * n_q,
        compiled=est.compiled,
        unmitigated_values=None if report is None else np.asarray(report.unmitigated_values),
        wall_time=time.perf_counter() - start,
        mean_scale_factor=1.0 if report is None else float(np.mean(report.scale_factors)),
    )


#: Keys one MiniLM window holds (512 tokens minus [CLS] and [SEP]).
MAX_WINDOW_KEYS = 510


def minilm_head(num_keys: int, *, num_queries: int = 4, value_columns: int = 4,
                layer: int = 2, head: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                         float, str]:
    """``(Q, K, V, scale, description)`` of a real MiniLM head over consecutive real words.

    Token 0 ([CLS]) is skipped; keys are the next ``num_keys`` tokens of real English text,
    queries the first ``num_queries`` of them, values the first ``value_columns`` columns. More
    than 510 keys come from consecutive, disjoint 512-token windows of the text, each run
    through the model on its own (MiniLM's context is 512 tokens); the description says so.

    Example:
        >>> Q, K, V, scale, what = minilm_head(8, num_queries=2)  # doctest: +SKIP
        >>> Q.shape, K.shape, V.shape  # doctest: +SKIP
        ((2, 32), (8, 32), (8, 4))
    """
    from ..data import capture_heads

    if num_keys < 1:
        raise ValueError(f"num_keys must be >= 1; got {num_keys}")
    windows = -(-num_keys // MAX_WINDOW_KEYS)
    parts_q, parts_k, parts_v = [], [], []
    left = num_keys
    scale = None
    for w in range(windows):
        take = min(left, MAX_WINDOW_KEYS)
        # A window of T tokens reads at most 8 T + 200 characters: disjoint windows.
        heads = capture_heads(take + 2, offset_chars=w * (8 * (MAX_WINDOW_KEYS + 2) + 200))
        q, k, v = heads.head(layer, head)
        keys = slice(1, take + 1)
        parts_q.append(q[keys])
        parts_k.append(k[keys])
        parts_v.append(v[keys][:, :value_columns])
        scale = heads.scale
        left -= take
    what = f"MiniLM layer {layer} head {head}, {num_keys} keys of real text"
    if windows > 1:
        what += f" ({windows} consecutive 512-token windows)"
    return (np.concatenate(parts_q)[:num_queries], np.concatenate(parts_k),
            np.concatenate(parts_v), float(scale), what)


def classical_sampler(Q: Any, K: Any, V: Any, *, scale: float | None = None, seed: int = 0,
                      **options: Any) -> tuple[np.ndarray, dict[str, Any]]:
    """Output ``[n_q, d_v]`` and info of the quantum-inspired classical sampler (``classical``).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> Q, K, V = rng.normal(size=(2, 4)), rng.normal(size=(16, 4)), rng.normal(size=(16, 2))
        >>> out, info = classical_sampler(Q, K, V, seed=1)
        >>> out.shape, "keys_per_query" in info
        ((2, 2), True)
    """
    import torch

    from ..attention import attention

    res = attention(torch.as_tensor(np.asarray(Q, dtype=np.float64)),
                    torch.as_tensor(np.asarray(K, dtype=np.float64)),
                    torch.as_tensor(np.asarray(V, dtype=np.float64)),
                    backend="classical", scale=scale, seed=seed, **options)
    return res.output.detach().numpy(), dict(res.info)

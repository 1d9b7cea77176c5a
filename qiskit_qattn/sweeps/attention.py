"""Whole-model attention sweeps: a unit per (layer, head) x family x execution x mitigation.

:func:`attention_units` turns captured heads (:func:`qiskit_qattn.data.capture_heads`) into
units that each run one head through ``estimate_attention`` (the spine every entry point uses)
and compare it with exact softmax attention; :func:`sweep_model` captures MiniLM on real text,
runs the units with :func:`~.runner.run_sweep` and gathers a per-head table and a
layer x head error grid. Each unit carries its head's Q/K/V (a few kB), so workers never load
the model, and its own seed, derived from the sweep seed and (layer, head): the results do not
depend on how many workers ran them or in which order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .runner import SweepResult, run_sweep
from .units import Unit

__all__ = ["HeadResult", "ModelSweep", "attention_units", "estimate_head", "sweep_model",
           "unit_seed"]

#: The function every attention unit runs (imported by name in the workers).
HEAD_FUNCTION = "qiskit_qattn.sweeps.attention:estimate_head"


def unit_seed(seed: int, *identity: int) -> int:
    """A seed for one unit from the sweep's seed and the unit's identity (e.g. layer, head).

    Example:
        >>> unit_seed(7, 2, 4) == unit_seed(7, 2, 4), unit_seed(7, 2, 4) == unit_seed(7, 4, 2)
        (True, False)
    """
    state = np.random.SeedSequence([int(seed), *map(int, identity)]).generate_state(1)
    return int(state[0] & 0x7FFFFFFF)


def estimate_head(Q, K, V, *, scale: float, family: str, execution: str,
                  device: str | None, noise_model: str | None, shots: int, seed: int,
                  mitigation: str | None = None, mitigation_options: Mapping | None = None,
                  family_options: Mapping | None = None, runtime_store: str | None = None
                  ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """One head through ``estimate_attention``, against exact softmax attention (a unit).

    Returns arrays ``values``, ``std_errors``, ``weights``, ``exact`` and metadata
    ``relative_error`` (Frobenius, vs exact), ``mean_std_error``, ``unmitigated_relative_error``
    (mitigated runs), ``two_qubit_gates`` (mean per compiled circuit), ``total_shots``,
    ``num_key_qubits`` and the stage ``timings``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> Q, K, V = rng.normal(size=(2, 4)), rng.normal(size=(8, 4)), rng.normal(size=(8, 2))
        >>> arrays, meta = estimate_head(Q, K, V, scale=0.5, family="softmax_state",
        ...     execution="statevector", device=None, noise_model=None, shots=1, seed=1)
        >>> meta["relative_error"] < 1e-9
        True
    """
    from ..attention import estimate_attention, exact_attention

    options = dict(family_options or {})
    execution_arg: Any = execution
    device_arg = device
    if execution == "runtime":
        from ..execution import RuntimeExecutor
        from ..runtime import JobStore

        store = JobStore(runtime_store) if runtime_store else JobStore()
        execution_arg = RuntimeExecutor(device or "fake_torino", store=store, seed=seed)
        device_arg = None
    kwargs: dict[str, Any] = {}
    if execution == "shots" and device is not None:
        kwargs["noise_model"] = noise_model
    est = estimate_attention(
        Q, K, V, family=family, execution=execution_arg, shots=shots, scale=scale,
        device=device_arg, seed=seed, mitigation=mitigation,
        mitigation_options=dict(mitigation_options) if mitigation_options else None,
        **kwargs, **options)
    exact = exact_attention(Q, K, V, scale=scale)
    meta: dict[str, Any] = {
        "relative_error": est.relative_error(exact),
        "mean_std_error": float(np.mean(est.std_errors)),
        "num_key_qubits": int(est.metadata.get("num_key_qubits", est.head.num_qubits)),
        "timings": {k: float(v) for k, v in est.metadata.get("timings", {}).items()},
        "total_shots": int(est.metadata.get("total_shots",
                                            (est.shots or 0) * est.values.shape[0])),
    }
    if est.batch is not None:
        from ..viz import two_qubit_count

        meta["two_qubit_gates"] = float(np.mean([two_qubit_count(c) for c in est.compiled]))
    if est.mitigation is not None and est.mitigation.client_side:
        raw = np.asarray(est.mitigation.unmitigated_values)
        meta["unmitigated_relative_error"] = float(np.linalg.norm(raw - exact)
                                                   / np.linalg.norm(exact))
    arrays = {"values": est.values, "std_errors": est.std_errors, "weights": est.weights,
              "exact": exact}
    return arrays, meta


def attention_units(
    heads: Any,
    *,
    layers: Iterable[int] | None = None,
    head_indices: Iterable[int] | None = None,
    num_keys: int | None = None,
    num_queries: int | None = None,
    value_columns: int | None = None,
    family: str = "warm_start",
    execution: str = "shots",
    device: str | None = "fake_torino",
    noise_model: str | None = "device",
    mitigation: str | None = None,
    shots: int = 8192,
    seed: int = 7,
    family_options: Mapping[str, Any] | None = None,
    mitigation_options: Mapping[str, Any] | None = None,
    runtime_store: str | None = None,
) -> list[Unit]:
    """One unit per selected (layer, head) of captured ``heads`` (an ``AttentionHeads``).

    Keys are the tokens after ``[CLS]`` (``num_keys`` of them, default all but ``[CLS]`` and
    ``[SEP]``); queries the first ``num_queries`` of those (default all); values the first
    ``value_columns`` columns (default the whole head dimension).

    Example:
        >>> from qiskit_qattn.data import AttentionHeads
        >>> z = np.zeros((2, 3, 6, 4), np.float32)
        >>> units = attention_units(AttentionHeads(z, z, z, ["t"] * 6), layers=[1],
        ...                         execution="statevector", device=None)
        >>> [u.label for u in units]
        ['L1 H0', 'L1 H1', 'L1 H2']
    """
    total_layers, total_heads, tokens, _ = heads.queries.shape
    layers = list(range(total_layers)) if layers is None else [int(x) for x in layers]
    indices = list(range(total_heads)) if head_indices is None else [int(x) for x in head_indices]
    for name, chosen, limit in (("layers", layers, total_layers),
                                ("head_indices", indices, total_heads)):
        bad = [x for x in chosen if not 0 <= x < limit]
        if bad or not chosen:
            raise ValueError(f"{name} must be non-empty values in [0, {limit}); got {chosen}")
    keys = tokens - 2 if num_keys is None else int(num_keys)
    if not 2 <= keys <= tokens - 1:
        raise ValueError(f"num_keys must be in [2, {tokens - 1}] for {tokens} captured tokens; "
                         f"got {num_keys}")
    queries = keys if num_queries is None else int(num_queries)
    if not 1 <= queries <= keys:
        raise ValueError(f"num_queries must be in [1, {keys}]; got {num_queries}")
    if execution not in ("statevector", "shots", "runtime"):
        raise ValueError(f"execution must be 'statevector', 'shots' or 'runtime'; got "
                         f"{execution!r}")
    if execution == "statevector" and (device is not None or mitigation is not None):
        raise ValueError("execution='statevector' is exact: drop device and mitigation")
    sl = slice(1, keys + 1)
    units = []
    for layer in layers:
        for head in indices:
            q, k, v = heads.head(layer, head)
            v = v[sl] if value_columns is None else v[sl][:, : int(value_columns)]
            params = {
                "Q": q[sl][:queries], "K": k[sl], "V": v, "scale": heads.scale,
                "family": family, "execution": execution, "device": device,
                "noise_model": noise_model if device is not None else None,
                "shots": int(shots), "seed": unit_seed(seed, layer, head),
                "mitigation": mitigation, "mitigation_options": dict(mitigation_options or {}),
                "family_options": dict(family_options or {}),
            }
            if execution == "runtime":
                params["runtime_store"] = runtime_store
            units.append(Unit(HEAD_FUNCTION, params, label=f"L{layer} H{head}",
                              meta={"layer": layer, "head": head, "family": family,
                                    "execution": execution, "device": device,
                                    "mitigation": mitigation}))
    return units


@dataclass(frozen=True)
class HeadResult:
    """One head's row of a model sweep."""

    layer: int
    head: int
    relative_error: float
    mean_std_error: float
    seconds: float
    source: str
    two_qubit_gates: float | None = None
    unmitigated_relative_error: float | None = None


@dataclass
class ModelSweep:
    """A model sweep: per-head rows, the layer x head error grid and the sweep itself.

    Attributes:
        rows: one :class:`HeadResult` per unit, in (layer, head) order.
        errors: ``[num_layers, num_heads]`` relative errors (NaN where not swept).
        sweep: the :class:`~.runner.SweepResult` (outputs, sources, timings).
        config: what ran (family, execution, device, mitigation, shots, sizes, seed).
        tokens: the key tokens.
    """

    rows: list[HeadResult]
    errors: np.ndarray
    sweep: SweepResult
    config: dict[str, Any] = field(default_factory=dict)
    tokens: list[str] = field(default_factory=list)

    HEADERS = ("layer", "head", "rel. error", "unmitigated", "mean std err", "2q gates",
               "seconds", "from")

    def table_rows(self) -> list[list[str]]:
        """Rows for :func:`qiskit_qattn.viz.text_table` / ``markdown_table``."""
        out = []
        for r in self.rows:
            out.append([str(r.layer), str(r.head), f"{100 * r.relative_error:.2f}%",
                        "-" if r.unmitigated_relative_error is None
                        else f"{100 * r.unmitigated_relative_error:.2f}%",
                        f"{r.mean_std_error:.4f}",
                        "-" if r.two_qubit_gates is None else f"{r.two_qubit_gates:.1f}",
                        f"{r.seconds:.2f}", r.source])
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe summary (no arrays but the error grid)."""
        finite = self.errors[np.isfinite(self.errors)]
        return {"config": self.config, "sweep": self.sweep.summary(),
                "mean_relative_error": float(finite.mean()) if finite.size else None,
                "max_relative_error": float(finite.max()) if finite.size else None,
                "errors": [[None if not np.isfinite(x) else float(x) for x in row]
                           for row in self.errors],
                "heads": [r.__dict__ for r in self.rows]}


def sweep_model(
    *,
    text: str | None = None,
    offset_chars: int = 0,
    num_keys: int = 16,
    num_queries: int | None = 8,
    value_columns: int | None = None,
    layers: Sequence[int] | None = None,
    head_indices: Sequence[int] | None = None,
    family: str = "warm_start",
    execution: str = "shots",
    device: str | None = "fake_torino",
    noise_model: str | None = "device",
    mitigation: str | None = None,
    shots: int = 8192,
    seed: int = 7,
    family_options: Mapping[str, Any] | None = None,
    mitigation_options: Mapping[str, Any] | None = None,
    store: Any = None,
    workers: Any = None,
    retries: int = 2,
    progress: Callable[[int, int, Unit, str], None] | None = None,
    errors: str = "raise",
) -> ModelSweep:
    """MiniLM's attention on real text, every selected head through circuits, on ``workers``.

    Args:
        text: the text to run (default: the Python Language Reference shipped with Python,
            from ``offset_chars``).
        num_keys: tokens per head after ``[CLS]`` (keys); ``num_queries`` of them are queries
            (``None``: all); ``value_columns`` value columns (``None``: the head dimension).
        layers, head_indices: which heads (default all 6 x 12).
        family, execution, device, noise_model, mitigation, shots, family_options,
            mitigation_options: as for ``estimate_attention``.
        seed: the sweep seed (each head derives its own).
        store, workers, retries, progress, errors: as for :func:`~.runner.run_sweep`.

    Example:
        >>> result = sweep_model(layers=[0], head_indices=[0, 1], num_keys=8,
        ...                      execution="statevector", device=None)  # doctest: +SKIP
        >>> result.errors.shape  # doctest: +SKIP
        (6, 12)
    """
    from ..data import capture_heads

    heads = capture_heads(num_keys + 2, offset_chars=offset_chars, text=text)
    runtime_store = None
    if execution == "runtime" and store is not None:
        runtime_store = str(getattr(store, "directory", store))
    units = attention_units(
        heads, layers=layers, head_indices=head_indices, num_keys=num_keys,
        num_queries=num_queries, value_columns=value_columns, family=family,
        execution=execution, device=device, noise_model=noise_model, mitigation=mitigation,
        shots=shots, seed=seed, family_options=family_options,
        mitigation_options=mitigation_options, runtime_store=runtime_store)
    sweep = run_sweep(units, store=store, workers=workers, retries=retries, progress=progress,
                      errors=errors)
    grid = np.full(heads.queries.shape[:2], np.nan)
    rows = []
    for unit in units:
        if unit.key not in sweep.outputs:
            continue
        meta = sweep.outputs[unit.key].metadata
        layer, head = unit.meta["layer"], unit.meta["head"]
        grid[layer, head] = meta["relative_error"]
        rows.append(HeadResult(layer, head, float(meta["relative_error"]),
                               float(meta["mean_std_error"]), float(meta.get("seconds", 0.0)),
                               sweep.sources[unit.key], meta.get("two_qubit_gates"),
                               meta.get("unmitigated_relative_error")))
    config = {"model": "all-MiniLM-L6-v2", "text": "user text" if text is not None else
              f"Python Language Reference @ {offset_chars}", "num_keys": num_keys,
              "num_queries": num_queries or num_keys,
              "value_columns": value_columns or int(heads.values.shape[-1]),
              "family": family, "execution": execution, "device": device,
              "noise_model": noise_model if device is not None else None,
              "mitigation": mitigation, "shots": shots if execution != "statevector" else None,
              "seed": seed, "heads": len(units)}
    return ModelSweep(rows, grid, sweep, config, list(heads.tokens[1: num_keys + 1]))

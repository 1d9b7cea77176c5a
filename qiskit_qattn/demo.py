"""The main job (``qattn demo`` / ``make demo``): a real MiniLM head through the whole pipeline.

Steps: capture Q/K/V of one head from pretrained MiniLM on real text; build the circuit
families for every query; compile for a fake IBM device; estimate the attention output exactly,
with ideal shots, with the device's noise (reduced to the qubits in use) and through Runtime's
local testing mode; print a table against exact softmax attention; save a heat map.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class DemoConfig:
    """What the demo runs; the defaults are the embedded default job."""

    layer: int = 2
    head: int = 4
    num_keys: int = 16
    num_queries: int = 8
    value_columns: int = 4
    shots: int = 8192
    backend: str = "fake_torino"
    qaoa_reps: int = 2
    warm_start_window: int = 1
    runtime: bool = True
    seed: int = 7
    png: str = "qattn_demo.png"


@dataclass
class DemoRow:
    """One line of the demo table."""

    method: str
    execution: str
    qubits: int
    two_qubit_gates: float
    depth: float
    shots: int | None
    relative_error: float
    wall_time: float
    note: str = ""
    qattn_two_qubit_gates: float | None = None


@dataclass
class DemoResult:
    """Rows, the exact reference and where the heat map went."""

    rows: list[DemoRow]
    exact: np.ndarray
    png: Path
    details: dict[str, Any] = field(default_factory=dict)

    HEADERS = ("method", "execution", "qubits", "2q gates", "2q gates (qattn)", "depth", "shots",
               "rel. error", "wall time [s]", "note")

    def table_rows(self) -> list[list[str]]:
        """Rows formatted for printing."""
        return [
            [r.method, r.execution, str(r.qubits), f"{r.two_qubit_gates:.1f}",
             "-" if r.qattn_two_qubit_gates is None else f"{r.qattn_two_qubit_gates:.1f}",
             f"{r.depth:.1f}",
             "-" if r.shots is None else str(r.shots), f"{100 * r.relative_error:.2f}%",
             f"{r.wall_time:.2f}", r.note]
            for r in self.rows
        ]


def load_demo_head(config: DemoConfig):
    """``(Q, K, V, tokens)`` of the configured MiniLM head: real text, real weights."""
    from .data import capture_heads

    heads = capture_heads(config.num_keys + 2)
    q, k, v = heads.head(config.layer, config.head)
    keys = slice(1, config.num_keys + 1)  # skip [CLS]; the next tokens are real words
    tokens = heads.tokens[keys]
    return (q[keys][: config.num_queries], k[keys], v[keys][:, : config.value_columns], tokens,
            heads.scale)


def run_demo(config: DemoConfig | None = None,
             progress: Callable[[str], None] = print) -> DemoResult:
    """Run the demo job and return its table rows.

    Example:
        >>> result = run_demo(DemoConfig(runtime=False))  # doctest: +SKIP
    """
    from .attention import estimate_attention, exact_attention, exact_attention_weights
    from .attention.estimate import mitigation_note
    from .passes import compile_circuits, compile_qattn
    from .runtime import resolve_backend
    from .viz import attention_heatmaps, circuit_report

    config = config or DemoConfig()
    t0 = time.perf_counter()
    progress(f"[1/5] capturing MiniLM layer {config.layer} head {config.head} on real text ...")
    Q, K, V, tokens, scale = load_demo_head(config)
    exact = exact_attention(Q, K, V, scale=scale)
    exact_w = exact_attention_weights(Q, K, scale=scale)
    backend = resolve_backend(config.backend)
    progress(f"      {Q.shape[0]} queries x {K.shape[0]} keys, d_v={V.shape[1]}, "
             f"tokens: {' '.join(tokens)}")

    families = {
        "softmax_state": {},
        "qaoa": {"reps": config.qaoa_reps},
        # Reusable-schedule sampler (keys laid out by score rank): near-exact at a few CZs.
        "warm_start": {"window": config.warm_start_window},
    }
    progress(f"[2/5] building and compiling circuits for {backend.name} (optimization_level=3)")
    stats: dict[str, dict[str, float]] = {}
    qattn_stats: dict[str, dict[str, float]] = {}
    for fam, opts in families.items():
        from .circuits import attention_circuits

        circuits = attention_circuits(Q, K, V, method=fam, scale=scale, **opts)
        compiled = compile_circuits(circuits, backend, optimization_level=3, seed_transpiler=0)
        reports = [circuit_report(c) for c in compiled]
        stats[fam] = {key: float(np.mean([r[key] for r in reports])) for key in reports[0]}
        q_compiled = compile_qattn(circuits, backend, optimization_level=3, seed_transpiler=0)
        q_reports = [circuit_report(c) for c in q_compiled]
        qattn_stats[fam] = {k: float(np.mean([r[k] for r in q_reports])) for k in q_reports[0]}
        progress(f"      {fam}: {stats[fam]['two_qubit_gates']:.1f} two-qubit gates "
                 f"(qattn plugin {qattn_stats[fam]['two_qubit_gates']:.1f}), "
                 f"depth {stats[fam]['depth']:.1f} (mean over queries)")

    plan: list[tuple[str, str, dict[str, Any], str]] = []
    for fam, opts in families.items():
        plan.append((fam, "statevector", dict(opts), "exact probabilities"))
        plan.append((fam, "shots", dict(opts), "ideal sampling"))
        plan.append((fam, "shots", dict(opts, backend=backend), "device noise, reduced model"))
    plan.append(("softmax_state", "shots", {"backend": backend, "mitigation": "zne+rem"},
                 "device noise, ZNE+REM"))
    if config.runtime:
        plan.append(("softmax_state", "runtime", {"mode": backend}, "Runtime local mode"))

    rows: list[DemoRow] = []
    weights: dict[str, np.ndarray] = {}
    progress(f"[3/5] estimating attention ({len(plan)} runs, {config.shots} shots per query)")
    for fam, execution, opts, note in plan:
        label = f"{fam}/{execution}" + ("+noise" if "backend" in opts else "") + (
            f"+{opts['mitigation']}" if "mitigation" in opts else "")
        progress(f"      {label} ...")
        est = estimate_attention(
            Q, K, V, method=fam, execution=execution, shots=config.shots, scale=scale,
            seed=config.seed, **opts,
        )
        if est.mitigation is not None:
            note = f"{note}: {mitigation_note(est, exact)}"
        weights[f"{fam} {note}"] = est.weights
        s = stats[fam]
        rows.append(DemoRow(fam, execution, int(s["qubits"]), s["two_qubit_gates"], s["depth"],
                            est.shots, est.relative_error(exact), est.wall_time, note,
                            qattn_stats[fam]["two_qubit_gates"]))

    progress("[4/5] writing heat map")
    png = Path(config.png)
    chosen = [k for k in weights if "device noise" in k or k.startswith("qaoa exact")]
    attention_heatmaps(
        [exact_w] + [weights[k] for k in chosen],
        ["exact softmax"] + chosen,
        png,
        tokens=tokens,
        suptitle=f"MiniLM layer {config.layer} head {config.head}: exact vs estimated",
    )
    progress(f"[5/5] done in {time.perf_counter() - t0:.1f} s")
    return DemoResult(rows, exact, png,
                      {"tokens": tokens, "stats": stats, "qattn_stats": qattn_stats})

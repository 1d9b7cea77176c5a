"""The main job (``qattn demo`` / ``make demo``): a real MiniLM head through the whole pipeline.

Steps: capture Q/K/V of one head from pretrained MiniLM on real text; prepare the head for every
circuit family; compile for a fake IBM device (Qiskit O3 and the ``qattn`` stages); estimate the
attention output exactly, with ideal shots and with the device's noise (reduced to the qubits in
use); run the default family with ZNE+REM locally and through Runtime's local testing mode
(every fold and calibration circuit in one resumable job); print a table against exact softmax
attention; save a heat map. Every row runs through the same spine, ``estimate_attention``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .circuits import DEFAULT_FAMILY, FAMILY_NAMES


@dataclass
class DemoConfig:
    """What the demo runs; the defaults are the embedded default job."""

    layer: int = 2
    head: int = 4
    num_keys: int = 16
    num_queries: int = 8
    value_columns: int = 4
    shots: int = 8192
    device: str = "fake_torino"
    family: str = DEFAULT_FAMILY
    runtime: bool = True
    seed: int = 7
    png: str = "qattn_demo.png"


@dataclass
class DemoRow:
    """One line of the demo table."""

    family: str
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

    HEADERS = ("family", "execution", "qubits", "2q gates", "2q gates (qattn)", "depth", "shots",
               "rel. error", "wall time [s]", "note")

    def table_rows(self) -> list[list[str]]:
        """Rows formatted for printing."""
        return [
            [r.family, r.execution, str(r.qubits), f"{r.two_qubit_gates:.1f}",
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
    import tempfile

    from .attention import estimate_attention, exact_attention, exact_attention_weights
    from .attention.estimate import mitigation_note
    from .circuits import prepare_head
    from .passes import compile_circuits, compile_qattn
    from .runtime import JobStore, resolve_device
    from .viz import attention_heatmaps, circuit_report

    config = config or DemoConfig()
    t0 = time.perf_counter()
    progress(f"[1/5] capturing MiniLM layer {config.layer} head {config.head} on real text ...")
    Q, K, V, tokens, scale = load_demo_head(config)
    exact = exact_attention(Q, K, V, scale=scale)
    exact_w = exact_attention_weights(Q, K, scale=scale)
    device = resolve_device(config.device)
    progress(f"      {Q.shape[0]} queries x {K.shape[0]} keys, d_v={V.shape[1]}, "
             f"tokens: {' '.join(tokens)}")

    progress(f"[2/5] building and compiling every family for {device.name} "
             "(optimization_level=3; and the qattn stages)")
    stats: dict[str, dict[str, float]] = {}
    qattn_stats: dict[str, dict[str, float]] = {}
    for fam in FAMILY_NAMES:
        circuits = prepare_head(Q, K, V, family=fam, scale=scale).circuits
        compiled = compile_circuits(circuits, device, optimization_level=3, seed_transpiler=0)
        reports = [circuit_report(c) for c in compiled]
        stats[fam] = {key: float(np.mean([r[key] for r in reports])) for key in reports[0]}
        q_compiled = compile_qattn(circuits, device, optimization_level=3, seed_transpiler=0)
        q_reports = [circuit_report(c) for c in q_compiled]
        qattn_stats[fam] = {k: float(np.mean([r[k] for r in q_reports])) for k in q_reports[0]}
        progress(f"      {fam}: {stats[fam]['two_qubit_gates']:.1f} two-qubit gates "
                 f"(qattn stages {qattn_stats[fam]['two_qubit_gates']:.1f}), "
                 f"depth {stats[fam]['depth']:.1f} (mean over queries)")

    plan: list[tuple[str, str, dict[str, Any], str]] = []
    for fam in FAMILY_NAMES:
        plan.append((fam, "statevector", {}, "exact probabilities"))
        plan.append((fam, "shots", {}, "ideal sampling"))
        plan.append((fam, "shots", {"device": device}, "device noise"))
    plan.append((config.family, "shots", {"device": device, "mitigation": "zne+rem"},
                 "device noise, ZNE+REM"))
    if config.runtime:
        store = JobStore(tempfile.mkdtemp(prefix="qattn-demo-jobs-"))
        plan.append((config.family, "runtime", {"device": device, "mitigation": "zne+rem"},
                     "Runtime local mode, ZNE+REM, one job"))

    rows: list[DemoRow] = []
    weights: dict[str, np.ndarray] = {}
    progress(f"[3/5] estimating attention ({len(plan)} runs, {config.shots} shots per circuit)")
    for fam, execution, opts, note in plan:
        progress(f"      {fam}: {note} ...")
        run_opts = dict(opts)
        if execution == "runtime":
            from .execution import RuntimeExecutor

            run_opts.pop("device")
            run_opts["execution"] = RuntimeExecutor(device, store=store, seed=config.seed)
        else:
            run_opts["execution"] = execution
        est = estimate_attention(Q, K, V, family=fam, shots=config.shots, scale=scale,
                                 seed=config.seed, **run_opts)
        if est.mitigation is not None:
            note = f"{note}: {mitigation_note(est, exact)}"
        weights[f"{fam}: {note.split(':')[0]}"] = est.weights
        s = stats[fam]
        rows.append(DemoRow(fam, execution, int(s["qubits"]), s["two_qubit_gates"], s["depth"],
                            est.shots, est.relative_error(exact), est.wall_time, note,
                            qattn_stats[fam]["two_qubit_gates"]))

    progress("[4/5] writing heat map")
    png = Path(config.png)
    chosen = [k for k in weights if k.endswith("device noise")] + [
        k for k in weights if k.startswith(config.family) and "ZNE" in k][:1]
    attention_heatmaps(
        [exact_w] + [weights[k] for k in chosen],
        ["exact softmax"] + chosen,
        png,
        tokens=tokens,
        suptitle=f"MiniLM layer {config.layer} head {config.head} on {device.name}: "
                 "exact vs estimated attention weights",
    )
    progress(f"[5/5] done in {time.perf_counter() - t0:.1f} s")
    return DemoResult(rows, exact, png,
                      {"tokens": tokens, "stats": stats, "qattn_stats": qattn_stats})

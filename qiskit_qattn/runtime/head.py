"""One attention head on Runtime: pack → preview cost → submit (resumable) → estimate outputs."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from .cost import CostPreview, cost_preview
from .jobs import ResumableRunner, RetryPolicy, RuntimeSubmitter
from .modes import mode_backend
from .pubs import FoldFunction, pack_head
from .store import JobStore


class SubmissionDeclined(RuntimeError):
    """The ``confirm`` callback declined the cost preview; nothing was submitted."""


def run_head(
    Q: Any,
    K: Any,
    V: Any,
    *,
    backend: Any = "fake_torino",
    mode: Any | None = None,
    method: str = "qaoa",
    primitive: str = "sampler",
    shots: int = 4096,
    precision: float | None = None,
    mask: Any | None = None,
    scale: float | None = None,
    temperature: float = 1.0,
    fold: FoldFunction | None = None,
    fold_factors: Sequence[float] = (1,),
    store: JobStore | str | None = None,
    options: dict | None = None,
    retry: RetryPolicy | None = None,
    timeout: float | None = None,
    poll_interval: float = 2.0,
    confirm: Callable[[CostPreview], bool] | None = None,
    seed: int | None = None,
    optimization_level: int = 3,
    optimization_method: str | None = None,
    submitter: Any | None = None,
    **method_options: Any,
):
    """Estimate one head's attention output on Runtime, as one resumable job.

    Args:
        Q, K, V: the head (``[n_q, d]``, ``[n_k, d]``, ``[n_k, d_v]``).
        backend: name (``"fake_torino"``, ``"ibm_<name>"``) or ``BackendV2``; ignored when
            ``mode`` is given.
        mode: Runtime mode (``BackendV2``, ``Session``, ``Batch``); default: the backend.
        method, primitive, shots, precision, mask, scale, temperature: see ``pack_head``.
        fold, fold_factors: ZNE folds packed into the same job (``info["folds"]`` holds the
            per-fold estimates; ``values`` are the factor-1 estimate unless only folded
            factors ran, in which case the first).
        store: :class:`JobStore` or directory (default ``$QATTN_JOB_STORE``/user cache).
        options: primitive options dict (e.g. ``{"resilience_level": 0}`` for the estimator).
        retry, timeout, poll_interval: see :class:`ResumableRunner`.
        confirm: called with the :class:`CostPreview` before submitting; returning ``False``
            raises :class:`SubmissionDeclined`.
        seed: simulator seed in local testing mode; also the transpiler seed.
        optimization_level, optimization_method: compilation options.
        submitter: replaces the default :class:`RuntimeSubmitter` (tests, other providers).
        **method_options: QAOA options (``reps``, ``gammas``, ``betas``).

    Returns:
        ``AttentionEstimate`` with ``execution="runtime"``; ``info`` carries the cost preview,
        store key, job ids and per-fold estimates.

    Example:
        >>> import numpy as np, tempfile
        >>> from qiskit_ibm_runtime.fake_provider import FakeManilaV2
        >>> rng = np.random.default_rng(0)
        >>> Q, K, V = rng.normal(size=(2, 4)), rng.normal(size=(4, 4)), rng.normal(size=(4, 2))
        >>> est = run_head(Q, K, V, mode=FakeManilaV2(), shots=2000, seed=1,
        ...                store=tempfile.mkdtemp())
        >>> est.values.shape, est.info["jobs"] == 1
        ((2, 2), True)
    """
    from ..attention.estimate import AttentionEstimate
    from .backends import resolve_backend

    start = time.perf_counter()
    run_mode = mode if mode is not None else resolve_backend(backend)
    target = mode_backend(run_mode)
    head = pack_head(
        Q, K, V, backend=target, method=method, primitive=primitive, shots=shots,
        precision=precision, mask=mask, scale=scale, temperature=temperature, fold=fold,
        fold_factors=fold_factors, optimization_level=optimization_level,
        optimization_method=optimization_method, seed_transpiler=0 if seed is None else seed,
        label=f"{method}/{primitive} head on {target.name}",
        **method_options,
    )
    preview = cost_preview(head.task, target)
    if confirm is not None and not confirm(preview):
        raise SubmissionDeclined(f"submission declined after cost preview: {preview.summary()}")
    if not isinstance(store, JobStore):
        store = JobStore(store)
    sub = submitter if submitter is not None else RuntimeSubmitter(run_mode, options, seed=seed)
    runner = ResumableRunner(sub, store, retry=retry, timeout=timeout,
                             poll_interval=poll_interval)
    key = runner.key(head.task)
    result = runner.run(head.task)
    record = store.get(key) or {}
    per_fold = head.estimates(result)
    index = head.fold_factors.index(1.0) if 1.0 in head.fold_factors else 0
    values, std, weights = per_fold[index]
    info = {
        "backend": target.name, "mode": sub.describe(), "primitive": primitive,
        "cost_preview": preview.as_dict(), "store_key": key, "store": str(store.directory),
        "jobs": 1, "job_ids": [a["job_id"] for a in record.get("attempts", []) if a.get("job_id")],
        "attempts": len(record.get("attempts", [])), "templated": head.templated,
        "num_key_qubits": head.num_key_qubits, "fold_factors": list(head.fold_factors),
        "folds": [{"factor": f, "values": v, "std_errors": s}
                  for f, (v, s, _w) in zip(head.fold_factors, per_fold, strict=True)],
    }
    return AttentionEstimate(
        values=values, std_errors=std, weights=weights[:, : head.num_keys], method=method,
        execution="runtime", shots=shots if primitive == "sampler" else None,
        circuits=head.circuits, compiled=head.compiled,
        wall_time=time.perf_counter() - start, info=info,
    )


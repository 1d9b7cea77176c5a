"""One attention head on Qiskit Runtime as one resumable job: a thin layer over the spine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..circuits import DEFAULT_FAMILY
from .estimate import AttentionEstimate, estimate_attention


def run_head(
    Q: Any,
    K: Any,
    V: Any,
    *,
    device: Any = "fake_torino",
    mode: Any | None = None,
    family: str = DEFAULT_FAMILY,
    primitive: str = "sampler",
    shots: int = 4096,
    precision: float | None = None,
    mask: Any | None = None,
    scale: float | None = None,
    temperature: float = 1.0,
    mitigation: Any | None = None,
    mitigation_options: dict | None = None,
    store: Any | None = None,
    options: dict | None = None,
    retry: Any | None = None,
    timeout: float | None = None,
    poll_interval: float = 2.0,
    confirm: Callable[[Any], bool] | None = None,
    seed: int | None = None,
    optimization_level: int = 3,
    optimization_method: str | None = None,
    submitter: Any | None = None,
    **family_options: Any,
) -> AttentionEstimate:
    """Estimate one head's attention output on Runtime, as one resumable job.

    This is :func:`estimate_attention` with a :class:`~qiskit_qattn.execution.RuntimeExecutor`
    built from these options.

    The whole head — every query, every ZNE fold, every calibration circuit — is one job,
    recorded in the job store: running the same call again (after a crash, in another process)
    fetches or adopts the job instead of paying twice.

    Args:
        Q, K, V: the head (``[n_q, d]``, ``[n_k, d]``, ``[n_k, d_v]``).
        device: name (``"fake_torino"``, ``"ibm_<name>"``) or ``BackendV2``; ignored when
            ``mode`` is given.
        mode: Runtime mode (``BackendV2``, ``Session``, ``Batch``); default: the device.
        family: circuit family (default: the best error per two-qubit gate,
            :data:`~qiskit_qattn.circuits.DEFAULT_FAMILY`).
        primitive: ``"sampler"`` (counts; client-side mitigation) or ``"estimator"``
            (value observables on the physical qubits; Runtime applies mitigation).
        shots, precision: shots per circuit; estimator precision (default ``1/sqrt(shots)``).
        mask, scale, temperature: as in :func:`~qiskit_qattn.circuits.prepare_head`.
        mitigation, mitigation_options: as in :func:`estimate_attention`.
        store: :class:`~qiskit_qattn.runtime.JobStore` or directory (default
            ``$QATTN_JOB_STORE``/user cache).
        options: primitive options dict (e.g. ``{"resilience_level": 0}`` for the estimator).
        retry, timeout, poll_interval: see :class:`~qiskit_qattn.runtime.ResumableRunner`.
        confirm: called with the :class:`~qiskit_qattn.runtime.CostPreview` before submitting;
            returning ``False`` raises :class:`~qiskit_qattn.runtime.SubmissionDeclined`.
        seed: simulator seed in local testing mode; also the transpiler seed.
        optimization_level, optimization_method: compilation options.
        submitter: replaces the default submitter (tests, other providers).
        **family_options: builder options of the family.

    Returns:
        ``AttentionEstimate`` with ``execution="runtime"``; ``metadata`` carries the cost
        preview, store key and job ids.

    Example:
        >>> import numpy as np, tempfile
        >>> from qiskit_ibm_runtime.fake_provider import FakeManilaV2
        >>> rng = np.random.default_rng(0)
        >>> Q, K, V = rng.normal(size=(2, 4)), rng.normal(size=(4, 4)), rng.normal(size=(4, 2))
        >>> est = run_head(Q, K, V, mode=FakeManilaV2(), shots=2000, seed=1,
        ...                store=tempfile.mkdtemp())
        >>> est.values.shape, est.metadata["jobs"]
        ((2, 2), 1)
    """
    from ..execution import RuntimeExecutor

    executor = RuntimeExecutor(
        device, mode=mode, primitive=primitive, store=store, options=options,
        precision=precision, retry=retry, timeout=timeout, poll_interval=poll_interval,
        confirm=confirm, seed=seed, submitter=submitter,
    )
    return estimate_attention(
        Q, K, V, family=family, execution=executor, shots=shots, mask=mask, scale=scale,
        temperature=temperature, seed=seed, mitigation=mitigation,
        mitigation_options=mitigation_options, optimization_level=optimization_level,
        optimization_method=optimization_method, **family_options,
    )

"""Qiskit paths for the QSANN maps: EstimatorQNN forward, broadcast-shift VJP, TorchConnector.

Three ways to evaluate the same ``<Z_i>`` of :func:`~qiskit_qattn.circuits.variational_block`
(inputs *and* weights bound per row), all through a Qiskit ``BaseEstimatorV2``:

- :func:`estimator_expectations` (``engine="estimator"``): forward is one ``EstimatorQNN.forward``
  call for every row of the batch (one estimator job); backward is the vector–Jacobian product
  ``Σ_i g_i ∂<Z_i>/∂p`` by the parameter-shift rule on the single per-row observable
  ``M_r = Σ_i g_ri Z_i``, all ``2 P`` shifts of all rows broadcast in ONE PUB (one job). A full
  Jacobian would need ``n`` times as many expectation values.
- :func:`connector_expectations` (``engine="torch-connector"``): the same QNN behind
  qiskit-machine-learning's ``TorchConnector`` (float32, full Jacobian in backward) — the
  reference path.
- :class:`NaiveConnectorMaps`: the textbook use of ``TorchConnector``, one connector per head and
  role with its own weights, called sample by sample (what a user writes without this package);
  kept for comparison and benchmarks.

Note: ``EstimatorQNN``'s ``default_precision`` is ``0.015625``, and ``StatevectorEstimator`` adds
Gaussian noise of that size when asked for a non-zero precision; exact runs here pass ``0``.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from torch import nn

from ..circuits.variational import variational_block, z_observables
from .qsann_sim import QsannSpec


def default_estimator(seed: int | None = None):
    """Exact reference estimator: ``StatevectorEstimator`` with zero precision.

    Example:
        >>> default_estimator().default_precision
        0.0
    """
    from qiskit.primitives import StatevectorEstimator

    return StatevectorEstimator(default_precision=0.0, seed=seed)


@lru_cache(maxsize=16)
def _block(spec: QsannSpec):
    qc = variational_block(spec.num_qubits, spec.reps, entanglement=spec.entanglement)
    by_name = {p.name: p for p in qc.parameters}
    inputs = [by_name[name] for name in qc.metadata["input_parameters"]]
    weights = [by_name[name] for name in qc.metadata["weight_parameters"]]
    # Column of each circuit parameter (sorted order, as a PUB binds them) in [x..., θ...].
    ordered = inputs + weights
    position = {p: i for i, p in enumerate(ordered)}
    columns = np.array([position[p] for p in qc.parameters])
    return qc, inputs, weights, columns


def qsann_qnn(
    spec: QsannSpec,
    *,
    estimator: Any = None,
    trainable_weights: bool = False,
    precision: float = 0.0,
    pass_manager: Any = None,
):
    """EstimatorQNN of the QSANN block measuring every ``Z_i``.

    Args:
        spec: block shape.
        estimator: a ``BaseEstimatorV2`` (default: exact :func:`default_estimator`).
        trainable_weights: ``True``: inputs ``x``, weights ``θ`` (one weight vector per QNN, the
            textbook layout); ``False``: ``x`` and ``θ`` are all inputs (per-row weights).
        precision: estimator precision (``0`` = exact for statevector estimators).
        pass_manager: optional pass manager for hardware/ISA estimators.

    Example:
        >>> qnn = qsann_qnn(QsannSpec(2, reps=1))
        >>> qnn.num_inputs, qnn.num_weights, qnn.output_shape
        (8, 0, (2,))
    """
    from qiskit_machine_learning.neural_networks import EstimatorQNN

    qc, inputs, weights, _ = _block(spec)
    if estimator is None:
        estimator = default_estimator()
    return EstimatorQNN(
        circuit=qc,
        estimator=estimator,
        observables=z_observables(spec.num_qubits),
        input_params=inputs if trainable_weights else inputs + weights,
        weight_params=weights if trainable_weights else [],
        input_gradients=True,
        default_precision=float(precision),
        pass_manager=pass_manager,
    )


def _shift_vjp(
    spec: QsannSpec,
    params: np.ndarray,
    grad_out: np.ndarray,
    estimator: Any,
    precision: float,
    pass_manager: Any = None,
) -> np.ndarray:
    """``∂(Σ_i g_ri <Z_i>_r)/∂p_r`` for every row ``r`` and parameter ``p``; one estimator job.

    Every parameter enters one ``RY``/``RZ`` rotation, so the shift rule with ``±π/2`` is exact.
    """
    from qiskit.quantum_info import SparsePauliOp

    qc, _, _, columns = _block(spec)
    n = spec.num_qubits
    rows, num_params = params.shape
    zs = SparsePauliOp.from_sparse_list([("Z", [i], 1.0) for i in range(n)], n)
    if pass_manager is not None:
        qc = pass_manager.run(qc)
        zs = zs.apply_layout(qc.layout)
    labels = zs.paulis.to_labels()
    grad = np.zeros((rows, num_params))
    live = np.flatnonzero(np.any(grad_out != 0, axis=1))  # rows with a zero cotangent: grad 0
    if live.size == 0:
        return grad
    # One observable M_r = Σ_i g_ri Z_i per row, as {label: coeff} (an ObservablesArray entry).
    observables = np.empty(live.size, dtype=object)
    for j, r in enumerate(live):
        observables[j] = {lab: float(c) for lab, c in zip(labels, grad_out[r], strict=True) if c}
    shifts = np.zeros((2 * num_params, 1, num_params))
    idx = np.arange(num_params)
    shifts[idx, 0, idx] = np.pi / 2
    shifts[num_params + idx, 0, idx] = -np.pi / 2
    values = (params[None, live, :] + shifts)[:, :, columns]  # [2P, live rows, circuit order]
    job = estimator.run([(qc, observables, values)], precision=precision)
    evs = np.asarray(job.result()[0].data.evs).reshape(2 * num_params, live.size)
    grad[live] = ((evs[:num_params] - evs[num_params:]) / 2).T
    return grad  # [rows, P]


def _with_retries(call: Any, retries: int, what: str) -> Any:
    """Run ``call()``; on an exception retry up to ``retries`` times, then re-raise.

    A transient primitive failure (timeout, dropped connection) otherwise kills the training
    run (qiskit-machine-learning issue #566).
    """
    for attempt in range(retries + 1):
        try:
            return call()
        except Exception as exc:
            if attempt == retries:
                raise RuntimeError(f"{what} failed after {retries + 1} attempts: {exc}") from exc
            warnings.warn(f"{what} failed (attempt {attempt + 1}), retrying: {exc}",
                          RuntimeWarning, stacklevel=3)
    raise AssertionError("unreachable")


class _EstimatorFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, params, spec: QsannSpec, qnn: Any, precision: float, pass_manager: Any,
                retries: int):
        ctx.spec, ctx.qnn, ctx.precision = spec, qnn, precision
        ctx.pass_manager, ctx.retries = pass_manager, retries
        ctx.save_for_backward(params)
        values = params.detach().cpu().double().numpy()
        out = _with_retries(lambda: qnn.forward(values, None), retries, "estimator forward job")
        return torch.as_tensor(np.asarray(out), dtype=params.dtype, device=params.device)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        (params,) = ctx.saved_tensors
        values = params.detach().cpu().double().numpy()
        cotangent = grad_out.detach().cpu().double().numpy()
        grad = _with_retries(
            lambda: _shift_vjp(ctx.spec, values, cotangent, ctx.qnn.estimator, ctx.precision,
                               ctx.pass_manager),
            ctx.retries, "estimator gradient job",
        )
        grad = torch.as_tensor(grad, dtype=params.dtype, device=params.device)
        return grad, None, None, None, None, None


def estimator_expectations(
    x: torch.Tensor,
    theta: torch.Tensor,
    spec: QsannSpec,
    qnn: Any,
    *,
    precision: float = 0.0,
    pass_manager: Any = None,
    retries: int = 0,
) -> torch.Tensor:
    """``<Z_i>`` per row through an EstimatorQNN (one job) with a broadcast-shift VJP backward.

    Args:
        x: inputs ``[rows, n]``.
        theta: per-row weights ``[rows, num_weights]``.
        spec: block shape.
        qnn: :func:`qsann_qnn` with ``trainable_weights=False``.
        precision: estimator precision of the backward job.
        pass_manager: the pass manager the QNN was built with (for the backward job's circuit).
        retries: resubmit a failed forward or gradient job up to this many times (with a
            ``RuntimeWarning``) before raising.

    Example:
        >>> spec = QsannSpec(2, reps=1)
        >>> x = torch.zeros(1, 2, dtype=torch.float64)
        >>> estimator_expectations(x, torch.zeros(1, 6, dtype=torch.float64), spec, qsann_qnn(spec))
        tensor([[1., 1.]], dtype=torch.float64)
    """
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be an integer >= 0; got {retries!r}")
    params = torch.cat([x, theta.to(x.dtype).expand(x.shape[0], -1)], dim=1)
    return _EstimatorFunction.apply(params, spec, qnn, float(precision), pass_manager, retries)


def connector_expectations(
    x: torch.Tensor, theta: torch.Tensor, connector: nn.Module
) -> torch.Tensor:
    """``<Z_i>`` per row through a ``TorchConnector`` around an all-inputs :func:`qsann_qnn`.

    Example:
        >>> from qiskit_machine_learning.connectors import TorchConnector
        >>> spec = QsannSpec(2, reps=1)
        >>> conn = TorchConnector(qsann_qnn(spec))
        >>> connector_expectations(torch.zeros(1, 2), torch.zeros(1, 6), conn).tolist()
        [[1.0, 1.0]]
    """
    params = torch.cat([x, theta.to(x.dtype).expand(x.shape[0], -1)], dim=1)
    return connector(params).to(x.dtype)


class NaiveConnectorMaps(nn.Module):
    """Textbook TorchConnector maps: one connector per (role, head), a loop over samples.

    Holds ``3 × num_heads`` ``TorchConnector`` s (trainable weights inside each, full-Jacobian
    backward) and evaluates ``features[b, h]`` with one connector call per sample, head and role.
    Numerically the same map as :class:`~qiskit_qattn.nn.variational.QsannMaps`.

    Args:
        spec: block shape (``num_qubits = head_dim``).
        weights: initial weights ``[3, num_heads, num_weights]`` (e.g. copied from a
            ``QsannMaps``).
        estimator: a ``BaseEstimatorV2`` (default exact).

    Example:
        >>> spec = QsannSpec(2, reps=1)
        >>> maps = NaiveConnectorMaps(spec, torch.zeros(3, 1, 6))
        >>> q = torch.zeros(1, 1, 3, 2)
        >>> [t.shape for t in maps(q, q, q)]
        [torch.Size([1, 1, 3, 2]), torch.Size([1, 1, 3, 2]), torch.Size([1, 1, 3, 2])]
    """

    def __init__(self, spec: QsannSpec, weights: torch.Tensor, *, estimator: Any = None) -> None:
        super().__init__()
        from qiskit_machine_learning.connectors import TorchConnector

        if weights.dim() != 3 or weights.shape[0] != 3 or weights.shape[2] != spec.num_weights:
            raise ValueError(
                f"weights must have shape [3, num_heads, {spec.num_weights}]; "
                f"got {tuple(weights.shape)}"
            )
        self.spec = spec
        self.num_heads = weights.shape[1]
        estimator = default_estimator() if estimator is None else estimator
        self.connectors = nn.ModuleList(
            TorchConnector(
                qsann_qnn(spec, estimator=estimator, trainable_weights=True),
                initial_weights=weights[r, h].detach().cpu().numpy(),
            )
            for r in range(3)
            for h in range(self.num_heads)
        )

    def connector(self, role: int, head: int) -> nn.Module:
        return self.connectors[role * self.num_heads + head]

    def forward(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        outs = []
        for role, t in enumerate((q, k, v)):
            samples = []
            for b in range(t.shape[0]):
                heads = [self.connector(role, h)(t[b, h]) for h in range(t.shape[1])]
                samples.append(torch.stack(heads))
            outs.append(torch.stack(samples).to(t.dtype))
        return outs[0], outs[1], outs[2]

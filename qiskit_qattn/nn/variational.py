"""The ``variational`` backend: trainable QSANN circuits as the Q/K/V maps of every head.

After the (classical, torch-compatible) in-projection, each head's query, key and value vectors
(``head_dim`` features) are angle-encoded into ``head_dim`` qubits and sent through a trainable
:func:`~qiskit_qattn.circuits.variational_block` — one weight vector per head and role — and the
``<Z_i>`` expectations become the head's quantum features (Li et al. 2022, QSANN). Softmax
attention over those features (with a trainable per-head score scale, since features lie in
``[-1, 1]``) gives the head output. All ``3 × B × H × tokens`` circuits of a forward pass are
evaluated in one call of the chosen engine:

- ``"adjoint"`` (default): batched torch statevector, adjoint vector–Jacobian backward
  (:mod:`~qiskit_qattn.nn.qsann_sim`; one call per role when queries and keys differ in length);
- ``"estimator"``: Qiskit ``EstimatorQNN`` forward (one estimator job), broadcast parameter-shift
  VJP backward (one job) — runs on any ``BaseEstimatorV2`` (Aer, a noisy simulator, hardware);
- ``"torch-connector"``: the same QNN behind qiskit-machine-learning's ``TorchConnector``
  (full-Jacobian backward), the reference path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .exact_heads import exact_heads
from .qsann_sim import (
    MAX_QSANN_QUBITS,
    QsannSpec,
    qsann_expectations,
    qsann_group_expectations,
)

ENGINES = ("adjoint", "estimator", "torch-connector")


class QsannMaps(nn.Module):
    """Per-head, per-role QSANN feature maps ``[B, H, T, d] -> [B, H, T, d]`` (values in [-1, 1]).

    Args:
        num_heads: heads ``H``.
        head_dim: features per head ``d`` = qubits per circuit (``<= 12``).
        reps: entangling layers of the block.
        entanglement: CX pattern (``"pairwise"``, ``"linear"``, ``"circular"``).
        engine: ``"adjoint"``, ``"estimator"`` or ``"torch-connector"``.
        estimator: ``BaseEstimatorV2`` for the Qiskit engines (default: exact statevector).
        precision: estimator precision for the Qiskit engines (``0`` = exact).
        pass_manager: pass manager for ISA estimators (Qiskit engines).
        retries: resubmit a failed estimator job this many times (``"estimator"`` engine).
        init_std: standard deviation of the initial weights (small: near the encoding map).

    Example:
        >>> maps = QsannMaps(num_heads=2, head_dim=3)
        >>> x = torch.randn(4, 2, 5, 3)
        >>> [tuple(t.shape) for t in maps(x, x, x)]
        [(4, 2, 5, 3), (4, 2, 5, 3), (4, 2, 5, 3)]
    """

    def __init__(
        self,
        num_heads: int,
        head_dim: int,
        *,
        reps: int = 2,
        entanglement: str = "pairwise",
        engine: str = "adjoint",
        estimator: Any = None,
        precision: float = 0.0,
        pass_manager: Any = None,
        retries: int = 2,
        init_std: float = 0.1,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if head_dim > MAX_QSANN_QUBITS:
            raise ValueError(
                f"the variational backend uses one qubit per head feature; head_dim = "
                f"embed_dim // num_heads = {head_dim} exceeds {MAX_QSANN_QUBITS} qubits "
                f"(use more heads)"
            )
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}; got {engine!r}")
        if not (isinstance(precision, (int, float)) and precision >= 0):
            raise ValueError(f"precision must be a number >= 0; got {precision!r}")
        self.spec = QsannSpec(head_dim, reps, entanglement)
        self.num_heads = num_heads
        self.engine = engine
        self.precision = float(precision)
        self.pass_manager = pass_manager
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be an integer >= 0; got {retries!r}")
        self.retries = retries
        self._estimator = estimator
        self._qnn: Any = None
        self._connector: nn.Module | None = None
        self.weight = nn.Parameter(
            torch.empty(3, num_heads, self.spec.num_weights, device=device, dtype=dtype)
        )
        nn.init.normal_(self.weight, std=init_std)

    def extra_repr(self) -> str:
        s = self.spec
        return f"qubits={s.num_qubits}, reps={s.reps}, entanglement={s.entanglement!r}, " \
            f"engine={self.engine!r}"

    def _qiskit_qnn(self):
        if self._qnn is None:
            from .connector import qsann_qnn

            self._qnn = qsann_qnn(
                self.spec, estimator=self._estimator, precision=self.precision,
                pass_manager=self.pass_manager,
            )
        return self._qnn

    def expectations(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """``<Z_i>`` for rows ``x [N, d]`` with per-row weights ``theta [N, W]`` (one call)."""
        if self.engine == "adjoint":
            return qsann_expectations(x, theta, self.spec)
        if self.engine == "estimator":
            from .connector import estimator_expectations

            return estimator_expectations(
                x, theta, self.spec, self._qiskit_qnn(), precision=self.precision,
                pass_manager=self.pass_manager, retries=self.retries,
            )
        from .connector import connector_expectations

        if self._connector is None:
            from qiskit_machine_learning.connectors import TorchConnector

            # Not a registered submodule: it holds no weights (all parameters are inputs).
            object.__setattr__(self, "_connector", TorchConnector(self._qiskit_qnn()))
        return connector_expectations(x, theta, self._connector)

    def forward(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        heads: Sequence[int] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Features of ``q``, ``k``, ``v`` ``[B, h, T, d]`` of ``heads`` (default: all heads)."""
        d = self.spec.num_qubits
        weight = self.weight if heads is None else self.weight[:, list(heads)]
        nh = weight.shape[1]
        groups = []
        for t in (q, k, v):
            if t.dim() != 4 or t.shape[1] != nh or t.shape[-1] != d:
                raise ValueError(
                    f"QSANN maps expect [B, {nh}, T, {d}] tensors; got {tuple(t.shape)}"
                )
            groups.append(t.transpose(0, 1).reshape(nh, -1, d))  # [h, B*T, d]
        weight = weight.to(q.dtype)
        if self.engine == "adjoint":
            if len({g.shape[1] for g in groups}) == 1:  # one call for Q, K and V
                feats = qsann_group_expectations(
                    torch.cat(groups), weight.reshape(3 * nh, -1), self.spec
                ).split(nh)
            else:
                feats = [qsann_group_expectations(g, weight[r], self.spec)
                         for r, g in enumerate(groups)]
        else:  # Qiskit engines: every row with its weights, one estimator call
            rows = torch.cat([g.reshape(-1, d) for g in groups])
            thetas = torch.cat([weight[r].repeat_interleave(g.shape[1], dim=0)
                                for r, g in enumerate(groups)])
            flat = self.expectations(rows, thetas)
            feats = flat.split([g.numel() // d for g in groups])
        outs = []
        for t, f in zip((q, k, v), feats, strict=True):
            B, _, T, _ = t.shape
            outs.append(f.reshape(nh, B, T, d).transpose(0, 1))
        return outs[0], outs[1], outs[2]


class VariationalAttention(nn.Module):
    """Head backend: QSANN maps on Q/K/V, then softmax attention with a learned score scale.

    Args:
        num_heads: heads ``H``.
        head_dim: head size ``d`` (qubits per circuit).
        learn_scale: learn a per-head multiplier of the ``1/sqrt(d)`` score scale (features are
            bounded, so a fixed scale caps how sharp a head can attend).
        **map_options: :class:`QsannMaps` options (``reps``, ``entanglement``, ``engine``,
            ``estimator``, ``precision``, ``pass_manager``, ``init_std``).

    Example:
        >>> att = VariationalAttention(num_heads=2, head_dim=3)
        >>> q = torch.randn(1, 2, 4, 3)
        >>> out, w = att(q, q, q, None, need_weights=True)
        >>> tuple(out.shape), tuple(w.shape)
        ((1, 2, 4, 3), (1, 2, 4, 4))
    """

    def __init__(
        self,
        num_heads: int,
        head_dim: int,
        *,
        learn_scale: bool = True,
        device: Any = None,
        dtype: Any = None,
        **map_options: Any,
    ) -> None:
        super().__init__()
        self.maps = QsannMaps(num_heads, head_dim, device=device, dtype=dtype, **map_options)
        if learn_scale:
            # log of the multiplier; start at sqrt(d) so scores span the range of exact attention
            init = math.log(math.sqrt(head_dim))
            self.log_scale = nn.Parameter(torch.full((num_heads,), init, device=device,
                                                     dtype=dtype))
        else:
            self.register_parameter("log_scale", None)

    #: weights are per head: QuantumMultiheadAttention passes ``heads=`` for head subsets
    per_head_parameters = True

    def features(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        heads: Sequence[int] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Quantum features of queries (scale applied), keys and values."""
        fq, fk, fv = self.maps(q, k, v, heads)
        if self.log_scale is not None:
            scale = self.log_scale if heads is None else self.log_scale[list(heads)]
            fq = fq * scale.exp().to(fq.dtype).view(1, -1, 1, 1)
        return fq, fk, fv

    def forward(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        mask: torch.Tensor | None = None,
        *,
        need_weights: bool = True,
        is_causal: bool = False,
        dropout_p: float = 0.0,
        heads: Sequence[int] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        fq, fk, fv = self.features(q, k, v, heads)
        return exact_heads(
            fq, fk, fv, mask, need_weights=need_weights, is_causal=is_causal, dropout_p=dropout_p
        )

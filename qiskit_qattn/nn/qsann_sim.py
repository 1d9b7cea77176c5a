"""Batched statevector simulation of the QSANN block with an adjoint vector–Jacobian product.

The block is :func:`qiskit_qattn.circuits.variational.variational_block` (same gate order and
parameter layout): ``RY(x_i)`` encodings, ``reps`` layers of ``RY(θ) RZ(θ)`` on every qubit plus a
CX pattern, a final ``RY(θ)`` layer; the outputs are ``<Z_i>`` for every qubit (little-endian).

Every row of the batch has its own inputs *and* its own weights, so one call simulates all
``batch × tokens × heads × {Q, K, V}`` circuits of an attention layer at once. The backward pass
is the adjoint method (Jones & Gacon 2020): with ``M = Σ_i g_i Z_i`` built from the incoming
gradient ``g``, walk the gates backwards carrying ``|ψ_k>`` and
``|λ_k> = U_{k+1}^† … U_K^† M |ψ_K>``
and read ``∂<M>/∂θ_k = 2 Re <λ_k| ∂U_k |ψ_{k-1}>``. That is the exact vector–Jacobian product at
about three forward passes and ``O(rows · 2^n)`` memory, instead of the ``2 · n_params`` shifted
circuits per output of a parameter-shift Jacobian.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch

from ..circuits.variational import ENTANGLEMENTS, _entangling_pairs

#: Widest block simulated here (a ``rows × 2^n`` complex state is kept in memory).
MAX_QSANN_QUBITS = 12


@dataclass(frozen=True)
class QsannSpec:
    """Shape of a QSANN block: width, entangling layers and CX pattern.

    Example:
        >>> QsannSpec(4, reps=2).num_weights
        20
    """

    num_qubits: int
    reps: int = 2
    entanglement: str = "pairwise"

    def __post_init__(self) -> None:
        n = self.num_qubits
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_QSANN_QUBITS:
            raise ValueError(f"num_qubits must be an integer in [1, {MAX_QSANN_QUBITS}]; got {n!r}")
        if isinstance(self.reps, bool) or not isinstance(self.reps, int) or self.reps < 0:
            raise ValueError(f"reps must be an integer >= 0; got {self.reps!r}")
        if self.entanglement not in ENTANGLEMENTS:
            raise ValueError(
                f"entanglement must be one of {ENTANGLEMENTS}; got {self.entanglement!r}"
            )

    @property
    def num_weights(self) -> int:
        return (2 * self.reps + 1) * self.num_qubits


# Gate program: ("ry"|"rz", qubit, source, index) with source 0 = input x, 1 = weight θ;
# or ("perm", layer) for a CX layer (a basis permutation).
def _program(spec: QsannSpec) -> list[tuple]:
    n = spec.num_qubits
    ops: list[tuple] = [("ry", i, 0, i) for i in range(n)]
    k = 0
    for layer in range(spec.reps):
        for i in range(n):
            ops.append(("ry", i, 1, k))
            ops.append(("rz", i, 1, k + 1))
            k += 2
        if n > 1:
            ops.append(("perm", layer))
    for i in range(n):
        ops.append(("ry", i, 1, k))
        k += 1
    return ops


@lru_cache(maxsize=32)
def _cx_layer_permutation(num_qubits: int, entanglement: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Index maps ``new[y] = old[perm[y]]`` of one CX layer and of its inverse."""
    dim = 1 << num_qubits
    idx = torch.arange(dim)
    perm = idx.clone()
    for c, t in _entangling_pairs(num_qubits, entanglement):
        # CX(c -> t): new[y] = old[y ^ (bit_c(y) << t)]; sequential gates compose as p1[p2].
        gate = idx ^ (((idx >> c) & 1) << t)
        perm = perm[gate]
    inverse = torch.empty_like(perm)
    inverse[perm] = idx
    return perm, inverse


@lru_cache(maxsize=32)
def _z_signs(num_qubits: int) -> torch.Tensor:
    """``[2^n, n]`` matrix of ``+1/-1``: the eigenvalue of ``Z_i`` on basis state ``x``."""
    idx = torch.arange(1 << num_qubits)
    bits = (idx[:, None] >> torch.arange(num_qubits)[None, :]) & 1
    return (1 - 2 * bits).to(torch.float64)


def _apply_1q(psi: torch.Tensor, qubit: int, gate: tuple[str, torch.Tensor]) -> torch.Tensor:
    """Apply a per-row one-qubit gate: ``("diag", [rows, 2])`` phases or ``("mat", [rows, 2, 2])``.

    The dense case is one batched matmul on a ``[rows, 2, rest]`` view (fast whatever the qubit
    position); diagonal gates are a broadcast multiply.
    """
    rows, dim = psi.shape
    hi, lo = dim >> (qubit + 1), 1 << qubit
    kind, m = gate
    if kind == "diag":
        return (psi.view(rows, hi, 2, lo) * m.view(rows, 1, 2, 1)).reshape(rows, dim)
    view = psi.view(rows, hi, 2, lo).transpose(1, 2).reshape(rows, 2, hi * lo)
    out = torch.bmm(m, view).view(rows, 2, hi, lo).transpose(1, 2)
    return out.reshape(rows, dim)


def _rotation(
    kind: str, angle: torch.Tensor, cdtype: torch.dtype, *, adjoint: bool = False,
    derivative: bool = False,
) -> tuple[str, torch.Tensor]:
    """RY/RZ(angle) per row (or its adjoint, or its θ-derivative) for :func:`_apply_1q`."""
    half = (-angle if adjoint else angle) / 2
    if kind == "ry":
        cos, sin = torch.cos(half), torch.sin(half)
        if derivative:  # d/dθ [[c, -s], [s, c]] = ½ [[-s, -c], [c, -s]]
            entries = (-sin / 2, -cos / 2, cos / 2, -sin / 2)
        else:
            entries = (cos, -sin, sin, cos)
        return "mat", torch.stack(entries, dim=-1).view(-1, 2, 2).to(cdtype)
    phase = torch.polar(torch.ones_like(half), -half)  # e^{-iθ/2}
    diag = torch.stack((phase, phase.conj()), dim=-1)
    if derivative:  # d/dθ diag(e^{-iθ/2}, e^{iθ/2}) = ½ diag(-i e^{-iθ/2}, i e^{iθ/2})
        diag = diag * torch.tensor([-0.5j, 0.5j], dtype=diag.dtype, device=diag.device)
    return "diag", diag.to(cdtype)


def _initial_state(rows: int, num_qubits: int, dtype: torch.dtype, device) -> torch.Tensor:
    psi = torch.zeros(rows, 1 << num_qubits, dtype=dtype, device=device)
    psi[:, 0] = 1.0
    return psi


def _complex_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.complex128 if dtype == torch.float64 else torch.complex64


def _run(spec: QsannSpec, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Final state ``[rows, 2^n]`` of the block for per-row inputs and weights."""
    params = (x, theta)
    perm, _ = _cx_layer_permutation(spec.num_qubits, spec.entanglement)
    perm = perm.to(x.device)
    psi = _initial_state(x.shape[0], spec.num_qubits, _complex_dtype(x.dtype), x.device)
    for op in _program(spec):
        if op[0] == "perm":
            psi = psi[:, perm]
        else:
            kind, qubit, src, index = op
            psi = _apply_1q(psi, qubit, _rotation(kind, params[src][:, index], psi.dtype))
    return psi


def _z_expectations(psi: torch.Tensor, num_qubits: int) -> torch.Tensor:
    probs = psi.real.square() + psi.imag.square()
    return probs @ _z_signs(num_qubits).to(dtype=probs.dtype, device=probs.device)


class _QsannFunction(torch.autograd.Function):
    """``<Z_i>`` of the QSANN block per row; backward is the adjoint vector–Jacobian product."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, theta: torch.Tensor, spec: QsannSpec) -> torch.Tensor:
        psi = _run(spec, x, theta)
        ctx.spec = spec
        ctx.save_for_backward(x, theta, psi)
        return _z_expectations(psi, spec.num_qubits)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        x, theta, psi = ctx.saved_tensors
        spec: QsannSpec = ctx.spec
        signs = _z_signs(spec.num_qubits).to(dtype=grad_out.dtype, device=grad_out.device)
        lam = (grad_out @ signs.T) * psi  # M|ψ_K>, M = Σ_i g_i Z_i (diagonal)
        gx, gt = _adjoint_walk(_program(spec), spec, (x, theta), psi, lam,
                               ctx.needs_input_grad[:2])
        return gx, gt, None


def _adjoint_walk(
    program: list[tuple],
    spec: QsannSpec,
    params: tuple[torch.Tensor, torch.Tensor],
    psi: torch.Tensor,
    lam: torch.Tensor,
    needs: tuple[bool, bool],
) -> list[torch.Tensor | None]:
    """Per-row ``2 Re <λ_k| ∂U_k |ψ_{k-1}>`` for every parameter, walking ``program`` backwards.

    ``psi`` is the final state of each row and ``lam`` its costate ``M|ψ>`` (or any vector the
    derivative is contracted with); both are consumed.
    """
    grads = [torch.zeros_like(p) if need else None for p, need in zip(params, needs,
                                                                         strict=True)]
    _, inverse = _cx_layer_permutation(spec.num_qubits, spec.entanglement)
    inverse = inverse.to(psi.device)
    for op in reversed(program):
        if op[0] == "perm":
            psi, lam = psi[:, inverse], lam[:, inverse]
            continue
        kind, qubit, src, index = op
        angle = params[src][:, index]
        undo = _rotation(kind, angle, psi.dtype, adjoint=True)
        psi = _apply_1q(psi, qubit, undo)  # |ψ_{k-1}>
        if needs[src]:
            dpsi = _apply_1q(psi, qubit, _rotation(kind, angle, psi.dtype, derivative=True))
            grads[src][:, index] = 2 * (lam.conj() * dpsi).real.sum(dim=1)
        lam = _apply_1q(lam, qubit, undo)
    return grads


def _trainable_program(spec: QsannSpec) -> list[tuple]:
    """The block without its input encoding: the unitary ``V(θ)`` shared by a weight group."""
    return [op for op in _program(spec) if op[0] == "perm" or op[2] == 1]


def _product_states(x: torch.Tensor) -> torch.Tensor:
    """``⊗_i RY(x_i)|0>`` of rows ``x [..., n]``: real amplitudes ``[..., 2^n]``, little-endian."""
    half = x / 2
    cos, sin = torch.cos(half), torch.sin(half)
    state = torch.stack((cos[..., 0], sin[..., 0]), dim=-1)
    for i in range(1, x.shape[-1]):
        factor = torch.stack((cos[..., i], sin[..., i]), dim=-1)
        state = (factor[..., :, None] * state[..., None, :]).flatten(-2)  # qubit i = high bit
    return state


def _group_unitaries(spec: QsannSpec, theta: torch.Tensor) -> torch.Tensor:
    """``V_g`` of every weight group as ``[G, 2^n (column a), 2^n]`` = the states ``V_g |a>``."""
    G, dim = theta.shape[0], 1 << spec.num_qubits
    cdtype = _complex_dtype(theta.dtype)
    cols = torch.eye(dim, dtype=cdtype, device=theta.device).repeat(G, 1)  # [G*dim, dim]
    per_col = theta.repeat_interleave(dim, dim=0)
    perm, _ = _cx_layer_permutation(spec.num_qubits, spec.entanglement)
    perm = perm.to(theta.device)
    for op in _trainable_program(spec):
        if op[0] == "perm":
            cols = cols[:, perm]
        else:
            kind, qubit, _, index = op
            cols = _apply_1q(cols, qubit, _rotation(kind, per_col[:, index], cdtype))
    return cols.view(G, dim, dim)


class _GroupedQsannFunction(torch.autograd.Function):
    """``<Z_i>`` for row groups sharing weights: ``ψ = V_g ψ_in`` by one batched matmul."""

    @staticmethod
    def forward(ctx, psi_in: torch.Tensor, theta: torch.Tensor, spec: QsannSpec) -> torch.Tensor:
        cols = _group_unitaries(spec, theta)  # row a of cols[g] = V_g |a>, i.e. V_g^T
        psi = torch.matmul(psi_in.to(cols.dtype), cols)  # [G, R, D]: Σ_a ψ_in[a] V_g|a>
        ctx.spec = spec
        ctx.save_for_backward(psi_in, theta, cols, psi)
        probs = psi.real.square() + psi.imag.square()
        return probs @ _z_signs(spec.num_qubits).to(dtype=probs.dtype, device=probs.device)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        psi_in, theta, cols, psi = ctx.saved_tensors
        spec: QsannSpec = ctx.spec
        signs = _z_signs(spec.num_qubits).to(dtype=grad_out.dtype, device=grad_out.device)
        lam = (grad_out @ signs.T) * psi  # [G, R, D]
        grad_in = grad_theta = None
        if ctx.needs_input_grad[0]:
            # d<M>/dψ_in = 2 Re(V^† λ); as rows: λ^T conj(V) = λ @ conj(V^T)^T
            grad_in = 2 * torch.matmul(lam, cols.conj().transpose(-1, -2)).real
        if ctx.needs_input_grad[1]:
            # Σ_r 2 Re <λ_r| ∂V ψ_in,r> = Σ_a 2 Re <c_a| ∂V |a>, c_a = Σ_r ψ_in,r[a] λ_r
            G, dim = theta.shape[0], cols.shape[-1]
            costates = torch.matmul(psi_in.to(lam.dtype).transpose(-1, -2), lam)  # [G, D, D]
            per_col = theta.repeat_interleave(dim, dim=0)
            _, grad_cols = _adjoint_walk(
                _trainable_program(spec), spec, (per_col, per_col), cols.reshape(G * dim, dim),
                costates.reshape(G * dim, dim), (False, True),
            )
            grad_theta = grad_cols.view(G, dim, -1).sum(dim=1)
        return grad_in, grad_theta, None


def qsann_group_expectations(
    x: torch.Tensor, theta: torch.Tensor, spec: QsannSpec
) -> torch.Tensor:
    """``<Z_i>`` for ``G`` groups of rows, each group sharing one weight vector.

    Picks the cheaper exact method: when a group has at least ``2^n`` rows, the group's unitary
    ``V_g(θ)`` is simulated once (``2^n`` basis columns) and applied to all rows' product-state
    encodings by one batched matmul (backward: the same adjoint walk on the columns, contracted
    with ``Σ_r ψ_in,r λ_r^†``); otherwise every row is simulated gate by gate.

    Args:
        x: inputs ``[G, R, n]``.
        theta: weights ``[G, num_weights]``.
        spec: block shape.

    Returns:
        ``[G, R, n]`` expectation values.

    Example:
        >>> spec = QsannSpec(2, reps=1)
        >>> x = torch.randn(3, 5, 2, dtype=torch.float64)
        >>> th = torch.randn(3, spec.num_weights, dtype=torch.float64)
        >>> rows = qsann_expectations(x.reshape(-1, 2), th.repeat_interleave(5, 0), spec)
        >>> bool(torch.allclose(qsann_group_expectations(x, th, spec).reshape(-1, 2), rows))
        True
    """
    if x.dim() != 3 or theta.dim() != 2 or theta.shape[0] != x.shape[0]:
        raise ValueError(
            f"x must be [G, R, n] and theta [G, num_weights]; got {tuple(x.shape)} and "
            f"{tuple(theta.shape)}"
        )
    G, R, n = x.shape
    if R >= (1 << n) and n == spec.num_qubits and theta.shape[1] == spec.num_weights:
        return _GroupedQsannFunction.apply(_product_states(x), theta.to(x.dtype), spec)
    rows = qsann_expectations(x.reshape(G * R, n), theta.repeat_interleave(R, dim=0), spec)
    return rows.view(G, R, n)


def qsann_expectations(x: torch.Tensor, theta: torch.Tensor, spec: QsannSpec) -> torch.Tensor:
    """``<Z_i>`` of the QSANN block for each row, differentiable (adjoint backward).

    Args:
        x: inputs ``[rows, n]`` (angles of the ``RY`` encoding), float32 or float64.
        theta: weights ``[rows, num_weights]`` (one weight vector per row) or ``[num_weights]``.
        spec: block shape.

    Returns:
        ``[rows, n]`` expectation values ``<Z_i>``, dtype of ``x``.

    Example:
        >>> spec = QsannSpec(2, reps=1)
        >>> x = torch.tensor([[0.0, 0.0], [torch.pi, 0.0]], dtype=torch.float64)
        >>> qsann_expectations(x, torch.zeros(spec.num_weights, dtype=torch.float64), spec).round()
        tensor([[ 1.,  1.],
                [-1., -1.]], dtype=torch.float64)
    """
    if not isinstance(spec, QsannSpec):
        raise TypeError(f"spec must be a QsannSpec; got {type(spec).__name__}")
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != spec.num_qubits:
        raise ValueError(
            f"x must be a tensor of shape [rows, {spec.num_qubits}]; got "
            f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}"
        )
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"x must be float32 or float64; got {x.dtype}")
    if not isinstance(theta, torch.Tensor):
        raise TypeError(f"theta must be a torch.Tensor; got {type(theta).__name__}")
    if theta.dim() == 1:
        theta = theta.expand(x.shape[0], -1)
    if theta.shape != (x.shape[0], spec.num_weights):
        raise ValueError(
            f"theta must have shape [{spec.num_weights}] or [{x.shape[0]}, {spec.num_weights}]; "
            f"got {tuple(theta.shape)}"
        )
    return _QsannFunction.apply(x, theta.to(x.dtype), spec)

"""Differentiable, batched torch statevector layers for structured attention circuits.

A state is a complex tensor ``psi`` of shape ``[batch, 2**m]`` (``complex128`` or ``complex64``)
indexed little-endian as in Qiskit: basis index ``x = sum_k b_k 2**k`` and qubit ``k`` is bit
``k``. Circuits built from

* diagonal layers (``exp(-i γ D)``, elementwise phases, CZ layers, Z-string rotations), and
* per-qubit single-qubit layers (RX / RY / RZ / general ``U``, one ``2x2`` per qubit, optionally
  one per batch element),

are simulated exactly in ``O(batch * 2**m)`` per layer and every operation is differentiable
through ``torch.autograd`` (angles, diagonals and unitaries may require grad). Nothing here
knows about attention: the circuit families in :mod:`qiskit_qattn.circuits` and the torch device
path of :mod:`qiskit_qattn.sim` compose these functions.

Example:
    >>> import torch
    >>> psi = uniform_state(1, 2)
    >>> psi = diagonal_evolution(psi, torch.tensor([0.0, 1.0, 2.0, 3.0]), torch.tensor(0.5))
    >>> psi = single_qubit_layer(psi, rx_matrices(torch.tensor([0.3, -0.2], dtype=torch.float64)))
    >>> float(probabilities(psi).sum())
    1.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

COMPLEX_DTYPES = (torch.complex128, torch.complex64)

__all__ = [
    "COMPLEX_DTYPES",
    "apply_single_qubit",
    "basis_state",
    "cz_diagonal",
    "cz_layer",
    "diagonal_evolution",
    "fidelity",
    "hadamard_layer",
    "num_qubits_of",
    "phase_layer",
    "probabilities",
    "qaoa_statevectors",
    "real_dtype",
    "rx_matrices",
    "ry_matrices",
    "rz_matrices",
    "single_qubit_layer",
    "u_matrices",
    "uniform_state",
    "z_string_diagonal",
]


def real_dtype(dtype: torch.dtype) -> torch.dtype:
    """The real dtype matching a complex dtype (``complex128 -> float64``)."""
    _check_dtype(dtype)
    return torch.float64 if dtype == torch.complex128 else torch.float32


def _check_dtype(dtype: torch.dtype) -> None:
    if dtype not in COMPLEX_DTYPES:
        raise TypeError(f"dtype must be torch.complex128 or torch.complex64; got {dtype}")


def _check_qubits(num_qubits: int) -> int:
    if isinstance(num_qubits, bool) or not isinstance(num_qubits, (int, np.integer)):
        raise TypeError(f"num_qubits must be an int; got {type(num_qubits).__name__}")
    if not 1 <= num_qubits <= 26:
        raise ValueError(f"num_qubits must be in [1, 26]; got {num_qubits}")
    return int(num_qubits)


def num_qubits_of(psi: torch.Tensor) -> int:
    """Number of qubits of a ``[batch, 2**m]`` state tensor (validates the layout)."""
    if not isinstance(psi, torch.Tensor):
        raise TypeError(f"psi must be a torch.Tensor; got {type(psi).__name__}")
    if psi.ndim != 2:
        raise ValueError(f"psi must have shape [batch, 2**m]; got {tuple(psi.shape)}")
    _check_dtype(psi.dtype)
    dim = psi.shape[1]
    m = dim.bit_length() - 1
    if dim < 2 or 1 << m != dim:
        raise ValueError(f"psi's last dimension must be a power of two >= 2; got {dim}")
    return m


def basis_state(
    batch: int,
    num_qubits: int,
    index: int = 0,
    *,
    dtype: torch.dtype = torch.complex128,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """``|index>`` repeated ``batch`` times, shape ``[batch, 2**m]``.

    Example:
        >>> basis_state(2, 1, 1).tolist()
        [[0j, (1+0j)], [0j, (1+0j)]]
    """
    m = _check_qubits(num_qubits)
    _check_dtype(dtype)
    if not 0 <= index < 2**m:
        raise ValueError(f"index must be in [0, 2**num_qubits); got {index}")
    psi = torch.zeros(batch, 2**m, dtype=dtype, device=device)
    psi[:, index] = 1.0
    return psi


def uniform_state(
    batch: int,
    num_qubits: int,
    *,
    dtype: torch.dtype = torch.complex128,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """``H^{⊗m}|0>`` repeated ``batch`` times, shape ``[batch, 2**m]``.

    Example:
        >>> uniform_state(1, 2).abs().pow(2).tolist()
        [[0.25, 0.25, 0.25, 0.25]]
    """
    m = _check_qubits(num_qubits)
    _check_dtype(dtype)
    return torch.full((batch, 2**m), 2.0 ** (-m / 2), dtype=dtype, device=device)


# ----------------------------------------------------------------------------- 2x2 matrices


def _as_angle(theta: torch.Tensor | float, dtype: torch.dtype) -> torch.Tensor:
    t = theta if isinstance(theta, torch.Tensor) else torch.as_tensor(theta)
    if t.is_complex():
        raise TypeError("angles must be real tensors")
    return t.to(real_dtype(dtype))


def rx_matrices(
    theta: torch.Tensor | float, *, dtype: torch.dtype = torch.complex128
) -> torch.Tensor:
    """``RX(θ) = exp(-i θ X / 2)`` for every entry of ``theta``: shape ``[..., 2, 2]``.

    Example:
        >>> rx_matrices(torch.tensor(torch.pi)).imag.round(decimals=6).tolist()
        [[0.0, -1.0], [-1.0, 0.0]]
    """
    t = _as_angle(theta, dtype) / 2
    c, s = torch.cos(t).to(dtype), torch.sin(t).to(dtype)
    ms = -1j * s
    return torch.stack([torch.stack([c, ms], -1), torch.stack([ms, c], -1)], -2)


def ry_matrices(
    theta: torch.Tensor | float, *, dtype: torch.dtype = torch.complex128
) -> torch.Tensor:
    """``RY(θ) = exp(-i θ Y / 2)`` for every entry of ``theta``: shape ``[..., 2, 2]``.

    Example:
        >>> ry_matrices(torch.tensor(torch.pi)).real.round(decimals=6).abs().tolist()
        [[0.0, 1.0], [1.0, 0.0]]
    """
    t = _as_angle(theta, dtype) / 2
    c, s = torch.cos(t).to(dtype), torch.sin(t).to(dtype)
    return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)


def rz_matrices(
    theta: torch.Tensor | float, *, dtype: torch.dtype = torch.complex128
) -> torch.Tensor:
    """``RZ(θ) = diag(e^{-iθ/2}, e^{iθ/2})`` for every entry of ``theta``: ``[..., 2, 2]``.

    Example:
        >>> rz_matrices(torch.tensor(torch.pi)).imag.round(decimals=6).tolist()
        [[-1.0, 0.0], [0.0, 1.0]]
    """
    t = _as_angle(theta, dtype) / 2
    e = torch.polar(torch.ones_like(t), -t).to(dtype)
    z = torch.zeros_like(e)
    return torch.stack([torch.stack([e, z], -1), torch.stack([z, e.conj()], -1)], -2)


def u_matrices(
    theta: torch.Tensor | float,
    phi: torch.Tensor | float,
    lam: torch.Tensor | float,
    *,
    dtype: torch.dtype = torch.complex128,
) -> torch.Tensor:
    """Qiskit's ``U(θ, φ, λ)`` for broadcast angle tensors: shape ``[..., 2, 2]``.

    ``U = [[cos(θ/2), -e^{iλ} sin(θ/2)], [e^{iφ} sin(θ/2), e^{i(φ+λ)} cos(θ/2)]]``.

    Example:
        >>> u_matrices(torch.tensor(torch.pi / 2), 0.0, torch.pi).real.round(decimals=4).tolist()
        [[0.7071, 0.7071], [0.7071, -0.7071]]
    """
    t, p, lm = torch.broadcast_tensors(
        _as_angle(theta, dtype) / 2, _as_angle(phi, dtype), _as_angle(lam, dtype)
    )
    c, s = torch.cos(t).to(dtype), torch.sin(t).to(dtype)
    one = torch.ones_like(p)
    ep, el, epl = (torch.polar(one, a).to(dtype) for a in (p, lm, p + lm))
    return torch.stack([torch.stack([c, -el * s], -1), torch.stack([ep * s, epl * c], -1)], -2)


# ----------------------------------------------------------------------------- layers


def apply_single_qubit(psi: torch.Tensor, unitary: torch.Tensor, qubit: int) -> torch.Tensor:
    """Apply a ``2x2`` unitary (``[2, 2]`` shared or ``[batch, 2, 2]``) to one qubit.

    Example:
        >>> h = torch.tensor([[1, 1], [1, -1]], dtype=torch.complex128) / 2**0.5
        >>> apply_single_qubit(basis_state(1, 2), h, 1).real.round(decimals=4).tolist()
        [[0.7071, 0.0, 0.7071, 0.0]]
    """
    m = num_qubits_of(psi)
    if not 0 <= qubit < m:
        raise ValueError(f"qubit must be in [0, {m}); got {qubit}")
    u = unitary.to(psi.dtype)
    batch = psi.shape[0]
    t = psi.reshape(batch, 2 ** (m - 1 - qubit), 2, 2**qubit)
    if u.shape == (2, 2):
        out = torch.einsum("ij,bxjy->bxiy", u, t)
    elif u.shape == (batch, 2, 2):
        out = torch.einsum("bij,bxjy->bxiy", u, t)
    else:
        raise ValueError(f"unitary must have shape [2, 2] or [{batch}, 2, 2]; got {tuple(u.shape)}")
    return out.reshape(batch, 2**m)


def single_qubit_layer(
    psi: torch.Tensor, unitaries: torch.Tensor, qubits: Sequence[int] | None = None
) -> torch.Tensor:
    """Apply one ``2x2`` per qubit: ``unitaries`` is ``[k, 2, 2]`` or ``[batch, k, 2, 2]``.

    ``unitaries[..., i, :, :]`` acts on ``qubits[i]`` (default: qubits ``0..m-1``, ``k = m``).
    Layers of a single broadcast unitary: pass ``u.expand(m, 2, 2)``.

    Example:
        >>> psi = single_qubit_layer(basis_state(1, 2), rx_matrices(torch.full((2,), torch.pi)))
        >>> psi.abs().round(decimals=6).tolist()
        [[0.0, 0.0, 0.0, 1.0]]
    """
    m = num_qubits_of(psi)
    qubits = list(range(m)) if qubits is None else [int(q) for q in qubits]
    if unitaries.ndim == 3:
        per = [unitaries[i] for i in range(unitaries.shape[0])]
    elif unitaries.ndim == 4:
        per = [unitaries[:, i] for i in range(unitaries.shape[1])]
    else:
        raise ValueError(
            f"unitaries must have shape [k, 2, 2] or [batch, k, 2, 2]; got {tuple(unitaries.shape)}"
        )
    if len(per) != len(qubits):
        raise ValueError(f"unitaries holds {len(per)} gates for {len(qubits)} qubits")
    for u, q in zip(per, qubits, strict=True):
        psi = apply_single_qubit(psi, u, q)
    return psi


def hadamard_layer(psi: torch.Tensor) -> torch.Tensor:
    """``H`` on every qubit (an unnormalised fast Walsh–Hadamard transform times ``2^{-m/2}``).

    Example:
        >>> hadamard_layer(basis_state(1, 1)).real.round(decimals=4).tolist()
        [[0.7071, 0.7071]]
    """
    m = num_qubits_of(psi)
    h = torch.tensor([[1.0, 1.0], [1.0, -1.0]], dtype=psi.dtype, device=psi.device) / np.sqrt(2)
    for q in range(m):
        psi = apply_single_qubit(psi, h, q)
    return psi


def phase_layer(psi: torch.Tensor, phases: torch.Tensor) -> torch.Tensor:
    """Multiply by ``exp(i φ_x)``; ``phases`` is real, ``[2**m]`` or ``[batch, 2**m]``.

    Example:
        >>> phase_layer(uniform_state(1, 1), torch.tensor([0.0, torch.pi])).real.round(
        ...     decimals=4).tolist()
        [[0.7071, -0.7071]]
    """
    num_qubits_of(psi)
    if phases.is_complex():
        raise TypeError("phases must be a real tensor")
    if phases.shape[-1] != psi.shape[1] or phases.ndim not in (1, 2):
        raise ValueError(
            f"phases must have shape [{psi.shape[1]}] or [batch, {psi.shape[1]}]; "
            f"got {tuple(phases.shape)}"
        )
    ph = phases.to(real_dtype(psi.dtype))
    return psi * torch.polar(torch.ones_like(ph), ph).to(psi.dtype)


def diagonal_evolution(
    psi: torch.Tensor, diagonal: torch.Tensor, gamma: torch.Tensor | float
) -> torch.Tensor:
    """``exp(-i γ D) psi`` for a real diagonal ``D`` (``[2**m]`` or ``[batch, 2**m]``).

    ``gamma`` is a scalar or one angle per batch element (``[batch]``). The QAOA-attention phase
    separator ``exp(+i γ s)`` is ``diagonal_evolution(psi, -s, γ)``.

    Example:
        >>> psi = diagonal_evolution(uniform_state(1, 1), torch.tensor([0.0, 1.0]), torch.pi)
        >>> psi.real.round(decimals=4).tolist()
        [[0.7071, -0.7071]]
    """
    rd = real_dtype(psi.dtype)
    g = _as_angle(gamma, psi.dtype).to(psi.device)
    d = diagonal.to(rd)
    if g.ndim == 1:
        g = g[:, None]
    elif g.ndim != 0:
        raise ValueError(f"gamma must be a scalar or have shape [batch]; got {tuple(g.shape)}")
    return phase_layer(psi, -(g * d))


def z_string_diagonal(
    num_qubits: int, qubits: Sequence[int], *, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """Diagonal ``±1`` of ``Z_{q1} Z_{q2} ...`` on ``2**m`` basis states (little-endian).

    Example:
        >>> z_string_diagonal(2, [0, 1]).tolist()
        [1.0, -1.0, -1.0, 1.0]
    """
    m = _check_qubits(num_qubits)
    x = torch.arange(2**m)
    parity = torch.zeros(2**m, dtype=torch.int64)
    for q in qubits:
        if not 0 <= q < m:
            raise ValueError(f"qubits must lie in [0, {m}); got {q}")
        parity ^= (x >> q) & 1
    return (1 - 2 * parity).to(dtype)


def cz_diagonal(
    num_qubits: int, pairs: Sequence[tuple[int, int]], *, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """Diagonal ``±1`` of a layer of CZ gates on ``pairs``.

    Example:
        >>> cz_diagonal(2, [(0, 1)]).tolist()
        [1.0, 1.0, 1.0, -1.0]
    """
    m = _check_qubits(num_qubits)
    x = torch.arange(2**m)
    sign = torch.zeros(2**m, dtype=torch.int64)
    for a, b in pairs:
        if not (0 <= a < m and 0 <= b < m) or a == b:
            raise ValueError(f"pairs must hold distinct qubits in [0, {m}); got {(a, b)}")
        sign ^= ((x >> a) & 1) & ((x >> b) & 1)
    return (1 - 2 * sign).to(dtype)


def cz_layer(psi: torch.Tensor, pairs: Sequence[tuple[int, int]]) -> torch.Tensor:
    """Apply CZ on every pair of ``pairs``.

    Example:
        >>> cz_layer(uniform_state(1, 2), [(0, 1)]).real.mul(2).tolist()
        [[1.0, 1.0, 1.0, -1.0]]
    """
    m = num_qubits_of(psi)
    sign = cz_diagonal(m, pairs, dtype=real_dtype(psi.dtype)).to(psi.device)
    return psi * sign.to(psi.dtype)


def probabilities(psi: torch.Tensor) -> torch.Tensor:
    """Born probabilities ``|psi_x|^2`` (real, same batch layout)."""
    num_qubits_of(psi)
    return psi.real.square() + psi.imag.square()


def fidelity(psi: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``|<target|psi>|^2`` per batch element; ``target`` is ``[2**m]`` or ``[batch, 2**m]``.

    Example:
        >>> round(float(fidelity(uniform_state(1, 1), torch.tensor([1.0, 0.0]))[0]), 6)
        0.5
    """
    num_qubits_of(psi)
    t = target.to(psi.dtype)
    return (t.conj() * psi).sum(-1).abs().square()


def qaoa_statevectors(
    diagonals: torch.Tensor, gammas: torch.Tensor, betas: torch.Tensor
) -> torch.Tensor:
    """Textbook QAOA-attention states: ``H^m``, then ``p`` x [``exp(+i γ_l D)``, ``RX(2β_l)^m``].

    Args:
        diagonals: real ``[batch, 2**m]`` (e.g. ``s/τ`` per row); the dtype sets the precision
            (``float64 -> complex128``, ``float32 -> complex64``).
        gammas: ``[p]`` shared or ``[batch, p]`` per row.
        betas: ``[p]`` shared or ``[batch, p]`` per row.

    Example:
        >>> s = torch.tensor([[0.0, 1.0, 2.0, 3.0]], dtype=torch.float64)
        >>> qaoa_statevectors(s, torch.tensor([0.5]), torch.tensor([0.2])).shape
        torch.Size([1, 4])
    """
    if diagonals.ndim != 2:
        raise ValueError(f"diagonals must have shape [batch, 2**m]; got {tuple(diagonals.shape)}")
    dtype = torch.complex64 if diagonals.dtype == torch.float32 else torch.complex128
    batch, dim = diagonals.shape
    m = dim.bit_length() - 1
    if gammas.shape[-1] != betas.shape[-1]:
        raise ValueError("gammas and betas must have the same number of layers")
    psi = uniform_state(batch, m, dtype=dtype, device=diagonals.device)
    for layer in range(gammas.shape[-1]):
        psi = diagonal_evolution(psi, -diagonals, gammas[..., layer])
        rx = rx_matrices(2 * betas[..., layer], dtype=dtype)
        u = rx.expand(m, 2, 2) if rx.ndim == 2 else rx[:, None].expand(batch, m, 2, 2)
        psi = single_qubit_layer(psi, u)
    return psi

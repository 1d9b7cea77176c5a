"""Exact, batched, differentiable statevectors of the families (torch; fitting and checks).

Each function mirrors its Qiskit builder gate for gate on the layers of
:mod:`qiskit_qattn.sim.torch_layers`, for a batch of rows at once; angles may require grad.
The tests check every function against ``qiskit.quantum_info.Statevector`` of the builder.
This module imports torch: the circuit builders do not.
"""

from __future__ import annotations

import numpy as np
import torch

from ..circuits.families.born_machine import mapped_angles, qubit_features
from ..circuits.families.ma_qaoa import walsh_order_diagonals
from ..circuits.families.warm_start import warm_start_probabilities
from ..circuits.rows import ScoreRows, marginal_angles
from ..sim import torch_layers as tl

FAMILIES = ("ma_qaoa", "warm_start", "amplification", "born_machine")


def _t(x: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(x), dtype=tl.real_dtype(dtype))


def order_parts(rows: ScoreRows, max_order: int, dtype=torch.complex128) -> torch.Tensor:
    """Walsh-order diagonals ``[K, R, 2**m]`` as a real tensor."""
    return _t(walsh_order_diagonals(rows.diag, max_order), dtype)


def target_states(rows: ScoreRows, dtype=torch.complex128) -> torch.Tensor:
    """``sqrt(softmax)`` per basis state, ``[R, 2**m]``."""
    return _t(np.sqrt(rows.probs), dtype).to(dtype)


def _rx_layer(psi: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
    return tl.single_qubit_layer(psi, tl.rx_matrices(2 * betas, dtype=psi.dtype))


def ma_qaoa_states(
    parts: torch.Tensor, gammas: torch.Tensor, betas: torch.Tensor, dtype=torch.complex128
) -> torch.Tensor:
    """Multi-angle QAOA: ``parts [K, R, N]``, ``gammas [R, p, K]``, ``betas [R, p, m]``."""
    _, r, n = parts.shape
    m = n.bit_length() - 1
    psi = tl.uniform_state(r, m, dtype=dtype)
    for layer in range(gammas.shape[1]):
        phases = torch.einsum("rk,krn->rn", gammas[:, layer].to(parts.dtype), parts)
        psi = tl.phase_layer(psi, phases)
        psi = _rx_layer(psi, betas[:, layer])
    return psi


def warm_start_states(
    rows: ScoreRows,
    window: int,
    parts: torch.Tensor | None = None,
    gammas: torch.Tensor | None = None,
    betas: torch.Tensor | None = None,
    dtype=torch.complex128,
) -> torch.Tensor:
    """Warm start (closed form) then optional correction layers (``gammas [R,p,K]``, ...)."""
    psi = _t(np.sqrt(warm_start_probabilities(rows.probs, window)), dtype).to(dtype)
    if gammas is None or gammas.shape[1] == 0:
        return psi
    theta = _t(marginal_angles(rows.probs), dtype)
    ry_in, ry_out = tl.ry_matrices(-theta, dtype=dtype), tl.ry_matrices(theta, dtype=dtype)
    for layer in range(gammas.shape[1]):
        phases = torch.einsum("rk,krn->rn", gammas[:, layer].to(parts.dtype), parts)
        psi = tl.phase_layer(psi, phases)
        rz = tl.rz_matrices(2 * betas[:, layer], dtype=dtype)
        psi = tl.single_qubit_layer(psi, ry_out @ rz @ ry_in)
    return psi


def amplification_states(
    rows: ScoreRows,
    angles: torch.Tensor,
    initial: str = "uniform",
    max_order: int | None = None,
    dtype=torch.complex128,
) -> torch.Tensor:
    """Oracle + generalised reflection layers; ``angles [R, p, 2]``."""
    m = rows.num_qubits
    k_max = m if max_order is None else min(max_order, m)
    diag = _t(walsh_order_diagonals(rows.diag, k_max).sum(axis=0), dtype)
    if initial == "warm":
        theta = _t(marginal_angles(rows.probs), dtype)
        psi0 = tl.single_qubit_layer(
            tl.basis_state(rows.num_rows, m, dtype=dtype), tl.ry_matrices(theta, dtype=dtype)
        )
    else:
        psi0 = tl.uniform_state(rows.num_rows, m, dtype=dtype)
    psi = psi0
    for layer in range(angles.shape[1]):
        psi = tl.phase_layer(psi, angles[:, layer, 0:1].to(diag.dtype) * diag)
        overlap = (psi0.conj() * psi).sum(-1, keepdim=True)
        beta = angles[:, layer, 1:2].to(diag.dtype)
        factor = torch.polar(torch.ones_like(beta), beta).to(dtype) - 1
        psi = psi + factor * overlap * psi0
    return psi


def born_machine_states(thetas: torch.Tensor, dtype=torch.complex128) -> torch.Tensor:
    """Hardware-efficient Born machine; ``thetas [R, L+1, m]``."""
    r, depth, m = thetas.shape
    psi = tl.single_qubit_layer(tl.basis_state(r, m, dtype=dtype),
                                tl.ry_matrices(thetas[:, 0], dtype=dtype))
    pairs = [(q, q + 1) for q in range(m - 1)]
    for layer in range(1, depth):
        psi = tl.cz_layer(psi, pairs)
        psi = tl.single_qubit_layer(psi, tl.ry_matrices(thetas[:, layer], dtype=dtype))
    return psi


def born_machine_mapped_states(
    rows: ScoreRows, weights: torch.Tensor, dtype=torch.complex128
) -> torch.Tensor:
    """Born machine with angles from a (trainable) map ``weights [L+1, m, F]``."""
    feats = _t(qubit_features(rows), dtype)
    return born_machine_states(mapped_angles(feats, weights.to(feats.dtype)), dtype)

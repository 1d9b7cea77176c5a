"""Torch models for the QNN workflows: quantum attention through ``TorchConnector``, and twins.

Every quantum model here holds a qiskit-machine-learning ``TorchConnector`` around a QNN built
by :mod:`qiskit_qattn.qml.factories`; its weights are the connector's. Each comes with twins for
an honest comparison:

- :class:`QSANNClassifier`: QSANN (Li et al. 2022) — quantum q/k/v features of every token
  (``qsann_qnn``), Gaussian-kernel softmax ``a_ij ∝ exp(-|q_i - k_j|^2)``, residual
  ``y_i = x_i + sum_j a_ij v_j``, mean over tokens, linear head. ``attention=False``: the same
  model with uniform ``a_ij`` (no attention). :class:`ClassicalQSANNClassifier`: the same
  architecture with classical ``tanh(linear)`` q/k/v maps whose parameter count equals the
  quantum one (see :func:`matching_score_dim`).
- :class:`QuantumAttentionClassifier`: ``TorchConnector(self_attention_qnn(...))`` itself (the
  circuit holds the whole attention). :class:`ClassicalAttentionPooling`: softmax attention
  pooling with the same parameters (score vector, ``T - 1`` positional biases, value weights
  and bias), ``tanh`` of the pooled value.

Outputs are in ``[-1, 1]``; train them on ``±1`` labels with the squared error, the loss
``NeuralNetworkClassifier`` uses for one-output QNNs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .factories import qsann_qnn, self_attention_qnn


def _connector(qnn: Any, initial_weights: np.ndarray | None) -> nn.Module:
    from qiskit_machine_learning.connectors import TorchConnector

    return TorchConnector(qnn, initial_weights=initial_weights)


def _init_weights(count: int, scale: float, seed: int | None) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=scale, size=count)


def gaussian_attention(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """QSANN's attention weights ``softmax_j(-|q_i - k_j|^2)`` for ``q, k [B, T, s]``.

    Example:
        >>> w = gaussian_attention(torch.zeros(1, 3, 1), torch.zeros(1, 3, 1))
        >>> w.sum(-1).tolist()
        [[1.0, 1.0, 1.0]]
    """
    return torch.softmax(-torch.cdist(q, k).square(), dim=-1)


class QSANNAttention(nn.Module):
    """QSANN attention over tokens ``[B, T, n]`` with quantum q/k/v (``TorchConnector``).

    Args:
        token_dim: features per token ``n`` (qubits per register).
        reps: entangling layers of each q/k/v block.
        score_dim: query/key features.
        attention: ``False``: uniform weights (the same model without attention).
        seed: seed of the initial weights (normal, std 0.1 around the encoding map).
        **qnn_options: forwarded to :func:`~qiskit_qattn.qml.qsann_qnn` (``estimator``,
            ``device``, ``gradient``, ...).

    Example:
        >>> att = QSANNAttention(token_dim=2, seed=0)
        >>> tuple(att(torch.rand(3, 4, 2)).shape)
        (3, 4, 2)
    """

    def __init__(
        self,
        token_dim: int,
        *,
        reps: int = 1,
        score_dim: int = 1,
        attention: bool = True,
        seed: int | None = 0,
        **qnn_options: Any,
    ) -> None:
        super().__init__()
        self.qnn = qsann_qnn(token_dim, reps=reps, score_dim=score_dim, **qnn_options)
        self.token_dim, self.score_dim, self.attention = token_dim, score_dim, attention
        self.connector = _connector(self.qnn, _init_weights(self.qnn.num_weights, 0.1, seed))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        B, T, n = tokens.shape
        feats = self.connector(tokens.reshape(B * T, n)).to(tokens.dtype).reshape(B, T, -1)
        s = self.score_dim
        q, k, v = feats[..., :s], feats[..., s:2 * s], feats[..., 2 * s:]
        if self.attention:
            weights = gaussian_attention(q, k)
        else:
            weights = torch.full((B, T, T), 1.0 / T, dtype=v.dtype)
        return tokens + weights @ v


class QSANNClassifier(nn.Module):
    """:class:`QSANNAttention`, mean over tokens, linear head, ``tanh``: one output in [-1, 1].

    Example:
        >>> model = QSANNClassifier(num_tokens=4, token_dim=2, seed=0)
        >>> tuple(model(torch.rand(5, 8)).shape)
        (5,)
    """

    def __init__(self, num_tokens: int, token_dim: int, *, seed: int | None = 0,
                 **options: Any) -> None:
        super().__init__()
        self.num_tokens, self.token_dim = num_tokens, token_dim
        self.attention = QSANNAttention(token_dim, seed=seed, **options)
        self.head = nn.Linear(token_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x.reshape(len(x), self.num_tokens, self.token_dim)
        return torch.tanh(self.head(self.attention(tokens).mean(dim=1))).squeeze(-1)


def matching_score_dim(token_dim: int, target: int) -> int:
    """Score width ``s`` of :class:`ClassicalQSANNClassifier` nearest ``target`` parameters.

    The classical q/k/v maps hold ``2 (s n + s) + n^2 + n`` parameters.

    Example:
        >>> matching_score_dim(2, 18)   # = the quantum QSANN block, token_dim 2, reps 1
        2
    """
    def count(s: int) -> int:
        return 2 * (s * token_dim + s) + token_dim * token_dim + token_dim

    return min(range(1, 4 * token_dim + 8), key=lambda s: (abs(count(s) - target), s))


class ClassicalQSANNClassifier(nn.Module):
    """:class:`QSANNClassifier` with classical ``tanh(linear)`` q/k/v maps.

    Args:
        num_tokens, token_dim: sequence shape.
        score_dim: query/key width (use :func:`matching_score_dim` to match a quantum model).
        attention: ``False``: uniform weights.
        seed: torch seed of the initial weights.

    Example:
        >>> model = ClassicalQSANNClassifier(4, 2, score_dim=2, seed=0)
        >>> sum(p.numel() for p in model.maps.parameters())
        18
    """

    def __init__(self, num_tokens: int, token_dim: int, *, score_dim: int = 1,
                 attention: bool = True, seed: int | None = 0) -> None:
        super().__init__()
        if seed is not None:
            torch.manual_seed(seed)
        self.num_tokens, self.token_dim, self.score_dim = num_tokens, token_dim, score_dim
        self.attention = attention
        self.maps = nn.Linear(token_dim, 2 * score_dim + token_dim)
        self.head = nn.Linear(token_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x.reshape(len(x), self.num_tokens, self.token_dim)
        feats = torch.tanh(self.maps(tokens))
        s = self.score_dim
        q, k, v = feats[..., :s], feats[..., s:2 * s], feats[..., 2 * s:]
        T = tokens.shape[1]
        if self.attention:
            weights = gaussian_attention(q, k)
        else:
            weights = torch.full((len(x), T, T), 1.0 / T, dtype=v.dtype)
        return torch.tanh(self.head((tokens + weights @ v).mean(dim=1))).squeeze(-1)


class QuantumAttentionClassifier(nn.Module):
    """``TorchConnector`` around :func:`~qiskit_qattn.qml.self_attention_qnn` (one output).

    Example:
        >>> model = QuantumAttentionClassifier(num_tokens=4, token_dim=2, seed=0)
        >>> tuple(model(torch.rand(5, 8)).shape)
        (5,)
    """

    def __init__(self, num_tokens: int, token_dim: int, *, attention: bool = True,
                 seed: int | None = 0, **qnn_options: Any) -> None:
        super().__init__()
        self.qnn = self_attention_qnn(num_tokens, token_dim, attention=attention, **qnn_options)
        if self.qnn.output_shape != (1,):
            raise ValueError("QuantumAttentionClassifier needs a one-output QNN (value_qubits=1)")
        self.connector = _connector(self.qnn, _init_weights(self.qnn.num_weights, 0.1, seed))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.connector(x).to(x.dtype).squeeze(-1)


class ClassicalAttentionPooling(nn.Module):
    """Softmax attention pooling with the parameters of a one-output ``self_attention_qnn``.

    ``s_t = w . x_t + c_t`` (``c_{T-1} = 0``), ``a = softmax(s)``,
    ``out = tanh(sum_t a_t (v . x_t) + b)``: ``n + (T - 1) + n + 1`` parameters, as the circuit
    (``attention=False``: uniform ``a``, ``n + 1``).

    Example:
        >>> model = ClassicalAttentionPooling(4, 2, seed=0)
        >>> sum(p.numel() for p in model.parameters())
        8
    """

    def __init__(self, num_tokens: int, token_dim: int, *, attention: bool = True,
                 seed: int | None = 0) -> None:
        super().__init__()
        if seed is not None:
            torch.manual_seed(seed)
        self.num_tokens, self.token_dim, self.attention = num_tokens, token_dim, attention
        if attention:
            self.score = nn.Parameter(0.1 * torch.randn(token_dim))
            self.position = nn.Parameter(torch.zeros(num_tokens - 1))
        self.value = nn.Linear(token_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x.reshape(len(x), self.num_tokens, self.token_dim)
        values = self.value(tokens).squeeze(-1)  # [B, T]
        if self.attention:
            bias = torch.cat([self.position, self.position.new_zeros(1)])
            weights = torch.softmax(tokens @ self.score + bias, dim=-1)
        else:
            weights = torch.full_like(values, 1.0 / self.num_tokens)
        return torch.tanh((weights * values).sum(dim=-1))


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters of a torch model (a ``TorchConnector``'s weights included).

    Example:
        >>> count_parameters(ClassicalAttentionPooling(4, 2))
        8
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

"""Shared validation of one score row for the circuit builders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..encoding import as_real_array, check_positive, num_key_qubits, pad_mask, to_numpy


@dataclass(frozen=True)
class ScoreRow:
    """A validated score row laid out on a key register of ``num_qubits`` qubits."""

    scores: np.ndarray  # length num_keys, finite
    keep: np.ndarray  # length 2**num_qubits, False on masked and padding keys
    num_keys: int
    num_qubits: int
    temperature: float

    @property
    def padding(self) -> int:
        """Number of padding basis states beyond the real keys."""
        return 2**self.num_qubits - self.num_keys

    def metadata(self, family: str, **extra: Any) -> dict[str, Any]:
        """Circuit metadata common to every attention builder."""
        return {
            "family": family,
            "num_keys": self.num_keys,
            "num_key_qubits": self.num_qubits,
            "padding": self.padding,
            "masked_keys": int(self.num_keys - np.count_nonzero(self.keep[: self.num_keys])),
            "temperature": self.temperature,
            "query_index": None,
            **extra,
        }


def score_row(
    scores: Any, temperature: float, mask: Any | None, max_keys: int, method: str
) -> ScoreRow:
    """Validate a score row, its temperature and keep-mask against a method's key limit."""
    s = as_real_array(scores, "scores", ndim=1)
    tau = check_positive(temperature, "temperature")
    n = s.shape[0]
    if n > max_keys:
        raise ValueError(
            f"scores has {n} keys; {method} supports at most {max_keys} keys "
            f"({num_key_qubits(max_keys)} key qubits)"
        )
    if mask is None:
        keep_keys = None
    else:
        keep_keys = to_numpy(mask)
        if keep_keys.dtype != np.bool_ or keep_keys.shape != (n,):
            raise ValueError(
                f"mask must be a boolean vector of length {n} (True = attend); "
                f"got dtype {keep_keys.dtype}, shape {keep_keys.shape}"
            )
        if not keep_keys.any():
            raise ValueError("mask must keep at least one key")
    m = num_key_qubits(n)
    return ScoreRow(s, pad_mask(keep_keys, n, m), n, m, tau)

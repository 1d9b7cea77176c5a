"""The value every attention backend returns: output, optional weights, error bars, provenance."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class AttentionResult:
    """Result of :func:`qiskit_qattn.attention.attention` (torch tensors, leading dims kept).

    Unpacks like a tuple: ``output, weights, std_error = result``.

    Attributes:
        output: attention output ``[..., L, Ev]``.
        weights: attention weights ``[..., L, S]`` (exact, or the estimator's effective weights),
            or ``None`` when ``need_weights=False`` or the backend has none.
        std_error: per-entry standard error of ``output`` ``[..., L, Ev]`` (zeros for
            deterministic backends, ``None`` when the backend cannot estimate it).
        error_estimate: per-query estimated error ``||ô_i - o_i||`` (root of the summed
            variances of the row, ``[..., L]``), or ``None``.
        backend: name of the backend that produced it.
        info: backend details (sample counts, bias statement, timings, ...).

    Example:
        >>> r = AttentionResult(output=1.0, weights=None, std_error=0.0)
        >>> out, w, se = r
        >>> out, w, se
        (1.0, None, 0.0)
    """

    output: Any
    weights: Any | None = None
    std_error: Any | None = None
    error_estimate: Any | None = None
    backend: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Any]:
        yield self.output
        yield self.weights
        yield self.std_error

    def relative_error(self, reference: Any) -> float:
        """Relative Frobenius error ``||output - reference|| / ||reference||`` (all entries)."""
        import torch

        ref = torch.as_tensor(reference).to(self.output.dtype)
        diff = (self.output.detach() - ref).norm()
        return float(diff / ref.norm())

"""Training helpers: exact-to-quantum curriculum, hybrid heads, approximation-artefact penalty.

- :class:`ExactToQuantumCurriculum` ramps ``quantum_mix`` of every
  :class:`~qiskit_qattn.nn.QuantumMultiheadAttention` in a model from ``0`` (exact attention; the
  backend is not even evaluated) to ``final_mix`` over ``ramp_steps`` after ``warmup_steps``.
- :func:`set_hybrid` keeps some heads exact and sends the others to the backend.
- :func:`artifact_penalty` is a regulariser: the mean squared gap between each quantum head's
  output and the exact head output of the same projections (recorded when ``track_exact`` is on),
  which discourages projections that only work because of the approximation's artefacts.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

from .multihead import QuantumMultiheadAttention

SCHEDULES = ("linear", "cosine", "step")


def quantum_attention_modules(model: nn.Module) -> Iterator[tuple[str, QuantumMultiheadAttention]]:
    """``(name, module)`` of every ``QuantumMultiheadAttention`` in ``model`` (itself included).

    Example:
        >>> m = nn.Sequential(QuantumMultiheadAttention(4, 2, quantum_backend="exact"))
        >>> [name for name, _ in quantum_attention_modules(m)]
        ['0']
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module; got {type(model).__name__}")
    for name, module in model.named_modules():
        if isinstance(module, QuantumMultiheadAttention):
            yield name, module


def _modules_or_raise(model: nn.Module) -> list[QuantumMultiheadAttention]:
    mods = [m for _, m in quantum_attention_modules(model)]
    if not mods:
        raise ValueError("model contains no QuantumMultiheadAttention module")
    return mods


def set_hybrid(
    model: nn.Module, *, quantum_heads: Sequence[int] | None = None, mix: float | None = None,
    track_exact: bool | None = None,
) -> None:
    """Configure hybrid operation on every ``QuantumMultiheadAttention`` in ``model``.

    Args:
        model: a module containing ``QuantumMultiheadAttention`` layers.
        quantum_heads: heads on the backend (``None`` leaves the setting unchanged; use
            ``range(num_heads)`` for all).
        mix: ``quantum_mix`` to set (``None`` = unchanged).
        track_exact: record quantum and exact head outputs for :func:`artifact_penalty`.

    Example:
        >>> m = QuantumMultiheadAttention(8, 4, quantum_backend="exact")
        >>> set_hybrid(m, quantum_heads=[0, 1], mix=0.5)
        >>> m.quantum_heads, m.quantum_mix
        ((0, 1), 0.5)
    """
    for mod in _modules_or_raise(model):
        if quantum_heads is not None:
            mod.set_quantum_heads(quantum_heads)
        if mix is not None:
            mod.set_quantum_mix(mix)
        if track_exact is not None:
            mod.track_exact = bool(track_exact)


class ExactToQuantumCurriculum:
    """Anneal attention from exact to the quantum backend while training.

    ``mix(step)`` is ``0`` for ``step < warmup_steps``, then rises to ``final_mix`` over
    ``ramp_steps`` (``"linear"``, ``"cosine"`` or ``"step"`` = jump at the end of the ramp),
    and stays there. :meth:`step` advances one optimisation step and applies the new mix.

    Args:
        model: module with ``QuantumMultiheadAttention`` layers.
        warmup_steps: exact-only steps.
        ramp_steps: steps of the ramp (``0`` = jump straight to ``final_mix``).
        schedule: ramp shape.
        final_mix: mix at the end (``1`` = pure backend).

    Example:
        >>> m = QuantumMultiheadAttention(8, 2, quantum_backend="exact")
        >>> cur = ExactToQuantumCurriculum(m, warmup_steps=2, ramp_steps=4)
        >>> [round(cur.mix_at(s), 2) for s in range(8)]
        [0.0, 0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
        >>> _ = [cur.step() for _ in range(4)]; m.quantum_mix
        0.5
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        warmup_steps: int = 0,
        ramp_steps: int = 100,
        schedule: str = "linear",
        final_mix: float = 1.0,
    ) -> None:
        for name, value in (("warmup_steps", warmup_steps), ("ramp_steps", ramp_steps)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0; got {value!r}")
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}; got {schedule!r}")
        if not isinstance(final_mix, (int, float)) or not 0 <= final_mix <= 1:
            raise ValueError(f"final_mix must be in [0, 1]; got {final_mix!r}")
        self.modules = _modules_or_raise(model)
        self.warmup_steps = warmup_steps
        self.ramp_steps = ramp_steps
        self.schedule = schedule
        self.final_mix = float(final_mix)
        self.current_step = 0
        self._apply()

    def mix_at(self, step: int) -> float:
        """Mix after ``step`` optimisation steps."""
        t = step - self.warmup_steps
        if t < 0:
            return 0.0
        if self.ramp_steps == 0 or t >= self.ramp_steps:
            return self.final_mix
        frac = t / self.ramp_steps
        if self.schedule == "cosine":
            frac = 0.5 - 0.5 * math.cos(math.pi * frac)
        elif self.schedule == "step":
            frac = 0.0
        return self.final_mix * frac

    @property
    def mix(self) -> float:
        return self.mix_at(self.current_step)

    def _apply(self) -> None:
        for mod in self.modules:
            mod.set_quantum_mix(self.mix)

    def step(self) -> float:
        """Advance one step, set the new mix on every layer, return it."""
        self.current_step += 1
        self._apply()
        return self.mix

    def state_dict(self) -> dict[str, Any]:
        return {"current_step": self.current_step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.current_step = int(state["current_step"])
        self._apply()


def artifact_penalty(model: nn.Module, *, detach_exact: bool = False) -> torch.Tensor:
    """Mean squared gap between quantum and exact head outputs of the last forward pass.

    Needs ``track_exact=True`` on the layers (see :func:`set_hybrid`) and a forward pass first.
    With ``detach_exact=False`` (default) both paths are pulled together: the projections move
    toward inputs the approximation handles well; ``True`` only corrects the quantum heads.

    Example:
        >>> m = QuantumMultiheadAttention(8, 2, quantum_backend="variational", reps=1)
        >>> set_hybrid(m, track_exact=True)
        >>> x = torch.randn(3, 1, 8)
        >>> _ = m(x, x, x)
        >>> float(artifact_penalty(m).detach()) > 0
        True
    """
    terms = []
    for name, mod in quantum_attention_modules(model):
        if not mod.track_exact:
            continue
        rec = mod.last_head_outputs
        if rec is None:
            if mod.quantum_mix == 0.0 or mod.quantum_backend == "exact":
                continue
            raise RuntimeError(f"layer {name or '<root>'} has no recorded outputs; run forward")
        ref = rec["exact"].detach() if detach_exact else rec["exact"]
        terms.append((rec["quantum"] - ref).square().mean())
    if not terms:
        if not any(m.track_exact for _, m in quantum_attention_modules(model)):
            raise ValueError("no layer has track_exact=True; call set_hybrid(model, "
                             "track_exact=True) before the forward pass")
        return torch.zeros(())
    return torch.stack(terms).mean()

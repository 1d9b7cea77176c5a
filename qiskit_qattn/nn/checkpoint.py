"""Checkpoint and resume: model, optimiser, curriculum, hybrid settings and every RNG state.

A resumed run continues bit for bit: the checkpoint holds torch's, NumPy's and Python's global RNG
states (sampling backends draw their seeds from torch's), the curriculum step and each
``QuantumMultiheadAttention``'s ``quantum_mix`` / ``quantum_heads``. Files are written atomically
(temporary file + rename) so a crash mid-save leaves the previous checkpoint intact, and load
with ``torch.load(weights_only=True)`` (no arbitrary pickles).

:func:`train` is a minimal loop built on it: a step-indexed batch function makes the data order a
function of the step, so stopping and resuming gives the same trajectory as an uninterrupted run.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .training import ExactToQuantumCurriculum, artifact_penalty, quantum_attention_modules

FORMAT_VERSION = 1


def _rng_state() -> dict[str, Any]:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(gauss), "kind": str(kind)},
        "python": random.getstate(),
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["gauss"]))
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))


def save_checkpoint(
    path: str | os.PathLike,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    step: int = 0,
    curriculum: ExactToQuantumCurriculum | None = None,
    lr_scheduler: Any = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically.

    Args:
        path: file to write (parent folders are created).
        model: the model; its ``state_dict`` is saved.
        optimizer, curriculum, lr_scheduler: saved when given.
        step: number of completed optimisation steps.
        extra: small extra data (tensors, numbers, strings, lists, dicts).

    Example:
        >>> import tempfile
        >>> m = nn.Linear(2, 1)
        >>> p = save_checkpoint(tempfile.mkdtemp() + "/ck.pt", model=m, step=3)
        >>> load_checkpoint(p, model=m)["step"]
        3
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module; got {type(model).__name__}")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"step must be an integer >= 0; got {step!r}")
    hybrid = {
        name: {"mix": mod.quantum_mix,
               "heads": None if mod.quantum_heads is None else list(mod.quantum_heads)}
        for name, mod in quantum_attention_modules(model)
    }
    payload = {
        "format": FORMAT_VERSION,
        "step": step,
        "model": model.state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "curriculum": None if curriculum is None else curriculum.state_dict(),
        "lr_scheduler": None if lr_scheduler is None else lr_scheduler.state_dict(),
        "hybrid": hybrid,
        "rng": _rng_state(),
        "extra": extra or {},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(
    path: str | os.PathLike,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    curriculum: ExactToQuantumCurriculum | None = None,
    lr_scheduler: Any = None,
    restore_rng: bool = True,
) -> dict[str, Any]:
    """Restore a checkpoint written by :func:`save_checkpoint` into the given objects.

    Returns:
        ``{"step": int, "extra": dict}``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if payload.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path} is not a qiskit-qattn checkpoint (format {FORMAT_VERSION})")
    model.load_state_dict(payload["model"])
    if optimizer is not None:
        if payload["optimizer"] is None:
            raise ValueError(f"{path} holds no optimizer state")
        optimizer.load_state_dict(payload["optimizer"])
    if lr_scheduler is not None and payload["lr_scheduler"] is not None:
        lr_scheduler.load_state_dict(payload["lr_scheduler"])
    mods = dict(quantum_attention_modules(model))
    for name, h in payload["hybrid"].items():
        if name in mods:
            mods[name].set_quantum_heads(h["heads"])
            mods[name].set_quantum_mix(h["mix"])
    if curriculum is not None and payload["curriculum"] is not None:
        curriculum.load_state_dict(payload["curriculum"])
    if restore_rng:
        _set_rng_state(payload["rng"])
    return {"step": int(payload["step"]), "extra": payload["extra"]}


def train(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    batch: Callable[[int], tuple[Any, Any]],
    loss_fn: Callable[[Any, Any], torch.Tensor],
    steps: int,
    *,
    curriculum: ExactToQuantumCurriculum | None = None,
    penalty_weight: float = 0.0,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 0,
    resume: bool = True,
    stop_after: int | None = None,
) -> list[float]:
    """Train for ``steps`` optimisation steps with optional curriculum, penalty and checkpoints.

    Args:
        model: maps ``inputs`` to predictions: ``loss_fn(model(inputs), targets)``.
        optimizer: its optimiser.
        batch: ``batch(step) -> (inputs, targets)`` (step-indexed, so resuming is exact).
        loss_fn: the task loss.
        steps: total steps of the run.
        curriculum: advanced once per step.
        penalty_weight: weight of :func:`~qiskit_qattn.nn.training.artifact_penalty` (turns on
            ``track_exact`` on every layer when > 0).
        checkpoint: file to save to (and resume from if it exists and ``resume``).
        checkpoint_every: save every this many steps (and at the end); ``0`` = only at the end.
        resume: continue from ``checkpoint`` when it exists.
        stop_after: stop after this many steps of *this call* (simulates an interruption).

    Returns:
        The task loss of each step run by this call.

    Example:
        >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
        <torch._C.Generator object at ...>
        >>> m = nn.Linear(1, 1)
        >>> opt = torch.optim.SGD(m.parameters(), lr=0.1)
        >>> x = torch.ones(4, 1)
        >>> losses = train(m, opt, lambda s: (x, 2 * x), nn.functional.mse_loss, 20)
        >>> losses[-1] < losses[0]
        True
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0; got {steps!r}")
    start = 0
    if checkpoint is not None and resume and Path(checkpoint).is_file():
        start = load_checkpoint(checkpoint, model=model, optimizer=optimizer,
                                curriculum=curriculum)["step"]
    if penalty_weight > 0:
        for _, mod in quantum_attention_modules(model):
            mod.track_exact = True
    losses: list[float] = []
    model.train()
    step = start
    while step < steps and (stop_after is None or step - start < stop_after):
        inputs, targets = batch(step)
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        total = loss + penalty_weight * artifact_penalty(model) if penalty_weight > 0 else loss
        total.backward()
        optimizer.step()
        if curriculum is not None:
            curriculum.step()
        losses.append(float(loss.detach()))
        step += 1
        if checkpoint is not None and checkpoint_every and step % checkpoint_every == 0:
            save_checkpoint(checkpoint, model=model, optimizer=optimizer, step=step,
                            curriculum=curriculum)
    if checkpoint is not None:
        save_checkpoint(checkpoint, model=model, optimizer=optimizer, step=step,
                        curriculum=curriculum)
    return losses

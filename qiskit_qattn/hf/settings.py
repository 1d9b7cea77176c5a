"""What one attention module of a patched model runs: backend, heads, options, seed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Attribute under which :func:`~qiskit_qattn.hf.patch_model` stores a module's settings.
SETTINGS_ATTR = "_qattn_settings"


@dataclass(frozen=True)
class ModuleSettings:
    """Settings of one attention module (stored on the module by ``patch_model``).

    Attributes:
        backend: attention backend of :func:`qiskit_qattn.attention.attention` for the selected
            heads, or ``None`` for the unpatched path (every head through torch SDPA, exactly as
            transformers' ``"sdpa"`` implementation computes it).
        heads: indices of the heads that run on ``backend`` (``None`` = all heads).
        options: backend options forwarded to ``attention(...)``.
        seed: seed for the backend's random choices (``None`` = torch's global RNG).

    Example:
        >>> ModuleSettings("classical", heads=(0, 3), seed=7).runs_backend
        True
        >>> ModuleSettings(None).runs_backend
        False
    """

    backend: str | None
    heads: tuple[int, ...] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None

    @property
    def runs_backend(self) -> bool:
        """Whether any head of the module runs on a qattn backend."""
        return self.backend is not None and (self.heads is None or len(self.heads) > 0)


def module_settings(module: Any) -> ModuleSettings | None:
    """Settings stored on ``module`` by ``patch_model``, or ``None``."""
    return getattr(module, SETTINGS_ATTR, None)

"""IBM Runtime: backend resolution and execution through the executor-based primitives."""

from .backends import fake_backend_names, resolve_backend
from .sampler import run_runtime_sampler

__all__ = ["fake_backend_names", "resolve_backend", "run_runtime_sampler"]

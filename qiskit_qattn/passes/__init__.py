"""Transpilation of attention circuits: preset compilation today, custom passes as they land."""

from .preset import compile_circuits

__all__ = ["compile_circuits"]

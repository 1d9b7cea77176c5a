"""Real data for experiments: text present on every Python install, MiniLM attention heads."""

from .minilm import AttentionHeads, cache_dir, capture_heads, real_score_rows
from .text import reference_text

__all__ = ["AttentionHeads", "cache_dir", "capture_heads", "real_score_rows", "reference_text"]

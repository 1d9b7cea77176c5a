"""Reports and plots: circuit depth/gate counts, attention heat maps, result tables."""

from .heatmap import attention_heatmaps, error_heatmap
from .markdown import markdown_table, text_table, update_results_section
from .report import circuit_report, two_qubit_count

__all__ = [
    "attention_heatmaps",
    "circuit_report",
    "error_heatmap",
    "markdown_table",
    "text_table",
    "two_qubit_count",
    "update_results_section",
]

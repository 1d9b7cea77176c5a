"""State-preparation families whose key distribution approximates the attention softmax.

Each family is a builder returning a ``QuantumCircuit`` (documented parameter layout, metadata
with the key order) whose default angles come from a stored schedule: a small map from row
statistics to angles, fitted once on real MiniLM attention rows (``benchmarks/
fit_family_schedules.py``) and applied to new rows without optimisation.

- :func:`ma_qaoa_attention`: multi-angle QAOA (one phase angle per Walsh order per layer, one
  mixer angle per qubit per layer), temperature- and spread-scaled phase separator.
- :func:`warm_start_attention`: closed-form truncated amplitude tree (product state ... exact)
  plus optional warm-start-QAOA correction layers.
- :func:`amplification_attention`: phase oracle + generalised reflection layers.
- :func:`born_machine_attention`: hardware-efficient RY/CZ Born machine with mapped angles.

``key_order="sorted"`` lays keys out by score rank (a classical relabelling recorded in
``metadata["key_order"]``; undo it with :func:`key_probabilities`).
"""

from .amplification import amplification_attention
from .born_machine import born_machine_attention
from .ma_qaoa import ma_qaoa_attention
from .rows import (
    FEATURES,
    KEY_ORDERS,
    PreparedRows,
    key_probabilities,
    prepare_row,
    prepare_rows,
    relabel_outcomes,
)
from .warm_start import warm_start_attention, warm_start_probabilities

__all__ = [
    "FEATURES",
    "KEY_ORDERS",
    "PreparedRows",
    "amplification_attention",
    "born_machine_attention",
    "key_probabilities",
    "ma_qaoa_attention",
    "prepare_row",
    "prepare_rows",
    "relabel_outcomes",
    "warm_start_attention",
    "warm_start_probabilities",
]

"""Attention as qiskit-machine-learning QNNs, trained with Qiskit ML's own tools.

Factories return genuine ``EstimatorQNN`` / ``SamplerQNN`` objects that ``TorchConnector``,
``NeuralNetworkClassifier`` / ``NeuralNetworkRegressor`` and Qiskit ML's optimizers use as is:

- :func:`qsann_qnn`: QSANN query/key/value features of a token (Li et al. 2022);
- :func:`self_attention_qnn`: a whole attention layer over a short token sequence in one
  circuit (key register in ``sum_t sqrt(p_t)|t>``, values as expectation values);
- :func:`key_distribution_qnn`: the attention row itself, as a ``SamplerQNN``;
- :func:`family_qnn`: a registered circuit family's attention row (built by
  :func:`qiskit_qattn.circuits.prepare_head`) with its schedule angles as weights;
- :func:`estimator_qnn` / :func:`sampler_qnn`: the same machinery for your own circuit.

Each can be ISA-compiled for a device (``device=``, observables laid out), runs on the
reference, Aer or Runtime (executor-based) primitives (:mod:`.primitives`), and by default uses
the batched parameter-shift gradient of :mod:`.gradients` (one primitive job per backward).
Parameter layouts: :func:`qnn_layout`. Torch models for the workflows: :mod:`.models`.
"""

from .circuits import (
    AttentionCircuit,
    key_distribution_circuit,
    qsann_circuit,
    self_attention_circuit,
)
from .compile import CompiledCircuit, check_layout, compile_for_device
from .factories import (
    estimator_qnn,
    key_distribution_qnn,
    qsann_qnn,
    sampler_qnn,
    self_attention_qnn,
)
from .family import SCHEDULED_FAMILIES, family_head_circuit, family_qnn
from .gradients import BatchedParamShiftEstimatorGradient, BatchedParamShiftSamplerGradient
from .layout import QNNLayout, qnn_layout
from .multiplexer import multiplexed_ry
from .primitives import default_precision, make_estimator, make_sampler

__all__ = [
    "AttentionCircuit",
    "BatchedParamShiftEstimatorGradient",
    "BatchedParamShiftSamplerGradient",
    "CompiledCircuit",
    "SCHEDULED_FAMILIES",
    "QNNLayout",
    "check_layout",
    "compile_for_device",
    "default_precision",
    "estimator_qnn",
    "family_head_circuit",
    "family_qnn",
    "key_distribution_circuit",
    "key_distribution_qnn",
    "make_estimator",
    "make_sampler",
    "multiplexed_ry",
    "qnn_layout",
    "qsann_circuit",
    "qsann_qnn",
    "sampler_qnn",
    "self_attention_circuit",
    "self_attention_qnn",
]

"""Hugging Face transformers integration: qattn attention backends inside real models.

Importing this package registers every attention backend of :mod:`qiskit_qattn.attention` in
transformers' ``AttentionInterface`` (and the matching mask function in
``AttentionMaskInterface``, without which transformers would drop padding masks) under
``qattn_<backend>``: ``qattn_exact``, ``qattn_classical``, ``qattn_phase0-proto``,
``qattn_quantum-sim`` and the peers. Then::

    import qiskit_qattn.hf
    model = AutoModel.from_pretrained(path, attn_implementation="qattn_classical")

runs every layer's attention on the ``classical`` backend, and
``patch_model(model, "quantum-sim", layers=[0], heads=[3], shots=4096, seed=0)`` switches chosen
layers and heads of a loaded model (with backend options). Padding masks and causal models work;
attention dropout in training mode, soft-capping and attention sinks are refused.
"""

from .forward import make_attention_function, qattn_attention_forward
from .masks import qattn_mask
from .models import load_minilm, minilm_path, sentence_embeddings
from .patch import attention_modules, patch_model, patched_modules, unpatch_model
from .registration import (
    PREFIX,
    backend_of,
    implementation_name,
    register,
    register_all,
    registered_implementations,
    unregister,
)
from .settings import ModuleSettings

register_all()

__all__ = [
    "PREFIX",
    "ModuleSettings",
    "attention_modules",
    "backend_of",
    "implementation_name",
    "load_minilm",
    "make_attention_function",
    "minilm_path",
    "patch_model",
    "patched_modules",
    "qattn_attention_forward",
    "qattn_mask",
    "register",
    "register_all",
    "registered_implementations",
    "sentence_embeddings",
    "unpatch_model",
    "unregister",
]

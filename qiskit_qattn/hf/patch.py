"""Switch an already loaded transformers model, or some of its layers and heads, to a backend."""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Sequence
from typing import Any

from .registration import implementation_name, register
from .settings import SETTINGS_ATTR, ModuleSettings, module_settings

_ORIGINAL_ATTR = "_qattn_original_implementation"


def attention_modules(model: Any) -> list[tuple[str, Any]]:
    """``(name, module)`` of every module that dispatches through ``AttentionInterface``.

    In ``model.named_modules()`` order, so for an encoder or decoder stack entry ``i`` is layer
    ``i``'s self-attention. These are the layers ``patch_model(layers=...)`` indexes.

    Example:
        >>> from transformers import BertConfig, BertModel
        >>> cfg = BertConfig(hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
        ...                  intermediate_size=8, vocab_size=10)
        >>> [name for name, _ in attention_modules(BertModel(cfg))]
        ['encoder.layer.0.attention.self', 'encoder.layer.1.attention.self']
    """
    found = []
    for name, module in model.named_modules():
        forward = inspect.unwrap(type(module).forward)
        code = getattr(forward, "__code__", None)
        if code is not None and "ALL_ATTENTION_FUNCTIONS" in code.co_names:
            found.append((name, module))
    return found


def patch_model(model: Any, backend: str, *, layers: Any = None, heads: Any = None,
                **options: Any) -> Any:
    """Run the attention of ``model`` (in place) on a qattn attention backend.

    The model switches to ``attn_implementation="qattn_<backend>"``, whose mask function keeps
    padding and causal masks intact. Selected modules run the selected heads on ``backend``;
    every other head runs torch SDPA exactly as transformers' ``"sdpa"`` does. Calling it again
    patches more layers (possibly with another backend); :func:`unpatch_model` undoes it all.

    Args:
        model: a loaded transformers ``PreTrainedModel`` whose attention uses the
            ``AttentionInterface`` (BERT, Llama, GPT-2, ... in transformers 5).
        backend: one of :func:`qiskit_qattn.attention.available_backends`.
        layers: which attention modules (see :func:`attention_modules`): ``None`` = all, an index
            (negative counts from the end), a module name, or a sequence of them.
        heads: head indices of each selected module that run on ``backend`` (``None`` = all).
        **options: backend options of :func:`qiskit_qattn.attention.attention`, ``seed``
            included (module ``i`` then uses ``seed + i``, so layers draw independently).

    Returns:
        ``model``.

    Raises:
        ValueError: unknown backend (the message lists them), bad layers, heads or options.
        TypeError: ``model`` is not a transformers model with AttentionInterface dispatch.

    Example:
        >>> from transformers import BertConfig, BertModel
        >>> cfg = BertConfig(hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
        ...                  intermediate_size=8, vocab_size=10)
        >>> model = patch_model(BertModel(cfg).eval(), "classical", layers=[1], heads=[0], seed=3)
        >>> model.config._attn_implementation
        'qattn_classical'
        >>> {n: s.backend for n, s in patched_modules(model).items()}
        {'encoder.layer.0.attention.self': None, 'encoder.layer.1.attention.self': 'classical'}
    """
    name = implementation_name(backend)
    modules = _checked_modules(model)
    seed = options.pop("seed", None)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
                             or seed < 0):
        raise ValueError(f"seed must be a non-negative integer or None; got {seed!r}")
    _check_options(backend, options)
    chosen = _layer_indices(layers, modules)
    head_tuple = _head_tuple(heads)
    for i in chosen:
        _check_heads(head_tuple, modules[i])
    register(backend)
    if not hasattr(model, _ORIGINAL_ATTR):
        setattr(model, _ORIGINAL_ATTR, model.config._attn_implementation)
    if model.config._attn_implementation != name:
        model.set_attn_implementation(name)
    for i, (_, module) in enumerate(modules):
        if i in chosen:
            settings = ModuleSettings(backend, head_tuple, dict(options),
                                      None if seed is None else int(seed) + i)
            setattr(module, SETTINGS_ATTR, settings)
        elif module_settings(module) is None:
            setattr(module, SETTINGS_ATTR, ModuleSettings(None))
    return model


def unpatch_model(model: Any) -> Any:
    """Undo :func:`patch_model`: drop module settings, restore the original implementation.

    Example:
        >>> from transformers import BertConfig, BertModel
        >>> cfg = BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
        ...                  intermediate_size=8, vocab_size=10)
        >>> cfg._attn_implementation = "sdpa"
        >>> unpatch_model(patch_model(BertModel(cfg), "exact")).config._attn_implementation
        'sdpa'
    """
    for _, module in _checked_modules(model):
        if hasattr(module, SETTINGS_ATTR):
            delattr(module, SETTINGS_ATTR)
    original = getattr(model, _ORIGINAL_ATTR, None)
    if original is not None:
        model.set_attn_implementation(original)
        delattr(model, _ORIGINAL_ATTR)
    return model


def patched_modules(model: Any) -> dict[str, ModuleSettings]:
    """Settings of every attention module of a patched model (empty if never patched)."""
    out = {}
    for name, module in attention_modules(model):
        settings = module_settings(module)
        if settings is not None:
            out[name] = settings
    return out


def _checked_modules(model: Any) -> list[tuple[str, Any]]:
    if not (hasattr(model, "set_attn_implementation") and hasattr(model, "config")):
        raise TypeError(f"model must be a transformers PreTrainedModel; got {type(model)!r}")
    modules = attention_modules(model)
    if not modules:
        raise TypeError(
            f"{type(model).__name__} has no attention module dispatching through transformers' "
            "AttentionInterface, so qattn backends cannot reach it"
        )
    return modules


def _check_options(backend: str, options: dict[str, Any]) -> None:
    """Fail now, not at the first forward pass, on options the backend rejects."""
    import torch

    from ..attention import attention

    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, n, 4, generator=g, dtype=torch.float64) for n in (4, 8, 8))
    try:
        attention(q, k, v, backend=backend, seed=0, **options)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"options {sorted(options)} rejected by backend {backend!r}: {exc}") \
            from exc


def _layer_indices(layers: Any, modules: list[tuple[str, Any]]) -> set[int]:
    n = len(modules)
    if layers is None:
        return set(range(n))
    items = [layers] if isinstance(layers, (str, numbers.Integral)) else layers
    if not isinstance(items, Sequence) or isinstance(items, str):
        raise ValueError(f"layers must be None, an int, a module name or a sequence of them; "
                         f"got {layers!r}")
    names = {name: i for i, (name, _) in enumerate(modules)}
    chosen = set()
    for item in items:
        if isinstance(item, str):
            if item not in names:
                raise ValueError(f"layers: no attention module named {item!r}; modules are "
                                 f"{list(names)}")
            chosen.add(names[item])
        elif isinstance(item, numbers.Integral) and not isinstance(item, bool) and -n <= item < n:
            chosen.add(int(item) % n)
        else:
            raise ValueError(f"layers entries must be module names or indices in [-{n}, {n}); "
                             f"got {item!r}")
    return chosen


def _head_tuple(heads: Any) -> tuple[int, ...] | None:
    if heads is None:
        return None
    items = [heads] if isinstance(heads, numbers.Integral) else heads
    try:
        out = tuple(items)
    except TypeError:
        out = None
    if out is None or not all(isinstance(h, numbers.Integral) and not isinstance(h, bool)
                              and h >= 0 for h in out):
        raise ValueError(f"heads must be None, a head index or a sequence of head indices >= 0; "
                         f"got {heads!r}")
    if len(set(out)) != len(out):
        raise ValueError(f"heads must not repeat an index; got {heads!r}")
    return tuple(sorted(int(h) for h in out))


def _check_heads(heads: tuple[int, ...] | None, named_module: tuple[str, Any]) -> None:
    name, module = named_module
    num = _num_heads(module)
    if heads is None or num is None:
        return
    bad = [h for h in heads if h >= num]
    if bad:
        raise ValueError(f"heads {bad} out of range: {name} has {num} heads")


def _num_heads(module: Any) -> int | None:
    for attr in ("num_attention_heads", "num_heads", "n_head"):
        value = getattr(module, attr, None)
        if isinstance(value, int):
            return value
    config = getattr(module, "config", None)
    value = getattr(config, "num_attention_heads", None)
    return value if isinstance(value, int) else None


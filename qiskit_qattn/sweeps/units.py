"""Units of work: a function named by import path, its parameters, and their fingerprint.

A :class:`Unit` is what one worker computes in one go (sized to seconds: the schedulers
behind :mod:`.workers` handle thousands of such tasks well and 10^5 tiny ones badly). Its
:attr:`Unit.key` is a fingerprint of the function's import path and every parameter (arrays by
content), so the same work always has the same job-store key: a finished unit is found in the
store and never computed twice; a changed parameter is new work.

The function runs in a worker process, so it is named by import path (``"module:function"``)
and imported there; it returns ``{name: array}`` or ``({name: array}, {json metadata})``.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["FINGERPRINT_VERSION", "Unit", "UnitOutput", "fingerprint", "resolve_function"]

#: Bumped whenever the fingerprint layout changes (old store entries then stop matching).
FINGERPRINT_VERSION = 1


def _canonical(value: Any, path: str) -> Any:
    """A JSON-able, order-independent form of ``value`` (arrays by dtype, shape and content)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if not math.isfinite(number):
            return {"__float__": repr(number)}
        return number
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value)
        if data.dtype == object:
            raise TypeError(f"unit parameter {path} is an object array; use numeric arrays")
        digest = hashlib.sha256(data.tobytes()).hexdigest()
        return {"__array__": digest, "dtype": data.dtype.str, "shape": list(data.shape)}
    if isinstance(value, Mapping):
        out = {}
        for key in sorted(value, key=str):
            if not isinstance(key, str):
                raise TypeError(f"unit parameter {path} has a non-string key {key!r}")
            out[key] = _canonical(value[key], f"{path}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return [_canonical(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise TypeError(f"unit parameter {path} must be JSON-like (None, bool, int, float, str, "
                    f"list, dict) or a numpy array; got {type(value).__name__}")


def fingerprint(function: str, params: Mapping[str, Any]) -> str:
    """The job-store key of ``function(**params)``: a SHA-256 over its canonical form.

    Example:
        >>> a = fingerprint("m:f", {"x": np.arange(3), "y": 1.0})
        >>> a == fingerprint("m:f", {"y": 1.0, "x": np.arange(3)}), len(a)
        (True, 64)
        >>> a == fingerprint("m:f", {"x": np.arange(3), "y": 2.0})
        False
    """
    body = {"v": FINGERPRINT_VERSION, "function": function,
            "params": _canonical(dict(params), "params")}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def resolve_function(function: str) -> Callable[..., Any]:
    """Import ``"package.module:function"`` (raises ``ValueError`` naming what is missing).

    Example:
        >>> resolve_function("math:sqrt")(4.0)
        2.0
    """
    if not isinstance(function, str) or function.count(":") != 1:
        raise ValueError(f"function must look like 'package.module:function'; got {function!r}")
    module_name, attr = function.split(":")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import module {module_name!r} of unit function "
                         f"{function!r}: {exc}") from exc
    for part in attr.split("."):
        if not hasattr(target, part):
            raise ValueError(f"module {module_name!r} has no {attr!r} (unit function "
                             f"{function!r})")
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"unit function {function!r} is not callable")
    return target


def _import_path(function: Callable[..., Any] | str) -> str:
    if isinstance(function, str):
        resolve_function(function)
        return function
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", "")
    if not module or not qualname or "<" in qualname or module == "__main__":
        raise TypeError("a unit function must be importable by name in a worker process: a "
                        f"module-level function of an installed module; got {function!r}")
    return f"{module}:{qualname}"


@dataclass(frozen=True)
class UnitOutput:
    """What a unit returned: named arrays and JSON metadata (plus how it ran).

    Attributes:
        arrays: ``name -> numpy array``.
        metadata: the unit's JSON metadata; the runner adds ``"seconds"`` (compute time in the
            worker), ``"cpu_seconds"`` (the worker's CPU time for it: the work itself, whatever
            share of a core the machine gave), ``"worker"`` (``host:pid``) and
            ``"peak_rss_mb"`` (the worker's peak resident memory so far).
    """

    arrays: dict[str, np.ndarray]
    metadata: dict[str, Any]


@dataclass(frozen=True)
class Unit:
    """One unit of work: ``function(**params)`` run in a worker, keyed by its fingerprint.

    Args:
        function: ``"package.module:function"`` (or a module-level function of an installed
            module, see :meth:`of`).
        params: keyword arguments: JSON-like values and numpy arrays.
        label: a name for tables and progress (not part of the key).
        meta: JSON metadata stored with the unit's task in the job store (not part of the key).

    Example:
        >>> unit = Unit.of(np.linspace, {"start": 0.0, "stop": 1.0, "num": 3}, label="lin")
        >>> unit.function
        'numpy:linspace'
        >>> unit.run().arrays["result"].tolist()
        [0.0, 0.5, 1.0]
    """

    function: str
    params: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.function, str) or self.function.count(":") != 1:
            raise ValueError(f"function must look like 'package.module:function'; got "
                             f"{self.function!r}")
        if not isinstance(self.params, Mapping):
            raise TypeError(f"params must be a mapping; got {type(self.params).__name__}")
        object.__setattr__(self, "_key", fingerprint(self.function, self.params))

    @classmethod
    def of(cls, function: Callable[..., Any] | str, params: Mapping[str, Any] | None = None,
           *, label: str = "", meta: Mapping[str, Any] | None = None) -> Unit:
        """A unit of a module-level ``function`` (checked importable now, not in the worker)."""
        return cls(_import_path(function), dict(params or {}), label, dict(meta or {}))

    @property
    def key(self) -> str:
        """The fingerprint: the unit's job-store key."""
        return self._key  # type: ignore[attr-defined]

    def run(self) -> UnitOutput:
        """Compute the unit here (the workers call this)."""
        out = resolve_function(self.function)(**self.params)
        return _as_output(out, self.function)


def _as_output(out: Any, function: str) -> UnitOutput:
    metadata: Any = {}
    if isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], Mapping):
        out, metadata = out
    if isinstance(out, np.ndarray) or np.isscalar(out):
        out = {"result": out}
    if not isinstance(out, Mapping):
        raise TypeError(f"unit function {function} must return arrays (a mapping name -> array)"
                        f" or (arrays, metadata); got {type(out).__name__}")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, Mapping):
        raise TypeError(f"unit function {function} returned metadata of type "
                        f"{type(metadata).__name__}; expected a mapping")
    arrays = {str(k): np.asarray(v) for k, v in out.items()}
    return UnitOutput(arrays, dict(metadata))

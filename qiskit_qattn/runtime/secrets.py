"""Keep IBM credentials out of everything this package writes: logs, job stores, reprs, errors.

This package never asks for a token and never stores one. Credentials are read only by
``QiskitRuntimeService`` itself (saved account or ``QISKIT_IBM_*`` environment). Text that leaves
our hands and may carry third-party content (an exception message from a submission, user
options) goes through :func:`redact` first: the values of known credential environment variables
and anything shaped like an API key or token are replaced.
"""

from __future__ import annotations

import os
import re
from typing import Any

#: Environment variables whose values are credentials (read only to scrub them from text).
SECRET_ENV_VARS = (
    "QISKIT_IBM_TOKEN",
    "QISKIT_IBM_API_KEY",
    "IBM_CLOUD_API_KEY",
    "IBMQ_TOKEN",
    "QE_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)

#: Option/dict keys whose values are never written anywhere.
SECRET_KEYS = re.compile(r"(token|api[_-]?key|apikey|secret|password|credential|authorization)",
                         re.IGNORECASE)

# IBM Quantum tokens are 128 hex chars, IBM Cloud API keys 44 url-safe chars, bearer tokens JWTs.
# Our own identifiers stay shorter than 40 characters on purpose (job-store keys are 32 hex).
_TOKEN_LIKE = re.compile(r"[A-Za-z0-9_\-]{40,}|eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-.]+")

REDACTED = "[redacted]"


def redact(text: Any) -> str:
    """``str(text)`` with credential values and token-shaped substrings replaced.

    Example:
        >>> redact("401 for token " + "ab12" * 16)
        '401 for token [redacted]'
        >>> redact("job d1x2y3z4 failed")
        'job d1x2y3z4 failed'
    """
    out = str(text)
    for var in SECRET_ENV_VARS:
        value = os.environ.get(var)
        if value and len(value) >= 8:
            out = out.replace(value, REDACTED)
    return _TOKEN_LIKE.sub(REDACTED, out)


def scrub(value: Any) -> Any:
    """A JSON-safe copy of ``value`` with secret-named keys dropped and strings redacted.

    Example:
        >>> scrub({"shots": 10, "token": "x", "env": {"job_tags": ["a"]}})
        {'shots': 10, 'env': {'job_tags': ['a']}}
    """
    if isinstance(value, dict):
        return {str(k): scrub(v) for k, v in value.items() if not SECRET_KEYS.search(str(k))}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return redact(repr(value))

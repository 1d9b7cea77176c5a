"""Independent chunks of heads on the caller's thread budget.

Most of the block-sparse estimator's work outside the flash kernel is small tensor operations
and single-threaded Numba kernels (ordering, routing, pooling) that one more torch thread does
not speed up; chunks of heads are independent, so with ``n`` torch threads ``n`` chunks run at
once, each single-threaded. Torch's intra-op thread count is set to 1 for the duration (the
caller's count is restored after), so the workers do not oversubscribe the cores; one such
call at a time (a concurrent one runs its chunks in order, thread settings untouched).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

_LOCK = threading.Lock()
_POOLS: dict[int, ThreadPoolExecutor] = {}


def run_chunks(run: Callable[[int], Any], starts: list[int], parallel: bool = True) -> list:
    """``[run(s) for s in starts]``, on up to ``torch.get_num_threads()`` threads at once.

    Args:
        run: the work of one chunk (thread-safe; it sees torch single-threaded when parallel).
        starts: one argument per chunk.
        parallel: ``False`` runs the chunks in order on the calling thread.

    Example:
        >>> run_chunks(lambda s: s * s, [1, 2, 3])
        [1, 4, 9]
    """
    import torch

    threads = torch.get_num_threads()
    if not parallel or threads < 2 or len(starts) < 2 or not _LOCK.acquire(blocking=False):
        return [run(s) for s in starts]
    try:
        workers = min(threads, len(starts))
        pool = _POOLS.get(workers)
        if pool is None:  # kept: each worker keeps its work buffers between calls
            pool = _POOLS[workers] = ThreadPoolExecutor(workers, "qattn-chunk")

        def job(s):
            with torch.no_grad():
                return run(s)

        torch.set_num_threads(1)
        try:
            return list(pool.map(job, starts))
        finally:
            torch.set_num_threads(threads)
    finally:
        _LOCK.release()

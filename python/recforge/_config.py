"""Build and runtime information, and the thread count rule shared by every kernel."""

from __future__ import annotations

import os
import platform

from . import _core
from ._checks import check_int
from ._version import __version__


def available_cpus() -> int:
    """CPUs this process may run on: its CPU affinity where the OS reports one."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS and Windows have no sched_getaffinity
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """Threads used for ``n_threads=0``: the available CPUs, capped by OMP_NUM_THREADS if set."""
    info = _core.build_info()
    if not info["openmp"] or info["forked_after_threads"]:
        return 1  # one thread in a child forked after recforge's threads had started (see resolve_threads)
    n = available_cpus()
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if env.isdigit() and int(env) > 0:
        n = min(n, int(env))
    return n


def resolve_threads(n_threads) -> int:
    """Validate ``n_threads`` and return the count a kernel gets.

    0 means all available CPUs (see :func:`default_threads`); any larger request is capped at
    :func:`available_cpus`, since more threads than CPUs only slow a kernel down (and a huge
    count would exhaust the thread limits). The compiled core applies the same cap, and runs
    with one thread in a process forked after recforge had started threads (OpenMP's thread
    pool does not survive a fork)."""
    n = check_int(n_threads, "n_threads", minimum=0)
    info = _core.build_info()
    if not info["openmp"] or info["forked_after_threads"]:
        return 1
    return min(n, available_cpus()) if n > 0 else default_threads()


def config() -> dict:
    """Describe this recforge build and the parallelism it will use.

    Returns
    -------
    dict
        ``version``; ``compiler`` and ``cxx_standard`` of the compiled core; ``openmp``
        (whether kernels run in parallel) and ``openmp_version``; ``threads``, the thread count
        used for ``n_threads=0`` (the CPUs in this process's affinity mask, capped by
        ``OMP_NUM_THREADS``; 1 in a process forked after recforge had started threads);
        ``available_cpus``; ``forked_after_threads``; ``python`` and ``platform``.

    Examples
    --------
    >>> import recforge as rf
    >>> rf.config()["openmp"]  # doctest: +SKIP
    True
    """
    info = dict(_core.build_info())
    return {
        "version": __version__,
        "compiler": info["compiler"],
        "cxx_standard": info["cxx_standard"],
        "openmp": info["openmp"],
        "openmp_version": info["openmp_version"],
        "threads": default_threads(),
        "available_cpus": available_cpus(),
        "forked_after_threads": info["forked_after_threads"],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }

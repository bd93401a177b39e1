"""Build and runtime information, and the thread count rule shared by every kernel."""

from __future__ import annotations

import functools
import math
import os
import platform

from . import _core
from ._checks import check_int
from ._version import __version__


def available_cpus() -> int:
    """CPUs this process may run on: its CPU affinity where the OS reports one, capped by a
    container's CPU quota (Linux cgroups: ``docker --cpus=2`` or a Kubernetes CPU limit on a
    64-core host would otherwise get 64 threads, throttled to 2 CPUs' worth of time)."""
    try:
        n = max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS and Windows have no sched_getaffinity
        n = max(1, os.cpu_count() or 1)
    quota = cpu_quota()
    return n if quota is None else max(1, min(n, quota))


@functools.lru_cache(maxsize=1)
def cpu_quota() -> int | None:
    """This process's :func:`cgroup_cpu_quota`, read once."""
    return cgroup_cpu_quota("/sys/fs/cgroup")


def cgroup_cpu_quota(root: str) -> int | None:
    """The CPUs a cgroup's CPU bandwidth limit under ``root`` allows (quota / period, rounded
    up), or None without one: cgroup v2's ``cpu.max`` ("max 100000" or "200000 100000"), else
    v1's ``cpu/cpu.cfs_quota_us`` (-1: none) and ``cpu/cpu.cfs_period_us``, as joblib's (loky's)
    cpu_count reads them; written out here rather than importing joblib at the first kernel
    call (0.16 s)."""
    try:
        with open(os.path.join(root, "cpu.max")) as f:
            quota, period = (f.read().split() + ["", ""])[:2]
    except OSError:
        try:
            with open(os.path.join(root, "cpu", "cpu.cfs_quota_us")) as f:
                quota = f.read().strip()
            with open(os.path.join(root, "cpu", "cpu.cfs_period_us")) as f:
                period = f.read().strip()
        except OSError:
            return None
    try:
        quota_us, period_us = int(quota), int(period)
    except ValueError:  # "max": no limit
        return None
    return math.ceil(quota_us / period_us) if quota_us > 0 and period_us > 0 else None


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
        used for ``n_threads=0`` (the CPUs in this process's affinity mask, capped by a
        container's CPU quota and ``OMP_NUM_THREADS``; 1 in a process forked after recforge
        had started threads); ``available_cpus``; ``cpu_quota`` (the cgroup CPU limit, None
        without one); ``forked_after_threads``; ``python`` and ``platform``.

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
        "cpu_quota": cpu_quota(),
        "forked_after_threads": info["forked_after_threads"],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }

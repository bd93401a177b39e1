"""Timing and memory helpers shared by the benchmark scripts.

This machine is shared and noisy: every figure is the median of several runs, and speed is
reported as ratios between contenders measured in the same process on the same data.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time
from dataclasses import dataclass, field


def _status_kib(field: str) -> int | None:
    """A memory figure (kB) from /proc/self/status: VmHWM (peak RSS) or VmRSS (Linux only)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter (Linux); False when not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


@dataclass
class Timing:
    name: str
    seconds: list[float] = field(default_factory=list)
    peak_extra_mib: float | None = None  # peak RSS above the RSS before the run

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def exec_with_returning_malloc() -> None:
    """Re-run this script with glibc malloc returning large blocks to the OS at once, so the
    peak RSS of one contender is not hidden in memory an earlier one freed."""
    if os.environ.get("MALLOC_MMAP_THRESHOLD_") is None and sys.platform.startswith("linux"):
        env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", MALLOC_TRIM_THRESHOLD_="0")
        os.execve(sys.executable, [sys.executable, *sys.argv], env)


def _run_once(timing: Timing, fn, track_memory: bool):
    """One timed call of fn(); with track_memory, its peak RSS above the RSS before it."""
    gc.collect()
    track = track_memory and _reset_peak()
    before = _status_kib("VmRSS") if track else None
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    if track and before is not None:
        timing.peak_extra_mib = (_status_kib("VmHWM") - before) / 1024
    return elapsed, result


def measure(name: str, fn, repeats: int = 5, warmup: int = 1) -> tuple[Timing, object]:
    """Median time of `repeats` runs of fn() after `warmup` runs; peak memory of the first run
    above the RSS before it (Linux; None elsewhere)."""
    timings, results = measure_rounds({name: fn}, repeats, warmup)
    return timings[0], results[name]


def measure_rounds(
    contenders: dict, repeats: int = 5, warmup: int = 1, track_memory: bool = True
) -> tuple[list[Timing], dict]:
    """Run the contenders in interleaved rounds (A B C, A B C, ...) so that load from other
    tenants of this shared machine hits all of them alike; each Timing keeps one time per
    round, so ratios can be taken round by round (see table). Returns the timings and each
    contender's last result. track_memory=False leaves peak memory out (for runs whose
    allocations the process's freed memory would hide: see bench/peak_memory.py)."""
    timings = [Timing(name) for name in contenders]
    results = {}
    for r in range(warmup + repeats):
        for timing, (name, fn) in zip(timings, contenders.items()):
            results.pop(name, None)
            elapsed, results[name] = _run_once(timing, fn, track_memory=track_memory and r == 0)
            if r >= warmup:
                timing.seconds.append(elapsed)
    return timings, results


def table(rows: list[Timing], baseline: str) -> str:
    """Markdown table: median, spread, and speed-up of `baseline` over each row: the median of
    the round-by-round ratios when both ran in the same rounds (measure_rounds), else the
    ratio of the medians."""
    base = next(t for t in rows if t.name == baseline)
    out = [
        "| contender | median s | min–max s | runs | peak extra MiB | recforge speed-up |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for t in rows:
        mem = f"{t.peak_extra_mib:.0f}" if t.peak_extra_mib is not None else "–"
        if len(t.seconds) == len(base.seconds):
            speedup = statistics.median(a / b for a, b in zip(t.seconds, base.seconds))
        else:
            speedup = t.median / base.median
        out.append(
            f"| {t.name} | {t.median:.3f} | {min(t.seconds):.3f}–{max(t.seconds):.3f} | "
            f"{len(t.seconds)} | {mem} | {speedup:.2f}× |"
        )
    return "\n".join(out)


def callback_rounds(contenders: dict, repeats: int) -> list[Timing]:
    """Seconds per iteration of training runs: each contender is a fit(callback) whose callback
    gets the elapsed time of each iteration as its second argument (recforge's and implicit's
    both do); its figure for a round is the median over the fit's iterations. One warm-up round,
    then `repeats` interleaved rounds (so ratios can be taken round by round, see table)."""
    timings = [Timing(name) for name in contenders]
    for round_ in range(repeats + 1):
        for timing, fit in zip(timings, contenders.values()):
            elapsed = []
            fit(lambda iteration, seconds, *rest, elapsed=elapsed: elapsed.append(seconds))
            if round_:
                timing.seconds.append(statistics.median(elapsed))
    return timings


def movielens_interactions(path):
    """MovieLens 100K at `path`, every rating an interaction of value 1, split 80/20 per user
    (seed 0): (train, test) CSR float32, as the ranking-quality benches use it."""
    import numpy as np
    import recforge as rf

    X = rf.datasets.load_movielens("100k", path=path).interactions.matrix.tocsr().astype(np.float32)
    X.data[:] = 1.0
    train, test = rf.split.per_user_split(X, frac=0.2, seed=0)
    return train.tocsr(), test.tocsr()


def factor_bench_main(doc: str, speed, quality, factors: tuple, unit: str, threads: int, default_movielens) -> None:
    """The command line of bench_als.py and bench_bpr.py: for each factor count, the speed tables
    `speed(X, factors, repeats)` returns (a list of Timing lists, seconds per `unit`) on the
    synthetic set, then the markdown `quality(path)` returns for MovieLens 100K when present."""
    import argparse
    import warnings
    from pathlib import Path

    from synthetic import power_law_interactions
    from threadpoolctl import threadpool_limits

    warnings.filterwarnings("ignore", module="implicit")
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--movielens", type=Path, default=default_movielens)
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    with threadpool_limits(1, "blas"):
        if not args.skip_speed:
            X = power_law_interactions().tocsr()
            print(
                f"{X.shape[0]:,} users x {X.shape[1]:,} items, {X.nnz:,} interactions; seconds per {unit}, "
                f"{threads} threads, medians of {args.repeats} rounds\n"
            )
            for f in factors:
                for timings in speed(X, f, args.repeats):
                    print(table(timings, timings[0].name), "\n")
        if args.movielens.is_dir():
            print(quality(args.movielens))
        else:
            print(f"(quality skipped: no MovieLens 100K at {args.movielens})")

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


def measure(name: str, fn, repeats: int = 5, warmup: int = 1) -> tuple[Timing, object]:
    """Median time of `repeats` runs of fn() after `warmup` runs; peak memory of the first run
    above the RSS before it (Linux; None elsewhere)."""
    timing = Timing(name)
    result = None
    for r in range(warmup + repeats):
        gc.collect()
        track = r == 0 and _reset_peak()
        before = _status_kib("VmRSS") if track else None
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
        if track and before is not None:
            timing.peak_extra_mib = (_status_kib("VmHWM") - before) / 1024
        if r >= warmup:
            timing.seconds.append(elapsed)
        if r < warmup + repeats - 1:
            del result
    return timing, result


def table(rows: list[Timing], baseline: str) -> str:
    """Markdown table: median, spread, and speed-up of `baseline` over each row."""
    base = next(t for t in rows if t.name == baseline).median
    out = ["| contender | median s | min–max s | runs | peak extra MiB | recforge speed-up |",
           "|---|---:|---:|---:|---:|---:|"]
    for t in rows:
        mem = f"{t.peak_extra_mib:.0f}" if t.peak_extra_mib is not None else "–"
        out.append(f"| {t.name} | {t.median:.3f} | {min(t.seconds):.3f}–{max(t.seconds):.3f} | "
                   f"{len(t.seconds)} | {mem} | {t.median / base:.2f}× |")
    return "\n".join(out)

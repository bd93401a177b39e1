"""Quiet and busy machine: the barrier-heavy kernels under OpenMP wait policies.

OpenMP threads that wait at a barrier first spin (burning a CPU) and then sleep. On a machine
where another process wants the CPUs, spinning threads take time from the thread the barrier
waits for. This script times ALS, BiasedMF, BPR and similarity on MovieLens 100K (or a
synthetic set of the same size when ../shared is absent), each in a fresh process per wait
setting (the OpenMP runtime reads its environment once), quiet and with one busy process
beside it, and prints medians and ratios.

    python bench/bench_busy.py [--rounds 4] [--repeats 3] [--settings default,active,passive,spin=10000]

Settings: ``default`` = the OpenMP runtime's own policy (libgomp: spin a while, then sleep);
``active`` = OMP_WAIT_POLICY=active; ``passive`` = OMP_WAIT_POLICY=passive; ``spin=N`` =
GOMP_SPINCOUNT=N (libgomp).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

WORKER = textwrap.dedent("""
    import json, sys, time, numpy as np, scipy.sparse as sp
    import recforge as rf
    from pathlib import Path
    repeats, threads = int(sys.argv[1]), int(sys.argv[2])
    path = Path(sys.argv[3]) / "ml-100k" / "u.data"
    if path.exists():
        raw = np.loadtxt(path, dtype=np.int64)
        R = sp.csr_matrix((raw[:, 2].astype(np.float32), (raw[:, 0] - 1, raw[:, 1] - 1)))
    else:
        R = sp.random(943, 1682, density=0.063, format="csr", random_state=0, dtype=np.float32)
        R.data = np.ceil(R.data * 5)
    X = R.copy(); X.data[:] = 1
    jobs = {
        "ALS.fit": lambda: rf.ALS(factors=64, iterations=15, random_state=0, n_threads=threads).fit(X),
        "BiasedMF.fit": lambda: rf.BiasedMF(random_state=0, n_threads=threads).fit(R),
        "BPR.fit": lambda: rf.BPR(factors=64, iterations=20, random_state=0, n_threads=threads).fit(X),
        "similarity": lambda: rf.similarity(X.T, k=50, n_threads=threads),
    }
    out = {}
    for name, job in jobs.items():
        job()  # warm-up
        times = []
        for _ in range(repeats):
            t = time.perf_counter(); job(); times.append(time.perf_counter() - t)
        out[name] = times
    print(json.dumps(out))
""")

BUSY = "import time\nend = time.time() + 3600\nwhile time.time() < end: pass\n"


def env_for(setting: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    if setting in ("active", "passive"):
        env["OMP_WAIT_POLICY"] = setting
    elif setting.startswith("spin="):
        env["GOMP_SPINCOUNT"] = setting.split("=", 1)[1]
    return env


def run(setting: str, busy: bool, repeats: int, threads: int, shared: Path) -> dict:
    hog = subprocess.Popen([sys.executable, "-c", BUSY]) if busy else None
    try:
        done = subprocess.run(
            [sys.executable, "-c", WORKER, str(repeats), str(threads), str(shared)],
            env=env_for(setting),
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds (default 4)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per job and round (default 3)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--settings", default="default,active,passive")
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared" / "datasets"))
    args = parser.parse_args()
    settings = args.settings.split(",")
    rows: dict = {}
    # Interleaved rounds: every (setting, load) runs once per round, so that the machine's
    # drift over minutes falls on all of them alike.
    for _ in range(args.rounds):
        for busy in (False, True):
            for setting in settings:
                got = run(setting, busy, args.repeats, args.threads, Path(args.shared))
                for job, times in got.items():
                    rows.setdefault((setting, busy), {}).setdefault(job, []).extend(times)
    jobs = list(next(iter(rows.values())))
    n = args.rounds * args.repeats
    print(
        f"median seconds over {n} runs ({args.rounds} interleaved rounds), n_threads={args.threads}; "
        "'busy' = one spinning process beside"
    )
    header = f"{'job':14s}" + "".join(
        f"{s + (' busy' if b else ' quiet'):>18s}" for b in (False, True) for s in settings
    )
    print(header)
    for job in jobs:
        cells = "".join(f"{statistics.median(rows[(s, b)][job]):18.3f}" for b in (False, True) for s in settings)
        print(f"{job:14s}{cells}")
    print("busy / quiet ratio per setting:")
    for job in jobs:
        ratios = "  ".join(
            f"{s}: {statistics.median(rows[(s, True)][job]) / statistics.median(rows[(s, False)][job]):.1f}x"
            for s in settings
        )
        print(f"  {job:14s}{ratios}")


if __name__ == "__main__":
    main()

"""Peak memory of one 100k-user scoring run, each in a fresh process.

    python bench/peak_memory.py            # both jobs, one JSON line each

Jobs: "topk" (rf.topk, 64 factors, seen items excluded) and "itemknn" (rf.ItemKNN(neighbours=50)
.recommend for every user). The parent writes the inputs to files; a child process imports
recforge, notes its resident memory (the baseline), loads the inputs, runs the job once and
reports its peak resident memory (VmHWM) above that baseline. That figure holds the loaded
inputs, the outputs and all working memory, so the check is
    peak above baseline <= inputs + outputs + 256 MiB.
Factors for "topk" are random with the shapes of the ALS factors (memory does not depend on
their values); the ItemKNN model is fitted in the parent and saved, so the child's peak is
the recommend run's alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recforge as rf  # noqa: E402
from harness import _status_kib  # noqa: E402
from synthetic import power_law_interactions  # noqa: E402

THREADS = 2
MIB = 1024 * 1024
BUDGET_MIB = 256


def nbytes(*arrays) -> int:
    parts = ("data", "indices", "indptr")
    return sum(sum(getattr(a, p).nbytes for p in parts) if sp.issparse(a) else a.nbytes for a in arrays)


def prepare(folder: Path) -> None:
    X = power_law_interactions().tocsr()
    sp.save_npz(folder / "X.npz", X, compressed=False)
    rng = np.random.default_rng(0)
    for name, n in (("U", X.shape[0]), ("V", X.shape[1])):
        F = (rng.normal(size=(n, 64)) * rng.lognormal(0, 0.5, (n, 1))).astype(np.float32)
        np.save(folder / f"{name}.npy", F)
    rf.ItemKNN(neighbours=50, metric="cosine", n_threads=THREADS).fit(X).save(folder / "itemknn.npz")


def child(job: str, folder: Path) -> dict:
    baseline = _status_kib("VmRSS")
    X = sp.load_npz(folder / "X.npz").tocsr()
    if job == "topk":
        U, V = np.load(folder / "U.npy"), np.load(folder / "V.npy")
        inputs = nbytes(U, V, X)
        ids, scores = rf.topk(U, V, 10, exclude=X, n_threads=THREADS)
    else:
        model = rf.load(folder / "itemknn.npz")
        users = np.arange(X.shape[0])
        inputs = nbytes(X, model.similarity_, model.user_items_, users)
        ids, scores = model.recommend(users, X, k=10)
    peak = _status_kib("VmHWM")
    outputs = nbytes(ids, scores)
    extra = (peak - baseline) / 1024
    return {
        "job": job,
        "inputs_mib": round(inputs / MIB, 1),
        "outputs_mib": round(outputs / MIB, 1),
        "peak_above_baseline_mib": round(extra, 1),
        "working_mib": round(extra - (inputs + outputs) / MIB, 1),
        "within_budget": extra <= (inputs + outputs) / MIB + BUDGET_MIB,
    }


def measure_all() -> list[dict]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        prepare(Path(tmp))
        for job in ("topk", "itemknn"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", job, tmp], check=True, capture_output=True, text=True
            )
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return results


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], Path(sys.argv[3]))))
    else:
        for r in measure_all():
            print(json.dumps(r))

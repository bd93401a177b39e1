"""How fast Ctrl-C stops a long kernel: SIGINT sent 1 s into similarity, BPR, BiasedMF and ALS
runs (the child script of tests/test_faults.py), time until KeyboardInterrupt reached Python.

    python bench/bench_interrupt.py [--runs 3]
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests" / "test_faults.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    source = re.search(r'INTERRUPTED = textwrap.dedent\("""(.*?)"""\)', TESTS.read_text(), re.S).group(1)
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "interrupted.py"
        script.write_text(textwrap.dedent(source))
        for which in ("similarity", "bpr", "biased_mf", "als"):
            latencies = []
            for _ in range(args.runs):
                proc = subprocess.Popen([sys.executable, str(script), which], stdout=subprocess.PIPE, text=True)
                proc.stdout.readline()
                time.sleep(1.0)
                sent = time.monotonic()
                proc.send_signal(signal.SIGINT)
                try:
                    out, _ = proc.communicate(timeout=60)
                    found = re.search(r"interrupted (\S+)", out)
                    latencies.append(float(found.group(1)) - sent if found else float("nan"))
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.communicate()
                    latencies.append(float("inf"))
            print(f"{which:11s} stop after SIGINT (ms): " + ", ".join(f"{1e3 * x:.0f}" for x in latencies))


if __name__ == "__main__":
    main()

"""The service's counters and latency histograms, in the Prometheus text format.

Hand-written rather than through ``prometheus_client``: the service needs a handful of counters
and one histogram per endpoint, and the exposition format for those is a few lines; the client
library would be a dependency for little.
"""

from __future__ import annotations

import bisect
import math
import threading

# Upper bounds (seconds) of the latency buckets: sub-millisecond answers up to slow reloads.
BUCKETS = (0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5, 10.0, math.inf)


class Metrics:
    """Requests per (endpoint, status) and a latency histogram per endpoint; thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self.requests: dict = {}  # (endpoint, status) -> count
        self._buckets: dict = {}  # endpoint -> counts per bucket (not cumulative)
        self._sum: dict = {}

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        slot = bisect.bisect_left(BUCKETS, seconds)
        with self._lock:
            key = (endpoint, status)
            self.requests[key] = self.requests.get(key, 0) + 1
            counts = self._buckets.setdefault(endpoint, [0] * len(BUCKETS))
            counts[slot] += 1
            self._sum[endpoint] = self._sum.get(endpoint, 0.0) + seconds

    def render(self, gauges: dict, counters: dict) -> str:
        """The exposition text: ``gauges`` and ``counters`` (name -> (help, value)) beside the
        request counts and latency histograms."""
        out = []
        for kind, table in (("gauge", gauges), ("counter", counters)):
            for name, (text, value) in table.items():
                out += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", f"{name} {_number(value)}"]
        with self._lock:
            requests = sorted(self.requests.items())
            buckets = {e: list(c) for e, c in self._buckets.items()}
            sums = dict(self._sum)
        out += ["# HELP recforge_requests_total Requests answered, by endpoint and status.",
                "# TYPE recforge_requests_total counter"]  # fmt: skip
        out += [f'recforge_requests_total{{endpoint="{e}",status="{s}"}} {n}' for (e, s), n in requests]
        out += ["# HELP recforge_request_seconds Time to answer a request, by endpoint.",
                "# TYPE recforge_request_seconds histogram"]  # fmt: skip
        for endpoint in sorted(buckets):
            total = 0
            for bound, n in zip(BUCKETS, buckets[endpoint]):
                total += n
                le = "+Inf" if math.isinf(bound) else repr(bound)
                out.append(f'recforge_request_seconds_bucket{{endpoint="{endpoint}",le="{le}"}} {total}')
            out.append(f'recforge_request_seconds_sum{{endpoint="{endpoint}"}} {_number(sums[endpoint])}')
            out.append(f'recforge_request_seconds_count{{endpoint="{endpoint}"}} {total}')
        return "\n".join(out) + "\n"


def _number(value) -> str:
    return repr(float(value)) if isinstance(value, float) else str(int(value))

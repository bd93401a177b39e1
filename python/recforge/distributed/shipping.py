"""Sending a value to the workers as a task, not as scattered data.

Scattered data has no lineage: when the only worker holding it goes (a restart, a lost node, or
the Active Memory Manager having dropped the other replicas, which it does to broadcast data
by default), every task that needs it fails with "lost dependencies". A value submitted as a
task keeps its specification on the scheduler, which runs it again on another worker instead.
Workers still fetch it from each other, once per worker, not once per task.
"""

from __future__ import annotations

import warnings

__all__ = ["ship"]


def _value(value):
    return value


def ship(client, value, *, every_worker: bool = False, worker: str | None = None):
    """A future of ``value`` that the cluster can rebuild if the worker holding it is lost.

    ``every_worker=True`` copies it to every worker before returning (for a value every task
    reads): tasks then start where they are scheduled instead of crowding onto the first holder
    or waiting for a transfer (similarity on 2 workers: 1.77 s against 2.25 s without).
    ``worker``: the worker it should live on (another one if that one is lost).
    """
    placed = {} if worker is None else {"workers": [worker], "allow_other_workers": True}
    with warnings.catch_warnings():  # Dask's note on large task specs: this one is large on purpose
        warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
        future = client.submit(_value, value, pure=False, **placed)
    if every_worker:
        client.replicate([future])
    return future

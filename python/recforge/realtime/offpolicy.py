"""Offline evaluation of a policy from the log of another: what would a new policy have earned on
the requests the live one served?

The log holds one row per shown product: its request, its reward (a click, 0 or 1, or any
value in [0, 1]), the logging policy's propensity (the probability that it showed the product in
that request) and the target policy's propensity for the same product and request. Products
are assumed to earn their rewards independently of what else the list holds (the item-level
model of Li et al., "Counterfactual estimation and optimization of click metrics", WWW 2015).
Each estimate is of the expected total reward per request.
"""

from __future__ import annotations

import numpy as np

from .._checks import as_numbers, check_int
from .._factorize import factorize


def _log(requests, rewards, *columns):
    codes, _ = factorize(np.asarray(requests).ravel(), "requests")  # numbers stay numbers (no object copy)
    if np.any(codes < 0):  # a request without an id would be counted as a request of its own
        raise ValueError(f"requests holds a missing id (None or NaN) at row {int(np.argmax(codes < 0))}")
    requests = codes
    r = as_numbers(rewards, "rewards").ravel()
    out = [as_numbers(c, n).ravel() for c, n in zip(columns, ("logging_propensity", "target_propensity"))]
    for name, a in (("rewards", r), *zip(("logging_propensity", "target_propensity"), out)):
        if a.size != requests.size:
            raise ValueError(f"{name} must have one entry per logged row ({requests.size}), got {a.size}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} must be finite")
    if out and np.any(out[0] <= 0):
        raise ValueError("logging_propensity must be > 0 (a product shown with probability 0 cannot be reweighted)")
    if out and np.any(out[0] > 1):  # a probability: above 1 it shrinks the weights without a word
        raise ValueError("logging_propensity must be in (0, 1]: it is the probability the product was shown")
    if len(out) > 1 and np.any((out[1] < 0) | (out[1] > 1)):
        raise ValueError("target_propensity must be in [0, 1]")
    n_requests = int(codes.max()) + 1 if codes.size else 0
    if n_requests == 0:
        raise ValueError("the log is empty")
    return r, out, n_requests


def ips(requests, rewards, logging_propensity, target_propensity) -> float:
    """Inverse propensity scoring: (1 / n_requests) * sum(reward * target / logging).

    Unbiased when the logging policy gave every product the target shows a positive
    propensity; its variance grows with the weights target / logging.

    Parameters
    ----------
    requests : array-like, shape (n_rows,)
        The request (an id) of each logged shown product.
    rewards : array-like of float, shape (n_rows,)
    logging_propensity : array-like of float > 0, shape (n_rows,)
    target_propensity : array-like of float in [0, 1], shape (n_rows,)

    Returns
    -------
    float
        Estimated reward per request under the target policy.

    Examples
    --------
    >>> from recforge.realtime import ips
    >>> ips(["a", "a", "b"], [1, 0, 1], [0.5, 0.5, 0.25], [1.0, 0.0, 0.5])
    2.0
    """
    r, (mu, pi), n_requests = _log(requests, rewards, logging_propensity, target_propensity)
    return float(np.sum(r * pi / mu) / n_requests)


def snips(requests, rewards, logging_propensity, target_propensity, k: int) -> float:
    """Self-normalised IPS: :func:`ips` divided by the mean, over requests, of the weights
    target / logging summed per request and divided by ``k`` (the products a request shows);
    that normaliser is 1 in expectation, and dividing by it trades a small bias for much less
    variance.

    Parameters
    ----------
    requests, rewards, logging_propensity, target_propensity : as :func:`ips`
    k : int
        Products per request (the target's propensities of a request add up to k).

    Examples
    --------
    >>> from recforge.realtime import snips
    >>> snips(["a", "a", "b"], [1, 0, 1], [0.5, 0.5, 0.25], [1.0, 0.0, 0.5], k=1)
    1.0
    """
    r, (mu, pi), n_requests = _log(requests, rewards, logging_propensity, target_propensity)
    k = check_int(k, "k", minimum=1)
    w = pi / mu
    normaliser = np.sum(w) / (k * n_requests)
    return float(np.sum(r * w) / n_requests / normaliser) if normaliser > 0 else 0.0


def replay(requests, rewards, target_shows, k: int) -> float:
    """Replay (Li et al., WSDM 2011): the mean reward of the logged products the target policy
    would also have shown, times ``k``. Unbiased when the log was collected by a uniformly
    random policy; otherwise a rough guide only.

    Parameters
    ----------
    requests, rewards : as :func:`ips`
    target_shows : array-like of bool, shape (n_rows,)
        Whether the target shows the logged product in its request.
    k : int
        Products per request.

    Examples
    --------
    >>> from recforge.realtime import replay
    >>> replay(["a", "a", "b"], [1, 0, 1], [True, False, True], k=2)
    2.0
    """
    r, _, _ = _log(requests, rewards)
    k = check_int(k, "k", minimum=1)
    shows = np.asarray(target_shows).ravel()
    match = shows if shows.dtype == bool else as_numbers(shows, "target_shows") == 1
    if shows.dtype != bool and not np.all((shows == 0) | (shows == 1)):  # 2 or 0.5 is no answer
        raise ValueError("target_shows must hold True/False (or 1/0): whether the target shows each product")
    if match.size != r.size:
        raise ValueError(f"target_shows must have one entry per logged row ({r.size}), got {match.size}")
    if not match.any():
        raise ValueError("the target policy shows none of the logged products: nothing to replay")
    return float(k * r[match].mean())

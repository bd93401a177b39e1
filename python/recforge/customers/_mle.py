"""Maximum likelihood over log-parameters, shared by the customer-base models."""

from __future__ import annotations

import numpy as np
from scipy import optimize

BOUND = 30.0  # |log parameter|: e^30 is far beyond any sensible rate, shape or scale


def maximise(
    mean_log_likelihood, start, names, penalizer: float, max_iterations: int, model: str, strict: bool = True
) -> np.ndarray:
    """The parameters maximising ``mean_log_likelihood(params) -> (value, gradient)`` minus
    ``penalizer * sum(params^2)``, searched over log-parameters by L-BFGS-B from ``start``
    (parameters, not logs). Raises RuntimeError naming the reason and the way out when the
    optimiser stops early or, with ``strict``, runs to a bound (a likelihood without a maximum:
    without ``strict`` that bounded optimum is returned)."""
    start = np.asarray(start, dtype=np.float64)
    if start.shape != (len(names),) or not np.all(np.isfinite(start)) or np.any(start <= 0):
        raise ValueError(f"initial must hold {len(names)} positive values ({', '.join(names)})")

    def objective(theta):
        params = np.exp(theta)
        value, gradient = mean_log_likelihood(params)
        if not np.isfinite(value):
            return np.inf, np.zeros_like(theta)
        # d/dtheta = params * d/dparams
        return -value + penalizer * np.sum(params**2), -gradient * params + 2 * penalizer * params**2

    result = optimize.minimize(
        objective,
        np.log(start),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-BOUND, BOUND)] * len(names),
        options={"maxiter": max_iterations, "ftol": 1e-13, "gtol": 1e-9},
    )
    params = np.exp(result.x)
    at_bound = np.any(np.abs(result.x) >= BOUND - 0.1)
    # L-BFGS-B reports ABNORMAL when the line search runs out of float precision at the optimum:
    # a vanishing gradient there is convergence all the same
    flat = result.jac is not None and np.all(np.isfinite(result.jac)) and np.max(np.abs(result.jac)) < 1e-6
    if not np.all(np.isfinite(result.x)) or not (result.success or flat or (at_bound and not strict)):
        raise RuntimeError(
            f"{model} fit did not converge ({result.message}); try penalizer=0.001 or other initial values"
        )
    if at_bound and strict:
        raise RuntimeError(
            f"{model} fit ran to a parameter bound ({dict(zip(names, params.tolist()))}): the likelihood has no "
            "maximum in that direction; add a penalizer (e.g. 0.001)"
        )
    return params

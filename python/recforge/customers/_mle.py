"""Maximum likelihood over log-parameters, shared by the customer-base models."""

from __future__ import annotations

import functools

import numpy as np
from threadpoolctl import ThreadpoolController

from .._checks import check_bool, check_int

BOUND = 30.0  # |log parameter|: e^30 is far beyond any sensible rate, shape or scale
DRIFT = 10.0  # |log parameter| beyond which a stalled search is read as running off to a limit


def _way_out(names, log_params, penalizer: float) -> str:
    """What to do about parameters running off: the penalty on params^2 holds back those running
    to infinity, not those running to 0 (whose limit ``strict=False`` accepts)."""
    up = [name for name, x in zip(names, log_params) if x > DRIFT]
    down = [name for name, x in zip(names, log_params) if x < -DRIFT]
    advice = []
    if up:
        advice.append(
            f"{', '.join(up)} -> infinity, which a penalizer holds back "
            f"({'raise it from ' + repr(penalizer) if penalizer else 'e.g. penalizer=0.001'})"
        )
    if down:
        advice.append(
            f"{', '.join(down)} -> 0, which a penalizer cannot hold back: fit with strict=False to accept that "
            "limit (for BG/NBD, a -> 0: nobody seems to drop out), or give the model a longer history"
        )
    return "; ".join(advice) or "try penalizer=0.001 or other initial values"


@functools.lru_cache(maxsize=1)
def blas_controller() -> ThreadpoolController:
    """The process's thread pools, found once (finding them reads every loaded library: ~10 ms)."""
    return ThreadpoolController()


def maximise(
    mean_log_likelihood,
    start,
    names,
    penalizer: float,
    max_iterations: int,
    model: str,
    strict: bool = True,
    ridge=None,
) -> np.ndarray:
    """The parameters maximising ``mean_log_likelihood(params) -> (value, gradient)`` minus
    ``penalizer * sum(params^2)``, searched over log-parameters by L-BFGS-B from ``start``
    (parameters, not logs). Raises RuntimeError naming the reason and the way out when the
    optimiser stops early or, with ``strict``, runs to a bound (a likelihood without a maximum:
    without ``strict`` that bounded optimum is returned). ``ridge(log_params)``: whether a
    converged search stands on the model's known ridge to a limit (raised as not converged,
    whatever the optimiser reported: where it stops along the ridge is chance)."""
    max_iterations = check_int(max_iterations, "max_iterations", minimum=1)
    strict = check_bool(strict, "strict")
    start = np.asarray(start, dtype=np.float64)
    if start.shape != (len(names),) or not np.all(np.isfinite(start)) or np.any(start <= 0):
        raise ValueError(f"initial must hold {len(names)} positive values ({', '.join(names)})")

    from scipy import optimize  # here, not at `import recforge` (a tenth of it)

    def objective(theta):
        params = np.exp(theta)
        value, gradient = mean_log_likelihood(params)
        if not np.isfinite(value):
            return np.inf, np.zeros_like(theta)
        # d/dtheta = params * d/dparams
        return -value + penalizer * np.sum(params**2), -gradient * params + 2 * penalizer * params**2

    # L-BFGS-B's BLAS calls work on vectors of 3 or 4: BLAS threads only spin, and on a busy
    # machine they take the CPUs the likelihood kernel's threads need (3-6x slower fits measured)
    options = {"maxiter": max_iterations, "ftol": 1e-13, "gtol": 1e-9}
    bounds = [(-BOUND, BOUND)] * len(names)
    with blas_controller().limit(limits=1, user_api="blas"):
        result = optimize.minimize(
            objective, np.log(start), jac=True, method="L-BFGS-B", bounds=bounds, options=options
        )
        stalled = False
        # L-BFGS-B reports ABNORMAL when its line search finds no decrease: at the optimum, where
        # float precision runs out, or on a ridge (BG/NBD's a -> 0, b -> inf on logs where nobody
        # seems to leave) where the curvature it remembers is wrong. Restarting without that
        # memory tells them apart: a restart that cannot lower the objective either stands at
        # the optimum to float precision.
        for _ in range(3):
            if result.success or "ABNORMAL" not in str(result.message) or not np.all(np.isfinite(result.x)):
                break
            again = optimize.minimize(objective, result.x, jac=True, method="L-BFGS-B", bounds=bounds, options=options)
            stalled = not again.fun < result.fun - 1e-12 * max(1.0, abs(result.fun))
            result = again if again.fun <= result.fun else result
            if stalled:
                break
    params = np.exp(result.x)
    at_bound = np.any(np.abs(result.x) >= BOUND - 0.1)
    # a stalled search counts as converged where the gradient has all but vanished: 1e-5 on the
    # mean log-likelihood per unit log-parameter, so that moving any parameter by 1% changes it
    # by 1e-7 at most. A ridge whose gradient stays above that (parameters running off to
    # infinity together: no heterogeneity to estimate) is reported, not returned, unless the
    # caller accepts limits (not ``strict``).
    flat = stalled and np.all(np.isfinite(result.jac)) and np.max(np.abs(result.jac)) < 1e-5
    running_off = stalled and np.any(np.abs(result.x) > DRIFT)
    on_ridge = ridge is not None and bool(ridge(result.x))
    if (
        not np.all(np.isfinite(result.x))
        or not (result.success or flat or ((at_bound or running_off) and not strict))
        or on_ridge
    ):
        raise RuntimeError(
            f"{model} fit did not converge ({result.message.strip() or 'stalled'}; "
            f"{dict(zip(names, params.tolist()))}); {_way_out(names, result.x, penalizer)}"
        )
    if at_bound and strict:
        raise RuntimeError(
            f"{model} fit ran to a parameter bound ({dict(zip(names, params.tolist()))}): the likelihood has no "
            f"maximum in that direction; {_way_out(names, result.x, penalizer)}"
        )
    return params

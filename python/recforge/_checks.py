"""Scalar argument checks shared by every public function (one wording for every error)."""

from __future__ import annotations

import difflib
import math
import numbers

import numpy as np

_INT64_MAX = 2**63 - 1


class NotFittedError(ValueError, AttributeError):
    """An object was used before ``fit`` (or ``rf.load``): a ValueError and an AttributeError,
    as scikit-learn's, so that one ``except`` catches it from every recforge model, customer
    model and encoder."""


def check_fitted(obj, attribute: str, how: str = "fit") -> None:
    """Raise :class:`NotFittedError` naming ``obj``'s class and ``how`` to fit it when ``obj``
    lacks the fitted ``attribute``."""
    if not hasattr(obj, attribute):
        raise NotFittedError(f"this {type(obj).__name__} is not fitted yet: call {how} first")


def check_model(value, name: str, kind: str = "a fitted recforge model") -> None:
    """TypeError naming ``name`` unless ``value`` is a model (an object with ``recommend``): a
    class (rf.EASE for rf.EASE()) or anything else fails later, inside, in other words."""
    if isinstance(value, type) or not callable(getattr(value, "recommend", None)):
        what = f"the class {value.__name__}" if isinstance(value, type) else type(value).__name__
        raise TypeError(f"{name} must be {kind}, got {what}")


def check_int(value, name: str, *, minimum: int | None = None) -> int:
    """Return ``value`` as a Python int, or raise TypeError/ValueError naming ``name``.

    Integers beyond the int64 range are refused here, so that no kernel is ever handed a count
    it cannot represent (sizes that are merely large are capped where they are used)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if not -_INT64_MAX - 1 <= value <= _INT64_MAX:
        raise ValueError(f"{name} must fit in a signed 64-bit integer (<= 2**63 - 1), got {value}")
    return value


def as_float(value) -> float:
    """``float(value)``, an integer beyond float64's range (2**1024 and more, as JSON and Python
    allow) as +-inf, as float() reads such a number written as text: ``float(10**400)`` raised
    OverflowError, which escaped every check for a finite value."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def is_finite_number(value) -> bool:
    """Whether ``value`` is a real number (not a bool) with a finite float value."""
    return (
        isinstance(value, (numbers.Real, np.floating, np.integer))
        and not isinstance(value, (bool, np.bool_))
        and math.isfinite(as_float(value))
    )


def check_real(value, name: str, *, minimum: float | None = None) -> float:
    """Return ``value`` as a finite Python float, or raise TypeError/ValueError naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = as_float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_positive(value, name: str) -> float:
    """``value`` as a finite float > 0, or raise TypeError/ValueError naming ``name``."""
    value = check_real(value, name, minimum=0.0)
    if value == 0:
        raise ValueError(f"{name} must be > 0, got 0")
    return value


def closest(word: str, choices) -> str | None:
    """The one of ``choices`` a misspelt ``word`` most likely meant (neighbors: neighbours,
    --segmnets: --segments), or None: one measure for every "did you mean" recforge says."""
    found = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.7)
    return found[0] if found else None


def check_choice(value, name: str, choices) -> str:
    """Return ``value`` if it is one of ``choices`` (strings), else raise naming the options
    (and the one a misspelling meant)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__} {value!r}")
    if value not in choices:
        meant = closest(value, choices)
        hint = f" (did you mean {meant!r}?)" if meant else ""
        raise ValueError(f"{name} must be one of {', '.join(repr(c) for c in choices)}; got {value!r}{hint}")
    return value


def check_bool(value, name: str) -> bool:
    """Return ``value`` as a Python bool, or raise TypeError naming ``name`` (no truthiness)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def check_seed(random_state, name: str = "random_state") -> int | None:
    """A seed for numpy.random.default_rng: None or a non-negative int (saved with a model)."""
    return None if random_state is None else check_int(random_state, name, minimum=0)


def as_numbers(values, name: str) -> np.ndarray:
    """``values`` as a float64 array (None, pandas' NA and empty text as NaN), or ValueError naming ``name``
    and the first value that is not a number: numpy's own "could not convert string to float"
    names neither."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        pass  # the slow path below finds the culprit, reads pandas' NA in an object column, or 10**400 as inf
    try:
        objects = np.asarray(values, dtype=object)
    except ValueError:
        raise ValueError(f"{name} must be an array of numbers, not of sequences of different lengths") from None
    out = np.empty(objects.shape, dtype=np.float64)
    flat = out.reshape(-1)
    for position, value in enumerate(objects.reshape(-1).tolist()):
        if value is None or _is_na(value) or (isinstance(value, str) and not value.strip()):
            flat[position] = np.nan  # missing: None, pandas' NA, an empty field of a text column
            continue
        try:
            flat[position] = as_float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must hold numbers: position {position} holds {value!r}") from None
    return out


def _is_na(value) -> bool:
    # pandas' NA without importing pandas: a singleton whose truth value is ambiguous
    return type(value).__name__ == "NAType"

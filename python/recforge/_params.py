"""What every fitted recforge object shares with scikit-learn's estimators: constructor
arguments are its parameters (``get_params``, ``repr``), and ``_state`` names the fitted
attributes a file keeps. Models and feature encoders both build on it, so one file format
(models/persistence.py) stores either, and one inside the other."""

from __future__ import annotations

import inspect
import warnings

from ._checks import closest


def renamed_argument(value, old_value, old: str, new: str, default, check=None):
    """The value of an argument that was renamed ``old`` -> ``new``: ``old_value`` (with a
    FutureWarning) when the old name was used, else ``value``. Both at once is a TypeError.
    ``check(value, name)``, when given, checks the value under the name the caller used (an
    error about ``neighbours`` puzzles a caller who wrote ``k=``)."""
    if old_value is None:
        return value if check is None else check(value, new)
    if value != default:
        raise TypeError(f"give {new} only ({old} is its deprecated former name)")
    warnings.warn(f"{old} is deprecated and will be removed: use {new}", FutureWarning, stacklevel=3)
    return old_value if check is None else check(old_value, old)


def no_such_parameter(cls, names: list[str], unknown: str) -> str:
    """ "ItemKNN has no parameter 'neighbors'; did you mean 'neighbours'? Its parameters: ...":
    one wording for the constructor, set_params, rf.tune and --param."""
    close = closest(unknown, names)
    meant = f"; did you mean {close!r}?" if close else ""
    return f"{cls.__name__} has no parameter {unknown!r}{meant} (its parameters: {', '.join(names)})"


class Parametrised:
    """Base of objects whose constructor arguments are their parameters."""

    _state: tuple[str, ...] = ()
    # Former argument names still accepted (old -> new); not parameters of their own.
    _renamed: dict[str, str] = {}
    # Parameters added since the first release, with the value that keeps the behaviour of the
    # files and pickles written before them (which lack them), where that is not the default.
    _absent_before: dict[str, object] = {}
    # Fitted state added since the first release, with the value that keeps the behaviour of
    # the files and pickles written before it.
    _state_absent_before: dict[str, object] = {}

    def __new__(cls, *args, **kwargs):
        # Before __init__: Python's "got an unexpected keyword argument 'neighbors'" named
        # neither the parameters nor the spelling meant (neighbours, factors, regularization).
        names = cls._param_names()
        for key in kwargs:
            if key not in names and key not in cls._renamed:
                raise TypeError(no_such_parameter(cls, names, key))
        return super().__new__(cls)

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name not in cls._renamed
        ]

    def get_params(self, deep: bool = True) -> dict:
        """The constructor arguments, as a dict (as in scikit-learn, so that
        ``sklearn.base.clone`` and its searches work).

        Parameters
        ----------
        deep : bool, default True
            Also the parameters of a wrapped model, as ``model__factors`` and so on.
        """
        params = {name: getattr(self, name) for name in self._param_names()}
        if deep:
            for name, value in list(params.items()):
                if isinstance(value, Parametrised):
                    params.update({f"{name}__{key}": v for key, v in value.get_params(deep=True).items()})
        return params

    def set_params(self, **params):
        """Set parameters (``model__factors`` reaches a wrapped model), checked as the
        constructor checks them; a fitted object keeps its fitted state until the next fit.

        Returns
        -------
        self
        """
        names = self._param_names()
        direct, nested = {}, {}
        for key, value in params.items():
            name, _, inner = key.partition("__")
            if name not in names:
                raise ValueError(no_such_parameter(type(self), names, name))
            if inner:
                if not isinstance(getattr(self, name), Parametrised):
                    raise ValueError(f"{type(self).__name__}.{name} holds no parameters to set ({key!r})")
                nested.setdefault(name, {})[inner] = value
            else:
                direct[name] = value
        if direct:
            # through the constructor: every check it makes (and what it derives) applies
            fresh = type(self)(**{**self.get_params(deep=False), **direct})
            vars(self).update(vars(fresh))
        for name, inner in nested.items():
            getattr(self, name).set_params(**inner)
        return self

    def file_params(self) -> dict:
        """The parameters a model file keeps, as JSON values: all of them, except for wrappers
        whose wrapped object is part of their fitted state (saved as a nested model)."""
        return self.get_params(deep=False)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{type(self).__name__}({args})"

    @property
    def is_fitted(self) -> bool:
        return all(hasattr(self, name) for name in self._state)

    def _validate_state(self) -> None:
        """Check state read from a file (subclasses check shapes and meanings)."""


def clone(obj: Parametrised) -> Parametrised:
    """A new unfitted object with ``obj``'s parameters (a wrapped model cloned too, never
    shared), as ``sklearn.base.clone`` makes one."""
    params = obj.get_params(deep=False)
    return type(obj)(**{name: clone(v) if isinstance(v, Parametrised) else v for name, v in params.items()})


def model_factory(model, name: str):
    """``(make, class, parameter names)`` for a recforge model class or a model to copy:
    ``make(**params)`` gives a fresh unfitted model with those parameters set."""
    if isinstance(model, type) and issubclass(model, Parametrised):
        return (lambda **params: model(**params)), model, model._param_names()
    if isinstance(model, Parametrised):
        return (lambda **params: clone(model).set_params(**params)), type(model), list(model.get_params(deep=True))
    raise TypeError(f"{name} must be a recforge model class (e.g. rf.EASE) or a model to copy, got {model!r}")

"""What every fitted recforge object shares with scikit-learn's estimators: constructor
arguments are its parameters (``get_params``, ``repr``), and ``_state`` names the fitted
attributes a file keeps. Models and feature encoders both build on it, so one file format
(models/persistence.py) stores either, and one inside the other."""

from __future__ import annotations

import inspect


class Parametrised:
    """Base of objects whose constructor arguments are their parameters."""

    _state: tuple[str, ...] = ()
    # Former argument names still accepted (old -> new); not parameters of their own.
    _renamed: dict[str, str] = {}

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name not in cls._renamed
        ]

    def get_params(self) -> dict:
        """The constructor arguments, as a dict (as in scikit-learn)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def file_params(self) -> dict:
        """The parameters a model file keeps, as JSON values: all of them, except for wrappers
        whose wrapped object is part of their fitted state (saved as a nested model)."""
        return self.get_params()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    @property
    def is_fitted(self) -> bool:
        return all(hasattr(self, name) for name in self._state)

    def _validate_state(self) -> None:
        """Check state read from a file (subclasses check shapes and meanings)."""

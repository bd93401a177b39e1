"""The model classes recforge knows by name (``recforge.models`` registers each public one), so
that model files can name their class without the file format importing the models (which
import the file format to save themselves: that would be a cycle)."""

from __future__ import annotations

MODEL_CLASSES: dict[str, type] = {}


def register(cls: type) -> None:
    """Record ``cls`` under its name."""
    MODEL_CLASSES[cls.__name__] = cls


def model_class(name: str):
    """The registered class called ``name``, or None."""
    return MODEL_CLASSES.get(name)

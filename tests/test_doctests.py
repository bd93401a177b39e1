"""The examples in the docstrings run and print what they say (they are what users copy)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest
import recforge

MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(recforge.__path__, "recforge.")
    if not name.startswith(("recforge.cli", "recforge.__main__"))  # the command line has its own tests
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (run doctest on it)"

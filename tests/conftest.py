"""Shared fixtures: where the real datasets live, and a seeded generator."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from backends import without_pandas
from hypothesis import HealthCheck, settings

settings.register_profile("recforge", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "recforge"))

SHARED = Path(os.environ.get("RECFORGE_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
DATASETS = SHARED / "datasets"


@pytest.fixture
def datasets_dir() -> Path:
    """../shared/datasets, or a skip when this checkout has none (a user's clone)."""
    if not DATASETS.is_dir():
        pytest.skip(f"shared datasets not found at {DATASETS} (set RECFORGE_SHARED to use another copy)")
    return DATASETS


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261123)


@pytest.fixture(params=["pandas", "numpy"])
def backend(request, monkeypatch):
    """Run a test with pandas (when installed) and with the numpy-only fallback that a plain
    ``pip install recforge`` uses."""
    from recforge import _factorize

    if request.param == "pandas":
        if _factorize.pd is None:
            pytest.skip("pandas not installed")
    else:
        without_pandas(monkeypatch)
    return request.param

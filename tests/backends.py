"""The numpy-only fallback a plain ``pip install recforge`` uses, switched on in a test."""


def without_pandas(monkeypatch) -> None:
    """Make every module that reads tables behave as if pandas were not installed."""
    from recforge import _factorize, _tables, _times
    from recforge.data import interactions

    for module in (_factorize, _tables, _times, interactions):
        monkeypatch.setattr(module, "pd", None)

"""The CSR boundary (recforge.as_csr) and argument checks: every rejection is tested."""

from __future__ import annotations

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st


def good(n_rows=4, n_cols=3):
    return sp.csr_matrix(np.arange(n_rows * n_cols, dtype=np.float64).reshape(n_rows, n_cols) % 3)


def raw_csr(data, indices, indptr, shape):
    """A csr_matrix built without scipy's own checks, as a careless caller could make one."""
    X = sp.csr_matrix(shape, dtype=np.asarray(data).dtype)
    X.data, X.indices, X.indptr = np.asarray(data), np.asarray(indices), np.asarray(indptr)
    return X


def test_canonical_input_is_returned_without_copy():
    X = good()
    assert rf.as_csr(X) is X
    Y = sp.csr_array(X)
    assert rf.as_csr(Y) is Y


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_supported_dtypes_pass_through(dtype, index_dtype):
    X = good().astype(dtype)
    X.indices = X.indices.astype(index_dtype)
    X.indptr = X.indptr.astype(index_dtype)
    out = rf.as_csr(X)
    assert out is X and out.dtype == dtype and out.indices.dtype == index_dtype


@pytest.mark.parametrize(
    "dtype,expect",
    [
        (np.bool_, np.float32),
        (np.int8, np.float32),
        (np.uint16, np.float32),
        (np.int32, np.float64),
        (np.int64, np.float64),
        (np.uint64, np.float64),
    ],
)
def test_other_numeric_dtypes_are_converted_once(dtype, expect):
    X = good().astype(dtype)
    out = rf.as_csr(X)
    assert out.dtype == expect
    np.testing.assert_array_equal(out.toarray(), X.toarray().astype(expect))


def test_noncanonical_input_is_fixed_on_a_copy():
    X = raw_csr(
        np.array([1.0, 2.0, 3.0]), np.array([2, 0, 2], dtype=np.int32), np.array([0, 3, 3], dtype=np.int32), (2, 3)
    )
    before = [a.copy() for a in (X.data, X.indices, X.indptr)]
    out = rf.as_csr(X)
    assert out is not X
    np.testing.assert_array_equal(out.toarray(), [[2.0, 0, 4.0], [0, 0, 0]])
    for a, b in zip(before, (X.data, X.indices, X.indptr)):
        np.testing.assert_array_equal(a, b)


def test_csc_and_coo_are_converted():
    X = good()
    for other in (X.tocsc(), X.tocoo(), sp.csc_array(X), sp.coo_array(X)):
        np.testing.assert_array_equal(rf.as_csr(other).toarray(), X.toarray())


@pytest.mark.parametrize("bad", [np.ones((3, 3)), [[1, 2]], "X", None])
def test_non_sparse_is_a_type_error(bad):
    with pytest.raises(TypeError, match="X must be a scipy.sparse"):
        rf.similarity(bad)


def test_complex_values_are_a_type_error():
    with pytest.raises(TypeError, match="real numbers"):
        rf.as_csr(sp.csr_matrix(np.ones((2, 2), dtype=np.complex128)))


def test_one_dimensional_sparse_array_is_rejected():
    coo_1d = getattr(sp, "coo_array", None)
    try:
        v = coo_1d(np.array([1.0, 0.0, 2.0]))
    except Exception:  # scipy without 1-D sparse arrays
        pytest.skip("this scipy has no 1-D sparse arrays")
    if v.ndim != 1:
        pytest.skip("this scipy has no 1-D sparse arrays")
    with pytest.raises(ValueError, match="2-D"):
        rf.as_csr(v)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_rejected(value):
    X = good()
    X.data[1] = value
    with pytest.raises(ValueError, match=r"X\.data has a non-finite value"):
        rf.similarity(X)


def test_indptr_wrong_length():
    X = raw_csr(np.ones(2), np.array([0, 1], np.int32), np.array([0, 1, 2], np.int32), (3, 2))
    with pytest.raises(ValueError, match=r"X\.indptr has 3 entries, expected n_rows \+ 1 = 4"):
        rf.as_csr(X)


def test_indptr_not_starting_at_zero():
    X = raw_csr(np.ones(2), np.array([0, 1], np.int32), np.array([1, 1, 2], np.int32), (2, 2))
    with pytest.raises(ValueError, match=r"X\.indptr\[0\] is 1"):
        rf.as_csr(X)


def test_indptr_not_monotone():
    X = raw_csr(np.ones(3), np.array([0, 1, 0], np.int32), np.array([0, 2, 1, 3], np.int32), (3, 2))
    with pytest.raises(ValueError, match=r"X\.indptr is not non-decreasing"):
        rf.as_csr(X)


def test_indptr_not_ending_at_nnz():
    X = raw_csr(np.ones(3), np.array([0, 1, 0], np.int32), np.array([0, 1, 2], np.int32), (2, 2))
    with pytest.raises(ValueError, match=r"X\.indptr ends at 2 but there are 3 stored entries"):
        rf.as_csr(X)
    X = raw_csr(np.ones(2), np.array([0, 1], np.int32), np.array([0, 1, 5], np.int32), (2, 2))
    with pytest.raises(ValueError, match=r"ends at 5"):
        rf.as_csr(X)


@pytest.mark.parametrize("bad_index", [-1, 2, 1000])
def test_indices_out_of_range(bad_index):
    X = raw_csr(np.ones(2), np.array([0, bad_index], np.int32), np.array([0, 1, 2], np.int32), (2, 2))
    with pytest.raises(ValueError, match=rf"X\.indices has {bad_index} in row 1, outside \[0, 2\)"):
        rf.similarity(X)


def test_indices_and_data_length_mismatch():
    X = raw_csr(np.ones(3), np.array([0, 1], np.int32), np.array([0, 1, 2], np.int32), (2, 2))
    with pytest.raises(ValueError, match="2 indices but 3 values"):
        rf.as_csr(X)


def test_csc_with_bad_row_index():
    X = sp.csc_matrix((2, 2))
    X.data, X.indices, X.indptr = np.ones(1), np.array([7], np.int32), np.array([0, 1, 1], np.int32)
    with pytest.raises(ValueError, match=r"indices has 7"):
        rf.as_csr(X)


def test_coo_with_bad_index():
    X = sp.coo_matrix((np.ones(1), (np.array([0]), np.array([1]))), shape=(2, 2))
    X.row = np.array([5], dtype=np.int32)
    with pytest.raises(ValueError, match="row index 5 outside"):
        rf.as_csr(X)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(k=-1), ValueError, "k must be >= 0"),
        (dict(k=2.5), TypeError, "k must be an integer"),
        (dict(k=True), TypeError, "k must be an integer"),
        (dict(metric="euclid"), ValueError, "metric must be one of"),
        (dict(metric=3), TypeError, "metric must be a string"),
        (dict(shrinkage=-1.0), ValueError, "shrinkage must be >= 0"),
        (dict(shrinkage=float("nan")), ValueError, "shrinkage must be finite"),
        (dict(min_support=-2), ValueError, "min_support must be >= 0"),
        (dict(n_threads=-1), ValueError, "n_threads must be >= 0"),
        (dict(n_threads=1.0), TypeError, "n_threads must be an integer"),
        (dict(metric="bm25", b=1.5), ValueError, r"b must be in \[0, 1\]"),
        (dict(metric="bm25", k1=-1.0), ValueError, "k1 must be >= 0"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        rf.similarity(good(), **kwargs)


@pytest.mark.parametrize("metric", ["tfidf", "bm25"])
def test_weightings_need_nonnegative_values(metric):
    X = good()
    X.data[0] = -1.0
    with pytest.raises(ValueError, match="non-negative"):
        rf.similarity(X, metric=metric)


def test_kernel_boundary_rechecks_structure():
    # The compiled function validates on its own too: no input can crash it.
    from recforge import _core

    with pytest.raises(ValueError, match="outside"):
        _core.similarity(np.array([0, 1], np.int32), np.array([9], np.int32), np.ones(1), 1, 2, 3, "cosine", 0.0, 1, 1)
    with pytest.raises(ValueError, match="not canonical"):
        _core.similarity(
            np.array([0, 2], np.int32), np.array([1, 0], np.int32), np.ones(2), 1, 2, 3, "cosine", 0.0, 1, 1
        )
    with pytest.raises(TypeError, match="float32 or float64"):
        _core.similarity(
            np.array([0, 1], np.int32), np.array([0], np.int32), np.ones(1, np.int64), 1, 2, 3, "cosine", 0.0, 1, 1
        )
    with pytest.raises(TypeError, match="both be int32 or both int64"):
        _core.similarity(np.array([0, 1], np.int64), np.array([0], np.int32), np.ones(1), 1, 2, 3, "cosine", 0.0, 1, 1)
    with pytest.raises(ValueError, match="C-contiguous"):
        _core.similarity(
            np.array([0, 2], np.int32), np.array([0, 9, 1, 9], np.int32)[::2], np.ones(2), 1, 2, 3, "cosine", 0.0, 1, 1
        )


def test_trusted_kernel_path_checks_sizes_and_the_default_checks_everything():
    # recforge's own calls pass CsrParts (validated once) as trusted: O(1) size checks only.
    # A direct call of the compiled function validates the whole structure by default.
    from recforge import _core

    h = (np.array([0, 1], np.int32), np.array([0], np.int32), np.ones(1, np.float32))
    bad_sim = (np.array([0, 1, 1], np.int32), np.array([7], np.int32), np.ones(1, np.float32))  # index 7 of 2
    with pytest.raises(ValueError, match="outside|out of range|index"):
        _core.topk_sparse(*h, 1, 2, *bad_sim, 2, None, None, None, None, 1, 1)
    short_sim = (np.array([0, 1, 2], np.int32), np.array([0], np.int32), np.ones(1, np.float32))  # nnz 2 != 1
    with pytest.raises(ValueError, match="structure"):
        _core.topk_sparse(*h, 1, 2, *short_sim, 2, None, None, None, None, 1, 1, trusted=True)
    good_sim = (np.array([0, 1, 1], np.int32), np.array([1], np.int32), np.ones(1, np.float32))
    ids, _ = _core.topk_sparse(*h, 1, 2, *good_sim, 2, None, None, None, None, 1, 1, trusted=True)
    assert ids.tolist() == [[1]]


def test_config_reports_build_and_threads():
    info = rf.config()
    assert info["version"] == rf.__version__
    assert isinstance(info["openmp"], bool)
    assert info["threads"] >= 1 and info["available_cpus"] >= 1
    assert info["compiler"]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    n_rows=st.integers(1, 40),
    per_row=st.sampled_from([0, 3, 40, 3000]),  # 3000: past the size checked in threads, 4096-entry blocks
    fault=st.sampled_from(["none", "unsorted", "repeat", "boundary", "range", "negative", "nan"]),
    index=st.sampled_from([np.int32, np.int64]),
)
def test_check_csr_agrees_with_a_plain_reading(seed, n_rows, per_row, fault, index):
    """The flat checks (canonical rows, indices in range, finite values) against a row-by-row
    reading, with the fault at a random place: the first failing row is the one named."""
    from recforge import _core

    rng = np.random.default_rng(seed)
    n_cols = 5000
    lengths = rng.integers(0, per_row + 1, n_rows)
    lengths[rng.random(n_rows) < 0.2] = 0  # empty rows
    indices = np.concatenate([np.sort(rng.choice(n_cols, m, replace=False)) for m in lengths] + [np.zeros(0, int)])
    indptr = np.r_[0, np.cumsum(lengths)]
    data = rng.random(indices.size)
    nonempty = np.flatnonzero(lengths >= 2)
    row = None
    if fault != "none" and nonempty.size:
        row = int(rng.choice(nonempty))
        at = indptr[row] + int(rng.integers(0, lengths[row] - 1))
        if fault == "unsorted":
            indices[at], indices[at + 1] = indices[at + 1], indices[at]
        elif fault == "repeat":
            indices[at + 1] = indices[at]
        elif fault == "range":
            indices[at] = n_cols
        elif fault == "negative":
            indices[at] = -1
        elif fault == "nan":
            data[at] = np.nan
    if fault == "boundary":  # a row starting below the end of the row before is still canonical
        row = None
    canonical = all(np.all(np.diff(indices[indptr[r] : indptr[r + 1]]) > 0) for r in range(n_rows))
    indptr, indices = indptr.astype(index), indices.astype(index)
    if row is not None and fault in ("range", "negative"):
        with pytest.raises(ValueError, match=rf"X\.indices has -?\d+ in row {row}, outside"):
            _core.check_csr(indptr, indices, data, n_rows, n_cols)
    elif row is not None and fault == "nan":
        with pytest.raises(ValueError, match=rf"non-finite value \(nan\) at position {at};"):
            _core.check_csr(indptr, indices, data, n_rows, n_cols)
    else:
        assert _core.check_csr(indptr, indices, data, n_rows, n_cols) == canonical


def _number_arguments():
    """(call, argument name) for every public argument of numbers given as an array: each is
    called with text where a number belongs."""
    import recforge.realtime as rt

    c, t = ["a", "a", "b"], ["2024-01-01", "2024-01-09", "2024-01-03"]
    bg = rf.customers.BetaGeoFitter()
    ts = rt.ThompsonSampling(random_state=0)
    return [
        (lambda v: rf.customers.summary(c, t, v), "amounts"),
        (lambda v: rf.customers.quantile_scores(v), "values"),
        (lambda v: rf.customers.lift_table(v, [True, False, True], bins=1), "scores"),
        (lambda v: bg.fit(v, [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]), "frequency"),
        (lambda v: bg.fit([1.0, 2.0, 3.0], v, [4.0, 5.0, 6.0]), "recency"),
        (lambda v: bg.fit([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], v), "T"),
        (lambda v: rf.customers.GammaGammaFitter().fit([1.0, 2.0, 3.0], v), "monetary_value"),
        (lambda v: rf.metrics.rmse(v, [1.0, 2.0, 3.0]), "y_true"),
        (lambda v: rf.metrics.rmse([1.0, 2.0, 3.0], v), "y_pred"),
        (lambda v: rt.ips([0, 1, 2], v, [0.5] * 3, [0.5] * 3), "rewards"),
        (lambda v: rt.ips([0, 1, 2], [1.0] * 3, v, [0.5] * 3), "logging_propensity"),
        (lambda v: ts.feedback([0, 1, 2], v), "rewards"),
        (lambda v: ts.choose(np.arange(3), k=2, prior_mean=v), "prior_mean"),
    ]


@pytest.mark.parametrize("case", range(13))
def test_text_where_numbers_belong_is_named(case):
    """numpy's "could not convert string to float: '£1.50'" named neither the argument nor
    the place."""
    calls = _number_arguments()
    assert len(calls) == 13
    call, name = calls[case]
    with pytest.raises(ValueError, match=rf"^{name} must hold numbers: position 1 holds '£1\.50'$"):
        call(np.array(["1", "£1.50", "0.5"], dtype=object))


@settings(max_examples=60, deadline=None)
@given(
    n_rows=st.integers(0, 12),
    n_cols=st.integers(1, 9),
    density=st.floats(0.0, 1.0),
    seed=st.integers(0, 10_000),
    dtype=st.sampled_from([np.float32, np.float64]),
    index=st.sampled_from([np.int32, np.int64]),
)
def test_positive_pattern_is_scipys_x_greater_than_zero(n_rows, n_cols, density, seed, dtype, index):
    """What a binary model reads: 1 where a weight is positive, no entry elsewhere (zeros and
    net returns), dtypes kept, and the very input when nothing changes."""
    from recforge._sparse import check_sparse, positive_pattern

    rng = np.random.default_rng(seed)
    X = sp.random(n_rows, n_cols, density=density, format="csr", random_state=seed, dtype=np.float64)
    X.data = rng.choice([-2.0, -1.0, 1.0, 1.0, 3.0], X.nnz).astype(dtype)
    X = sp.csr_matrix((X.data, X.indices.astype(index), X.indptr.astype(index)), shape=X.shape)
    parts = check_sparse(X)
    got = positive_pattern(parts)
    want = sp.csr_matrix((X > 0).astype(dtype))
    assert (
        got.data.dtype == dtype and got.indices.dtype == parts.indices.dtype and got.indptr.dtype == parts.indptr.dtype
    )
    assert (got.to_scipy() != want).nnz == 0 and np.all(got.data == 1) and got.shape == X.shape
    if X.nnz == 0 or np.all(X.data == 1):
        assert got is parts


def test_boolean_options_refuse_text():
    """ "no" is true to Python: exclude_seen="no" excluded the seen items, auc="no" computed the
    AUC, and so on. Every public flag takes a bool (or numpy's), nothing else."""
    X = sp.random(20, 10, density=0.3, format="csr", random_state=0)
    model = rf.ItemKNN().fit(X)
    ids = np.array([[0, 1], [2, 3]])
    inter = rf.Interactions.from_arrays(["a", "b"], ["x", "y"])
    online = rf.realtime.OnlineRecommender(rf.ItemKNN().fit(inter), inter)
    calls = {
        "return_report": lambda v: rf.campaign.rerank(ids, np.ones((2, 2)), 1, return_report=v),
        "exclude_seen": lambda v: model.recommend(0, X[0], k=2, exclude_seen=v),
        "auc": lambda v: rf.evaluate(model, X, X, auc=v),
        "groups": lambda v: rf.compare({"m": model}, X, X, groups=v),
        "beyond": lambda v: rf.evaluate(model, X, X, beyond=v),
        "cosine": lambda v: rf.topk(np.ones((2, 3)), np.ones((4, 3)), 2, cosine=v),
        "per_user": lambda v: rf.metrics.auc(ids, X[:2], 10, per_user=v),
        "keep_events": lambda v: rf.Interactions.from_arrays(["a"], ["x"], keep_events=v),
        "return_path": lambda v: online.recommend("a", k=2, return_path=v),
    }
    for name, call in calls.items():
        with pytest.raises(TypeError, match=f"{name} must be a bool, got str 'no'"):
            call("no")
        call(np.bool_(False))
    with pytest.raises(TypeError, match="per_user must be a bool"):
        rf.metrics.ranking_metrics(ids, X[:2], 2, per_user="no")
    with pytest.raises(TypeError, match="exclude_seen must be a bool"):
        online.recommend("a", k=2, exclude_seen="no")


@pytest.mark.parametrize("case", range(13))
def test_integers_beyond_float_range_are_refused_as_values(case):
    """An integer of 400 digits (Python's and JSON's integers have no end) raised OverflowError
    from float(), which no caller expects: now it reads as infinite, as "1e400" does, and each
    function refuses it as it refuses inf."""
    call, _ = _number_arguments()[case]
    try:
        call(np.array([1, 10**400, 0], dtype=object))
    except ValueError:
        return
    assert case == 0  # summary drops a line of an infinite amount, counted, as one of NaN


def test_reals_and_times_beyond_float_range_are_named():
    from recforge._checks import as_numbers, check_real, is_finite_number
    from recforge._times import as_seconds

    np.testing.assert_array_equal(as_numbers([1, 10**400, -(10**400)], "x"), [1.0, np.inf, -np.inf])
    with pytest.raises(ValueError, match="regularization must be finite, got inf"):
        check_real(10**400, "regularization")
    with pytest.raises(ValueError, match="regularization must be finite"):
        rf.ALS(regularization=10**400)
    assert is_finite_number(2**70) and not is_finite_number(10**400) and not is_finite_number(True)
    np.testing.assert_array_equal(as_seconds([1.6e9, 10**400], "times"), [1.6e9, np.inf])

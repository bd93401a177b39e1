"""Writing CSV (_csv_out, the C++ csv_text kernel) against pandas' to_csv(index=False,
float_format="%.6g"), which wrote every recforge CSV before: the same bytes for every column kind
the kernel writes (integers, float32/float64 with NaN, infinities, -0 and extremes, text that
needs quoting, Arrow arrays sliced and chunked), pandas' own text for the kinds it does not, and
the same text for any thread count."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from recforge import _core

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
from recforge import _csv_out  # noqa: E402  (after the skips: it needs pandas)

AWKWARD = ["", "a,b", 'say "hi"', "two\nlines", "cr\rhere", " padded ", "Crème brûlée", "日本", "x;y", "tab\there"]
FLOATS = [0.0, -0.0, 0.1, 1 / 3, 123456.5, 1234567.0, 1e-5, 1e16, -2.5e-300, 1e300, np.nan, np.inf, -np.inf, 5e-324]


def pandas_bytes(table: dict) -> bytes:
    return pd.DataFrame(table).to_csv(None, index=False, float_format="%.6g").encode("utf-8")


def written(table) -> bytes:
    out = io.BytesIO()
    _csv_out.write_csv(table, out)
    return out.getvalue()


def column(kind: str, n: int, rng) -> np.ndarray:
    if kind == "int64":
        return rng.integers(-(2**62), 2**62, n)
    if kind == "int32":
        return rng.integers(-(2**31), 2**31 - 1, n).astype(np.int32)
    if kind == "uint64":
        return rng.integers(0, 2**63, n).astype(np.uint64) * 2
    if kind in ("float32", "float64"):
        values = np.where(
            rng.random(n) < 0.5, rng.choice(FLOATS, n), rng.standard_normal(n) * 10.0 ** rng.integers(-8, 9, n)
        )
        with np.errstate(over="ignore"):  # 1e300 as float32: inf, one more edge
            return values.astype(kind)
    if kind == "text":
        values = np.array(
            [rng.choice(AWKWARD) + str(rng.integers(0, 9)) * int(rng.integers(0, 3)) for _ in range(n)], dtype=object
        )
        values[rng.random(n) < 0.2] = None
        return values
    if kind == "object ints":
        return np.array([int(v) for v in rng.integers(-(10**12), 10**12, n)], dtype=object)
    raise AssertionError(kind)


KINDS = ["int64", "int32", "uint64", "float32", "float64", "text", "object ints"]


@settings(max_examples=80, deadline=None)
@given(
    kinds=st.lists(st.sampled_from(KINDS), min_size=2, max_size=5),
    n=st.integers(0, 40),
    seed=st.integers(0, 2**31),
)
def test_the_kernel_writes_what_pandas_writes(kinds, n, seed):
    rng = np.random.default_rng(seed)
    table = {f"c{j},{kind}" if j == 0 else f"c{j}": column(kind, n, rng) for j, kind in enumerate(kinds)}
    assert _csv_out._kernel_text(table, ",") is not None  # every one of these kinds is the kernel's
    assert written(table) == pandas_bytes(table)


def test_arrow_and_pandas_columns_are_written_as_their_values():
    """Arrow arrays (an Arrow table, chunked and sliced columns, nulls) and pandas Arrow strings
    give the text of the same values held in numpy."""
    text = np.array(["a", None, "b,c", "", 'd"'] * 3, dtype=object)
    score = np.array([0.5, np.nan, 1e-7, 2.0, -1.0] * 3, dtype=np.float32)
    rank = np.arange(15)
    want = pandas_bytes({"user": text, "rank": rank, "score": score})
    chunked = pa.chunked_array([pa.array(text[:4].tolist()), pa.array(text[4:].tolist())])
    sliced = pa.array(["pad", *text.tolist()]).slice(1)
    for user in (chunked, sliced, pd.array(text, dtype="str"), pd.Series(text, dtype="string[pyarrow]")):
        assert written({"user": user, "rank": rank, "score": score}) == want
    assert written(pa.table({"user": chunked, "rank": rank, "score": score})) == want
    labels = pd.Categorical.from_codes(rank % 3, categories=["model", "popular", "trending, new"])
    table = {"user": text, "path": labels}
    assert _csv_out._kernel_text(table, ",") is not None and written(table) == pandas_bytes(table)
    assert written(pa.table({"user": chunked, "path": pa.array(labels)})) == pandas_bytes(table)
    assert written({"user": text, "rank": pa.array(rank), "score": pa.array(score)}) == want


@pytest.mark.parametrize(
    "odd",
    [
        np.array([True, False, True]),
        np.array(["2024-01-01", "NaT", "2024-01-03"], dtype="datetime64[s]"),
        np.array([0.123456789, None, 3.0], dtype=object),  # pandas writes str(x), not "%.6g"
        np.array([1, None, 3], dtype=object),
        np.array([1, "a", 2.5], dtype=object),
        np.array([b"x", b"y", b"z"], dtype=object),
        np.array([1.5, 2.5, 3.5], dtype=np.float16),
    ],
    ids=["bool", "datetime", "object floats", "object ints with None", "mixed", "bytes", "float16"],
)
def test_other_kinds_are_written_by_pandas(odd):
    table = {"user": np.array(["a", "b", "c"], dtype=object), "value": odd}
    assert _csv_out._kernel_text(table, ",") is None
    assert written(table) == pandas_bytes(table)
    assert written({"value": np.array(["", "x", ""], dtype=object)}) == b'value\n""\nx\n""\n'  # one column


def test_a_table_is_written_block_by_block_and_each_block_by_its_writer(monkeypatch):
    """Blocks of rows bound the text held at once; a block the kernel cannot write (an object
    column that turns mixed further down) is written by pandas, and the file is the same."""
    monkeypatch.setattr(_csv_out, "BLOCK_ROWS", 4)
    user = np.array(["a", "b,c", None, "d", "e", 7, "f", "g", "h", "i"], dtype=object)
    score = np.linspace(0, 1, 10)
    table = {"user": user, "score": score}
    assert written(table) == pandas_bytes(table)
    as_arrow = pa.table({"user": pa.array([None if v is None else str(v) for v in user]), "score": score})
    assert written(as_arrow) == pandas_bytes(as_arrow.to_pandas())
    assert written({"user": user[:0], "score": score[:0]}) == b"user,score\n"
    with pytest.raises(ValueError, match="differ in length"):
        written({"user": user, "score": score[:3]})


def test_the_text_does_not_depend_on_the_thread_count():
    rng = np.random.default_rng(3)
    n = 3 * 2**14 + 5  # several of the kernel's chunks, the last one short
    table = {"user": column("text", n, rng), "rank": column("int64", n, rng), "score": column("float32", n, rng)}
    columns = [_csv_out._kernel_column(v) for v in table.values()]
    texts = {b"".join(_core.csv_text(columns, n, ",", 6, ',"\n', t)) for t in (1, 2, 3, 8)}
    assert len(texts) == 1 and written(table) == b"user,rank,score\n" + texts.pop() == pandas_bytes(table)


def test_the_kernel_refuses_columns_it_cannot_read():
    ints = (0, np.arange(3, dtype=np.int64), None)
    text = (4, np.array([0, 1, 2, 3], dtype=np.int64), np.frombuffer(b"abc", np.uint8))
    _core.csv_text([ints, text], 3, ",", 6, ',"\n', 1)
    cases = [
        ([(0, np.arange(2, dtype=np.int64), None)], "must have 3 entries"),
        ([(2, np.arange(3, dtype=np.float64), None)], "must be float32"),
        ([(7, np.arange(3, dtype=np.int64), None)], "kind must be"),
        ([(4, np.array([0, 1, 2, 4]), np.frombuffer(b"abc", np.uint8))], "outside the data"),
        ([(4, np.array([0, 2, 1, 3]), np.frombuffer(b"abc", np.uint8))], "must not decrease"),
        ([(4, np.array([-1, 1, 2, 3]), np.frombuffer(b"abc", np.uint8))], "outside the data"),
        ([(4, np.array([0, 1, 2, 3]), np.zeros(3, np.int8))], "data must be uint8"),
    ]
    for columns, message in cases:
        with pytest.raises((ValueError, TypeError), match=message):
            _core.csv_text(columns, 3, ",", 6, ',"\n', 1)
    with pytest.raises(ValueError, match="digits"):
        _core.csv_text([ints], 3, ",", 0, ',"\n', 1)
    with pytest.raises(ValueError, match="sep must be one character"):
        _core.csv_text([ints], 3, "::", 6, ',"\n', 1)


def test_save_csv_writes_plain_and_gzip_files_atomically(tmp_path):
    table = {"user": np.array(["a", "b"], dtype=object), "score": np.array([0.25, 1 / 3])}
    _csv_out.save_csv(table, str(tmp_path / "r.csv"))
    _csv_out.save_csv(table, str(tmp_path / "r.csv.gz"))
    assert (tmp_path / "r.csv").read_bytes() == gzip.decompress((tmp_path / "r.csv.gz").read_bytes())
    assert (tmp_path / "r.csv").read_bytes() == b"user,score\na,0.25\nb,0.333333\n"
    (tmp_path / "old.csv").write_text("previous\n")
    with pytest.raises(ValueError):
        _csv_out.save_csv({"user": ["a", "b"], "score": [1.0]}, str(tmp_path / "old.csv"))
    assert (tmp_path / "old.csv").read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.csv", "r.csv", "r.csv.gz"]


LABEL_KINDS = ["text", "object ints", "float64", "int64", "empty"]


@settings(max_examples=80, deadline=None)
@given(
    label_kind=st.sampled_from(LABEL_KINDS),
    n=st.integers(0, 60),
    n_labels=st.integers(1, 12),
    missing=st.sampled_from([None, ""]),
    block_rows=st.sampled_from([4, 1 << 18]),
    seed=st.integers(0, 2**31),
)
def test_coded_columns_are_written_as_their_labels(label_kind, n, n_labels, missing, block_rows, seed):
    """A Coded column (codes into labels, -1 missing) is the file its spelled-out labels make:
    text labels through the kernel's coded kind, any other labels spelled out first; blocks of
    rows slice the codes and share the labels' text."""
    rng = np.random.default_rng(seed)
    labels = np.zeros(0, dtype=object) if label_kind == "empty" else column(label_kind, n_labels, rng)
    codes = rng.integers(-1, len(labels), n) if len(labels) else np.full(n, -1)
    coded = _csv_out.Coded(codes, labels, missing=missing)
    spelled = np.asarray(coded)
    assert spelled.dtype == object and spelled.shape == (n,)
    expected = np.array([labels[c] if c >= 0 else missing for c in codes], dtype=object)
    assert all((a is b) or a == b or (a != a and b != b) for a, b in zip(spelled.tolist(), expected.tolist()))
    table = {"id": coded, "rank": np.arange(n)}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_csv_out, "BLOCK_ROWS", block_rows)
        assert written(table) == pandas_bytes({"id": expected, "rank": np.arange(n)})
    if label_kind == "text":
        assert _csv_out._kernel_column(coded)[0] == _csv_out._CODED
    assert len(coded[2:5]) == len(codes[2:5]) and coded.size == n
    for i in range(min(n, 5)):  # one row: its label, as the spelled-out column holds it
        assert coded[i] is spelled[i] or coded[i] == spelled[i] or spelled[i] != spelled[i]


@settings(max_examples=60, deadline=None)
@given(
    label_kind=st.sampled_from(LABEL_KINDS),
    n=st.integers(0, 40),
    n_labels=st.integers(1, 8),
    missing=st.sampled_from([None, ""]),
    seed=st.integers(0, 2**31),
)
def test_frame_of_is_the_spelled_out_frame(label_kind, n, n_labels, missing, seed):
    """frame_of (text labels taken in Arrow) gives pandas' frame of the spelled-out table: the
    same dtypes and values, and the same Parquet file byte for byte."""
    rng = np.random.default_rng(seed)
    labels = np.zeros(0, dtype=object) if label_kind == "empty" else column(label_kind, n_labels, rng)
    codes = rng.integers(-1, len(labels), n) if len(labels) else np.full(n, -1)
    table = {"id": _csv_out.Coded(codes, labels, missing=missing), "rank": np.arange(n)}
    expected = pd.DataFrame(_csv_out.spelled_out(table))
    got = _csv_out.frame_of(table)
    pd.testing.assert_frame_equal(got, expected)
    try:
        files = [io.BytesIO(), io.BytesIO()]
        expected.to_parquet(files[0], index=False)
    except (ValueError, TypeError, ImportError) as e:  # what pandas cannot write, neither can we
        with pytest.raises(type(e)):
            got.to_parquet(io.BytesIO(), index=False)
    else:
        got.to_parquet(files[1], index=False)
        assert files[0].getvalue() == files[1].getvalue()


def test_frame_of_takes_text_labels_in_arrow():
    """Where pandas keeps text in Arrow, a text column is taken there (no object per row)."""
    labels = np.array(["Ærø", "b", None], dtype=object)
    coded = _csv_out.Coded(np.array([2, 0, -1, 1, 0]), labels)
    plain = pd.DataFrame({"x": np.asarray(coded)})["x"]
    taken = _csv_out._taken(coded)
    if not (isinstance(plain.dtype, pd.StringDtype) and plain.dtype.storage == "pyarrow"):
        assert taken is None  # an older pandas: object columns, spelled out
        return
    assert taken is not None and taken.dtype == plain.dtype
    assert pd.Series(taken).equals(plain)


def test_the_kernel_refuses_codes_outside_the_labels():
    labels = (np.array([0, 1, 3], dtype=np.int64), np.frombuffer(b"abc", np.uint8))
    ints = (0, np.arange(3, dtype=np.int64), None)
    ok = (5, np.array([1, -1, 0], dtype=np.int64), labels)
    assert b"".join(_core.csv_text([ints, ok], 3, ",", 6, ',"\n', 1)) == b"0,bc\n1,\n2,a\n"
    for codes, message in ((np.array([2, 0, 0]), r"codes must be in \[-1, 2\)"), (np.array([-2, 0, 0]), "codes")):
        with pytest.raises(ValueError, match=message):
            _core.csv_text([ints, (5, codes, labels)], 3, ",", 6, ',"\n', 1)
    with pytest.raises(ValueError, match="outside the data"):
        bad = (np.array([0, 1, 9], dtype=np.int64), np.frombuffer(b"abc", np.uint8))
        _core.csv_text([ints, (5, np.zeros(3, dtype=np.int64), bad)], 3, ",", 6, ',"\n', 1)
    with pytest.raises(ValueError, match="labels must be an"):
        _core.csv_text([ints, (5, np.zeros(3, dtype=np.int64), np.zeros(3))], 3, ",", 6, ',"\n', 1)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1, max_size=30))
def test_exact_floats_read_back_to_the_same_values(values):
    """exact=True (customer tables: money) writes the shortest text that reads back to each
    float, as pandas and the csv module write repr; six significant digits lost the cents of
    25920.37."""
    pytest.importorskip("pandas")
    table = {"customer": np.array([f"c{i}" for i in range(len(values))], dtype=object), "v": np.array(values)}
    stream = io.BytesIO()
    _csv_out.write_csv(table, stream, exact=True)
    back = [float(line.split(",")[1]) for line in stream.getvalue().decode().splitlines()[1:]]
    np.testing.assert_array_equal(back, np.array(values))
    rounded = io.BytesIO()
    _csv_out.write_csv({"customer": np.array(["a", "b"], dtype=object), "v": np.array([25920.37] * 2)}, rounded)
    assert b"25920.4\n" in rounded.getvalue()  # scores and lists: six digits, as always


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_tables_are_written_without_pandas(tmp_path, monkeypatch, suffix):
    """A plain `pip install recforge` has no pandas: its CSV writer closed a text stream it had
    detached, so every table it wrote failed ("underlying buffer has been detached"), `recforge
    demo` of the README's quickstart included, after all its work."""
    from recforge.cli import _common

    monkeypatch.setattr(_common, "pd", None)
    table = {"customer": np.array(["a", "b"], dtype=object), "v": np.array([25920.37, 0.1])}
    path = tmp_path / f"t{suffix}"
    _common.write_table(table, str(path), exact=True)
    text = (gzip.decompress(path.read_bytes()) if suffix.endswith(".gz") else path.read_bytes()).decode()
    assert text == "customer,v\na,25920.37\nb,0.1\n"
    _common.write_table(table, str(path))
    text = (gzip.decompress(path.read_bytes()) if suffix.endswith(".gz") else path.read_bytes()).decode()
    assert text == "customer,v\na,25920.4\nb,0.1\n"

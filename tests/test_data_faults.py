"""Silent data corruption and loss that fault testing found (issue 21, items 6-11): shifted CSV
columns, ids read as missing, interrupted writes, values that do not read back, CSC inputs that
skipped the checks, crafted model files. Both CSV backends must agree exactly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp
from backends import without_pandas
from hypothesis import given, settings
from hypothesis import strategies as st
from recforge import _tables


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# -- 6. columns never shift -----------------------------------------------------------------------


def test_quoted_separator_inside_a_semicolon_file_is_read(tmp_path, backend):
    path = write(tmp_path, "e.csv", 'user;item;note\nC1;SKU1;"a; b"\nC2;SKU2;plain\n')
    inter = rf.Interactions.from_csv(path, "user", "item", sep=";")
    assert sorted(inter.user_ids.tolist()) == ["C1", "C2"] and sorted(inter.item_ids.tolist()) == ["SKU1", "SKU2"]


@pytest.mark.parametrize("sep", ["whitespace", r"\s+"])
def test_columns_split_by_runs_of_blanks_are_read(tmp_path, backend, sep):
    """CDNOW_master.txt's layout: indented lines, columns split by several spaces (or tabs),
    trailing blanks, Windows line ends. No one-character delimiter reads it."""
    text = " user   item\tweight \r\n  C1  SKU1   2\r\n C2\t\tSKU2 1  \r\n\r\n   C1 SKU3 4\r\n"
    inter = rf.Interactions.from_csv(write(tmp_path, "e.txt", text), "user", "item", "weight", sep=sep)
    assert inter.user_ids.tolist() == ["C1", "C2"] and inter.item_ids.tolist() == ["SKU1", "SKU2", "SKU3"]
    np.testing.assert_array_equal(inter.matrix.toarray(), [[2, 0, 4], [0, 1, 0]])
    headerless = rf.Interactions.from_csv(
        write(tmp_path, "h.txt", "  C1  SKU1   2\n C2 SKU2 1\n"), "user", "item", sep=sep, names=["user", "item", "w"]
    )
    assert headerless.user_ids.tolist() == ["C1", "C2"]


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path, backend, suffix):
    """Spreadsheets save "CSV UTF-8" with a byte-order mark; without pandas it glued itself to
    the first column's name ("has no column 'user'")."""
    import gzip

    raw = "\ufeffuser,item\nC1,SKU1\nC2,SKU2\n".encode()
    path = tmp_path / f"e.csv{suffix}"
    path.write_bytes(gzip.compress(raw) if suffix else raw)
    inter = rf.Interactions.from_csv(str(path), "user", "item")
    assert inter.user_ids.tolist() == ["C1", "C2"]


def test_a_line_with_an_extra_field_is_an_error_naming_it(tmp_path, backend):
    path = write(tmp_path, "e.csv", "user,item,description\nC1,SKU1,mug\nC2,SKU2,mug, large\nC3,SKU3,tea\n")
    with pytest.raises(ValueError, match="line 3|fields"):
        rf.Interactions.from_csv(path, "user", "item")


@pytest.mark.parametrize("columns", [None, ["user", "description"]])
def test_an_extra_field_on_the_first_line_is_an_error_too(tmp_path, backend, columns):
    """pandas drops the extra fields of the line right after the header with only a warning
    (a line further down is its error): the description "mug" would lose ", large" unseen."""
    path = write(tmp_path, "e.csv", "user,item,description\nC1,SKU1,mug, large\nC2,SKU2,tea\n")
    with pytest.raises(ValueError, match="line 2|first line after the header|fields"):
        _tables.read_table(path, columns, text=("user", "item", "description"))


@pytest.mark.parametrize(
    "sep, text",
    [
        ("whitespace", 'user item description\n C1  SKU1 "hot  water\tbottle"\n"C 2" SKU2 mug \n'),
        ("::", 'user::item::description\nC1::SKU1::"hot :: water"\n"C 2"::SKU2::mug\n'),
        ("::", "user::item::description\nC1::SKU1::hot\twater\nC 2::SKU2::mug\n"),
        ("||", 'user||item||description\nC1||SKU1||"a ""quoted"" || word"\nC 2||SKU2||mug\x1f\t\n'),
    ],
)
def test_a_field_keeps_its_blanks_tabs_and_quoted_delimiters(tmp_path, backend, sep, text):
    """Files split by runs of blanks or by several characters are rewritten with a one-character
    delimiter before parsing: a quoted field keeps the blanks and delimiters inside it, and a
    tab (or any other character) in a field is never taken for that delimiter."""
    table = _tables.read_table(write(tmp_path, "e.txt", text), text=("user", "item", "description"), sep=sep)
    got = list(zip(table["user"], table["item"], table["description"]))
    want = {
        "whitespace": [("C1", "SKU1", "hot  water\tbottle"), ("C 2", "SKU2", "mug")],
        "::": [("C1", "SKU1", "hot :: water" if '"' in text else "hot\twater"), ("C 2", "SKU2", "mug")],
        "||": [("C1", "SKU1", 'a "quoted" || word'), ("C 2", "SKU2", "mug\x1f\t")],
    }[sep]
    assert got == want


_FIELDS = ["a", "b c", "x::y", '"q::r"', '"two\nlines :: x"', '"say ""hi"" ::"', "\t", "  ", ""]


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(
        st.tuples(
            st.lists(st.sampled_from(_FIELDS), min_size=1, max_size=4),
            st.sampled_from(["::", " ::  "]),
            st.sampled_from(["\n", "\r\n"]),
        ),
        max_size=8,
    ),
    block=st.sampled_from([1, 2, 3, 7, 1 << 20]),
    sep=st.sampled_from(["::", "whitespace"]),
)
def test_the_streamed_rewrite_equals_the_whole_one(lines, block, sep):
    """Out of core, a file split by several characters is rewritten block by block, a quoted
    field possibly spanning blocks: whatever the block size, read whole, by lines or by small
    reads, the text equals the rewrite of the whole file in memory."""
    import io

    text = "".join(joiner.join(fields) + end for fields, joiner, end in lines)
    want, delimiter = _tables.single_delimited(text, sep, quoted=True)

    def stream():
        s = _tables.SingleDelimitedText(io.StringIO(text), sep, delimiter)
        s.BLOCK_CHARS = block
        return s

    whole, by_line, small = stream(), stream(), stream()
    assert whole.read() == want
    assert "".join(iter(by_line.readline, "")) == want
    assert "".join(iter(lambda: small.read(5), "")) == want


def test_a_short_line_is_dropped_and_counted(tmp_path, backend):
    path = write(tmp_path, "e.csv", "user,item,weight\nC1,SKU1,1\nC2,SKU2\n")
    inter = rf.Interactions.from_csv(path, "user", "item", "weight")
    assert inter.report["dropped"]["bad_weight"] == 1 and inter.nnz == 1


def test_a_repeated_header_is_an_error_naming_the_line(tmp_path, backend):
    path = write(tmp_path, "e.csv", "user,item\nC1,SKU1\nuser,item\nC2,SKU2\n")
    with pytest.raises(ValueError, match="line 3 repeats the header"):
        rf.Interactions.from_csv(path, "user", "item")


# -- 7. ids are text: both backends keep "NA"-like ids --------------------------------------------

NA_LIKE = ["NA", "None", "null", "nan", "n/a", "#N/A", "NULL", "<NA>"]


def test_na_like_ids_are_kept_by_both_backends(tmp_path, backend):
    lines = "".join(f"{u},SKU{i},{i + 1}\n" for i, u in enumerate(NA_LIKE)) + ",SKU9,1\n"
    path = write(tmp_path, "e.csv", "user,item,weight\n" + lines)
    inter = rf.Interactions.from_csv(path, "user", "item", "weight")
    assert inter.user_ids.tolist() == NA_LIKE  # only the empty id is missing
    assert inter.report["dropped"]["missing_user"] == 1
    np.testing.assert_array_equal(inter.matrix.sum(axis=1).A1, np.arange(1, 9))


def test_backends_agree_exactly(tmp_path, monkeypatch):
    path = write(tmp_path, "e.csv", 'user;item;w\nNA;"x;y";2\nnull;SKU;nan\n;SKU;1\nC;SKU;inf\n')
    with_pandas = rf.Interactions.from_csv(path, "user", "item", "w", sep=";")
    without_pandas(monkeypatch)
    plain = rf.Interactions.from_csv(path, "user", "item", "w", sep=";")
    assert with_pandas.user_ids.tolist() == plain.user_ids.tolist()
    assert with_pandas.item_ids.tolist() == plain.item_ids.tolist()
    assert with_pandas.report == plain.report
    assert (with_pandas.matrix != plain.matrix).nnz == 0


def test_a_single_column_that_looks_semicolon_separated_gets_a_hint(tmp_path, backend):
    path = write(tmp_path, "e.csv", "user;item\nC1;SKU1\n")
    with pytest.raises(ValueError, match="delimiter"):
        rf.Interactions.from_csv(path, "user", "item")


# -- 8. interrupted writes keep the previous result -----------------------------------------------


def test_a_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    X = sp.random(20, 15, density=0.3, format="csr", random_state=0)
    model = rf.ItemKNN(neighbours=5).fit(X)
    path = tmp_path / "m.npz"
    model.save(path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        rf.ItemKNN(neighbours=3).fit(X).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temporary file left behind


KILLED_WRITER = textwrap.dedent("""
    import sys, numpy as np, scipy.sparse as sp, recforge as rf
    X = sp.random(3000, 2000, density=0.05, format="csr", random_state=0)
    model = rf.ItemKNN(neighbours=200).fit(X)
    real = np.savez
    def slow(f, **entries):      # the kill lands while the file is being written
        print("writing", flush=True)
        real(f, **entries)
        import time; time.sleep(30)
    np.savez = slow
    model.save(sys.argv[1]) if sys.argv[2] == "model" else rf.Interactions.from_arrays(
        X.nonzero()[0], X.nonzero()[1]).save(sys.argv[1])
""")


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
@pytest.mark.parametrize("what", ["model", "interactions"])
def test_a_killed_save_keeps_the_previous_file(tmp_path, what):
    path = tmp_path / "out.npz"
    path.write_bytes(b"previous result")
    script = tmp_path / "writer.py"
    script.write_text(KILLED_WRITER)
    proc = subprocess.Popen([sys.executable, str(script), str(path), what], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
        time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert path.read_bytes() == b"previous result"


# -- 9. values round-trip exactly or are refused ---------------------------------------------------


def test_a_weight_beyond_float32_is_refused():
    with pytest.raises(ValueError, match="float32"):
        rf.Interactions.from_arrays(["a"], ["x"], [1e39])
    with pytest.raises(ValueError, match="customer 'a', product 'x' is beyond"):  # fine alone, too big merged
        rf.Interactions.from_arrays(["a", "a"], ["x", "x"], [3e38, 3e38])
    # ids held as Python objects (a pandas column, the out-of-core reader's): the message, not
    # AttributeError: 'str' object has no attribute 'tolist'
    ids = np.array(["a", "a"], dtype=object)
    with pytest.raises(ValueError, match="customer 'a', product 'a' is beyond"):
        rf.Interactions.from_arrays(ids, ids, [3e38, 3e38])


def test_event_weights_must_be_finite_numbers_and_columns_one_dimensional():
    """A NaN event weight dropped every event of its type as "unknown" without saying why."""
    events = {"user": ["a", "b"], "item": ["x", "y"], "event": ["view", "buy"]}
    with pytest.raises(ValueError, match=r"event_weights\['view'\] must be a finite number, got nan"):
        rf.Interactions.from_pandas(events, event_col="event", event_weights={"view": float("nan"), "buy": 5})
    with pytest.raises(TypeError, match=r"event_weights\['buy'\] must be a number, got '5'"):
        rf.Interactions.from_pandas(events, event_col="event", event_weights={"view": 1, "buy": "5"})
    ok = rf.Interactions.from_pandas(events, event_col="event", event_weights={"view": np.float32(1), "buy": 5})
    assert ok.matrix.toarray().tolist() == [[1, 0], [0, 5]]
    with pytest.raises(ValueError, match=r"user must be 1-D \(one value per event\), got shape \(1, 2\)"):
        rf.Interactions.from_arrays([["a", "b"]], ["x", "y"])
    assert rf.Interactions.from_arrays("a", "x").nnz == 1  # one event given as scalars


@pytest.mark.parametrize("users", [["x\x00", "x", "y"], [2**63, 1, -5], [2**70, 2**64 + 1, 3], ["ä\x00\x00", "ä", ""]])
def test_ids_round_trip_exactly(tmp_path, users):
    users = [u for u in users if u != ""]
    inter = rf.Interactions.from_arrays(np.array(users, dtype=object), ["i"] * len(users))
    assert inter.n_users == len(users)
    inter.save(tmp_path / "i.npz")
    back = rf.Interactions.load(tmp_path / "i.npz")
    assert back.user_ids.tolist() == inter.user_ids.tolist()
    assert [type(u) for u in back.user_ids.tolist()] == [type(u) for u in inter.user_ids.tolist()]


# -- 10. CSC input gets the same checks as CSR ----------------------------------------------------


def raw_csc(data, indices, indptr, shape):
    X = sp.csc_matrix(shape)
    X.data, X.indices, X.indptr = np.asarray(data), np.asarray(indices), np.asarray(indptr)
    return X


@pytest.mark.parametrize("fn", [lambda X: rf.similarity(X, k=2), rf.as_csr, lambda X: rf.ItemKNN().fit(X)])
def test_csc_with_indptr_short_of_nnz_is_rejected(fn):
    X = raw_csc([1.0, 2.0, 3.0], [0, 1, 2], [0, 1, 2], (3, 2))  # indptr ends at 2, three entries
    with pytest.raises(ValueError, match="indptr"):
        fn(X)


@pytest.mark.parametrize("fn", [lambda X: rf.similarity(X, k=2), rf.as_csr])
def test_csc_with_float_indices_is_rejected(fn):
    X = raw_csc([1.0, 2.0], np.array([0.0, 2.7]), [0, 1, 2], (3, 2))
    with pytest.raises(TypeError, match="integers"):
        fn(X)


# -- 11. crafted model state ------------------------------------------------------------------------


def rewrite(path, **changes):
    """Rewrite entries of an npz file (value None deletes)."""
    with np.load(path, allow_pickle=False) as npz:
        entries = {k: npz[k] for k in npz.files}
    for k, v in changes.items():
        if v is None:
            entries.pop(k, None)
        else:
            entries[k] = np.asarray(v)
    with open(path, "wb") as f:
        np.savez(f, **entries)


@pytest.fixture
def saved(tmp_path):
    R = sp.random(40, 30, density=0.3, format="csr", random_state=2)
    R.data = np.ceil(R.data * 5)
    path = tmp_path / "m.npz"
    rf.KNNRegressor(neighbours=5).fit(R).save(path)
    return path


@pytest.mark.parametrize("version", [-7, 1.9, 0, "1"])
def test_invalid_format_versions_are_refused(saved, version):
    rewrite(saved, __format_version__=version)
    with pytest.raises(ValueError, match="format version|not a valid|invalid"):
        rf.load(saved)


def test_a_newer_recforge_file_is_refused(saved):
    rewrite(saved, __recforge_version__="999.0.0")
    with pytest.raises(ValueError, match="upgrade recforge"):
        rf.load(saved)


def test_unknown_parameters_and_a_swapped_class_name_the_problem(saved):
    with np.load(saved) as npz:
        params = json.loads(str(npz["__params__"]))
    rewrite(saved, __params__=json.dumps({**params, "turbo": True}))
    with pytest.raises(ValueError, match="'turbo'"):
        rf.load(saved)
    rewrite(saved, __params__=json.dumps(params), __class__="ALS")
    with pytest.raises(ValueError, match="ALS"):
        rf.load(saved)


def test_a_similarity_row_with_a_repeated_column_is_refused(saved):
    with np.load(saved) as npz:
        indices = npz["state.similarity_.indices"].copy()
        indptr = npz["state.similarity_.indptr"]
    row = int(np.flatnonzero(np.diff(indptr) >= 2)[0])
    indices[indptr[row] + 1] = indices[indptr[row]]
    rewrite(saved, **{"state.similarity_.indices": indices})
    with pytest.raises(ValueError, match="repeats a column"):
        rf.load(saved)


@pytest.mark.parametrize("n_threads", [100_000, 2**40])
def test_a_saved_huge_thread_count_is_capped_on_use(tmp_path, n_threads):
    X = sp.random(30, 20, density=0.3, format="csr", random_state=0)
    for cls in rf.models.MODELS:
        path = tmp_path / f"{cls.__name__}.npz"
        cls().fit(X).save(path)
        with np.load(path) as npz:
            params = json.loads(str(npz["__params__"]))
        rewrite(path, __params__=json.dumps({**params, "n_threads": n_threads}))
        model = rf.load(path)
        assert model.recommend([0, 1], X[[0, 1]], k=3)[0].shape == (2, 3)


def test_a_zip_that_is_not_a_model_is_refused(tmp_path):
    path = tmp_path / "m.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(ValueError):
        rf.load(path)


@pytest.mark.parametrize("compression", ["", ".gz"])
def test_the_three_csv_readers_agree(tmp_path, monkeypatch, compression):
    """read_table has three readers: Arrow's (fast, with the io extra), pandas' (where Arrow
    balks) and the csv module's (no extra). On a valid but awkward file (a byte-order mark,
    CRLF, quoted delimiters and newlines, ids that look missing, empty fields, blank lines,
    numbers with spaces) all three give the same columns."""
    pytest.importorskip("pyarrow")
    import gzip

    from recforge import _tables

    text = (
        "\ufeffuser,item,qty,when\r\n"
        'NA,"a,b",1,2024-01-01\r\n'
        'null,"line\nbreak", 2 ,2024-01-02\r\n'
        "\r\n"
        ",x,,2024-01-03\r\n"
        "None,y,1e3,\r\n"
        "007,z,-0.5,2024-01-05\r\n"
    )
    path = tmp_path / f"e.csv{compression}"
    if compression:
        with gzip.open(path, "wb") as f:
            f.write(text.encode("utf-8"))
    else:
        path.write_bytes(text.encode("utf-8"))
    args = (path, ["user", "item", "qty", "when"])
    kwargs = dict(text=["user", "item", "when"])
    arrow = _tables.read_table(*args, **kwargs)
    assert _tables._read_arrow(path, args[1], None, kwargs["text"], ",", "utf-8", True, "e") is not None
    monkeypatch.setattr(_tables, "_read_arrow", lambda *a: None)
    pandas = _tables.read_table(*args, **kwargs)
    monkeypatch.setattr(_tables, "pd", None)
    module = _tables.read_table(*args, **kwargs)
    for got in (arrow, pandas):
        assert got.keys() == module.keys()
        for c in module:
            assert got[c].dtype == module[c].dtype, c
            np.testing.assert_array_equal(got[c], module[c])
    assert module["user"].tolist() == ["NA", "null", None, "None", "007"]
    assert module["item"].tolist() == ["a,b", "line\nbreak", "x", "y", "z"]
    np.testing.assert_array_equal(module["qty"], [1.0, 2.0, np.nan, 1000.0, -0.5])


def test_decimal_commas_are_read_with_decimal_comma(tmp_path, backend):
    """A European spreadsheet's export: semicolons between fields, commas in numbers. The
    weights were refused ("must hold numbers: line 2 has '2,5'"); decimal="," reads them, and a
    field that holds a point too is refused by its line (1.234,5 has a thousands separator;
    1.234 would read as a thousandth of what it means)."""
    text = "user;item;weight\nC1;SKU1;2,5\nC2;SKU2;1\nC1;SKU3;-0,25\nC3;SKU1;\n"
    with pytest.raises(ValueError, match=r"line 2 has '2,5' \(a decimal comma\? give ',' as the decimal mark"):
        rf.Interactions.from_csv(write(tmp_path, "e.csv", text), "user", "item", "weight", sep=";")
    inter = rf.Interactions.from_csv(write(tmp_path, "e.csv", text), "user", "item", "weight", sep=";", decimal=",")
    np.testing.assert_array_equal(inter.matrix.toarray(), [[2.5, 0, -0.25], [0, 1, 0]])
    assert inter.report["dropped"]["bad_weight"] == 1  # the empty weight, as with points
    bad = write(tmp_path, "b.csv", "user;item;weight\nC1;SKU1;2,5\nC2;SKU2;1.234,5\n")
    with pytest.raises(ValueError, match=r"decimal commas: line 3 has '1.234,5' \(a point"):
        rf.Interactions.from_csv(bad, "user", "item", "weight", sep=";", decimal=",")
    with pytest.raises(ValueError, match="decimal ',' is also the delimiter"):
        rf.Interactions.from_csv(bad, "user", "item", "weight", decimal=",")
    with pytest.raises(ValueError, match="decimal must be"):
        rf.Interactions.from_csv(bad, "user", "item", "weight", sep=";", decimal="'")


def test_a_bad_number_of_a_file_without_header_is_named_by_its_own_line(tmp_path, backend):
    """With names= (no header line) the lines were counted as if a header came first: the
    first line's 'x' was reported on line 2."""
    headerless = write(tmp_path, "n.csv", "C1,SKU1,x\nC2,SKU2,1\n")
    with pytest.raises(ValueError, match="must hold numbers: line 1 has 'x'$"):  # no decimal comma to suggest
        rf.Interactions.from_csv(headerless, "u", "i", "w", names=["u", "i", "w"])
    commas = write(tmp_path, "c.csv", "C1;SKU1;2,5\nC2;SKU2;1.5\n")
    with pytest.raises(ValueError, match="decimal commas: line 2 has '1.5'"):
        rf.Interactions.from_csv(commas, "u", "i", "w", names=["u", "i", "w"], sep=";", decimal=",")


def test_names_for_a_file_with_a_header_line_are_refused(tmp_path, backend):
    """names= is for a file without a header line: given for one with a header, the header was
    read as data, and a customer "user" bought a product "item" (a number column failed on
    line 1's name instead, which did not say why)."""
    path = write(tmp_path, "h.csv", "user,item\nC1,SKU1\nC2,SKU2\n")
    with pytest.raises(ValueError, match=r"names: the first line of .*h.csv' names its columns \(user, item\)"):
        rf.Interactions.from_csv(path, "user", "item", names=["user", "item"])
    with pytest.raises(ValueError, match="names its columns"):  # other names, one of them the file's own
        rf.Interactions.from_csv(path, "customer", "item", names=["customer", "item"])
    indented = write(tmp_path, "w.txt", " user item\n C1 SKU1\n")
    with pytest.raises(ValueError, match="names its columns"):
        rf.Interactions.from_csv(indented, "user", "item", sep="whitespace", names=["user", "item"])
    headerless = write(tmp_path, "n.csv", "C1,SKU1\nC2,SKU2\n")
    inter = rf.Interactions.from_csv(headerless, "user", "item", names=["user", "item"])
    assert inter.user_ids.tolist() == ["C1", "C2"]


def test_a_column_named_in_another_case_is_pointed_at(tmp_path, backend):
    """Online Retail's header says CustomerID: --user-col customerid was refused with the whole
    header listed and nothing more; the error now names the column it differs from by case."""
    path = write(tmp_path, "e.csv", "CustomerID,StockCode\nC1,SKU1\n")
    with pytest.raises(ValueError, match=r"no column 'customerid' .*did you mean 'CustomerID' for 'customerid'\?"):
        rf.Interactions.from_csv(path, "customerid", "StockCode")
    with pytest.raises(ValueError, match=r"no column 'buyer' \(columns: \['CustomerID', 'StockCode'\]\)$"):
        rf.Interactions.from_csv(path, "buyer", "StockCode")


def write_as(path, text: str):
    """``text`` in a file compressed or archived as its suffix says."""
    import gzip

    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    elif path.suffix == ".zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("e.csv", text)
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize("backend", ["pandas", "numpy"])
@pytest.mark.parametrize(
    "sep, suffix", [(",", ".csv"), (",", ".csv.gz"), ("::", ".dat"), ("whitespace", ".txt"), (",", ".zip")]
)
def test_a_column_named_twice_in_the_header_is_an_error(tmp_path, monkeypatch, backend, sep, suffix):
    """An export joining two tables ("user,item,user"): every reader took the first "user"
    without a word. A repeat of a column not asked for is left alone."""
    delimiter = " " if sep == "whitespace" else sep
    text = delimiter.join(["user", "item", "user", "note", "note"]) + "\n" + delimiter.join("a x b n m".split()) + "\n"
    path = write_as(tmp_path / f"e{suffix}", text)
    if backend == "numpy":
        without_pandas(monkeypatch)
    with pytest.raises(ValueError, match=r"names column 'user' 2 times in its header \(fields 1, 3\)"):
        rf.Interactions.from_csv(path, "user", "item", sep=sep)
    if sep == "," and backend == "pandas":  # out of core too
        pytest.importorskip("pyarrow")
        model = rf.ItemKNN().fit(rf.Interactions.from_arrays(np.array(["a"]), np.array(["x"])))
        with pytest.raises(ValueError, match="names column 'user' 2 times"):
            rf.batch.recommend(model, path, tmp_path / "out", k=2)
    fine = write_as(tmp_path / f"fine{suffix}", text.replace(f"user{delimiter}note", f"who{delimiter}note", 1))
    assert rf.Interactions.from_csv(fine, "user", "item", sep=sep).user_ids.tolist() == ["a"]  # "note" twice: not asked


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv.bz2", ".csv.xz", ".zip"])
def test_a_compressed_file_cut_short_is_named(tmp_path, capsys, suffix):
    """A copy or download broken off: the decompressor's EOFError (or zipfile's BadZipFile)
    came out of every reader as a traceback at the command line."""
    import bz2
    import gzip
    import lzma

    from recforge.cli import main

    text = "user,item,time\n" + "".join(f"c{i % 97},p{i % 31},2024-01-{1 + i % 28:02d}\n" for i in range(20000))
    if suffix == ".zip":
        with zipfile.ZipFile(tmp_path / "whole.zip", "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("events.csv", text)
        whole = (tmp_path / "whole.zip").read_bytes()
    else:
        whole = {".csv.gz": gzip, ".csv.bz2": bz2, ".csv.xz": lzma}[suffix].compress(text.encode())
    path = tmp_path / f"events{suffix}"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match=r"events.* is damaged or cut short"):
        rf.Interactions.from_csv(str(path))
    for argv in (
        ["train", "--data", str(path), "--model", "popularity", "--out", str(tmp_path / "m.npz")],
        ["customers", "--data", str(path), "--out", str(tmp_path / "c.csv")],  # its hint reads the start first
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "is damaged or cut short" in err and err.count("\n") == 1, err


def test_a_folder_of_csv_files_is_read_as_one_table(tmp_path, capsys):
    """A folder was read as Parquet files: one of CSV part files (Spark's write.csv, daily
    exports) was refused, first with Arrow's "Parquet magic bytes not found in footer", then by
    name. The command line and rf.batch.recommend read it as one table; from_parquet names it."""
    pytest.importorskip("pyarrow")
    pd = pytest.importorskip("pandas")
    from recforge.cli import main

    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "_SUCCESS").write_text("")
    for part in range(2):
        (folder / f"part-{part:05d}.csv").write_text(f"user,item\nc{part},p1\nc{part + 1},p2\nc{part},p3\n")
    with pytest.raises(ValueError, match=r"is a folder of 2 CSV files \(part-00000.csv, part-00001.csv\), not of"):
        rf.Interactions.from_parquet(str(folder), "user", "item")
    model = tmp_path / "m.npz"
    assert main(["train", "--data", str(folder), "--model", "itemknn", "--out", str(model), "--quiet"]) == 0
    assert "3 users x 3 items" in capsys.readouterr().out
    in_memory, blocks = tmp_path / "lists.csv", tmp_path / "lists"
    assert main(["recommend", "--model", str(model), "--data", str(folder), "--out", str(in_memory), "--quiet"]) == 0
    assert (
        main(["recommend", "--model", str(model), "--data", str(folder), "--out", f"{blocks}/", "--blocks", "2"]) == 0
    )
    a = pd.read_csv(in_memory, dtype=str).sort_values(["user", "rank"]).reset_index(drop=True)
    b = pd.read_parquet(blocks).astype({"rank": str}).sort_values(["user", "rank"]).reset_index(drop=True)
    assert len(a) and a[["user", "item"]].equals(b[["user", "item"]])
    assert "3 customers" in capsys.readouterr().out

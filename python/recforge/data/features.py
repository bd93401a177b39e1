"""Attribute tables -> sparse feature matrices: what content-based and cold-start models read.

A :class:`FeatureEncoder` learns, from an item (or customer) table, one block of features per
column: TF-IDF of words (or of character n-grams, for text written without spaces) for text
columns, through scikit-learn's vectorizers; one-hot of the values of categorical and
multi-valued columns (``"Action|Comedy"``, category paths ``"Home > Kitchen > Mugs"``); one-hot of
quantile bins for numeric columns (with a "missing" bin). Each block is scaled to unit length
per row and multiplied by its weight, so no block dominates by its size. Everything it learned
is plain arrays and JSON (vocabularies, idf, bin edges): it is saved inside model files and
transforms new products at serving time exactly as at training time.

:func:`features` fits one on a table and aligns its rows with the ids of an
:class:`~recforge.Interactions` (ids without a table row get an empty row; table ids that are
not in the Interactions, new products, are appended after them).
"""

from __future__ import annotations

import numbers
import unicodedata

import numpy as np
import scipy.sparse as sp

from .._checks import NotFittedError, as_numbers, check_choice, check_int, check_real
from .._factorize import factorize, ids_like, lookup, missing_mask, to_numpy
from .._params import Parametrised
from .._sparse import unit_rows

ANALYZERS = ("auto", "word", "char")
KINDS = ("text", "categorical", "numeric")
# Writing systems without spaces between words: their text gets character n-grams under "auto".
_UNSPACED = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "THAI", "LAO", "KHMER", "MYANMAR", "TIBETAN")


def _columns_arg(value, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    try:
        out = list(value)
    except TypeError:
        raise TypeError(f"{name} must be a column name or a list of column names, got {value!r}") from None
    if not all(isinstance(c, str) for c in out):
        raise TypeError(f"{name} must hold column names (strings), got {out!r}")
    return out


def _unspaced_share(texts: list[str]) -> float:
    """Share of the letters that belong to writing systems without word spaces."""
    letters = unspaced = 0
    for text in texts[:2000]:  # a sample decides; the whole column would cost a pass in Python
        for ch in text:
            if ch.isalpha():
                letters += 1
                name = unicodedata.name(ch, "")
                unspaced += name.startswith(_UNSPACED)
    return unspaced / letters if letters else 0.0


def _text_values(values, column: str) -> list[str]:
    out = []
    for v in to_numpy(values).tolist():
        if v is None or (isinstance(v, float) and v != v):
            out.append("")
        elif isinstance(v, str):
            out.append(v)
        else:
            raise TypeError(f"text column {column!r} must hold strings, got {type(v).__name__} {v!r}")
    return out


def category_tokens(value, sep: str | None, path_sep: str | None = None) -> list[str]:
    """The categories of one cell: split on ``sep``; a path "A > B" gives "A" and "A > B"."""
    if value is None or (isinstance(value, float) and value != value):
        return []
    text = value if isinstance(value, str) else str(value)
    parts = [p.strip() for p in (text.split(sep) if sep else [text])]
    out = []
    for part in parts:
        if not part:
            continue
        if path_sep:
            steps = [s.strip() for s in part.split(path_sep) if s.strip()]
            out += [f" {path_sep.strip()} ".join(steps[: n + 1]) for n in range(len(steps))]
        else:
            out.append(part)
    return list(dict.fromkeys(out))


class FeatureEncoder(Parametrised):
    """Attribute table -> sparse feature matrix, fitted once and reused for new rows.

    Parameters
    ----------
    text : str or list of str, optional
        Columns of free text (titles, descriptions, tags): TF-IDF (sublinear term frequency).
    categorical : str or list of str, optional
        Columns of categories; a cell may hold several, separated by ``sep``.
    numeric : str or list of str, optional
        Columns of numbers (price, year): one-hot of ``bins`` quantile bins, plus a "missing"
        bin for empty cells, NaN and infinite values (which no quantile can place).
    sep : str or None, default "|"
        Separator of the values in a categorical cell (``"Action|Comedy"``); None: one value.
    path_sep : str or None, default None
        Separator of a category path (``">"`` for ``"Home > Kitchen > Mugs"``): the path and
        each of its prefixes become features, so products share their parent categories.
    bins : int, default 5
        Quantile bins per numeric column (fewer when the column has fewer distinct values).
    analyzer : {"auto", "word", "char"}, default "auto"
        Words, or character n-grams (within word boundaries). "auto" picks characters for a
        column whose text is mostly in a script written without spaces (Chinese, Japanese,
        Korean, Thai, ...), words otherwise.
    ngram_range : [int, int] or None, default None
        N-gram lengths; None: [1, 1] for words, [1, 2] for characters (single characters and
        pairs: in Chinese or Japanese most words are one or two characters).
    min_df : int, default 1
        A term or category must appear in at least this many rows to become a feature.
    max_features : int or None, default None
        Keep at most this many terms per text column (the most frequent).
    weights : dict or None, default None
        Column -> weight of its block (default 1.0 each).

    Attributes
    ----------
    names_ : numpy.ndarray of str
        One name per feature: ``"title:word"``, ``"genres=Comedy"``, ``"price=[2.5, 4.95)"``,
        ``"price=missing"`` (for explanations).
    blocks_ : list of dict
        Per column: its kind, the slice of features it fills, the analyzer and n-grams.
    idf_ : numpy.ndarray of float64
        Inverse document frequency of each feature (1 outside text blocks).
    edges_ : dict
        Numeric column -> bin edges.

    Examples
    --------
    >>> import recforge as rf
    >>> table = {"sku": ["A", "B", "C"], "genres": ["Action|Comedy", "Comedy", None],
    ...          "price": [3.0, 12.0, 7.5]}
    >>> enc = rf.FeatureEncoder(categorical="genres", numeric="price", bins=2)
    >>> F = enc.fit_transform(table)
    >>> F.shape, enc.names_.tolist()[:2]
    ((3, 5), ['genres=Action', 'genres=Comedy'])
    """

    _state = ("names_", "blocks_", "idf_", "edges_")

    def __init__(
        self,
        text=None,
        categorical=None,
        numeric=None,
        *,
        sep: str | None = "|",
        path_sep: str | None = None,
        bins: int = 5,
        analyzer: str = "auto",
        ngram_range=None,
        min_df: int = 1,
        max_features: int | None = None,
        weights: dict | None = None,
    ):
        self.text = _columns_arg(text, "text")
        self.categorical = _columns_arg(categorical, "categorical")
        self.numeric = _columns_arg(numeric, "numeric")
        named = self.text + self.categorical + self.numeric
        if not named:
            raise ValueError("name at least one column: text=, categorical= or numeric=")
        repeated = sorted({c for c in named if named.count(c) > 1})
        if repeated:
            raise ValueError(f"columns {repeated} are named twice among text, categorical and numeric")
        for name, value in (("sep", sep), ("path_sep", path_sep)):
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"{name} must be a non-empty string or None, got {value!r}")
        if sep is not None and path_sep is not None and (sep in path_sep or path_sep in sep):
            # "a>b" would be split into values and never read as a path (or the other way round)
            raise ValueError(f"sep {sep!r} and path_sep {path_sep!r} must differ (neither inside the other)")
        self.sep, self.path_sep = sep, path_sep
        self.bins = check_int(bins, "bins", minimum=1)
        self.analyzer = check_choice(analyzer, "analyzer", ANALYZERS)
        if ngram_range is not None:
            if (
                not isinstance(ngram_range, (list, tuple))
                or len(ngram_range) != 2
                or not all(isinstance(n, numbers.Integral) for n in ngram_range)
                or not 1 <= ngram_range[0] <= ngram_range[1]
            ):
                raise ValueError(f"ngram_range must be [low, high] with 1 <= low <= high, got {ngram_range!r}")
            ngram_range = [int(ngram_range[0]), int(ngram_range[1])]
        self.ngram_range = ngram_range
        self.min_df = check_int(min_df, "min_df", minimum=1)
        self.max_features = None if max_features is None else check_int(max_features, "max_features", minimum=1)
        weights = {} if weights is None else weights
        if not isinstance(weights, dict):
            raise TypeError(f"weights must be a dict of column -> weight, got {type(weights).__name__}")
        unknown = sorted(set(weights) - set(named))
        if unknown:
            raise ValueError(f"weights names columns {unknown} that are not among text, categorical, numeric")
        self.weights = {c: check_real(w, f"weights[{c!r}]", minimum=0.0) for c, w in weights.items()}

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, table):
        """Learn the vocabularies, idf and bin edges from ``table`` (a DataFrame or a mapping of
        column -> values). Returns self."""
        cols = self._read(table)
        names, blocks, idf, edges = [], [], [], {}
        for column in self.text + self.categorical + self.numeric:
            values, start = cols[column], len(names)
            if column in self.text:
                block, terms, weights = self._fit_text(column, values)
            elif column in self.categorical:
                block, terms, weights = self._fit_categorical(column, values)
            else:
                block, terms, weights, edges[column] = self._fit_numeric(column, values)
            names += terms
            idf.append(weights)
            blocks.append(dict(block, column=column, start=start, stop=len(names)))
        self.names_ = np.array(names, dtype=object)
        self.blocks_ = blocks
        self.idf_ = np.concatenate(idf) if idf else np.zeros(0)
        self.edges_ = edges
        return self

    def _fit_text(self, column, values):
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = _text_values(values, column)
        analyzer = self.analyzer
        if analyzer == "auto":
            analyzer = "char" if _unspaced_share([t for t in texts if t]) > 0.3 else "word"
        ngrams = self.ngram_range or ([1, 1] if analyzer == "word" else [1, 2])
        vectorizer = TfidfVectorizer(
            analyzer="word" if analyzer == "word" else "char_wb",
            ngram_range=tuple(ngrams),
            min_df=self.min_df,
            max_features=self.max_features,
            sublinear_tf=True,
            dtype=np.float64,
        )
        try:
            vectorizer.fit(texts)
        except ValueError as e:  # scikit-learn's "empty vocabulary"
            raise ValueError(
                f"text column {column!r} gives no terms ({e}); is it empty, or is min_df ({self.min_df}) too high?"
            ) from None
        vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
        # Character n-grams pad words with spaces: an n-gram of spaces only says nothing.
        useful = [n for n, t in enumerate(vocabulary) if t.strip()]
        terms = [f"{column}:{vocabulary[n]}" for n in useful]
        return {"kind": "text", "analyzer": analyzer, "ngram_range": ngrams}, terms, vectorizer.idf_[useful]

    def _fit_categorical(self, column, values):
        rows = [category_tokens(v, self.sep, self.path_sep) for v in to_numpy(values).tolist()]
        counts: dict[str, int] = {}
        for tokens in rows:
            for t in tokens:
                counts[t] = counts.get(t, 0) + 1
        kept = sorted(t for t, n in counts.items() if n >= self.min_df)
        if not kept:
            raise ValueError(f"categorical column {column!r} has no value in at least min_df={self.min_df} rows")
        return {"kind": "categorical"}, [f"{column}={t}" for t in kept], np.ones(len(kept))

    def _fit_numeric(self, column, values):
        x = self._numbers(column, values)
        finite = x[np.isfinite(x)]
        if finite.size == 0:
            raise ValueError(f"numeric column {column!r} has no finite value")
        edges = np.unique(np.quantile(finite, np.linspace(0, 1, self.bins + 1)))
        if edges.size == 1:
            edges = np.array([edges[0], edges[0]])  # one value: one bin
        names = [
            f"{column}=[{_fmt(a)}, {_fmt(b)}{']' if n == edges.size - 2 else ')'}"
            for n, (a, b) in enumerate(zip(edges[:-1], edges[1:]))
        ]
        names.append(f"{column}=missing")
        return {"kind": "numeric"}, names, np.ones(len(names)), edges.tolist()

    # -- transforming ---------------------------------------------------------------------------
    def transform(self, table) -> sp.csr_matrix:
        """The feature matrix of ``table``'s rows (float32 CSR, one row per table row).

        Terms and categories not seen by :meth:`fit` are ignored; numbers outside the fitted
        range fall into the first or last bin; empty cells give empty blocks.
        """
        if not self.is_fitted:
            raise NotFittedError("this FeatureEncoder is not fitted yet: call fit(table) first")
        cols = self._read(table)
        n = len(next(iter(cols.values())))
        parts = []
        for block in self.blocks_:
            column, width = block["column"], block["stop"] - block["start"]
            values = cols[column]
            if block["kind"] == "text":
                M = self._transform_text(block, values)
            elif block["kind"] == "categorical":
                M = self._transform_categorical(block, values, width)
            else:
                M = self._transform_numeric(block, values, width)
            M = unit_rows(sp.csr_matrix(M, dtype=np.float64, shape=(n, width)))
            parts.append(M * self.weights.get(column, 1.0))
        out = sp.hstack(parts, format="csr", dtype=np.float32) if parts else sp.csr_matrix((n, 0), dtype=np.float32)
        out.eliminate_zeros()
        return out

    def unseen(self, table) -> dict:
        """The categories of ``table``'s categorical columns that :meth:`fit` did not see.

        :meth:`transform` ignores them, as scikit-learn's ``handle_unknown="ignore"`` does: a
        customer whose occupation is written "Engineer" where training wrote "engineer" is
        encoded as one without an occupation. Missing cells are not counted.

        Returns
        -------
        dict
            Column -> sorted list of the categories not seen, for the columns that have any.
        """
        if not self.is_fitted:
            raise NotFittedError("this FeatureEncoder is not fitted yet: call fit(table) first")
        cols = self._read(table)
        out = {}
        for block in self.blocks_:
            if block["kind"] != "categorical":
                continue
            prefix = f"{block['column']}="
            known = {name[len(prefix) :] for name in self.names_[block["start"] : block["stop"]]}
            cells = to_numpy(cols[block["column"]])
            try:
                distinct = factorize(cells, block["column"])[1].tolist()
            except TypeError:  # values numpy cannot sort (without pandas)
                distinct = list(dict.fromkeys(cells.tolist()))
            new = {t for v in distinct for t in category_tokens(v, self.sep, self.path_sep)} - known
            if new:
                out[block["column"]] = sorted(new)
        return out

    def fit_transform(self, table) -> sp.csr_matrix:
        """:meth:`fit`, then :meth:`transform` of the same table."""
        return self.fit(table).transform(table)

    def _transform_text(self, block, values):
        from sklearn.feature_extraction.text import CountVectorizer

        vocabulary = {name.split(":", 1)[1]: n for n, name in enumerate(self.names_[block["start"] : block["stop"]])}
        counter = CountVectorizer(
            analyzer="word" if block["analyzer"] == "word" else "char_wb",
            ngram_range=tuple(block["ngram_range"]),
            vocabulary=vocabulary,
            dtype=np.float64,
        )
        counts = counter.transform(_text_values(values, block["column"])).tocsr()
        counts.data = 1.0 + np.log(counts.data)  # sublinear tf, as fitted
        return counts @ sp.diags(self.idf_[block["start"] : block["stop"]])

    def _transform_categorical(self, block, values, width):
        prefix = f"{block['column']}="
        index = {name[len(prefix) :]: n for n, name in enumerate(self.names_[block["start"] : block["stop"]])}
        cells = to_numpy(values)
        # Each distinct cell is split into its categories once (a customer table repeats a few
        # regions over millions of rows: 9 us a row tokenised one by one).
        try:
            codes, distinct = factorize(cells, block["column"])
            distinct = distinct.tolist()
            # Mixed kinds of value in one object column (1 and True hash alike but read "1" and
            # "True"): each cell on its own.
            exact = cells.dtype != object or all(isinstance(v, str) for v in distinct)
        except TypeError:  # values numpy cannot sort (without pandas)
            exact = False
        if not exact:
            codes, distinct = np.arange(cells.size), cells.tolist()
        columns = [[index[t] for t in category_tokens(v, self.sep, self.path_sep) if t in index] for v in distinct]
        lengths = np.array([len(c) for c in columns] + [0], dtype=np.int64)  # code -1 (missing): none
        flat = np.array([c for cs in columns for c in cs], dtype=np.int64)
        starts = np.concatenate(([0], np.cumsum(lengths[:-1])))
        per_row = lengths[codes]
        rows = np.repeat(np.arange(cells.size), per_row)
        within = np.arange(rows.size) - np.repeat(np.cumsum(per_row) - per_row, per_row)
        cols = flat[np.repeat(starts[codes], per_row) + within] if rows.size else rows
        return sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(cells.size, width))

    def _transform_numeric(self, block, values, width):
        x = self._numbers(block["column"], values)
        edges = np.asarray(self.edges_[block["column"]])
        bins = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, width - 2)
        bins[~np.isfinite(x)] = width - 1  # the "missing" bin
        return sp.csr_matrix((np.ones(x.size), (np.arange(x.size), bins)), shape=(x.size, width))

    # -- input ----------------------------------------------------------------------------------
    def _read(self, table) -> dict:
        out, have = {}, _column_names(table)
        for column in self.text + self.categorical + self.numeric:
            if column not in have:
                raise ValueError(f"column {column!r} is not in the table (columns: {sorted(map(str, have))})")
            out[column] = table[column]
        sizes = {len(v) for v in out.values()}
        if len(sizes) > 1:
            raise ValueError(f"the table's columns have different lengths: {sorted(sizes)}")
        return out

    @staticmethod
    def _numbers(column, values) -> np.ndarray:
        x = to_numpy(values)
        if x.dtype.kind in "iufb":
            return x.astype(np.float64)
        return as_numbers(x, f"numeric column {column!r}")

    def _validate_state(self) -> None:
        if not isinstance(self.blocks_, list) or not isinstance(self.edges_, dict):
            raise ValueError("feature encoder state blocks_ / edges_ is malformed")
        n = self.names_.size
        if self.idf_.shape != (n,) or not np.isfinite(self.idf_).all():
            raise ValueError("feature encoder state idf_ must hold one finite value per feature")
        stops = [0] + [b.get("stop") for b in self.blocks_]
        if stops[-1] != n or any(b.get("start") != a for b, a in zip(self.blocks_, stops)):
            raise ValueError("feature encoder blocks_ must cover the features in order")
        if [b.get("column") for b in self.blocks_] != self.text + self.categorical + self.numeric:
            raise ValueError("feature encoder blocks_ do not match its columns")


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _column_names(table) -> list:
    if hasattr(table, "columns"):
        return list(table.columns)
    if hasattr(table, "keys"):
        return list(table.keys())
    raise TypeError(
        f"the table must be a pandas DataFrame or a mapping of column -> values, got {type(table).__name__}"
    )


class Features:
    """A feature matrix whose rows are aligned with ids (see :func:`features`).

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix of float32, shape (n_rows, n_features)
    ids : numpy.ndarray
        The raw id of each row: first the ids given to :func:`features` (in their order), then
        the table's other ids (new products or customers) in table order.
    n_known : int
        How many rows are the given ids (rows from ``n_known`` on are new).
    names : numpy.ndarray of str
        Feature names (``encoder.names_``).
    encoder : FeatureEncoder
        The fitted encoder: ``encoder.transform(table)`` encodes more rows the same way.
    report : dict
        ``rows`` (table rows read), ``missing_ids`` (table rows without an id, dropped),
        ``without_row`` (given ids the table has no row for: their rows are empty),
        ``new`` (table ids not among the given ids, appended).
    """

    def __init__(self, matrix, ids, n_known: int, encoder: FeatureEncoder, report: dict):
        self.matrix, self.ids, self.n_known, self.encoder, self.report = matrix, ids, n_known, encoder, report

    @property
    def names(self) -> np.ndarray:
        return self.encoder.names_

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    def __repr__(self) -> str:
        return (
            f"Features({self.shape[0]:,} rows ({self.n_known:,} known, {self.shape[0] - self.n_known:,} new) "
            f"x {self.shape[1]:,} features)"
        )


def features(table, ids=None, *, id_col: str, text=None, categorical=None, numeric=None, **options) -> Features:
    """Encode an attribute table and align its rows with known ids.

    Parameters
    ----------
    table : pandas.DataFrame or mapping of column -> values
        One row per product (or customer).
    ids : array-like, optional
        The ids the rows must follow, usually ``interactions.item_ids`` (or ``user_ids``): row
        ``r`` of the result is ``ids[r]`` for ``r < len(ids)``. Ids the table lacks get empty
        rows; table ids not among them (new products) follow. Default: the table's order.
    id_col : str
        The table's id column.
    text, categorical, numeric, **options
        As :class:`FeatureEncoder`.

    Returns
    -------
    Features

    Raises
    ------
    ValueError
        A named column is missing, an id appears twice in the table, a numeric column holds
        text, a column gives no features.

    Examples
    --------
    >>> import recforge as rf
    >>> table = {"sku": ["B", "A", "NEW"], "genres": ["Comedy", "Action|Comedy", "Action"]}
    >>> F = rf.features(table, ids=["A", "B", "C"], id_col="sku", categorical="genres")
    >>> F.ids.tolist(), F.n_known, F.report["without_row"]
    (['A', 'B', 'C', 'NEW'], 3, 1)
    >>> F.matrix[0].toarray().astype(float).round(3).tolist()
    [[0.707, 0.707]]
    """
    encoder = FeatureEncoder(text, categorical, numeric, **options)
    if id_col not in _column_names(table):
        raise ValueError(f"id_col {id_col!r} is not a column of the table (columns: {_column_names(table)})")
    raw = to_numpy(table[id_col])
    present = ~missing_mask(raw)
    codes, distinct = factorize(raw[present], "ids")
    if distinct.size != int(present.sum()):
        repeated = distinct[np.flatnonzero(np.bincount(codes, minlength=distinct.size) > 1)][:5].tolist()
        raise ValueError(f"the table holds ids more than once (id_col {id_col!r}): {repeated}; keep one row per id")
    columns = encoder._read(table)  # named columns present, equal lengths
    if len(next(iter(columns.values()))) != raw.size:
        raise ValueError(
            f"id_col {id_col!r} has {raw.size} rows, the other columns {len(next(iter(columns.values())))}"
        )
    rows = np.flatnonzero(present)
    kept = {c: to_numpy(values)[rows] for c, values in columns.items()}
    F = encoder.fit_transform(kept) if rows.size else None
    if F is None:
        raise ValueError(f"the table has no row with an id in {id_col!r}")
    table_ids = raw[rows]
    if ids is None:
        order, known, n_known, without = np.arange(rows.size), table_ids, rows.size, 0
    else:
        known = to_numpy(ids)
        if known.ndim != 1:
            raise ValueError(f"ids must be 1-D, got shape {known.shape}")
        table_ids = ids_like(table_ids, known)  # "123" in a CSV is 123 among integer ids
        if np.unique(factorize(table_ids, "ids")[0]).size != table_ids.size:
            raise ValueError(
                f"the table's ids (id_col {id_col!r}) repeat once read as ids of the kind of ids' "
                "(e.g. '007' and '7' among integer ids); keep one row per id"
            )
        at = lookup(table_ids, known)  # table row of each given id, -1 if none
        new = np.setdiff1d(np.arange(rows.size), at[at >= 0], assume_unique=True)
        order = np.concatenate([at, new])
        n_known, without = known.size, int(np.count_nonzero(at < 0))
        known = np.concatenate([known.astype(object), table_ids[new].astype(object)]) if new.size else known
    padded = sp.vstack([F, sp.csr_matrix((1, F.shape[1]), dtype=np.float32)], format="csr")
    matrix = padded[np.where(order >= 0, order, F.shape[0])]  # -1: the empty row
    report = {
        "rows": int(raw.size),
        "missing_ids": int(np.count_nonzero(~present)),
        "without_row": without,
        "new": int(order.size - n_known),
    }
    return Features(sp.csr_matrix(matrix, dtype=np.float32), known, n_known, encoder, report)

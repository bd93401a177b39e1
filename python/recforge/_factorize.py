"""Raw ids -> dense codes: the one place recforge hashes user and item ids.

pandas' hash-table factorize is used when pandas is installed (it is several times faster than
sorting); without it, numpy's sort-based ``unique`` gives the same answer. Either way codes
follow first appearance, so the same events always give the same id maps.
"""

from __future__ import annotations

import numpy as np

try:  # optional: the ``io`` extra
    import pandas as pd
except ImportError:  # pragma: no cover - exercised by monkeypatching in the tests
    pd = None


def missing_mask(values: np.ndarray) -> np.ndarray:
    """Where ids are missing: None, NaN or NaT."""
    if pd is not None:
        return np.asarray(pd.isna(values), dtype=bool)
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind == "M":
        return np.isnat(values)
    if values.dtype == object:
        return np.fromiter((v is None or v != v for v in values), dtype=bool, count=values.size)
    return np.zeros(values.size, dtype=bool)


def to_numpy(values) -> np.ndarray:
    """A 1-D numpy array of ``values`` (pandas Series and extension arrays included; missing
    values of nullable dtypes become None or NaN)."""
    if pd is not None and isinstance(values, (pd.Series, pd.Index, pd.api.extensions.ExtensionArray)):
        if isinstance(values.dtype, pd.api.extensions.ExtensionDtype) and values.dtype.kind in "iub":
            return values.to_numpy(dtype=object, na_value=None) if values.isna().any() else values.to_numpy()
        if isinstance(values.dtype, pd.api.extensions.ExtensionDtype):
            return values.to_numpy(dtype=object, na_value=None)
        return values.to_numpy()
    array = np.asarray(values)
    return array.reshape(1) if array.ndim == 0 else array


def factorize(values, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Codes (int64, -1 where the id is missing: None, NaN, NaT) and the distinct ids in order
    of first appearance.

    Raises
    ------
    TypeError
        The ids cannot be compared (e.g. a mix of numbers and strings without pandas).
    """
    if pd is not None:
        direct = isinstance(values, (pd.Series, pd.Index, pd.api.extensions.ExtensionArray))
        try:
            codes, uniques = pd.factorize(values if direct else to_numpy(values))
        except TypeError as e:  # pandas' own words named no argument: "unhashable type: 'list'"
            raise TypeError(f"{name} holds a value that cannot be an id ({e}); ids are numbers or text") from None
        return np.asarray(codes, dtype=np.int64), to_numpy(uniques)
    array = to_numpy(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    missing = missing_mask(array)
    present = array[~missing] if missing.any() else array
    try:
        uniques, first, inverse = np.unique(present, return_index=True, return_inverse=True)
    except TypeError as e:
        raise TypeError(f"{name} mixes ids that cannot be compared ({e}); use one type, e.g. str") from None
    order = np.argsort(first, kind="stable")  # sorted -> first-appearance order
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    codes = np.full(array.size, -1, dtype=np.int64)
    codes[~missing] = rank[inverse.reshape(-1)]
    return codes, uniques[order]


def factorize_ids(values, name: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`factorize` of customer or product ids, an integer's text written with a zero
    decimal part taken as the integer's text (:func:`merge_integer_texts`)."""
    return merge_integer_texts(*factorize(values, name))


def merge_integer_texts(codes: np.ndarray, uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``codes`` and distinct ``uniques`` (as :func:`factorize` gives them) with the text ids
    that are integers written with a zero decimal part ("17850.0": pandas' export of an integer
    id column with a gap) as the integer's text ("17850"), merged with it where both occur. A
    folder of daily exports, some days with a gap, held each of their customers twice (Online
    Retail's 3,974 customers read as 5,709), and the outputs said 17850.0 where the customer
    is 17850. Other ids as they are; no copy where none is written so."""
    if _first_kind(uniques) != "string":
        return codes, uniques
    try:  # ids without a point, the common case, cost one join (1M ids: 20 ms, against 150 ms)
        dotted = "." in "".join(uniques.tolist())
    except TypeError:  # not all text: looked at one by one
        dotted = True
    if not dotted:
        return codes, uniques
    other = other_integer_text(uniques, whole=False)
    if other is None:
        return codes, uniques
    texts = uniques.astype(object)
    texts[other[0]] = other[1]
    remap, merged = factorize(texts, "ids")
    if merged.size == uniques.size:  # renamed only: the order of first appearance is the same
        return codes, merged
    return np.where(codes >= 0, remap[np.maximum(codes, 0)], -1), merged


def most_given(ids, values) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``ids`` (missing ones aside, in order of first appearance) and each one's
    most given value in ``values``, the latest row's among equally frequent ones; None for an
    id whose values are all missing (or empty text). A product's name in an event log: the one
    most of its lines give, not a warehouse note on one of them ("mailout", "wet damaged"),
    and of two names given as often the later one, its name now."""
    ids, values = to_numpy(ids), to_numpy(values)
    rows = np.flatnonzero(~missing_mask(values) & (values != "") if values.dtype == object else ~missing_mask(values))
    id_codes, distinct_ids = factorize(ids, "ids")
    present = id_codes[rows] >= 0
    rows = rows[present]
    value_codes, distinct_values = factorize(values[rows], "values")
    width = max(distinct_values.size, 1)
    pairs, inverse, counts = np.unique(
        id_codes[rows] * np.int64(width) + value_codes, return_inverse=True, return_counts=True
    )
    latest = np.full(pairs.size, -1, dtype=np.int64)
    np.maximum.at(latest, inverse.ravel(), rows)
    owner = pairs // width
    order = np.lexsort((latest, counts, owner))  # each id's values, its choice last
    chosen = order[np.r_[owner[order][1:] != owner[order][:-1], True]] if order.size else order
    best = np.full(distinct_ids.size, None, dtype=object)
    best[owner[chosen]] = distinct_values[pairs[chosen] % width]
    return distinct_ids, best


# Columns longer than this are factorized side by side: pandas' hashing of Arrow strings and of
# numbers runs without the GIL, so two columns take little more than one (10M events: 1.2 s ->
# 0.9 s on 2 cores). Shorter ones are not worth a thread.
PARALLEL_FACTORIZE_ROWS = 200_000


def factorize_columns(columns, names) -> list:
    """:func:`factorize` of each column (customers and products), concurrently when long."""
    if pd is None or len(columns) < 2 or min(len(c) for c in columns) < PARALLEL_FACTORIZE_ROWS:
        return [factorize(c, name) for c, name in zip(columns, names)]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(columns)) as pool:
        return list(pool.map(factorize, columns, names))


def arrow_strings(values):
    """``values`` as a pandas Arrow string array where they are one (an Arrow-backed text column
    or Series: ``from_csv``'s, pandas 3's "str", Parquet's), else None."""
    if pd is None:
        return None
    array = values.array if isinstance(values, (pd.Series, pd.Index)) else values
    # Arrow-backed only: pandas' Python-storage strings convert to Arrow too, but need pyarrow
    if isinstance(array, pd.arrays.ArrowExtensionArray) and pd.api.types.is_string_dtype(array.dtype):
        return array
    return None


def lookup(known: np.ndarray, raw) -> np.ndarray:
    """Positions of ``raw`` ids in ``known`` (distinct ids), -1 where absent; text and integer
    ids of one value are one id (:func:`ids_like`), and so are an integer's text with and
    without a zero decimal part ("17850.0" is how pandas writes the integer 17850 in a column
    with a gap: an opt-out list exported so suppressed nobody)."""
    return found_written_otherwise(_lookup(known, raw), raw, known, lambda ids: _lookup(known, ids))


def found_written_otherwise(at: np.ndarray, raw, known, find) -> np.ndarray:
    """``at`` (positions of ``raw`` in ``known``, -1 where absent) with the absent text ids that
    are integers looked for again written the other way ("17850.0" as "17850"), by ``find``
    (ids -> positions in ``known``): :func:`lookup`'s rule for a caller with its own index."""
    missing = at < 0
    known = np.asarray(known)
    if not missing.any() or _first_kind(known) != "string":
        return at
    where = np.flatnonzero(missing)
    # ids written "17850.0" in the known map (a model trained on such an export) are looked
    # for as such; otherwise only raw ids with a decimal part are rewritten
    decimal = "." in next((v for v in known.flat if isinstance(v, str)), "")
    other = other_integer_text(to_numpy(raw)[where], whole=decimal)
    if other is not None:
        found = np.asarray(find(other[1]), dtype=np.int64)
        hit = found >= 0
        at = at.copy()
        at[where[other[0][hit]]] = found[hit]
    return at


def id_texts(ids) -> np.ndarray:
    """Each of ``ids``' text as recforge writes ids (an object array of ``ids``' shape):
    ``str(id)``, an integer written with a zero decimal part ("17850.0", or the float 17850.0:
    pandas' integer column with a gap) as the integer's text ("17850"), as
    :func:`merge_integer_texts` names them. A missing id (None, NaN) raises ValueError: as
    text, every such customer would be one ("nan")."""
    values = np.asarray(ids, dtype=object)
    missing = missing_mask(values.ravel())
    if missing.any():
        raise ValueError(f"ids holds a missing id (None or NaN) at position {int(np.argmax(missing))}")
    texts = np.array([str(v) for v in values.ravel().tolist()], dtype=object)
    other = other_integer_text(texts, whole=False) if texts.size else None
    if other is not None:
        texts[other[0]] = other[1]
    return texts.reshape(values.shape)


def other_integer_text(values: np.ndarray, whole: bool = True):
    """(positions, texts) of the integer texts among ``values`` written the other way: "17850.0"
    as "17850" and (with ``whole``) "17850" as "17850.0"; None when none is. For ids not found
    among text ids (:func:`lookup`)."""
    if pd is None:
        texts = [v if isinstance(v, str) and (whole or "." in v) else None for v in values.tolist()]
        pairs = [(j, integer_written_otherwise(t)) for j, t in enumerate(texts) if t is not None]
        pairs = [(j, t) for j, t in pairs if t is not None]
        if not pairs:
            return None
        return np.array([j for j, _ in pairs], dtype=np.int64), np.array([t for _, t in pairs], dtype=object)
    text = pd.Series(values, dtype=object).astype("string")
    if not whole:  # only ids with a decimal part can change: the others are not parsed
        dotted = text.str.contains(".", regex=False).fillna(False).to_numpy(dtype=bool)
        if not dotted.any():
            return None
        text = text.where(dotted)
    text = text.str.strip().str.removeprefix("+")
    plain = text.str.fullmatch(r"[+-]?\d+").fillna(False).to_numpy(dtype=bool) if whole else np.zeros(len(text), bool)
    zero = text.str.fullmatch(r"[+-]?\d+\.0+").fillna(False).to_numpy(dtype=bool)
    if not (plain.any() or zero.any()):
        return None
    other = np.full(len(text), None, dtype=object)
    other[plain] = text[plain].to_numpy(dtype=object) + ".0"
    other[zero] = text[zero].str.split(".", n=1).str[0].to_numpy(dtype=object)
    keep = np.flatnonzero(plain | zero)
    return keep, other[keep]


def integer_written_otherwise(text: str):
    """The other way of writing an integer's text ("17850.0" <-> "17850"), None for other text:
    :func:`lookup`'s rule for one id."""
    t = text.strip().removeprefix("+")
    head, dot, tail = t.partition(".")
    digits = head.lstrip("+-")
    if not digits.isdigit() or len(head) - len(digits) > 1:
        return None
    if not dot:
        return t + ".0"
    return head if tail and set(tail) == {"0"} else None


def id_meant(known, raw):
    """The known id an unknown ``raw`` one was meant to be where they differ only in case or
    surrounding blanks (85123a: 85123A), or None. Not the closest spelling: a product code one
    digit away is another product."""
    text = str(raw).strip().casefold()
    names = np.asarray(known).astype(str)
    same = np.flatnonzero(np.char.lower(np.char.strip(names)) == text)
    if not same.size:
        return None
    found = known[int(same[0])]
    return found.item() if isinstance(found, np.generic) else found


def _lookup(known: np.ndarray, raw) -> np.ndarray:
    raw = ids_like(raw, known)
    text = arrow_strings(raw)
    if text is not None:  # Arrow's hash lookup: 5M ids in 946k, 0.8 s against pandas' 2.4 s
        import pyarrow as pa
        import pyarrow.compute as pc

        values = pa.array(text)
        try:
            found = pc.index_in(values, value_set=pa.array(known, type=values.type))
            return pc.fill_null(found, -1).to_numpy().astype(np.int64)
        except (pa.ArrowException, TypeError):  # known ids past a string array's 2 GiB: pandas'
            pass
    if pd is not None:
        return np.asarray(pd.Index(known).get_indexer(to_numpy(raw)), dtype=np.int64)
    table = {v: i for i, v in enumerate(known.tolist())}
    return np.fromiter((table.get(v, -1) for v in to_numpy(raw).tolist()), dtype=np.int64)


def isin(values, ids) -> np.ndarray:
    """Whether each of ``values`` is one of ``ids``, by :func:`lookup` (text and integer ids of
    one value are one id; a missing id matches nothing). numpy's ``isin`` compares object arrays
    value by value against every id: 1M lines against 100k customers took 30 s."""
    distinct = factorize(to_numpy(ids), "ids")[1]
    return lookup(distinct, values) >= 0


# Where one id is written as text in one file and as a number in another (a CSV read as text, a
# Parquet column of integers), the two must still be one customer or one product: raw ids are
# brought to the kind of the ids they are looked up in, where they convert exactly.


def id_kind(values: np.ndarray) -> str:
    """ "integer", "floating", "string" or "other" (mixed, booleans, empty)."""
    kind = values.dtype.kind
    if kind in "iu":
        return "integer"
    if kind in "fU":
        return "floating" if kind == "f" else "string"
    if kind != "O" or values.size == 0:
        return "other"
    if pd is not None:
        inferred = pd.api.types.infer_dtype(values, skipna=True)
        return {"string": "string", "integer": "integer", "floating": "floating"}.get(inferred, "other")
    present = [v for v in values.tolist() if v is not None and v == v]
    for name, types in (("string", str), ("integer", (int, np.integer)), ("floating", (float, np.floating))):
        if present and all(isinstance(v, types) and not isinstance(v, (bool, np.bool_)) for v in present):
            return name
    return "other"


def one_kind(ids: np.ndarray, name: str) -> np.ndarray:
    """Distinct ``ids`` of one kind, as recforge keeps them (all text, all integers, or numbers):
    TypeError for a mix (1 and "1" would be two customers that every output writes alike, and
    no model file could hold them). Object arrays of floats become float64."""
    if ids.dtype != object or ids.size == 0:
        return ids
    kind = id_kind(ids)
    if kind in ("string", "integer"):
        return ids
    if kind == "floating":
        return ids.astype(np.float64)
    seen: dict = {}
    for v in ids.tolist():
        seen.setdefault(type(v).__name__, v)
        if len(seen) > 2:
            break
    if len(seen) == 1:
        ((kind_name, v),) = seen.items()
        raise TypeError(f"{name} must be text or numbers, got {kind_name} ids such as {v!r}: convert them to text")
    shown = ", ".join(f"{v!r} ({kind_name})" for kind_name, v in seen.items())
    raise TypeError(
        f"{name} mix kinds of ids ({shown}): give them one kind, e.g. all text with .astype(str) "
        "(1 and '1' would be two customers or products that every output writes alike)"
    )


def ids_like(raw, known=None, *, kind: str | None = None) -> np.ndarray:
    """``raw`` ids (1-D) in the kind of ``known``'s where they convert exactly: integers and
    integral floats as their decimal text among text ids, integer (or number) text as numbers
    among numeric ids. Ids that do not convert are left as they are, and so are ids of the same
    kind (no copy)."""
    want = kind if kind is not None else id_kind(to_numpy(known))  # kind: id_kind(known), computed once
    text = arrow_strings(raw) if want == "string" else None
    if text is not None:
        return text  # text among text ids, and no Python string per id
    raw = to_numpy(raw)
    if want == "other" or _first_kind(raw) == want:
        return raw  # the full scan below could only find the same kind or a mix: nothing to convert
    have = id_kind(raw)
    if want == "string" and have in ("integer", "floating"):
        return _as_text(raw)
    if want in ("integer", "floating") and have == "string":
        return _text_as_numbers(raw, integers=want == "integer")
    if want == "integer" and have == "floating":  # an integer column with a gap, read as floats
        return _whole_floats(raw)
    return raw


def _whole_floats(raw: np.ndarray) -> np.ndarray:
    """Integral floats as int64 (all of them: an int64 array), others left as they are."""
    values = raw.astype(np.float64) if raw.dtype.kind == "f" else None
    if values is None:
        out = raw.astype(object, copy=True)
        for j, v in enumerate(raw.tolist()):
            if isinstance(v, (float, np.floating)) and float(v).is_integer() and abs(v) < 2.0**63:
                out[j] = int(v)
        return out
    whole = _whole(values)
    if whole.all():
        return values.astype(np.int64)
    out = raw.astype(object)
    out[whole] = values[whole].astype(np.int64).astype(object)
    return out


def _whole(values: np.ndarray, below: float = 2.0**63) -> np.ndarray:
    """Where float ``values`` are whole numbers an int64 holds (below 2**53 a float holds one
    exactly)."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & (values == np.round(values)) & (np.abs(values) < below)


def _first_kind(values: np.ndarray) -> str:
    """The kind of the first present id (an O(1) look in the common case), as id_kind names it."""
    if values.dtype.kind != "O":
        return id_kind(values)
    for v in values.flat:
        missing = v is None or (pd.isna(v) if pd is not None else v != v)  # pandas' NA has no truth value
        if missing is True or (isinstance(missing, (bool, np.bool_)) and missing):
            continue
        if isinstance(v, str):
            return "string"
        if isinstance(v, (bool, np.bool_)):
            return "other"
        return "integer" if isinstance(v, (int, np.integer)) else "floating" if isinstance(v, float) else "other"
    return "other"


def _as_text(raw: np.ndarray) -> np.ndarray:
    """Numbers as the text a CSV holds them in: integers and integral floats (an integer column
    with a gap, read as floats) without a decimal part."""
    out = np.empty(raw.size, dtype=object)
    if raw.dtype.kind in "iu":
        out[:] = raw.astype(str)
        return out
    values = raw.astype(np.float64) if raw.dtype.kind == "f" else None
    if values is None:  # objects: Python ints beyond int64, or floats among None
        for j, v in enumerate(raw.tolist()):
            if v is None or v != v:
                out[j] = None
            elif isinstance(v, (float, np.floating)) and float(v).is_integer():
                out[j] = str(int(v))
            else:
                out[j] = str(v)
        return out
    whole = _whole(values)
    out[:] = values.astype(str)
    out[whole] = values[whole].astype(np.int64).astype(str)
    out[np.isnan(values)] = None
    return out


def _text_as_numbers(raw: np.ndarray, integers: bool) -> np.ndarray:
    """Text as numbers where it holds one ("12", " 12", "12.0" as 12 among integer ids); other
    text is left as it is (an id the map does not hold)."""
    present = ~missing_mask(raw)
    text = raw[present]
    out = raw.astype(object, copy=True)
    if pd is not None:
        parsed = pd.to_numeric(pd.Series(text, dtype=object), errors="coerce")
        if integers and parsed.dtype.kind in "iu" and parsed.dtype.itemsize == 8 and present.all():
            return parsed.to_numpy(dtype=np.int64)  # every id integer text: exact, in C
        values = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
        if not integers:
            ok = np.isfinite(values)
            out[np.flatnonzero(present)[ok]] = values[ok].astype(object)
            return out
        # below 2**53 a float holds an integer exactly; larger ones are parsed as Python ints
        exact = _whole(values, below=2.0**53)
        at = np.flatnonzero(present)
        out[at[exact]] = values[exact].astype(np.int64).astype(object)
        rest = np.flatnonzero(np.isfinite(values) & ~exact)
        at, text = at[rest], text[rest]
    else:
        at = np.flatnonzero(present)
    for j, v in zip(at.tolist(), text.tolist()):
        if not isinstance(v, str):
            continue
        try:
            number = float(v)
        except ValueError:
            continue
        if integers:
            try:
                out[j] = int(v)  # exact, any size ("12", " +12")
            except ValueError:
                if number.is_integer():
                    out[j] = int(number)  # "12.0"
        elif np.isfinite(number):
            out[j] = number
    return out


def same_ids(a, b) -> bool:
    """Whether two id maps hold the same ids in the same order (an Interactions and the one a
    model was fitted on, or a train and test part)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype == object or b.dtype == object:
        return a.tolist() == b.tolist()
    return bool(np.array_equal(a, b))


def check_numbered_as(M, known, name: str, side: str) -> None:
    """ValueError when ``M`` carries raw ``{side}_ids`` (an Interactions) that are not
    ``known``, the ids a model was fitted with: read as the model's columns, an Interactions
    built apart would be other customers or products. Nothing to compare when either is None
    (a bare matrix, a model fitted on one)."""
    ids = getattr(M, f"{side}_ids", None)
    if ids is not None and known is not None and not same_ids(ids, known):
        raise ValueError(
            f"{name} numbers its {side}s differently from the Interactions the model was fitted on "
            "(built apart): build it with that Interactions' transform(events)"
        )


def rows_of_requested(M, ids: np.ndarray, name: str, known=None):
    """The rows of the requested customers ``ids`` where ``M`` is an Interactions, ``M`` itself
    otherwise (a matrix already holding one row per requested customer, in their order).

    An Interactions' row u is customer u of its user map, whatever was asked: read row by row
    as the requested customers, ``recommend([2, 1, 0], inter)`` scored customer 2 from customer
    0's history. ``known``: the user map of the model asking (its row u must be the same
    customer as the Interactions' row u), or None."""
    users = getattr(M, "user_ids", None)
    if users is None or not hasattr(M, "matrix"):
        return M
    ids = np.asarray(ids, dtype=np.int64).reshape(-1)
    n = M.matrix.shape[0]
    outside = (ids < 0) | (ids >= n)
    if outside.any():
        raise ValueError(
            f"user_ids holds {ids[outside][0]}, not a row of {name} (an Interactions of {n} customers: "
            f"give rows of it, or {name} as a matrix of one row per requested customer)"
        )
    if known is not None:
        known = np.asarray(known)
        inside = ids[ids < known.size]
        if not same_ids(np.asarray(users)[inside], known[inside]):
            raise ValueError(
                f"{name} numbers its users differently from the Interactions the model was fitted on "
                "(built apart): build it with that Interactions' transform(events)"
            )
    if ids.size == n and np.array_equal(ids, np.arange(n)):  # every customer in order: no copy
        return M.matrix
    return M.matrix[ids]


def ids_in_kind_of(ids: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Distinct ids found beside ``known`` (new customers, say) in ``known``'s dtype where they
    are all integers: an integer column with a gap arrives as floats and is brought to integers
    as objects (:func:`ids_like`), which would make the whole id map objects once appended."""
    if ids.dtype != object or known.dtype.kind not in "iu" or not ids.size or id_kind(ids) != "integer":
        return ids
    try:
        return ids.astype(known.dtype)
    except OverflowError:  # integers beyond the known dtype stay Python ints
        return ids


def whole_ids(ids: np.ndarray) -> np.ndarray:
    """Distinct float ids that are all whole numbers (an integer column with a gap, read as
    floats) as int64; any other ids as they are."""
    if ids.dtype.kind != "f" or not ids.size:
        return ids
    if _whole(ids).all():
        return ids.astype(np.int64)
    return ids

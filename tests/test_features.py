"""rf.features / FeatureEncoder against plain numpy and scikit-learn references."""

from __future__ import annotations

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

GENRES = ["Action", "Comedy", "Drama", "Horror", "Sci-Fi"]


def random_table(rng, n=40):
    genres = ["|".join(rng.choice(GENRES, rng.integers(0, 4), replace=False)) or None for _ in range(n)]
    words = ["red", "mug", "tea", "cup", "big", "blue", "set", "glass"]
    titles = [" ".join(rng.choice(words, rng.integers(0, 5))) for _ in range(n)]
    price = np.round(rng.uniform(1, 50, n), 2)
    price[rng.random(n) < 0.1] = np.nan
    return {"sku": [f"S{i}" for i in range(n)], "genres": genres, "title": titles, "price": price}


def unit_rows(D):
    norms = np.linalg.norm(D, axis=1, keepdims=True)
    return np.divide(D, norms, out=np.zeros_like(D), where=norms > 0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_categorical_blocks_are_unit_one_hot(seed):
    table = random_table(np.random.default_rng(seed))
    enc = rf.FeatureEncoder(categorical="genres")
    F = enc.fit_transform(table).toarray()
    names = sorted({g for cell in table["genres"] if cell for g in cell.split("|")})
    assert enc.names_.tolist() == [f"genres={g}" for g in names]
    want = np.array([[g in (cell or "").split("|") for g in names] for cell in table["genres"]], dtype=float)
    np.testing.assert_allclose(F, unit_rows(want), rtol=1e-6)


def test_category_paths_give_every_prefix():
    enc = rf.FeatureEncoder(categorical="cat", sep=";", path_sep=">")
    F = enc.fit_transform({"cat": ["Home > Kitchen > Mugs;Gifts", "Home>Garden", None]})
    assert enc.names_.tolist() == [
        "cat=Gifts",
        "cat=Home",
        "cat=Home > Garden",
        "cat=Home > Kitchen",
        "cat=Home > Kitchen > Mugs",
    ]
    np.testing.assert_allclose(F.toarray()[0], [0.5, 0.5, 0, 0.5, 0.5])
    assert F[2].nnz == 0


@pytest.mark.parametrize(
    "cells",
    [
        ["Home > Mugs;Gifts", None, "", "Gifts", float("nan"), "Home>Mugs", " Gifts ;Toys", "Home > Mugs;Gifts"],
        [1, True, "1", 2.0, None, "True", 1, "2.0"],  # mixed kinds: 1 and True are different categories
        np.array([3, 1, 3, 2, 1]),
    ],
)
def test_repeated_cells_encode_as_each_cell_alone(cells):
    """Cells are tokenised once per distinct value: many rows encode as each row would alone."""
    rng = np.random.default_rng(0)
    enc = rf.FeatureEncoder(categorical="cat", sep=";", path_sep=">")
    enc.fit({"cat": np.array(["Home > Mugs", "Gifts", "Toys", "1", "True", "2.0", "3", "2"], dtype=object)})
    column = np.asarray(cells, dtype=object if isinstance(cells, list) else None)
    many = column[rng.integers(0, len(column), 200)]
    got = enc.transform({"cat": many}).toarray()
    alone = np.vstack([enc.transform({"cat": many[r : r + 1]}).toarray() for r in range(many.size)])
    np.testing.assert_array_equal(got, alone)
    assert (got.sum(axis=1) > 0).sum() > 50  # most rows have a known category: the test can tell


@pytest.mark.parametrize("bins", [1, 3, 5])
def test_numeric_columns_are_quantile_bins_with_a_missing_bin(bins):
    table = random_table(np.random.default_rng(4))
    enc = rf.FeatureEncoder(numeric="price", bins=bins)
    F = enc.fit_transform(table).toarray()
    x = table["price"]
    edges = np.unique(np.quantile(x[np.isfinite(x)], np.linspace(0, 1, bins + 1)))
    assert enc.edges_["price"] == edges.tolist()
    assert F.shape == (x.size, edges.size)  # edges.size - 1 bins + the missing bin
    want = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, edges.size - 2)
    want[~np.isfinite(x)] = edges.size - 1
    np.testing.assert_array_equal(F.argmax(axis=1), want)
    assert (F.sum(axis=1) == 1).all()
    assert enc.names_[-1] == "price=missing"
    # numbers beyond the fitted range fall into the end bins
    far = enc.transform({"price": [-1e9, 1e9]}).toarray()
    assert far[0, 0] == 1 and far[1, edges.size - 2] == 1


@pytest.mark.parametrize("seed", [0, 5])
def test_text_is_scikit_learns_tfidf(seed):
    table = random_table(np.random.default_rng(seed))
    enc = rf.FeatureEncoder(text="title")
    F = enc.fit_transform(table).toarray()
    ref = TfidfVectorizer(sublinear_tf=True)
    want = ref.fit_transform(table["title"]).toarray()
    order = [ref.vocabulary_[name.split(":", 1)[1]] for name in enc.names_]
    np.testing.assert_allclose(F, want[:, order], rtol=1e-5, atol=1e-7)
    assert enc.blocks_[0]["analyzer"] == "word"


def test_text_without_spaces_gets_character_ngrams():
    titles = ["千と千尋の神隠し", "となりのトトロ", "もののけ姫", "千年女優"]
    enc = rf.FeatureEncoder(text="t")
    F = enc.fit_transform({"t": titles}).toarray()
    assert enc.blocks_[0]["analyzer"] == "char" and enc.blocks_[0]["ngram_range"] == [1, 2]
    assert "t:千" in enc.names_.tolist() and "t:千年" in enc.names_.tolist()
    assert all(name[2:].strip() for name in enc.names_)  # no space-only n-gram
    # "千と千尋" and "千年女優" share a character: their rows overlap, unlike word tokens would
    assert F[0] @ F[3] > 0
    # forced words: each title is one token, no overlap
    words = rf.FeatureEncoder(text="t", analyzer="word").fit_transform({"t": titles}).toarray()
    assert words[0] @ words[3] == 0


def test_block_weights_scale_blocks():
    table = random_table(np.random.default_rng(6))
    plain = rf.FeatureEncoder(categorical="genres", numeric="price").fit_transform(table).toarray()
    weighted = rf.FeatureEncoder(categorical="genres", numeric="price", weights={"price": 0.25})
    W = weighted.fit_transform(table).toarray()
    split = len([n for n in weighted.names_ if n.startswith("genres=")])
    np.testing.assert_allclose(W[:, :split], plain[:, :split])
    np.testing.assert_allclose(W[:, split:], 0.25 * plain[:, split:])


def test_features_align_rows_with_the_given_ids():
    table = {
        "sku": ["B", "A", "NEW1", None, "NEW2"],
        "genres": ["Comedy", "Action|Comedy", "Drama", "Horror", "Action"],
    }
    F = rf.features(table, ids=np.array(["A", "B", "C"], dtype=object), id_col="sku", categorical="genres")
    assert F.ids.tolist() == ["A", "B", "C", "NEW1", "NEW2"] and F.n_known == 3
    assert F.report == {"rows": 5, "missing_ids": 1, "without_row": 1, "new": 2}
    D = F.matrix.toarray()
    names = F.names.tolist()
    assert names == ["genres=Action", "genres=Comedy", "genres=Drama"]  # Horror's only row had no id
    np.testing.assert_allclose(D[0], unit_rows(np.array([[1.0, 1, 0]]))[0])
    np.testing.assert_allclose(D[1], [0, 1, 0])
    assert not D[2].any()  # C has no row in the table
    np.testing.assert_allclose(D[3:], [[0, 0, 1], [1, 0, 0]])
    assert F.matrix.dtype == np.float32
    # without ids: the table's order
    G = rf.features(table, id_col="sku", categorical="genres")
    assert G.ids.tolist() == ["B", "A", "NEW1", "NEW2"] and G.n_known == 4


@pytest.mark.parametrize(
    "kwargs, table, match",
    [
        ({"categorical": "genre"}, {"sku": ["a"], "genres": ["x"]}, "column 'genre' is not in the table"),
        ({"categorical": "genres"}, {"id": ["a"], "genres": ["x"]}, "id_col 'sku' is not a column"),
        ({"categorical": "genres"}, {"sku": ["a", "a"], "genres": ["x", "y"]}, "ids more than once"),
        (
            {"numeric": "price"},
            {"sku": ["a", "b"], "price": ["3.5", "cheap"]},
            "'price' must hold numbers: position 1 holds 'cheap'",
        ),
        ({"numeric": "price"}, {"sku": ["a"], "price": [np.nan]}, "'price' has no finite value"),
        ({"text": "title"}, {"sku": ["a", "b"], "title": ["", None]}, "'title' gives no terms"),
        ({"text": "title"}, {"sku": ["a", "b"], "title": np.array(["ab", 3], dtype=object)}, "must hold strings"),
        ({"categorical": "genres"}, {"sku": ["a", "b"], "genres": ["x"]}, "has 2 rows, the other columns 1"),
        ({"categorical": "g", "numeric": "p"}, {"sku": ["a"], "g": ["x"], "p": [1, 2]}, "different lengths"),
        ({}, {"sku": ["a"]}, "name at least one column"),
        ({"text": "t", "categorical": "t"}, {"sku": ["a"], "t": ["x"]}, "named twice"),
        ({"categorical": "g", "weights": {"h": 2}}, {"sku": ["a"], "g": ["x"]}, "weights names columns"),
        ({"categorical": "g", "bins": 0}, {"sku": ["a"], "g": ["x"]}, "bins"),
        ({"text": "t", "ngram_range": [2, 1]}, {"sku": ["a"], "t": ["x"]}, "ngram_range"),
        ({"categorical": "g", "min_df": 2}, {"sku": ["a"], "g": ["x"]}, "min_df=2"),
    ],
)
def test_bad_tables_and_arguments_are_clear_errors(kwargs, table, match):
    with pytest.raises((ValueError, TypeError), match=match):
        rf.features(table, id_col="sku", **kwargs)


def test_an_unfitted_encoder_and_a_non_table_are_refused():
    with pytest.raises(rf.NotFittedError, match="not fitted"):
        rf.FeatureEncoder(categorical="g").transform({"g": ["x"]})
    with pytest.raises(TypeError, match="DataFrame or a mapping"):
        rf.FeatureEncoder(categorical="g").fit([["x"]])


def test_one_character_cannot_split_values_and_paths():
    """sep=">" with path_sep=">": "Home > Mugs" was split into two values, never read as a path."""
    for sep, path_sep in ((">", ">"), ("|", " | "), (" > ", ">")):
        with pytest.raises(ValueError, match="must differ"):
            rf.FeatureEncoder(categorical="cat", sep=sep, path_sep=path_sep)
    assert rf.FeatureEncoder(categorical="cat", sep="|", path_sep=" > ").path_sep == " > "


def test_pandas_tables_work_like_mappings():
    pd = pytest.importorskip("pandas")
    table = random_table(np.random.default_rng(7))
    a = rf.features(table, id_col="sku", text="title", categorical="genres", numeric="price")
    b = rf.features(pd.DataFrame(table), id_col="sku", text="title", categorical="genres", numeric="price")
    assert (a.matrix != b.matrix).nnz == 0 and a.names.tolist() == b.names.tolist()


def test_the_encoder_travels_in_a_model_file_and_encodes_alike(tmp_path):
    table = random_table(np.random.default_rng(8))
    F = rf.features(table, id_col="sku", text="title", categorical="genres", numeric="price", weights={"title": 2})
    X = sp.random(30, F.n_known, density=0.1, format="csr", random_state=0, dtype=np.float32)
    model = rf.ContentKNN(neighbours=5).fit(X, F)
    model.save(tmp_path / "m.npz")
    back = rf.load(tmp_path / "m.npz")
    assert isinstance(back.encoder_, rf.FeatureEncoder) and back.encoder_.get_params() == F.encoder.get_params()
    new = {"title": ["blue glass set"], "genres": ["Drama|Sci-Fi"], "price": [12.0]}
    assert (back.encoder_.transform(new) != F.encoder.transform(new)).nnz == 0
    assert back.item_ids_.tolist() == F.ids.tolist()


def test_unseen_categories_are_listed_by_column():
    """transform ignores categories fit did not see; unseen names them, so that a caller can say
    so ("Engineer" where training wrote "engineer" is encoded as no occupation)."""
    pd = pytest.importorskip("pandas")
    table = pd.DataFrame({"gender": ["F", "M", "F"], "job": ["engineer", "student|artist", None], "age": [20, 30, 40]})
    encoder = rf.FeatureEncoder(categorical=["gender", "job"], numeric=["age"]).fit(table)
    assert encoder.unseen(table) == {}
    later = pd.DataFrame(
        {"gender": ["X", None, "F"], "job": ["Engineer", "student|poet", "engineer"], "age": [1, 2, 3]}
    )
    assert encoder.unseen(later) == {"gender": ["X"], "job": ["Engineer", "poet"]}
    row = encoder.transform(later.iloc[[0]])
    assert row.nnz == 1  # the age bin alone: the unseen gender and job are encoded as nothing
    with pytest.raises(rf.NotFittedError):
        rf.FeatureEncoder(categorical=["gender"]).unseen(table)

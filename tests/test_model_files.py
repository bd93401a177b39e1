"""Model files (formats 2 and 3): the raw-id maps travel with the model, a model holding other models
is one file, vocabularies and JSON state round-trip, and version-1 files still load."""

from __future__ import annotations

import io
import json
import warnings
import zipfile

import numpy as np
import pytest
import recforge as rf
import scipy.sparse as sp
from recforge.models import Popularity, Recommender
from recforge.models.registry import register


def interactions(rng, users, items, n=300):
    return rf.Interactions.from_arrays(
        rng.choice(users, n), rng.choice(items, n), times=rng.integers(1, 10**9, n).astype(float)
    )


@pytest.mark.parametrize(
    "users, items",
    [
        (["ann", "bob", "cy", "dee"], [f"SKU{i}" for i in range(12)]),
        (["x\x00", "x", "é", "日本"], [10**20 + i for i in range(12)]),  # NUL-ended, beyond int64
        ([5, 7, 9, 11], list(range(100, 112))),
    ],
)
def test_a_model_fitted_on_interactions_keeps_its_id_maps(tmp_path, users, items):
    inter = interactions(np.random.default_rng(0), np.array(users, dtype=object), np.array(items, dtype=object))
    model = rf.ItemKNN(neighbours=5).fit(inter)
    assert model.user_ids_ is inter.user_ids and model.item_ids_ is inter.item_ids
    assert model.events_spec_ == inter.spec
    path = tmp_path / "m.npz"
    model.save(path)
    back = rf.load(path)
    assert back.user_ids_.tolist() == inter.user_ids.tolist()
    assert back.item_ids_.tolist() == inter.item_ids.tolist()
    assert back.events_spec_ == json.loads(json.dumps(inter.spec))
    np.testing.assert_array_equal(
        back.recommend([0, 1], inter.matrix[:2])[0], model.recommend([0, 1], inter.matrix[:2])[0]
    )


IDS = [
    ["ann", "", "x\x00", "é", "日本", "a\ud800b", "9f1c0c8e-8b4e-4c55-9a7e-0d4b7a1f2c3d"],  # NUL, surrogate, UUID
    [],
    ["only"],
]


@pytest.mark.parametrize("values", IDS)
@pytest.mark.parametrize("arrow", [True, False])
def test_text_ids_are_stored_as_utf8_and_read_back_exactly(values, arrow, monkeypatch):
    """Text ids are UTF-8 bytes and offsets (not fixed-width unicode: 4 bytes a character of the
    longest id), written and read through Arrow where it is installed and through Python
    otherwise, the same bytes either way; a file of an earlier version (fixed width) still reads."""
    from recforge import _ids

    ids = np.array(values, dtype=object)
    with_arrow = _ids.encode_ids(ids, "k", "ids")
    if not arrow:
        monkeypatch.setitem(__import__("sys").modules, "pyarrow", None)  # import pyarrow fails
    entries = _ids.encode_ids(ids, "k", "ids")
    assert set(entries) == {"k.utf8", "k.offsets"}
    for name in entries:
        np.testing.assert_array_equal(entries[name], with_arrow[name])
    assert entries["k.utf8"].tobytes() == "".join(values).encode("utf-8", "surrogatepass")
    back = _ids.decode_ids(entries, "k")
    assert back.dtype == object and back.tolist() == values
    if not any(v.endswith("\x00") or "\ud800" in v for v in values):  # what version 1 could hold
        old = _ids.decode_ids({"k": np.array(values, dtype=str)}, "k")
        assert old.dtype == object and old.tolist() == values


def test_a_model_fitted_on_a_matrix_has_no_maps_and_a_refit_clears_them(tmp_path):
    inter = interactions(np.random.default_rng(1), ["a", "b", "c"], ["x", "y", "z", "w"])
    model = rf.Popularity().fit(inter)
    assert model.item_ids_ is not None
    model.fit(inter.matrix)
    assert model.user_ids_ is None and model.item_ids_ is None and model.events_spec_ is None
    model.save(tmp_path / "p.npz")
    assert rf.load(tmp_path / "p.npz").item_ids_ is None


def test_bind_ids_checks_sizes():
    inter = interactions(np.random.default_rng(2), ["a", "b", "c"], ["x", "y", "z", "w"])
    model = rf.Popularity().fit(inter.matrix)
    with pytest.raises(ValueError, match=r"item_ids must hold one id per item of the model \(4\)"):
        model.bind_ids(None, ["x", "y"])
    with pytest.raises(TypeError, match="events_spec must be a dict"):
        model.bind_ids(inter.user_ids, inter.item_ids, "user")
    with pytest.raises(rf.NotFittedError):
        rf.Popularity().bind_ids(inter.user_ids)
    assert model.bind_ids(inter.user_ids, inter.item_ids).user_ids_ is inter.user_ids


def test_growing_past_the_map_drops_it_with_a_warning():
    inter = interactions(np.random.default_rng(3), ["a", "b", "c"], ["x", "y", "z", "w"])
    model = rf.ALS(factors=4, iterations=2, random_state=0).fit(inter)
    with pytest.warns(UserWarning, match="past its item id map"):
        model.partial_fit_items([4], sp.csr_matrix(np.ones((1, inter.n_users), dtype=np.float32)))
    assert model.item_ids_ is None and model.user_ids_ is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # inside the map: nothing to say
        model.partial_fit_users([0], sp.csr_matrix(np.ones((1, model.n_items_), dtype=np.float32)))


# -- a composite model: what cold-start wrappers and hybrids are made of --------------------------
class Blend(Recommender):
    """Test-only composite: two fitted models, a vocabulary of strings and JSON settings."""

    _state = ("first_", "second_", "vocabulary_", "settings_", "n_users_", "n_items_")

    def __init__(self, weight: float = 0.5, n_threads: int = 0):
        self.weight, self.n_threads = weight, n_threads

    def _fit(self, X):
        self.first_ = Popularity().fit(X.to_scipy())
        self.second_ = Nested().fit(X.to_scipy())
        self.vocabulary_ = np.array(["genre=Action", "genre=Comedy", "x\x00"], dtype=object)
        self.settings_ = {"fallback": "popular", "blocks": [1, 2.5, None]}
        self.n_users_, self.n_items_ = X.shape

    def _scores_topk(self, users, history, k, banned, allow, recalculate_user=False):
        return self.first_._scores_topk(users, history, k, banned, allow)


class Nested(Recommender):
    """A model holding a model holding a model (any depth)."""

    _state = ("inner_", "n_users_", "n_items_")

    def __init__(self, n_threads: int = 0):
        self.n_threads = n_threads

    def _fit(self, X):
        self.inner_ = rf.ItemKNN(neighbours=3).fit(X.to_scipy())
        self.n_users_, self.n_items_ = X.shape


register(Blend)
register(Nested)


def test_a_model_holding_models_is_one_file(tmp_path):
    inter = interactions(np.random.default_rng(4), ["a", "b", "c", "d"], [f"i{n}" for n in range(9)])
    model = Blend(weight=0.25).fit(inter)
    path = tmp_path / "blend.npz"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        assert not any(name.endswith(".pkl") for name in z.namelist())
    back = rf.load(path)
    assert type(back.first_) is Popularity and type(back.second_.inner_) is rf.ItemKNN
    assert back.weight == 0.25 and back.second_.inner_.neighbours == 3
    np.testing.assert_array_equal(back.first_.popularity_, model.first_.popularity_)
    assert (back.second_.inner_.similarity_ != model.second_.inner_.similarity_).nnz == 0
    assert back.vocabulary_.tolist() == model.vocabulary_.tolist()
    assert back.settings_ == {"fallback": "popular", "blocks": [1, 2.5, None]}
    assert back.item_ids_.tolist() == inter.item_ids.tolist()
    np.testing.assert_array_equal(
        back.recommend([0, 1], inter.matrix[:2])[0], model.recommend([0, 1], inter.matrix[:2])[0]
    )


def test_a_damaged_nested_model_is_refused_naming_the_file(tmp_path):
    inter = interactions(np.random.default_rng(5), ["a", "b"], ["x", "y", "z"])
    path = tmp_path / "blend.npz"
    Blend().fit(inter).save(path)
    damaged = tmp_path / "damaged.npz"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(damaged, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "state.first_/state.popularity_.npy":
                buf = io.BytesIO()
                np.save(buf, np.full(2, np.nan))
                data = buf.getvalue()
            dst.writestr(name, data)
    with pytest.raises(ValueError, match="popularity_"):
        rf.load(damaged)


def _v1_file(path, model, extra: dict):
    """A model file as recforge 0.1 and its command line wrote it (format 1, extra.* maps)."""
    entries = {
        "__format__": np.array("recforge-model"),
        "__format_version__": np.array(1),
        "__class__": np.array(type(model).__name__),
        "__params__": np.array(json.dumps(model.get_params())),
        "__recforge_version__": np.array("0.1.0"),
    }
    for name in model._state:
        value = getattr(model, name)
        if sp.issparse(value):
            for part in ("indptr", "indices", "data", "shape"):
                entries[f"state.{name}.{part}"] = np.asarray(getattr(value.tocsr(), part))
        else:
            entries[f"state.{name}"] = np.asarray(value)
    entries.update({f"extra.{k}": v for k, v in extra.items()})
    with open(path, "wb") as f:
        np.savez(f, **entries)


def test_version_1_files_load_with_the_command_lines_maps(tmp_path):
    inter = interactions(np.random.default_rng(6), ["a", "b", "c"], ["x", "y", "z", "w"])
    model = rf.ItemKNN(neighbours=2).fit(inter.matrix)
    old = tmp_path / "old.npz"
    _v1_file(
        old,
        model,
        {
            "user_ids": inter.user_ids.astype(str),
            "item_ids": inter.item_ids.astype(str),
            "spec": json.dumps(inter.spec),
        },
    )
    back = rf.load(old)
    assert back.user_ids_.tolist() == inter.user_ids.tolist() and back.events_spec_ == inter.spec
    bare = tmp_path / "bare.npz"
    _v1_file(bare, model, {})
    assert rf.load(bare).user_ids_ is None


def test_a_map_of_the_wrong_size_is_refused(tmp_path):
    inter = interactions(np.random.default_rng(7), ["a", "b", "c"], ["x", "y", "z", "w"])
    model = rf.ItemKNN(neighbours=2).fit(inter.matrix)
    old = tmp_path / "old.npz"
    _v1_file(old, model, {"item_ids": np.array(["x", "y"])})
    with pytest.raises(ValueError, match="old.npz.*item_ids must hold one id per item"):
        rf.load(old)


def test_a_recforge_file_of_another_kind_says_what_reads_it(tmp_path):
    inter = rf.Interactions.from_arrays(np.array(["a", "b"]), np.array(["x", "y"]))
    inter.save(tmp_path / "inter.npz")
    model = rf.ItemKNN().fit(inter)
    model.save(tmp_path / "model.npz")
    with pytest.raises(ValueError, match="it is an Interactions file: read it with rf.Interactions.load"):
        rf.load(tmp_path / "inter.npz")
    with pytest.raises(ValueError, match="it is a model file: read it with rf.load"):
        rf.Interactions.load(tmp_path / "model.npz")


def test_an_exact_ease_b_travels_as_its_values_alone(tmp_path):
    """EASE's exact B stores every entry but the diagonal: files and pickles carry the values
    (format 3), half the bytes; a file without such a matrix stays format 2."""
    import pickle

    X = sp.random(60, 25, density=0.3, format="csr", random_state=4)
    model = rf.EASE(regularization=5.0).fit(X)
    W = model.weights_
    assert W.nnz == 25 * 24
    model.save(tmp_path / "ease.npz")
    with np.load(tmp_path / "ease.npz") as npz:
        assert "state.weights_.off_diagonal" in npz.files and "state.weights_.indices" not in npz.files
        assert int(npz["__format_version__"]) == 3
    for back in (rf.load(tmp_path / "ease.npz"), pickle.loads(pickle.dumps(model))):
        assert back.weights_.dtype == W.dtype and back.weights_.indices.dtype == W.indices.dtype
        for part in ("data", "indices", "indptr"):
            np.testing.assert_array_equal(getattr(back.weights_, part), getattr(W, part))
        np.testing.assert_array_equal(
            back.recommend([0, 1], X[[0, 1]], k=5)[0], model.recommend([0, 1], X[[0, 1]], k=5)[0]
        )
    assert len(pickle.dumps(model)) < W.data.nbytes + W.indices.nbytes
    rf.EASE(regularization=5.0, neighbours=3).fit(X).save(tmp_path / "pruned.npz")  # an ordinary CSR
    with np.load(tmp_path / "pruned.npz") as npz:
        assert "state.weights_.indices" in npz.files and int(npz["__format_version__"]) == 2
    # a damaged file is refused, naming the state
    for changes, words in (
        ({"state.weights_.off_diagonal": W.data[:-1]}, "holds 600 values"),
        ({"state.weights_.shape": np.array([25, 24])}, "invalid shape"),
    ):
        path = tmp_path / "bad.npz"
        model.save(path)
        with np.load(path) as npz:
            entries = {k: npz[k] for k in npz.files}
        entries.update(changes)
        with open(path, "wb") as f:
            np.savez(f, **entries)
        with pytest.raises(ValueError, match=words):
            rf.load(path)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 300])
def test_off_diagonal_matrices_are_recognised_exactly_and_rebuilt(n):
    from recforge._off_diagonal import from_off_diagonal, is_off_diagonal

    rng = np.random.default_rng(n)
    dense = rng.uniform(0.5, 1.0, (n, n))
    np.fill_diagonal(dense, 0.0)
    W = sp.csr_matrix(dense)
    assert is_off_diagonal(W) == (n >= 2)
    back = from_off_diagonal(W.data, n)
    np.testing.assert_array_equal(back.toarray(), dense)
    assert back.indices.dtype == np.int32 and back.indptr.tolist() == W.indptr.tolist()
    if n >= 3:
        near = dense.copy()
        near[1, 1], near[1, 2] = 0.7, 0.0  # holds itself, not item 2: as many entries
        assert sp.csr_matrix(near).nnz == W.nnz and not is_off_diagonal(sp.csr_matrix(near))
        shuffled = W.copy()
        shuffled.indices[:2] = shuffled.indices[:2][::-1]  # unsorted row 0
        assert not is_off_diagonal(shuffled)
        assert not is_off_diagonal(W.tocsc()) and not is_off_diagonal(W[:, :-1].tocsr())

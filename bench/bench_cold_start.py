"""New products and new customers on MovieLens 100K: recforge's cold-start paths beside
LightFM (WARP, 64 components) and popularity, on the same splits and features, in one run.

    python bench/bench_cold_start.py [--movielens ../shared/datasets/ml-100k] [--repeats 3]

New products: 20% of the movies held out entirely (rf.split.cold_items, seed 0); each user with
a held-out movie in test ranks only the held-out movies (nothing of theirs is in training).
Features: genres, then genres + title words. Reported: per-user AUC and precision@10 (rf.metrics,
the same code for every contender), fit seconds (median of --repeats).

Mixed lists (--only mixed): 5% of the movies held out as new products, the rest split per
user 80/20; whole top-10 lists over the catalogue, with and without the score map that puts
content scores on the wrapped model's scale. Reported: precision@10, NDCG@10, the share of new
products in the lists.

New customers: 20% of the users held out entirely (rf.split.cold_users, seed 0), answered from
their attributes alone (age band, gender, occupation); ranked over every movie. Reported:
precision@10 and NDCG@10.

Online Retail (--online-retail, the full file): customers whose first purchase is on or after
2011-10-01, given their first 1-3 purchase lines, ranked for the products they bought later;
and the speed of one batch call for every customer, known and new, against the wrapped
model's own batch recommend for the known ones.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import recforge as rf
import scipy.sparse as sp

DEFAULT_MOVIELENS = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "ml-100k"
DEFAULT_RETAIL = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "online-retail" / "online_retail.csv.gz"
)


def timed(fn, repeats: int):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, statistics.median(times)


def ranked_metrics(ids, test_rows, n_candidates, k=10):
    m = rf.metrics.ranking_metrics(ids, test_rows, k)
    return {
        "auc": rf.metrics.auc(ids, test_rows, n_candidates)["auc"],
        "precision@10": m["precision"],
        "ndcg@10": m["ndcg"],
        "users": m["n_users"],
    }


def lightfm_ranking(model, users, candidates, item_features=None, user_features=None, user_rows=None):
    """Every candidate ranked for every user, best first (LightFM scores, computed per user)."""
    out = np.empty((len(users), candidates.size), dtype=np.int64)
    for r, u in enumerate(users):
        scores = model.predict(
            int(u if user_rows is None else user_rows[r]),
            candidates.astype(np.int32),
            item_features=item_features,
            user_features=user_features,
            num_threads=2,
        )
        out[r] = candidates[np.argsort(-scores, kind="stable")]
    return out


def new_products(ds, repeats: int, rows: list):
    X = ds.interactions.matrix.copy()
    X.data[:] = 1.0
    train, test = rf.split.cold_items(X, 0.2, seed=0)
    train, test = sp.csr_matrix(train), sp.csr_matrix(test)
    counts = np.asarray((train != 0).sum(axis=0)).ravel()
    warm = np.flatnonzero(counts > 0)
    # The held-out movies in a random order: movies with the same features score alike, and ties
    # must not break by MovieLens id (older, more popular movies have lower ids).
    cold = np.random.default_rng(1).permutation(np.flatnonzero(counts == 0))
    n_warm, n_cold = warm.size, cold.size
    order = np.concatenate([warm, cold])  # recforge: known movies, then the new ones after them
    train_warm = sp.csr_matrix(train[:, warm])
    users = np.flatnonzero(np.diff(test[:, cold].tocsr().indptr) > 0)
    held = sp.csr_matrix(test[users][:, cold])  # column j: the j-th new movie
    new_ids = np.arange(n_warm, n_warm + n_cold)
    table = {
        "movie": ds.interactions.item_ids,
        "genres": ds.items["genres"],
        "title": [str(t or "").rsplit("(", 1)[0] for t in ds.items["title"]],  # without the year
    }
    runs = (("genres", {"categorical": "genres"}), ("genres + title words", {"categorical": "genres", "text": "title"}))
    for label, columns in runs:
        F = rf.features(table, ids=ds.interactions.item_ids, id_col="movie", **columns)
        F_ordered = F.matrix[order]

        def fit_ours(F_ordered=F_ordered):
            als = rf.ALS(factors=64, iterations=15, regularization=1.0, random_state=0)
            return rf.ColdStart(als, max_new_items=n_cold, mapping_regularization=10.0).fit(train_warm, F_ordered)

        ours, t_ours = timed(fit_ours, repeats)
        ids, _ = ours.recommend(users, train_warm[users], k=n_cold, allow=new_ids)
        ranked = np.where(ids >= 0, ids - n_warm, -1)
        rows.append(("new products", label, "recforge ColdStart(ALS)", t_ours, ranked_metrics(ranked, held, n_cold)))
        content, t_content = timed(
            lambda F_ordered=F_ordered: rf.ContentKNN(neighbours=100).fit(train_warm, F_ordered), repeats
        )
        ids, _ = content.recommend(users, train_warm[users], k=n_cold, allow=new_ids)
        ranked = np.where(ids >= 0, ids - n_warm, -1)
        rows.append(("new products", label, "recforge ContentKNN", t_content, ranked_metrics(ranked, held, n_cold)))
        try:
            from lightfm import LightFM
        except ImportError:
            continue

        def fit_lightfm(F=F):
            m = LightFM(no_components=64, loss="warp", random_state=0)
            return m.fit(train.tocoo(), item_features=F.matrix, epochs=30, num_threads=2)

        lf, t_lf = timed(fit_lightfm, repeats)
        position = np.empty(X.shape[1], dtype=np.int64)
        position[cold] = np.arange(n_cold)
        ranked = position[lightfm_ranking(lf, users, cold, item_features=F.matrix)]
        rows.append(("new products", label, "LightFM WARP, item features", t_lf, ranked_metrics(ranked, held, n_cold)))


def warm_not_hurt(ds, path: Path, rows: list):
    """Returning customers (per-user 80/20 split): the wrapped model and ColdStart give the same
    lists, customer attributes and product features present."""
    X = ds.interactions.matrix.copy()
    X.data[:] = 1.0
    train, test = rf.split.per_user_split(X, 0.2, seed=0)
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    U = rf.features(read_users(path, ds.interactions.user_ids), id_col="user", categorical=["gender", "occupation"])
    als = rf.ALS(factors=64, iterations=15, regularization=1.0, random_state=0).fit(train)
    wrapped = rf.ColdStart(als).fit(train, user_features=U.matrix)
    for name, model in (("recforge ALS", als), ("recforge ColdStart(ALS)", wrapped)):
        ids, _ = model.recommend(users, train[users], k=X.shape[1])
        n_candidates = X.shape[1] - np.diff(train[users].indptr)
        rows.append(
            ("warm customers", "per-user 80/20", name, float("nan"), ranked_metrics(ids, test[users], n_candidates))
        )


def read_users(path: Path, user_ids: np.ndarray) -> dict:
    lines = (path / "u.user").read_text(encoding="latin-1").strip().splitlines()
    fields = {int(line.split("|")[0]): line.split("|") for line in lines}
    rows = [fields[int(u)] for u in user_ids]
    return {
        "user": user_ids,
        "age": np.array([float(r[1]) for r in rows]),
        "gender": np.array([r[2] for r in rows], dtype=object),
        "occupation": np.array([r[3] for r in rows], dtype=object),
    }


def new_customers(ds, path: Path, repeats: int, rows: list):
    X = ds.interactions.matrix.copy()
    X.data[:] = 1.0
    train, test = rf.split.cold_users(X, 0.2, seed=0)
    train, test = sp.csr_matrix(train), sp.csr_matrix(test)
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    U = rf.features(
        read_users(path, ds.interactions.user_ids), id_col="user", categorical=["gender", "occupation"], numeric="age"
    )
    empty = sp.csr_matrix((len(users), X.shape[1]), dtype=np.float32)
    n_items = X.shape[1]
    pop, t_pop = timed(lambda: rf.Popularity().fit(train), repeats)
    ids, _ = pop.recommend(users, empty, k=n_items)
    rows.append(
        (
            "new customers",
            "age, gender, occupation",
            "recforge Popularity",
            t_pop,
            ranked_metrics(ids, test[users], n_items),
        )
    )
    ours, t_ours = timed(
        lambda: rf.ColdStart(rf.ALS(factors=64, iterations=15, random_state=0), half_life=None, group_prior=10.0).fit(
            train, user_features=U.matrix
        ),
        repeats,
    )
    ids, _ = ours.recommend(np.full(len(users), -1), empty, k=n_items, user_features=U.matrix[users])
    rows.append(
        (
            "new customers",
            "age, gender, occupation",
            "recforge ColdStart group_popular",
            t_ours,
            ranked_metrics(ids, test[users], n_items),
        )
    )
    try:
        from lightfm import LightFM
    except ImportError:
        return
    identity = sp.identity(X.shape[0], format="csr", dtype=np.float32)
    warm = np.diff(train.indptr) > 0
    # warm users: identity + attributes; the held-out users are known only by their attributes
    UF = sp.hstack([sp.diags(warm.astype(np.float32)) @ identity, U.matrix], format="csr")

    def fit_lightfm():
        m = LightFM(no_components=64, loss="warp", random_state=0)
        return m.fit(train.tocoo(), user_features=UF, epochs=30, num_threads=2)

    lf, t_lf = timed(fit_lightfm, repeats)
    ids = lightfm_ranking(lf, users, np.arange(n_items), user_features=UF)
    rows.append(
        (
            "new customers",
            "age, gender, occupation",
            "LightFM WARP, user features",
            t_lf,
            ranked_metrics(ids, test[users], n_items),
        )
    )


def online_retail(path: Path, repeats: int, rows: list, speed: list):
    ds = rf.datasets.load_online_retail(path)
    inter = ds.interactions
    ev = inter.events
    cut = float(np.datetime64("2011-10-01T00:00:00", "s").astype(np.int64))
    first_time = np.full(inter.n_users, np.inf)
    np.minimum.at(first_time, ev.user, ev.time)
    new = first_time >= cut
    before = ev.time < cut
    train = sp.csr_matrix((np.ones(before.sum()), (ev.user[before], ev.item[before])), shape=inter.shape)
    train.data[:] = 1.0
    # New customers: their first 1-3 lines (by time) are the history, the later products the test.
    order = np.lexsort((ev.time, ev.user))
    rank = np.empty(order.size, dtype=np.int64)
    starts = np.searchsorted(ev.user[order], np.arange(inter.n_users))
    rank[order] = np.arange(order.size) - starts[ev.user[order]]
    given = np.random.default_rng(0).integers(1, 4, inter.n_users)
    lines = new[ev.user]
    shown = lines & (rank < given[ev.user])
    later = lines & ~shown
    H = sp.csr_matrix((np.ones(shown.sum()), (ev.user[shown], ev.item[shown])), shape=inter.shape)
    T = sp.csr_matrix((np.ones(later.sum()), (ev.user[later], ev.item[later])), shape=inter.shape)
    T = sp.csr_matrix(T - T.multiply(H > 0))  # products not already in the shown lines
    T.eliminate_zeros()
    users = np.flatnonzero((np.diff(T.indptr) > 0) & (np.diff(H.indptr) > 0))
    n_items = inter.n_items
    labels = np.full(users.size, -1)
    pop, t_pop = timed(lambda: rf.Popularity().fit(train), repeats)
    ids, _ = pop.recommend(users, H[users], k=n_items)  # whole rankings: AUC is exact
    rows.append(
        (
            "new customers, 1-3 purchases",
            "Online Retail",
            "recforge Popularity",
            t_pop,
            ranked_metrics(ids, T[users], n_items),
        )
    )
    for name, base in (
        ("ALS", lambda: rf.ALS(factors=64, iterations=15, regularization=1.0, random_state=0)),
        ("ItemKNN", lambda: rf.ItemKNN(neighbours=100)),
    ):
        model, t_fit = timed(lambda base=base: rf.ColdStart(base()).fit(train), repeats)
        ids, _ = model.recommend(labels, H[users], k=n_items)
        m = ranked_metrics(ids, T[users], n_items)
        rows.append(("new customers, 1-3 purchases", "Online Retail", f"recforge ColdStart({name}) history", t_fit, m))
    # New customers by their country alone: ColdStart's group_popular path, and LightFM with user
    # features (identity + country for known customers, country only for the new ones).
    events = ds.events
    at = inter.user_index(events["CustomerID"], missing="ignore")
    country = np.full(inter.n_users, None, dtype=object)
    seen = at >= 0
    country[at[seen][::-1]] = events["Country"][seen][::-1]  # each customer's first line
    U = rf.features({"c": inter.user_ids, "country": country}, ids=inter.user_ids, id_col="c", categorical="country")
    empty = sp.csr_matrix((users.size, n_items), dtype=np.float32)
    grouped, t_group = timed(lambda: rf.ColdStart(rf.Popularity()).fit(train, user_features=U.matrix), repeats)
    ids, _ = grouped.recommend(labels, empty, k=n_items, user_features=U.matrix[users])
    m = ranked_metrics(ids, T[users], n_items)
    rows.append(("new customers, country only", "Online Retail", "recforge ColdStart group_popular", t_group, m))
    try:
        from lightfm import LightFM
    except ImportError:
        LightFM = None
    if LightFM is not None:
        identity = sp.diags((~new).astype(np.float32), format="csr")
        UF = sp.hstack([identity, U.matrix], format="csr")

        def fit_lightfm():
            return LightFM(no_components=64, loss="warp", random_state=0).fit(
                train.tocoo(), user_features=UF, epochs=30, num_threads=2
            )

        lf, t_lf = timed(fit_lightfm, repeats)
        ids = lightfm_ranking(lf, users, np.arange(n_items), user_features=UF)
        m = ranked_metrics(ids, T[users], n_items)
        rows.append(("new customers, country only", "Online Retail", "LightFM WARP, user features", t_lf, m))
    # Speed: every customer of the file at once (known from training, or new with a few lines).
    everyone = np.arange(inter.n_users)
    history = sp.csr_matrix(train + H)
    known = ~new
    cold_model = rf.ColdStart(rf.ALS(factors=64, iterations=15, regularization=1.0, random_state=0)).fit(train)
    mixed = np.where(known, everyone, -1)
    _, t_mixed = timed(lambda: cold_model.recommend(mixed, history, k=10), repeats)
    warm_users = everyone[known]
    _, t_own = timed(lambda: cold_model.model_.recommend(warm_users, history[warm_users], k=10), repeats)
    _, t_wrapped = timed(lambda: cold_model.recommend(warm_users, history[warm_users], k=10), repeats)
    speed.append((f"ALS recommend, {warm_users.size:,} known customers", t_own))
    speed.append((f"ColdStart(ALS) recommend, the same {warm_users.size:,}", t_wrapped))
    speed.append((f"ColdStart(ALS) recommend, all {inter.n_users:,} ({int(new.sum()):,} new)", t_mixed))


def mixed_lists(ds, share: float = 0.05) -> None:
    """New products among known ones in whole top-10 lists: 5% of the movies held out as new
    (all their ratings in test), the others split per user 80/20; every list ranks the whole
    catalogue. Content scores as they are (the sum of content cosines over the history, the map
    removed) against the score map at new_item_weight 1 (the default) and 3."""
    X = ds.interactions.matrix.copy()
    X.data[:] = 1.0
    n_items = X.shape[1]
    cold = np.random.default_rng(0).permutation(n_items)[: int(share * n_items)]
    order = np.concatenate([np.setdiff1d(np.arange(n_items), cold), cold])  # known first, new after
    X = sp.csr_matrix(X[:, order])
    n_known = n_items - cold.size
    train, test = rf.split.per_user_split(X[:, :n_known], 0.2, seed=0)
    train, test = sp.csr_matrix(train), sp.hstack([sp.csr_matrix(test), X[:, n_known:]]).tocsr()
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    table = {
        "movie": ds.interactions.item_ids,
        "genres": ds.items["genres"],
        "title": [str(t or "").rsplit("(", 1)[0] for t in ds.items["title"]],
    }
    F = rf.features(table, ids=ds.interactions.item_ids, id_col="movie", categorical="genres", text="title")
    F = F.matrix[order]
    print(f"\nNew products in whole lists: MovieLens 100K, {cold.size} of {n_items} movies new, {users.size} users")
    print("| model | new products scored | P@10 | NDCG@10 | share of new products in the lists | fit s |")
    print("|---|---|---:|---:|---:|---:|")
    models = {
        "EASE": lambda: rf.EASE(regularization=500.0),
        "ItemKNN": lambda: rf.ItemKNN(),
        "RP3beta": lambda: rf.RP3beta(),
        "ALS": lambda: rf.ALS(factors=64, iterations=15, regularization=30.0, random_state=0),
    }
    for name, make in models.items():
        settings = [("never (max_new_items=0)", {"max_new_items": 0}, False)]
        if name != "ALS":
            settings.append(("content scores as they are", {}, True))
        settings += [
            ("on the model's scale, weight 1 (default)", {}, False),
            ("weight 3", {"new_item_weight": 3.0}, False),
        ]
        for label, params, unmapped in settings:
            start = time.perf_counter()
            model = rf.ColdStart(make(), **params).fit(train, F)
            seconds = time.perf_counter() - start
            if unmapped:
                model.new_item_score_map_ = None
            ids, _ = model.recommend(users, train[users], k=10)
            m = rf.metrics.ranking_metrics(ids, test[users], 10)
            print(
                f"| {name} | {label} | {m['precision']:.4f} | {m['ndcg']:.4f} | {(ids >= n_known).mean():.3f} "
                f"| {seconds:.2f} |",
                flush=True,
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movielens", type=Path, default=DEFAULT_MOVIELENS)
    parser.add_argument("--online-retail", type=Path, default=DEFAULT_RETAIL)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=("movielens", "online-retail", "mixed"))
    args = parser.parse_args()
    rows: list = []
    speed: list = []
    if args.only == "mixed":
        mixed_lists(rf.datasets.load_movielens("100k", args.movielens))
        return
    if args.only != "online-retail":
        ds = rf.datasets.load_movielens("100k", args.movielens)
        new_products(ds, args.repeats, rows)
        new_customers(ds, args.movielens, args.repeats, rows)
        warm_not_hurt(ds, args.movielens, rows)
    if args.only != "movielens":
        online_retail(args.online_retail, args.repeats, rows, speed)
    print("| case | features | model | fit s (median) | AUC | precision@10 | NDCG@10 | users |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for case, features, name, seconds, m in rows:
        print(
            f"| {case} | {features} | {name} | {seconds:.2f} | {m['auc']:.3f} | {m['precision@10']:.3f} | "
            f"{m['ndcg@10']:.3f} | {m['users']} |"
        )
    if speed:
        print("\n| batch recommend, k=10, Online Retail | seconds (median) |\n|---|---:|")
        for name, seconds in speed:
            print(f"| {name} | {seconds:.3f} |")


if __name__ == "__main__":
    main()

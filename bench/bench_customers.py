"""Customer-base models: recforge beside lifetimes on one synthetic transaction log drawn from
known BG/NBD and Gamma-Gamma processes (so the fitted parameters can be checked against the truth).

    pip install ".[bench]"
    python bench/bench_customers.py [--customers 1000000] [--repeats 3] [--lifetimes-customers 200000]
    python bench/bench_customers.py --cdnow-only   # CDNOW's published fits, the holdout check, Pareto/NBD

The log: each customer's purchases follow BG/NBD (r, alpha, a, b) over 52 weeks of days, each
purchase's value Gamma-Gamma (p, q, v), one to three lines per purchase. Both libraries go
from the lines to: the summary (frequency, recency, T, monetary value, in days), a BG/NBD fit, a
Gamma-Gamma fit on the repeat buyers, and scoring (P(alive), expected purchases in 30 days,
expected spend). lifetimes is slow, so it runs on the first --lifetimes-customers customers'
lines and recforge is timed on the same lines beside it; the parameter check uses all customers.
Interleaved rounds, medians.

Segments: rf.customers.Segmenter (n_segments=8) on the summary of all customers plus 32 taste
columns (random factors: k-means time does not depend on their meaning) beside scikit-learn's
KMeans(8, n_init=10) alone on the same finished feature matrix: what recforge adds is the
features and the renumbering, which should cost little.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import recforge as rf
from harness import measure_rounds, table

TRUTH_BG = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
TRUTH_GG = {"p": 6.0, "q": 4.0, "v": 15.0}
DAYS = 364
START = 1.7e9  # epoch seconds of the first day


def simulate_log(n: int, seed: int = 0, exact: bool = False):
    """(customer, time, amount) lines: BG/NBD purchase times (rates per day), Gamma-Gamma values.
    ``exact``: also each customer's (x, t_x, T) in continuous days, before purchases are
    floored to days (where two purchases of one customer on one day become one transaction)."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = TRUTH_BG.values()
    lam = rng.gamma(r, 1 / alpha, n) / 7  # alpha is in weeks
    drop = rng.beta(a, b, n)
    nu = rng.gamma(TRUTH_GG["q"], 1 / TRUTH_GG["v"], n)
    first = rng.uniform(0, DAYS * 0.75, n)  # customers arrive over the first 9 months
    customers, days = [np.arange(n)], [first]
    t, alive = first.copy(), np.arange(n)
    repeats = np.zeros(n)
    while alive.size:  # one purchase per still-active customer per round, vectorised
        t_alive = t[alive] + rng.exponential(1 / lam[alive])
        inside = t_alive <= DAYS
        alive, t_alive = alive[inside], t_alive[inside]
        customers.append(alive)
        days.append(t_alive)
        t[alive] = t_alive
        repeats[alive] += 1
        alive = alive[rng.random(alive.size) >= drop[alive]]
    customer = np.concatenate(customers)
    day = np.floor(np.concatenate(days))
    value = rng.gamma(TRUTH_GG["p"], 1 / nu[customer])
    lines = rng.integers(1, 4, customer.size)  # a purchase split over one to three lines
    split = np.repeat(value / lines, lines)
    order = np.argsort(np.repeat(customer, lines), kind="stable")
    log = np.repeat(customer, lines)[order], (START + np.repeat(day, lines) * 86400.0)[order], split[order]
    return (log, (repeats, t - first, DAYS - first)) if exact else log


def recforge_pipeline(customer, time_s, amount):
    s = rf.customers.summary(customer, time_s, amount, as_of=START + DAYS * 86400.0)
    bg = rf.customers.BetaGeoFitter().fit(s)
    gg = rf.customers.GammaGammaFitter().fit(s)
    alive = bg.probability_alive(s.frequency, s.recency, s.T)
    buys = bg.expected_purchases(30, s.frequency, s.recency, s.T)
    spend = gg.expected_average_value(s.frequency, s.monetary_value)
    return bg.params_, gg.params_, alive, buys, spend


def lifetimes_pipeline(customer, time_s, amount):
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    frame = pd.DataFrame({"customer": customer, "date": pd.to_datetime(time_s, unit="s"), "amount": amount})
    s = summary_data_from_transaction_data(
        frame,
        "customer",
        "date",
        monetary_value_col="amount",
        observation_period_end=pd.to_datetime(START + DAYS * 86400.0, unit="s"),
    )
    bg = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    repeat = s[s["frequency"] > 0]
    gg = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    alive = bg.conditional_probability_alive(s["frequency"], s["recency"], s["T"])
    buys = bg.conditional_expected_number_of_purchases_up_to_time(30, s["frequency"], s["recency"], s["T"])
    spend = gg.conditional_expected_average_profit(s["frequency"], s["monetary_value"])
    return bg.params_.to_dict(), gg.params_.to_dict(), np.asarray(alive), np.asarray(buys), np.asarray(spend)


def segments(customer, time_s, amount, repeats: int) -> None:
    from sklearn.cluster import KMeans

    s = rf.customers.summary(customer, time_s, amount, as_of=START + DAYS * 86400.0)
    taste = np.random.default_rng(1).normal(size=(len(s), 32))
    segmenter = rf.customers.Segmenter(n_segments=8)
    X = segmenter.features(s, taste)
    timings, _ = measure_rounds(
        {
            "rf.customers.Segmenter(8): features + k-means": lambda: segmenter.fit(s, taste),
            "sklearn KMeans(8, n_init=10) on the feature matrix": lambda: KMeans(8, n_init=10, random_state=0).fit(X),
        },
        repeats=repeats,
        warmup=0,
        track_memory=False,
    )
    print(f"\nsegments of {len(s):,} customers x {X.shape[1]} features (3 RFM + 32 taste):")
    print(table(timings, "rf.customers.Segmenter(8): features + k-means"))


def cdnow() -> None:
    """The published CDNOW fits: BG/NBD on the 2,357-customer sample's summary (../shared), and
    Gamma-Gamma on its 946 repeat buyers' mean spend (the copy the lifetimes package ships)."""
    import importlib.util
    from pathlib import Path

    import pandas as pd

    shared = (
        Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "cdnow" / "cdnow_customers_summary.csv"
    )
    spec = importlib.util.find_spec("lifetimes")
    spend = None if spec is None else Path(spec.submodule_search_locations[0]) / "datasets"
    spend = None if spend is None else spend / "cdnow_customers_summary_with_transactions.csv"
    print("\nCDNOW, published against fitted:\n| model | parameter | published | recforge |\n|---|---|---:|---:|")
    if shared.is_file():
        data = pd.read_csv(shared)
        bg = rf.customers.BetaGeoFitter().fit(data.frequency, data.recency, data["T"])
        for name, value in {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}.items():
            print(f"| BG/NBD | {name} | {value} | {bg.params_[name]:.4f} |")
        print(f"| BG/NBD | log-likelihood | -9582.4 | {bg.log_likelihood_:.1f} |")
    if shared.is_file():  # MBG/NBD beside lifetimes' ModifiedBetaGeoFitter on the same summary
        mbg = rf.customers.ModifiedBetaGeoFitter().fit(data.frequency, data.recency, data["T"])
        theirs = None
        if spec is not None:
            from lifetimes import ModifiedBetaGeoFitter

            theirs = ModifiedBetaGeoFitter().fit(data.frequency, data.recency, data["T"]).params_
        for name in ("r", "alpha", "a", "b"):
            reference = "–" if theirs is None else f"{theirs[name]:.4f}"
            print(f"| MBG/NBD | {name} | lifetimes {reference} | {mbg.params_[name]:.4f} |")
    if spend is not None and spend.is_file():
        data = pd.read_csv(spend)
        repeat = data[data.x > 0]
        gg = rf.customers.GammaGammaFitter().fit(repeat.x, repeat.zbar)
        for name, value in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
            print(f"| Gamma-Gamma | {name} | {value} | {gg.params_[name]:.4f} |")


def cdnow_holdout(repeats: int) -> None:
    """The paper's check on CDNOW's whole log (../shared: 69,659 lines, 23,570 customers):
    calibration to 1997-09-30, holdout to 1998-06-30. From the lines to the table of holdout
    purchases by calibration frequency: rf.customers.calibration_holdout, BG/NBD fit and check,
    beside lifetimes' calibration_and_holdout_data, fit and conditional expectations."""
    from pathlib import Path

    import pandas as pd

    path = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "cdnow" / "CDNOW_master.txt"
    if not path.is_file():
        print(f"\n(CDNOW holdout check skipped: no {path})")
        return
    log = pd.read_csv(path, sep=r"\s+", dtype={"customer_id": str, "date": str})

    def ours():
        cut = rf.customers.calibration_holdout(
            log.customer_id, log.date, log.dollar_value, cutoff="19970930", end="19980630"
        )
        return cut.check(rf.customers.BetaGeoFitter().fit(cut.calibration))

    def theirs():
        from lifetimes import BetaGeoFitter
        from lifetimes.utils import calibration_and_holdout_data

        data = calibration_and_holdout_data(
            log, "customer_id", "date", calibration_period_end="19970930", observation_period_end="19980630",
            datetime_format="%Y%m%d", freq="D", monetary_value_col="dollar_value",
        )  # fmt: skip
        bg = BetaGeoFitter().fit(data.frequency_cal, data.recency_cal, data.T_cal)
        data["predicted"] = bg.conditional_expected_number_of_purchases_up_to_time(
            data.duration_holdout, data.frequency_cal, data.recency_cal, data.T_cal
        )
        return data.groupby(data.frequency_cal.clip(upper=7))[["frequency_holdout", "predicted"]].mean()

    contenders = {"rf.customers.calibration_holdout + fit + check": ours}
    try:
        import lifetimes  # noqa: F401

        contenders["lifetimes calibration_and_holdout_data + fit + expectations"] = theirs
    except ImportError:
        print("(lifetimes not installed: pip install '.[bench]')")
    timings, results = measure_rounds(contenders, repeats=repeats, warmup=0, track_memory=False)
    print(f"\nCDNOW holdout check ({len(log):,} lines; calibration to 1997-09-30, holdout to 1998-06-30):")
    print(table(timings, "rf.customers.calibration_holdout + fit + check"))
    check = results["rf.customers.calibration_holdout + fit + check"]
    print(check)
    if len(results) > 1:
        other = results["lifetimes calibration_and_holdout_data + fit + expectations"]
        gap = np.abs(check.predicted - other["predicted"].to_numpy()).max()
        same = np.array_equal(check.actual, other["frequency_holdout"].to_numpy())
        print(f"lifetimes: holdout means identical {same}; largest |difference| of the predicted means {gap:.1e}")
    # BG/NBD against MBG/NBD on the same cut; P(alive) and E[purchases] as scores of who buys
    # again in the holdout (ROC AUC), beside days since the last purchase alone
    from sklearn.metrics import roc_auc_score

    cut = rf.customers.calibration_holdout(
        log.customer_id, log.date, log.dollar_value, cutoff="19970930", end="19980630"
    )
    s, bought = cut.calibration, cut.purchases > 0
    print("\n| model | log-likelihood | holdout purchases predicted (19,684 made) | MAE | AUC P(alive) ", end="")
    print("| AUC E[purchases] |")
    print("|---|---:|---:|---:|---:|---:|")
    for model in (rf.customers.BetaGeoFitter(), rf.customers.ModifiedBetaGeoFitter(), rf.customers.ParetoNBDFitter()):
        model.fit(s)
        c = cut.check(model)
        alive = roc_auc_score(bought, model.probability_alive(s.frequency, s.recency, s.T))
        expected = roc_auc_score(bought, model.expected_purchases(cut.duration, s.frequency, s.recency, s.T))
        print(
            f"| {model.model_name} | {model.log_likelihood_:,.1f} | {c.total_predicted:,.0f} | "
            f"{c.mean_absolute_error:.3f} | {alive:.3f} | {expected:.3f} |"
        )
    print(f"| days since the last purchase alone | | | | {roc_auc_score(bought, -s.since_last):.3f} | |")


def pareto_nbd(repeats: int) -> None:
    """Pareto/NBD beside lifetimes' ParetoNBDFitter: the fit on CDNOW's 2,357-customer sample
    (weeks; Fader & Hardie's published r = 0.55, alpha = 10.58, s = 0.61, beta = 11.67, LL
    -9594.98) and on the whole log's 23,570 customers in days (from the same summary), each
    library's parameters and log-likelihood (recforge's function, at both optima)."""
    from pathlib import Path

    import pandas as pd

    try:
        from lifetimes import ParetoNBDFitter
    except ImportError:
        print("(Pareto/NBD beside lifetimes skipped: pip install '.[bench]')")
        return
    from recforge.customers.pareto_nbd import row_log_likelihood

    folder = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "cdnow"
    if not folder.is_dir():
        print(f"\n(Pareto/NBD on CDNOW skipped: no {folder})")
        return
    sample = pd.read_csv(folder / "cdnow_customers_summary.csv")
    log = pd.read_csv(folder / "CDNOW_master.txt", sep=r"\s+", dtype={"customer_id": str, "date": str})
    whole = rf.customers.summary(log.customer_id, log.date, log.dollar_value)
    sets = {
        "CDNOW sample, weeks": tuple(sample[c].to_numpy(np.float64) for c in ("frequency", "recency", "T")),
        "CDNOW whole log, days": (whole.frequency, whole.recency, whole.T),
    }
    for name, columns in sets.items():
        contenders = {
            "rf.customers.ParetoNBDFitter": lambda columns=columns: rf.customers.ParetoNBDFitter().fit(*columns),
            "lifetimes ParetoNBDFitter": lambda columns=columns: ParetoNBDFitter().fit(*columns),
        }
        timings, fitted = measure_rounds(contenders, repeats=repeats, warmup=0, track_memory=False)
        print(f"\nPareto/NBD on {name} ({columns[0].size:,} customers):")
        print(table(timings, "rf.customers.ParetoNBDFitter"))
        ours, theirs = fitted["rf.customers.ParetoNBDFitter"].params_, fitted["lifetimes ParetoNBDFitter"].params_
        print("| library | r | alpha | s | beta | log-likelihood |\n|---|---:|---:|---:|---:|---:|")
        for library, params in (("recforge", ours), ("lifetimes", theirs)):
            values = [float(params[p]) for p in ("r", "alpha", "s", "beta")]
            ll = row_log_likelihood(values, *columns).sum()
            print(f"| {library} | " + " | ".join(f"{v:.4f}" for v in values) + f" | {ll:.4f} |")


def summary_scale(n_lines: int, repeats: int) -> None:
    """rf.customers.summary alone on a log of about n_lines lines, beside lifetimes' summary (one
    round: it is slow) and pandas' groupby of the same columns (the hand-written way)."""
    import pandas as pd

    customer, time_s, amount = simulate_log(max(1, round(n_lines / 4.29)), seed=2)
    end = START + DAYS * 86400.0

    def by_hand():  # per (customer, day): the transactions; then first, last, count, total per customer
        day = pd.DataFrame({"c": customer, "d": time_s // 86400, "v": amount}).groupby(["c", "d"]).v.sum()
        per = day.reset_index().groupby("c").agg(first=("d", "min"), last=("d", "max"), n=("d", "size"), v=("v", "sum"))
        return per

    contenders = {"rf.customers.summary": lambda: rf.customers.summary(customer, time_s, amount, as_of=end)}
    contenders["pandas groupby (by hand)"] = by_hand
    timings, _ = measure_rounds(contenders, repeats=repeats, warmup=0, track_memory=False)
    try:
        from lifetimes.utils import summary_data_from_transaction_data

        def lifetimes_summary():
            frame = pd.DataFrame({"customer": customer, "date": pd.to_datetime(time_s, unit="s"), "amount": amount})
            return summary_data_from_transaction_data(
                frame,
                "customer",
                "date",
                monetary_value_col="amount",
                observation_period_end=pd.to_datetime(end, unit="s"),
            )

        more, _ = measure_rounds({"lifetimes summary_data_from_transaction_data": lifetimes_summary}, 1, 0, False)
        timings += more
    except ImportError:
        print("(lifetimes not installed: pip install '.[bench]')")
    print(f"\nsummary of {customer.size:,} lines ({np.unique(customer).size:,} customers):")
    print(table(timings, "rf.customers.summary"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--lifetimes-customers", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-segments", action="store_true")
    parser.add_argument("--summary-lines", type=int, default=10_000_000, help="0: skip the summary at scale")
    parser.add_argument("--cdnow-only", action="store_true", help="the CDNOW figures and holdout check only")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    cdnow()
    cdnow_holdout(args.repeats)
    pareto_nbd(args.repeats)
    if args.cdnow_only:
        return
    start = time.perf_counter()
    (customer, time_s, amount), exact = simulate_log(args.customers, exact=True)
    print(f"simulated {args.customers:,} customers, {customer.size:,} lines in {time.perf_counter() - start:.1f} s")

    start = time.perf_counter()
    bg, gg, *_ = recforge_pipeline(customer, time_s, amount)
    print(f"recforge on all {args.customers:,} customers: {time.perf_counter() - start:.2f} s (one run)")
    process = rf.customers.BetaGeoFitter().fit(*exact).params_
    merged = int(exact[0].sum() + args.customers) - int(np.unique(customer * 1000 + (time_s - START) // 86400).size)
    print(
        "\nfitted on the process's own (x, t_x, T) in continuous days, and on the daily summary of the log\n"
        f"(which merges the {merged:,} purchases that fell on a day the customer had already bought)\n"
    )
    print("| parameter | truth | process: fitted | error | log: fitted | error |\n|---|---:|---:|---:|---:|---:|")
    for name, value in {**TRUTH_BG, **TRUTH_GG}.items():
        weeks = 7 if name == "alpha" else 1  # alpha: days back to weeks
        fitted = {**bg, **gg}[name] / weeks
        own = f"{process[name] / weeks:.4g} | {process[name] / weeks / value - 1:+.2%}" if name in process else "– | –"
        print(f"| {name} | {value:g} | {own} | {fitted:.4g} | {fitted / value - 1:+.2%} |")

    if not args.skip_segments:
        segments(customer, time_s, amount, args.repeats)
    if args.summary_lines:
        summary_scale(args.summary_lines, args.repeats)

    part = customer < args.lifetimes_customers
    lines = (customer[part], time_s[part], amount[part])
    contenders = {"recforge": lambda: recforge_pipeline(*lines)}
    try:
        import lifetimes  # noqa: F401

        contenders["lifetimes"] = lambda: lifetimes_pipeline(*lines)
    except ImportError:
        print("(lifetimes not installed: pip install '.[bench]')")
    timings, results = measure_rounds(contenders, repeats=args.repeats, warmup=0, track_memory=False)
    print(f"\n{args.lifetimes_customers:,} customers, {part.sum():,} lines: summary + BG/NBD + Gamma-Gamma + scoring")
    print(table(timings, "recforge"))
    if "lifetimes" in results:
        ours, theirs = results["recforge"], results["lifetimes"]
        for name in TRUTH_BG:
            print(f"  BG/NBD {name}: recforge {ours[0][name]:.6g}, lifetimes {theirs[0][name]:.6g}")
        for name, key in (("p", "p"), ("q", "q"), ("v", "v")):
            print(f"  Gamma-Gamma {name}: recforge {ours[1][name]:.6g}, lifetimes {theirs[1][key]:.6g}")
        for i, what in ((2, "P(alive)"), (3, "E[purchases in 30 days]"), (4, "E[spend]")):
            print(f"  largest |difference| in {what}: {np.abs(ours[i] - theirs[i]).max():.2e}")


if __name__ == "__main__":
    main()

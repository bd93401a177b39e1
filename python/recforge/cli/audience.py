"""Who a campaign list or a target list reaches: --suppress (customers never to contact, such as
opt-outs) and --holdout (a control group kept out, to measure the send by with recforge lift).
Shared by recforge campaign and recforge target."""

from __future__ import annotations

import sys
import warnings

import numpy as np

from .._factorize import lookup
from ..campaign import holdout
from ._common import CliError, check_options, check_output
from ._hints import Hint
from .features import read_list_table


def add_audience_arguments(parser) -> None:
    parser.add_argument(
        "--suppress",
        help="customers never to contact (.csv or .parquet, the --user-col column): opt-outs; left out of every "
        "file written",
    )
    parser.add_argument(
        "--holdout",
        type=float,
        default=0.0,
        help="share of the customers held out as the control group (default: 0): left out of the list; the same "
        "customers in every run with one --holdout-seed (rf.campaign.holdout)",
    )
    parser.add_argument("--holdout-seed", type=int, help="--holdout: which control group (default: 0)")
    parser.add_argument(
        "--holdout-out", help="--holdout: the control group's list, to measure the send against (recforge lift)"
    )


def check_audience(args) -> None:
    check_options(
        (not 0 <= args.holdout < 1, "--holdout must be in [0, 1)", args.holdout),
        (args.holdout_seed < 0, "--holdout-seed must be >= 0", args.holdout_seed),
    )
    if args.holdout_out and not args.holdout:
        raise CliError("--holdout-out needs --holdout (the share of customers held out)")
    check_output(args.holdout_out, "--holdout-out")


def customer_positions(ids: np.ndarray, raw, pseudonyms=None) -> np.ndarray:
    """Where each of ``raw`` is among ``ids`` (-1: nowhere); with ``pseudonyms`` (of ``ids``, in
    their order) a raw value that is a customer's pseudonym finds them too: a list written by a
    pseudonymised campaign names its customers that way."""
    raw = np.asarray(raw, dtype=object)
    at = lookup(ids, raw)
    if pseudonyms is not None:
        at = np.where(at >= 0, at, lookup(np.asarray(pseudonyms, dtype=object), raw))
    return at


def warn_if_nothing_matches(option: str, n_rows: int, n_matched: int, args) -> None:
    """A list that names nobody of the data was most likely read wrongly (another id column, ids
    written another way): said on stderr, not passed over in silence."""
    if n_rows and not n_matched:
        # a command that can pseudonymise, run without it: the file may hold pseudonyms
        hint = "; a file of pseudonyms needs --pseudonymise" if getattr(args, "pseudonymise", True) is False else ""
        print(
            f"recforge: warning: {option}: none of its {n_rows:,} rows names a customer of --data, so it changes "
            f"nothing (check --user-col and how the ids are written{hint})",
            file=sys.stderr,
        )


def suppressed(args, ids: np.ndarray, pseudonyms=None) -> np.ndarray | None:
    """--suppress: which of ``ids`` must not be contacted (None without it). Its ids may be the
    customers' pseudonyms where ``pseudonyms`` are given."""
    if args.suppress is None:
        return None
    table = read_list_table(args.suppress, args, args.user_col, [], "--suppress")
    at = customer_positions(ids, table[args.user_col], pseudonyms)
    warn_if_nothing_matches("--suppress", at.size, int((at >= 0).sum()), args)
    out = np.zeros(len(ids), dtype=bool)
    out[at[at >= 0]] = True
    return out


def held_out(args, ids) -> np.ndarray | None:
    """--holdout: which of ``ids`` are the control group (None without it)."""
    return holdout(ids, args.holdout, seed=args.holdout_seed) if args.holdout else None


def audience_summary(args, n_suppressed: int, n_held: int) -> str:
    """The summary line's part about suppressed and held-out customers."""
    text = f"; {n_suppressed:,} customers suppressed (--suppress)" if args.suppress is not None else ""
    if args.holdout:
        written = f", their list -> {args.holdout_out}" if args.holdout_out else ""
        text += f"; {n_held:,} held out as the control group (--holdout {args.holdout:g}, seed {args.holdout_seed}"
        text += f"{written})"
        if n_held and not args.holdout_out:
            # the control group's customers are drawn again by seed, but recforge lift also
            # needs the products they would have got: a list this run alone can write
            warnings.warn(
                f"--holdout without --holdout-out: the control group's {n_held:,} customers and their lists are "
                "written nowhere; recforge lift measures the send against them (--holdout-out control.csv)",
                Hint,
                stacklevel=2,
            )
    return text

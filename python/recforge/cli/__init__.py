"""The ``recforge`` command: ``recforge demo``, ``train``, ``recommend``, ``evaluate``,
``similar``, ``customers``, ``clv``, ``target``, ``campaign``, ``lift``, ``serve``; ``recforge <command>
--help`` for each."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import warnings

from .._checks import closest
from .._tables import DAMAGED
from .._version import __version__
from ._common import (
    MODEL_NAMES,
    SEED_HELP,
    CliError,
    add_csv_arguments,
    add_data_arguments,
    add_returns_argument,
    output_clash,
    piped_input,
    sample_as_shipped,
    unmet_dependency,
)
from ._hints import Hint
from .features import add_feature_arguments, add_product_arguments
from .serve import add_serve_parser


class Parser(argparse.ArgumentParser):
    """argparse, with a mistake on the command line said in one line on stderr (exit status 2),
    as every other refusal of the command is, instead of the usage block then the error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# The event columns of the commands that read them as given (train, evaluate, campaign, ...);
# a command given a model reads the model's own
EVENT_COLUMN_OPTIONS = ("--user-col", "--item-col", "--weight-col", "--time-col", "--event-col")


def unknown_arguments(command_parser: argparse.ArgumentParser, extra: list) -> None:
    """Exit 2 naming the arguments ``command_parser`` does not know, with the option it has
    that is closest to the first unknown one ("--items: did you mean --item?"): the top-level
    parser said "recforge: error" without naming the command."""
    known = [o for action in command_parser._actions for o in action.option_strings if o.startswith("--")]
    options = [a.split("=", 1)[0] for a in extra if a.startswith("--")]
    columns = [o for o in options if o in EVENT_COLUMN_OPTIONS]
    if columns and {"--model", "--data"} <= set(known):  # recommend, serve: "did you mean --user-key?" led nowhere
        hint = (
            f"; {', '.join(columns)}: --data is read with the event columns the model was trained with "
            "(its file names them), so rename --data's columns where they differ"
        )
        command_parser.error(f"unrecognized arguments: {' '.join(extra)}{hint}")
    close = next((m for m in (closest(o, known) for o in options) if m), None)
    hint = f"; did you mean {close}?" if close else ""
    command_parser.error(f"unrecognized arguments: {' '.join(extra)}{hint}")


def parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="recforge",
        description="recforge: recommendations for every customer, "
        "from interaction logs. Run 'recforge demo' to see it work.",
    )
    p.add_argument("--version", action="version", version=f"recforge {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    models = ", ".join(MODEL_NAMES)

    d = sub.add_parser(
        "demo",
        help="train, evaluate against popularity and write a campaign list, on the shipped sample",
        description="The main job on the Online Retail sample shipped with recforge (UCI, CC BY 4.0): "
        "split by time, compare models against popularity on the customers who came back, then "
        "write the best model's top-k products for every customer to CSV.",
    )
    d.add_argument("--out", default="campaign_top10.csv", help="campaign list file (default: campaign_top10.csv)")
    d.add_argument("--k", type=int, default=10, help="products per customer (default: 10)")
    d.add_argument("--cutoff", default="2011-11-01", help="train before this date, test from it (default: 2011-11-01)")
    d.add_argument("--neighbours", type=int, default=100, help="neighbours of the KNN models (default: 100)")
    d.add_argument(
        "--tune", action="store_true", help="choose each model's parameters on a validation split of train first"
    )
    d.add_argument("--trials", type=int, help="--tune: trials per model (default: 8)")
    d.add_argument("--quiet", action="store_true", help="no progress bar")

    t = sub.add_parser(
        "train",
        help="fit a model on an event file and save it",
        description="Fit a model on events and save it (with the raw id maps) for 'recommend'.",
    )
    add_data_arguments(t)
    t.add_argument("--model", required=True, help=f"one of: {models}")
    t.add_argument(
        "--param", action="append", metavar="NAME=VALUE", help="model parameter, e.g. neighbours=50 (repeatable)"
    )
    t.add_argument("--seed", type=int, default=0, help=f"{SEED_HELP}; --param n_threads=1 makes BPR exact")
    t.add_argument("--out", required=True, help="model file (.npz)")
    t.add_argument("--quiet", action="store_true", help="no progress output")
    add_feature_arguments(t)

    r = sub.add_parser(
        "recommend",
        help="top-k products for every customer in an event file",
        description="Top-k products for every customer with events in --data (read with the "
        "columns the model was trained with), their own products excluded. Customers the model has "
        "not seen are answered by its fallbacks (from their events, their attributes, or what is "
        "trending); the 'path' column says which.",
    )
    r.add_argument("--model", required=True, help="file written by 'recforge train'")
    r.add_argument("--data", required=True, help='events (.csv or .parquet), or "sample"')
    add_csv_arguments(r)
    add_returns_argument(r, default=None, trained=True)
    r.add_argument("--k", type=int, default=10, help="products per customer (default: 10)")
    r.add_argument(
        "--exclude-seen",
        choices=("all", "none"),
        default="all",
        help="products of the customer's events left out of their list: all (default), or none (a product "
        "bought before may be offered again: replenishment)",
    )
    r.add_argument(
        "--customers",
        metavar="FILE",
        help="also answer the customers of this table (its --user-key column and the attribute "
        "columns the model was trained with), events or not",
    )
    r.add_argument(
        "--user-key", help="the --customers id column (default: the events' --user-col where it has one, else user)"
    )
    r.add_argument(
        "--out",
        required=True,
        help="output: .csv, .csv.gz or .parquet; a folder (ending in /) for one Parquet file per block of customers",
    )
    r.add_argument(
        "--blocks",
        type=int,
        help="score out of core, in this many blocks of customers (automatic for a folder --out or an input "
        "over 1 GiB: memory holds the model and one block; an interrupted run resumes)",
    )
    add_product_arguments(r)
    r.add_argument("--quiet", action="store_true", help="no progress bar")

    e = sub.add_parser(
        "evaluate",
        help="compare models on a train/test split of an event file",
        description="Split events, fit each model on train (with its cold-start fallbacks), and compare "
        "them on every test customer (means, 95% intervals, paired t-tests against the first), then "
        "on returning customers, new customers and new products apart.",
    )
    add_data_arguments(e)
    e.add_argument("--models", default="popularity,itemknn", help=f"comma-separated, first is the baseline ({models})")
    e.add_argument("--split", default="per-user", choices=("temporal", "per-user", "leave-one-out", "random"))
    e.add_argument(
        "--test-frac", type=float, help="share of pairs in test (default: 0.2; not with leave-one-out or --cutoff)"
    )
    e.add_argument("--cutoff", help="temporal split date (default: the time leaving --test-frac of pairs after it)")
    e.add_argument("--k", type=int, default=10)
    e.add_argument("--seed", type=int, default=0, help=f"the split's and --tune's draws; {SEED_HELP}")
    e.add_argument("--out", help="write the results as JSON")
    e.add_argument("--no-fallbacks", action="store_true", help="compare the bare models")
    e.add_argument(
        "--tune",
        action="store_true",
        help="choose each model's parameters first (rf.tune over its default space, on a validation split of "
        "the training part only)",
    )
    e.add_argument(
        "--beyond",
        action="store_true",
        help="also coverage, Gini of exposure, novelty, popularity, personalisation and intra-list diversity "
        "(item cosine similarity of the training data)",
    )
    e.add_argument(
        "--purchase-events",
        metavar="TYPE,...",
        help="with --event-col: measure on purchases, the test pairs with an event of these types (the models "
        "learn from every event; --tune validates on purchases too)",
    )
    e.add_argument("--trials", type=int, help="--tune: trials per model (default: 10)")
    e.add_argument("--budget", type=float, help="--tune: seconds per model after which no trial starts")
    e.add_argument("--quiet", action="store_true", help="no progress output")

    s = sub.add_parser(
        "similar",
        help="the products most similar to given ones",
        description="The k products most similar to each given product id (or to every product, --all).",
    )
    s.add_argument("--model", required=True, help="file written by 'recforge train'")
    which = s.add_mutually_exclusive_group(required=True)
    which.add_argument("--items", nargs="+", metavar="ID", help="product ids")
    which.add_argument(
        "--text",
        metavar="TEXT",
        help="a product not in the catalogue, by its text (models trained with --item-text)",
    )
    which.add_argument(
        "--all",
        action="store_true",
        help="every product of the model: the 'similar products' table of a shop's product pages",
    )
    s.add_argument("--k", type=int, default=10)
    s.add_argument("--out", help="write a table (.csv or .parquet) instead of printing")
    add_product_arguments(s)

    from .customers import add_parsers

    add_parsers(sub)
    from .campaign import add_campaign_parser

    add_campaign_parser(sub, add_data_arguments)
    from .lift import add_lift_parser

    add_lift_parser(sub)
    add_serve_parser(sub)
    p.commands = sub.choices  # each command's parser, for options_given
    return p


class _Reader(io.TextIOBase):
    """stdout that a reader may close (``recforge similar ... | head -1``): the first write
    after that sends the rest to /dev/null instead of raising BrokenPipeError, so the command
    still finishes its work and writes its files."""

    def __init__(self, stream):
        self.stream, self.gone = stream, False

    def _guard(self, call, *args):
        if self.gone:
            return None
        try:
            return call(*args)
        except BrokenPipeError:
            self.gone = True
            with contextlib.suppress(AttributeError, OSError, ValueError):  # a stream without a descriptor
                # Python flushes stdout once more at exit: that flush must find /dev/null
                os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())
            return None

    def write(self, text: str) -> int:
        self._guard(self.stream.write, text)
        return len(text)

    def flush(self) -> None:
        self._guard(self.stream.flush)

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self):
        return getattr(self.stream, "encoding", "utf-8")

    @property
    def errors(self):
        return getattr(self.stream, "errors", "strict")


@contextlib.contextmanager
def reader_may_leave():
    """sys.stdout as :class:`_Reader` while a command runs."""
    previous = sys.stdout
    sys.stdout = _Reader(previous)
    try:
        yield
    finally:
        sys.stdout = previous


def _one_line_warning(command: str, held: list):
    """Warnings of the library as the command's own lines ("recforge train: warning: ..."), not
    Python's two lines with a file name and a line of source; hints are kept in ``held``."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = f"recforge {command}: warning: {message}"
        if issubclass(category, Hint):  # said once the command has succeeded
            held.append(text)
        else:
            print(text, file=sys.stderr if file is None else file)

    return show


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    cli = parser()
    args, extra = cli.parse_known_args(argv)
    if extra:  # said by the command's parser, which names the command and its help
        unknown_arguments(cli.commands.get(args.command, cli), extra)
    from . import campaign, commands, customers, demo, lift, serve

    run = {
        "demo": demo.demo,
        "train": commands.train,
        "recommend": commands.recommend,
        "evaluate": commands.evaluate,
        "similar": commands.similar,
        "customers": customers.customers,
        "clv": customers.clv,
        "target": customers.target,
        "campaign": campaign.campaign,
        "lift": lift.lift_command,
        "serve": serve.serve,
    }[args.command]
    if getattr(args, "k", 1) < 1:  # an empty list is never what a command line asks for
        print(f"recforge {args.command}: error: --k must be >= 1", file=sys.stderr)
        return 2
    if (getattr(args, "seed", None) or 0) < 0:  # the models' refusal named --param, or none came
        print(f"recforge {args.command}: error: --seed must be >= 0", file=sys.stderr)
        return 2
    clash = (
        piped_input(args)
        or output_clash(args)
        or sample_as_shipped(args, cli.commands[args.command], argv)
        or unmet_dependency(args)
    )
    if clash:
        print(f"recforge {args.command}: error: {clash}", file=sys.stderr)
        return 2
    held: list = []  # hints: said after a command that succeeded, so that an error stays one line
    try:
        with reader_may_leave(), warnings.catch_warnings():
            warnings.showwarning = _one_line_warning(args.command, held)
            run(args)
        for text in held:
            print(text, file=sys.stderr)
    except CliError as e:
        print(f"recforge {args.command}: error: {e}", file=sys.stderr)
        return 2
    except (
        ValueError,
        TypeError,
        KeyError,
        FloatingPointError,
        OSError,
        ImportError,
        MemoryError,  # the models' own size checks (EASE's max_memory), or an allocation refused
        NotImplementedError,  # what a model cannot do (a user-based KNNRegressor's similar items)
        RuntimeError,  # a fit that did not converge, with its way out
        *DAMAGED,  # a compressed file cut short, where a reader did not name it
    ) as e:
        # Anything the library refused is the input's fault here: one line, never a traceback.
        print(f"recforge {args.command}: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"recforge {args.command}: interrupted; no output was written", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

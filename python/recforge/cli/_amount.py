"""Money per line as the command line names it: a column (``Amount``), or the product of
columns (``Quantity*UnitPrice``). A shop's order lines are often written so: the Online Retail
file has a quantity and a unit price and no amount, and without the product its lifetime
values could not be computed from the command line at all."""

from __future__ import annotations

import numpy as np

from .._checks import as_numbers

HELP = "money per line: a column, or the product of columns (Quantity*UnitPrice)"


def amount_columns(spec: str | None) -> list[str]:
    """The columns ``spec`` names (none for None): ``"Quantity*UnitPrice"`` names two."""
    if spec is None:
        return []
    names = [name.strip() for name in spec.split("*")]
    if not all(names):
        raise ValueError(f"--amount-col: {spec!r} names an empty column (write a column, or A*B)")
    return names


def amount_values(table, spec: str | None, option: str = "--amount-col") -> np.ndarray | None:
    """The money of each line of ``table`` (a mapping column -> array): the column, or the
    product of the columns, ``spec`` names; None without ``spec``. A factor missing on a line
    (NaN) leaves that line's amount unknown (NaN), as a missing amount is. Raises KeyError for
    a column the table lacks, ValueError for one that is not numbers."""
    names = amount_columns(spec)
    if not names:
        return None
    if len(names) == 1:
        return as_numbers(table[names[0]], option)
    money = as_numbers(table[names[0]], f"{option} {names[0]}")
    for name in names[1:]:
        money = money * as_numbers(table[name], f"{option} {name}")
    return money

"""What a command says besides its output: a user mistake (:class:`CliError`, one line on
stderr and exit status 2), and hints, advice about the input given once the command has
succeeded (a column of returns or of event types that the options leave unused). Printed as
they were found, hints came before an error the run then met, and the error was no longer the
one line a mistake gets on stderr."""

from __future__ import annotations


class Hint(UserWarning):
    """A warning the command line holds back until the command has succeeded."""


class CliError(Exception):
    """A user mistake: printed as one line, exit status 2."""


def bare(text: str) -> str:
    """``text`` as the hints compare words: without case, spaces, dashes or underscores
    ("Add-to-cart" and "addtocart", "Product_Name" and "productname" alike)."""
    return "".join(ch for ch in text.casefold() if ch not in "_- ")

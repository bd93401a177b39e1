"""Hints: advice about the input that a command gives once it has succeeded (a column of
returns or of event types that the options leave unused). Printed as they were found, they
came before an error the run then met, and the error was no longer the one line a mistake
gets on stderr."""

from __future__ import annotations


class Hint(UserWarning):
    """A warning the command line holds back until the command has succeeded."""

"""Personalised message text from templates (Jinja2, sandboxed): the greeting, segment-aware
copy, the recommended products with descriptions and the reason, in whatever language the
template is written (UTF-8 throughout).

A template sees, per customer: ``customer`` (the id or pseudonym written to the file),
``segment`` (when a segment table was given, else None, which prints as nothing), ``items`` (a list of dicts: ``rank``,
``item``, ``description``, ``score``, ``reason``, ``again``: true where the product is its own
reason, bought before and offered again, ``path``) and any extra fields the caller adds.
Undefined names are errors, not blanks: a typo in a template stops the run instead of
sending a broken message. Templates run in Jinja2's sandbox: they cannot reach Python
internals, so a template from a marketing tool is safe to render.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from .._checks import check_bool, check_int
from .._config import available_cpus

DEFAULT_TEMPLATE = "default.txt"
# Rendering is Python (about 40 us a message of ten products); worker processes pay a start of
# about a second (each imports recforge and Jinja2), so fewer customers render in this process.
PARALLEL_FROM = 50_000
BLOCK = 10_000  # the smallest block of customers a worker is sent


def _blank_none(value):
    """What a template prints for a value: None as nothing, everything else as it is."""
    return "" if value is None else value


def _jinja():
    try:
        from jinja2 import StrictUndefined
        from jinja2.sandbox import SandboxedEnvironment
    except ImportError:  # pragma: no cover - exercised without the extra
        raise ImportError('messages need Jinja2: pip install "recforge[message]"') from None
    return SandboxedEnvironment, StrictUndefined


def default_template() -> str:
    """The English template shipped with recforge (segment-aware greeting, numbered products
    with their reason)."""
    return resources.files("recforge.campaign").joinpath("templates", DEFAULT_TEMPLATE).read_text(encoding="utf-8")


class MessageTemplate:
    """A compiled message template.

    Parameters
    ----------
    source : str
        Jinja2 template text.
    autoescape : bool, default False
        Escape HTML in the values (for HTML e-mail templates); plain text otherwise.

    Attributes
    ----------
    source, autoescape
        As given. A template pickles as these (and is compiled again), so it can be sent to
        worker processes.

    Examples
    --------
    >>> import recforge as rf
    >>> t = rf.campaign.MessageTemplate("Hej {{ customer }}! {% for i in items %}{{ i.description }} {% endfor %}")
    >>> t.render({"customer": "Åsa", "items": [{"description": "Kaffekopp"}]})
    'Hej Åsa! Kaffekopp '
    """

    def __init__(self, source: str, autoescape: bool = False):
        if not isinstance(source, str):
            raise TypeError(f"source must be the template text (str), got {type(source).__name__}")
        autoescape = check_bool(autoescape, "autoescape")
        Sandboxed, Strict = _jinja()
        from jinja2 import TemplateSyntaxError

        # None (the segment of a campaign without segments, a product without a reason) prints
        # as nothing: "{{ segment }}" wrote "None" into customers' messages
        env = Sandboxed(undefined=Strict, autoescape=autoescape, keep_trailing_newline=True, finalize=_blank_none)
        try:
            self._template = env.from_string(source)
        except TemplateSyntaxError as e:
            raise ValueError(f"message template, line {e.lineno}: {e.message}") from None
        self.source, self.autoescape = source, autoescape

    def __repr__(self) -> str:
        head = self.source if len(self.source) <= 40 else self.source[:37] + "..."
        return f"MessageTemplate({head!r}, autoescape={self.autoescape})"

    # A compiled Jinja2 template holds generated code that does not pickle: the text does, and
    # is compiled again on arrival (multiprocessing, joblib and Dask workers pickle what they
    # are sent).
    def __reduce__(self):
        return (type(self), (self.source, self.autoescape))

    def render(self, context: dict) -> str:
        """The message for one customer's ``context``; any failure of the template (an undefined
        name, an error in its expressions) is a ValueError saying what failed."""
        from jinja2 import TemplateError

        try:
            return self._template.render(**context)
        except TemplateError as e:
            raise ValueError(f"message template: {e}") from None
        except Exception as e:  # the template's own code failed ({{ 1/0 }}, "a" + 1, an include)
            raise ValueError(f"message template: {type(e).__name__}: {e}") from None

    def render_all(self, contexts) -> list:
        """One message per context, in order."""
        return [self.render(c) for c in contexts]

    def render_lists(
        self,
        customers,
        recommended,
        descriptions,
        *,
        item_ids=None,
        scores=None,
        reasons=None,
        segments=None,
        n_workers: int = 0,
    ) -> list:
        """One message per customer, straight from a campaign's arrays: each customer's context
        (``customer``, ``segment``, ``items``) is built and rendered in worker processes.

        Parameters
        ----------
        customers : array-like, shape (n_customers,)
            The id (or pseudonym) each message is for: the template's ``customer``.
        recommended : numpy.ndarray of int, shape (n_customers, k)
            Product columns per customer, -1 padding (e.g. :func:`rerank`'s lists).
        descriptions : array-like, shape (n_items,)
            Text per product column: ``items[r].description``, and the ``reason``'s text.
        item_ids : array-like, shape (n_items,), optional
            Product id per column (``items[r].item``); default the column number.
        scores : numpy.ndarray, shape (n_customers, k), optional
            ``items[r].score`` (None without).
        reasons : numpy.ndarray of int, shape (n_customers, k), optional
            The customer's product behind each recommended one, -1 for none (:func:`explain`'s
            ``items[:, :, 0]``): ``items[r].reason`` is its description, "" for none.
        segments : array-like, shape (n_customers,), optional
            ``segment`` per customer (None without).
        n_workers : int, default 0
            Worker processes; 0: one per available CPU, 1: this process. Campaigns under
            50,000 customers render in this process (a worker's start costs more than it
            saves). The messages do not depend on it.

        Returns
        -------
        list of str
            The messages, in the order of ``customers``.

        Raises
        ------
        ValueError
            The arrays disagree in shape, a column is outside ``descriptions``, or the template
            fails for a customer (the error says what failed).

        Examples
        --------
        >>> import numpy as np, recforge as rf
        >>> t = rf.campaign.MessageTemplate("{{ customer }}:{% for i in items %} {{ i.description }}{% endfor %}")
        >>> t.render_lists(["Åsa", "Bo"], np.array([[1, 0], [2, -1]]), ["mug", "tea", "jam"])
        ['Åsa: tea mug', 'Bo: jam']
        """
        lists = np.asarray(recommended)
        if lists.ndim != 2 or lists.dtype.kind not in "iu":
            raise TypeError(f"recommended must be a 2-D integer array (customers x k), got {lists.dtype} {lists.shape}")
        n = lists.shape[0]
        text = _column(descriptions, "descriptions")
        n_items = len(text)
        _check_columns(lists, n_items, "recommended")
        ids = list(range(n_items)) if item_ids is None else _column(item_ids, "item_ids", n_items)
        customers = _column(customers, "customers", n)
        segments = None if segments is None else _column(segments, "segments", n)
        if scores is not None:
            scores = np.asarray(scores)
            if scores.shape != lists.shape or scores.dtype.kind not in "iuf":
                raise ValueError(
                    f"scores must be numbers shaped as recommended {lists.shape}, got {scores.dtype} {scores.shape}"
                )
        if reasons is not None:
            reasons = np.asarray(reasons)
            if reasons.shape != lists.shape or reasons.dtype.kind not in "iu":
                raise ValueError(
                    f"reasons must be integers shaped as recommended {lists.shape}, got {reasons.dtype} {reasons.shape}"
                )
            _check_columns(reasons, n_items, "reasons")
        workers = check_int(n_workers, "n_workers", minimum=0) or available_cpus()
        blocks = _blocks(n, workers)
        if len(blocks) == 1:
            return _render_block(self, customers, lists, scores, reasons, segments, ids, text)

        from joblib import Parallel, delayed

        jobs = Parallel(n_jobs=min(workers, len(blocks)), backend="loky")
        done = jobs(
            delayed(_render_block)(
                self,
                customers[b],
                lists[b],
                None if scores is None else scores[b],
                None if reasons is None else reasons[b],
                None if segments is None else segments[b],
                ids,
                text,
            )
            for b in blocks
        )
        return [message for block in done for message in block]


def _column(values, name: str, size: int | None = None) -> list:
    """``values`` (one per row) as a list of Python values, of ``size`` when given."""
    try:
        array = np.asarray(values, dtype=object)
    except ValueError:
        raise ValueError(f"{name} must be one value per row, not sequences of different lengths") from None
    if array.ndim != 1 or (size is not None and array.size != size):
        expected = "a 1-D array" if size is None else f"{size:,} values"
        raise ValueError(f"{name} must be {expected}, got shape {array.shape}")
    return array.tolist()


def _check_columns(columns: np.ndarray, n_items: int, name: str) -> None:
    if columns.size and (columns.min() < -1 or columns.max() >= n_items):
        raise ValueError(
            f"{name} must hold product columns in [0, {n_items}) or -1, got {columns.min()}..{columns.max()}"
        )


def _blocks(n: int, workers: int) -> list:
    """Slices of customers: one (this process) below PARALLEL_FROM or with one worker, else
    about four per worker (even loads), none under BLOCK customers."""
    if workers == 1 or n < PARALLEL_FROM:
        return [slice(0, n)]
    size = max(BLOCK, -(-n // (4 * workers)))
    return [slice(first, min(first + size, n)) for first in range(0, n, size)]


def _render_block(template, customers, lists, scores, reasons, segments, item_ids, descriptions) -> list:
    """The messages of one block of customers (run in a worker process, or in this one)."""
    # Python values once for the block: a numpy scalar per field costs more than the rendering
    rows = lists.tolist()
    scores_of = None if scores is None else scores.tolist()
    reasons_of = None if reasons is None else reasons.tolist()
    messages = []
    for u, row in enumerate(rows):
        items = [
            {
                "rank": r + 1,
                "item": item_ids[j],
                "description": descriptions[j],
                "score": None if scores_of is None else scores_of[u][r],
                "reason": "" if reasons_of is None or reasons_of[u][r] < 0 else descriptions[reasons_of[u][r]],
                "again": reasons_of is not None and reasons_of[u][r] == j,  # its own reason: bought before
            }
            for r, j in enumerate(row)
            if j >= 0
        ]
        segment = None if segments is None else segments[u]
        messages.append(template.render({"customer": customers[u], "segment": segment, "items": items}))
    return messages
